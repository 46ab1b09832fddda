"""The watch of a server's kernel: when the server's last_activity asks for a check, and the
check's verdict, on times the test gives."""

from __future__ import annotations

from datetime import datetime, timezone

from kernel_nvim.kernel.ws_watch import CHECK_FOR, SLACK, Check, Deafness, ahead


def stamp(seconds: float) -> str:
    """last_activity as Jupyter Server writes it: ISO 8601, UTC, with a Z."""
    at = datetime.fromtimestamp(seconds, timezone.utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_activity_that_moved_and_that_we_did_not_clearly_hear_after_asks_for_a_check() -> None:
    deafness = Deafness()
    assert deafness.look(stamp(1000), heard=1000 + SLACK + 1) is False  # heard well after it
    assert deafness.look(stamp(1000), heard=0) is False  # not news: looked at already
    assert deafness.look(stamp(1010), heard=1009) is True  # the restart, just after our last
    assert deafness.look(stamp(1010), heard=1009) is False  # asked once, not at every look
    assert deafness.look(stamp(1020), heard=1020.01) is True  # our own run: a check proves it


def test_a_server_whose_clock_is_behind_ours_is_read_on_our_clock() -> None:
    # The server's clock is 5 s behind: the restart at our 1010 is its 1005.
    assert Deafness().look(stamp(1005), heard=1009) is False  # taken as is: never a check
    assert Deafness().look(stamp(1005), heard=1009, ahead=-5) is True
    assert Deafness().look(stamp(1015), heard=1009, ahead=5) is True  # and one ahead
    assert Deafness().look(stamp(1015), heard=1010 + SLACK + 1, ahead=5) is False


def test_how_far_a_servers_clock_is_ahead_comes_from_the_date_of_its_answer() -> None:
    date = "Thu, 03 Dec 2026 10:00:00 GMT"  # an HTTP Date: to the second
    at = datetime(2026, 12, 3, 10, 0, 0, tzinfo=timezone.utc).timestamp()
    assert ahead(date, now=at) == 0.5  # somewhere in that second: its middle
    assert ahead(date, now=at + 60.5) == -60.0
    assert ahead(None, now=at, before=3.0) == 3.0  # no Date: what was known before
    assert ahead("soon", now=at, before=3.0) == 3.0


def test_activity_in_a_form_not_known_never_asks() -> None:
    deafness = Deafness()
    assert deafness.look("", heard=0) is False
    assert deafness.look("yesterday", heard=0) is False


def test_a_check_fails_once_when_its_status_never_comes() -> None:
    check = Check()
    check.start("probe-1", now=50)
    check.on_iopub({"parent_header": {"msg_id": "another"}})
    assert check.failed(50 + CHECK_FOR - 0.1) is False
    assert check.failed(50 + CHECK_FOR) is True
    assert check.failed(50 + 2 * CHECK_FOR) is False
    assert check.deadline is None


def test_a_check_whose_status_comes_back_never_fails() -> None:
    check = Check()
    check.start("probe-2", now=0)
    check.on_iopub({"parent_header": {"msg_id": "probe-2"}})
    assert check.deadline is None
    assert check.failed(CHECK_FOR * 3) is False
