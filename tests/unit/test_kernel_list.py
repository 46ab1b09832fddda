"""Unit tests of kernel_nvim.session.kernel_list: which kernels the picker lists, in which order,
each on one aligned line, and what is said when there is none."""

from __future__ import annotations

import unicodedata
from typing import Any

from test_session import Clock, FakeChannel, Source

from kernel_nvim.app import App
from kernel_nvim.kernel.sources.catalog import Found
from kernel_nvim.session.kernel_list import (
    Choice,
    Known,
    age,
    items,
    known,
    listed,
    nothing_to_list,
    the_one,
)
from kernel_nvim.session.kernel_session import KernelSession

NOW = 1_700_000_000.0


def found(name: str, alive: bool = True, started: float = 0.0, **fields: Any) -> Found:
    path = f"/run/jupyter/{name}"
    return Found(path, path, mtime=NOW - 3600, alive=alive, local=True,
                 started=started or NOW - 3600, **fields)  # fmt: skip


def names(choices: list[Choice]) -> list[str]:
    return [c.found.path.rsplit("/", 1)[1] for c in choices]


# listed, the_one


def test_the_live_kernels_are_listed_newest_first_and_dead_files_left_out() -> None:
    kernels = [found("kernel-old.json", started=NOW - 900), found("kernel-dead.json", False),
               found("kernel-new.json", started=NOW - 60)]  # fmt: skip

    assert names(listed(kernels, {}, everything=False)) == ["kernel-new.json", "kernel-old.json"]


def test_everything_lists_the_dead_files_after_the_live_kernels() -> None:
    kernels = [found("kernel-dead-new.json", False, started=NOW - 1),
               found("kernel-live.json", started=NOW - 500),
               found("kernel-dead-old.json", False, started=NOW - 9000)]  # fmt: skip

    assert names(listed(kernels, {}, everything=True)) == [
        "kernel-live.json", "kernel-dead-new.json", "kernel-dead-old.json",
    ]  # fmt: skip


def test_the_linked_kernel_is_listed_even_when_it_stopped() -> None:
    dead = found("kernel-linked.json", False)
    known = {dead.key: Known("python", owned=False, linked=True)}

    assert names(listed([dead, found("kernel-2.json")], known, everything=False)) == [
        "kernel-2.json", "kernel-linked.json",
    ]  # fmt: skip


def test_the_one_is_the_only_live_kernel_whatever_else_is_listed() -> None:
    dead = found("kernel-linked.json", False)
    live = found("kernel-2.json")
    known = {dead.key: Known("python", owned=False, linked=True)}

    assert the_one(listed([dead, live], known, everything=True)) == listed([live], {}, False)[0]
    assert the_one(listed([live, found("kernel-3.json")], {}, everything=False)) is None
    assert the_one(listed([dead], {}, everything=True)) is None


# items


def test_each_kernel_is_one_line_of_aligned_columns() -> None:
    kernels = [
        found("kernel-6759.json", started=NOW - 300, language="python", pid=6759,
              cwd="/home/ann/proj"),
        found("kernel-12.json", started=NOW - 7200, language="bash", pid=12, cwd="/srv"),
    ]  # fmt: skip

    lines = [item["label"] for item in items(listed(kernels, {}, False), NOW, home="/home/ann")]

    assert lines == [
        "kernel-6759.json  python  pid 6759  ~/proj  5 min ago",
        "kernel-12.json    bash    pid 12    /srv    2 h ago",
    ]


def test_what_the_editor_knows_marks_the_line_and_its_language_wins() -> None:
    linked, before, ours, dead = (
        found("kernel-a.json", started=NOW - 40, language="python3"),
        found("kernel-b.json", started=NOW - 50),
        found("kernel-c.json", started=NOW - 60),
        found("kernel-d.json", False, started=NOW - 3 * 86400),
    )
    known = {
        linked.key: Known("python", owned=False, linked=True, answered=True),
        before.key: Known("R", owned=False, linked=False, answered=True),
        ours.key: Known("", owned=True, linked=False),
    }  # fmt: skip

    lines = [i["label"] for i in items(listed([linked, before, ours, dead], known, True), NOW)]

    assert lines == [
        "kernel-a.json  python  40 s ago   linked",
        "kernel-b.json  R       50 s ago   linked before",
        "kernel-c.json          1 min ago  ours",
        "kernel-d.json          3 d ago    not running",
    ]


def test_a_choice_targets_its_connection_file() -> None:
    choices = listed([found("kernel-1.json")], {}, False)

    assert [i["target"] for i in items(choices, NOW)] == ["/run/jupyter/kernel-1.json"]


def test_control_characters_in_a_name_are_shown_as_question_marks() -> None:
    kernel = found("kernel-a\nb\x1b[2J.json", cwd="/tmp/x\ty")

    (item,) = items(listed([kernel], {}, False), NOW, home="/home/ann")

    assert item["label"] == "kernel-a?b?[2J.json  /tmp/x?y  1 h ago"


def test_wide_characters_take_two_cells_in_the_alignment() -> None:
    kernels = [found("kernel-1.json", cwd="/srv/数据"), found("kernel-2.json", cwd="/srv/data12")]

    labels = [i["label"] for i in items(listed(kernels, {}, False), NOW, home="/h")]

    def cells(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) == "W" else 1 for ch in text)

    before_age = [cells(label[: label.index("1 h ago")]) for label in labels]
    assert before_age == [len("kernel-1.json  /srv/data12  ")] * 2


def test_age_reads_in_the_largest_whole_unit() -> None:
    assert [age(s) for s in (0.2, 40, 60, 3599, 3600, 47 * 3600, 49 * 3600)] == [
        "just now", "40 s ago", "1 min ago", "59 min ago", "1 h ago", "47 h ago", "2 d ago",
    ]  # fmt: skip


# nothing_to_list


def test_without_any_file_the_message_names_the_dirs_searched() -> None:
    assert nothing_to_list([], "~/rt, ~/.ipython/profile_default/security", ":KernelConnect") == (
        "no connection file found in ~/rt, ~/.ipython/profile_default/security; "
        "start a kernel (e.g. ipython kernel) first"
    )


def test_with_only_dead_files_the_message_counts_them_and_offers_the_bang() -> None:
    message = nothing_to_list([found("kernel-1.json", False)] * 3, "~/rt", ":KernelList")

    assert message == (
        "no running kernel: nothing listens at the 3 connection files in ~/rt; start a kernel "
        "(e.g. ipython kernel), or :KernelList! to list the files anyway"
    )


# What the app knows of its sessions


class OwnedSource(Source):
    """Any source that says it is ours: no type of the app's is asked."""

    owned = True


def test_the_app_knows_its_sessions_by_key_and_asks_their_source_whether_owned() -> None:
    app = App(None)  # the editor is never called here
    linked = KernelSession(Source(), app.options, Clock())
    linked.link(FakeChannel())
    linked.last_heard = 1.0
    ours = KernelSession(OwnedSource(), app.options, Clock())
    app.sessions = {"/run/kernel-a.json": linked, "/run/kernel-b.json": ours}
    app.active = linked

    assert known(app.sessions, app.active) == {
        "/run/kernel-a.json": Known("", owned=False, linked=True, answered=True),
        "/run/kernel-b.json": Known("", owned=True, linked=False, answered=False),
    }
