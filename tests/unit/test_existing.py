"""Unit tests of kernel_nvim.kernel.sources.existing: finding and choosing connection files, and
what a ConnectionFileSource tells and does."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from connection_files import conn_for, connection, error_of, write

from kernel_nvim.kernel.sources.connection_file import ConnectionInfo, looks_alive
from kernel_nvim.kernel.sources.existing import (
    ConnectionFileSource,
    completion_candidates,
    list_connection_files,
    resolve_connection_file,
    search_dirs,
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def runtime(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    return runtime


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    # Bound but never listening, then released: nothing accepts on it.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# search_dirs


def test_search_dirs_lists_runtime_dir_then_ipython_profile_security_dirs(
    runtime: Path, home: Path
) -> None:
    for profile in ("profile_work", "profile_default"):
        (home / ".ipython" / profile / "security").mkdir(parents=True)
    (home / ".ipython" / "not_a_profile" / "security").mkdir(parents=True)

    assert search_dirs() == [
        str(runtime),
        str(home / ".ipython" / "profile_default" / "security"),
        str(home / ".ipython" / "profile_work" / "security"),
    ]


def test_search_dirs_leaves_out_dirs_that_do_not_exist(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "missing"))
    (home / ".ipython" / "profile_default").mkdir(parents=True)

    assert search_dirs() == []


# list_connection_files


def test_list_connection_files_returns_kernel_files_newest_first(runtime: Path) -> None:
    old = write(runtime, "kernel-1.json", age=20)
    new = write(runtime, "kernel-2.json", age=0)
    middle = write(runtime, "kernel-3.json", age=10)
    write(runtime, "nbserver-4.json")
    write(runtime, "kernel-5.txt")

    assert list_connection_files() == [str(new), str(middle), str(old)]


def test_list_connection_files_merges_dirs_by_mtime(tmp_path: Path) -> None:
    a = write(tmp_path / "a", "kernel-a.json", age=5)
    b = write(tmp_path / "b", "kernel-b.json", age=0)

    assert list_connection_files([str(tmp_path / "a"), str(tmp_path / "b")]) == [str(b), str(a)]


def test_list_connection_files_lists_a_file_reached_twice_once(tmp_path: Path) -> None:
    path = write(tmp_path / "real", "kernel-1.json")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    dirs = [str(tmp_path / "real"), str(tmp_path / "link"), str(tmp_path / "real")]

    assert list_connection_files(dirs) == [str(path)]


def test_list_connection_files_returns_absolute_paths_for_relative_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "rt", "kernel-1.json")
    monkeypatch.chdir(tmp_path)

    assert list_connection_files(["rt"]) == [str(path)]


# resolve_connection_file: no target


def test_blank_target_is_no_name_to_resolve(runtime: Path) -> None:
    # :KernelConnect without a name lists the running kernels instead (catalog, kernel_list).
    write(runtime, "kernel-1.json")

    with pytest.raises(ValueError):
        resolve_connection_file("  ", cwd=str(runtime))


# resolve_connection_file: paths


def test_absolute_path_target_resolves_to_that_file(runtime: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "elsewhere", "my-kernel.json")

    assert resolve_connection_file(str(path), cwd="/") == str(path)


def test_tilde_path_target_expands_home(runtime: Path, home: Path) -> None:
    path = write(home / "k", "conn.json")

    assert resolve_connection_file("~/k/conn.json", cwd="/") == str(path)


def test_relative_path_target_is_taken_from_cwd(runtime: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "project" / "sub", "conn.json")

    assert resolve_connection_file("sub/conn.json", cwd=str(tmp_path / "project")) == str(path)


def test_file_in_cwd_wins_over_fragment_matching(runtime: Path, tmp_path: Path) -> None:
    write(runtime, "kernel-1.json")
    local = write(tmp_path / "project", "kernel-1.json")

    assert resolve_connection_file("kernel-1.json", cwd=str(tmp_path / "project")) == str(local)


def test_missing_path_target_is_an_error(runtime: Path) -> None:
    message = error_of(lambda: resolve_connection_file("sub/kernel-1.json", cwd=str(runtime)))

    assert message == "no such file: sub/kernel-1.json"


def test_missing_tilde_target_is_an_error(runtime: Path) -> None:
    message = error_of(lambda: resolve_connection_file("~/kernel-1.json", cwd=str(runtime)))

    assert message == "no such file: ~/kernel-1.json"


def test_directory_target_is_an_error(runtime: Path, tmp_path: Path) -> None:
    message = error_of(lambda: resolve_connection_file(str(runtime), cwd="/"))

    assert message == f"{runtime} is a directory, not a connection file"


# resolve_connection_file: fragments


def test_fragment_resolves_to_the_exact_kernel_file_before_substring_matches(
    runtime: Path,
) -> None:
    exact = write(runtime, "kernel-12.json", age=10)
    write(runtime, "kernel-123.json", age=0)

    assert resolve_connection_file("12", cwd="/") == str(exact)


def test_fragment_may_be_the_full_basename(runtime: Path) -> None:
    exact = write(runtime, "kernel-6759.json")
    write(runtime, "kernel-67590.json")

    assert resolve_connection_file("kernel-6759.json", cwd="/") == str(exact)


def test_exact_fragment_match_prefers_the_first_dir(tmp_path: Path) -> None:
    first = write(tmp_path / "a", "kernel-1.json", age=10)
    write(tmp_path / "b", "kernel-1.json", age=0)
    dirs = [str(tmp_path / "a"), str(tmp_path / "b")]

    assert resolve_connection_file("1", cwd="/", dirs=dirs) == str(first)


def test_fragment_matching_one_file_by_substring_resolves_to_it(runtime: Path) -> None:
    path = write(runtime, "kernel-ab12cd.json")
    write(runtime, "kernel-99.json")

    assert resolve_connection_file("12c", cwd="/") == str(path)


def test_fragment_matching_nothing_names_the_dirs_searched(runtime: Path) -> None:
    write(runtime, "kernel-1.json")

    message = error_of(lambda: resolve_connection_file("42", cwd="/"))

    assert message == f"no connection file matches '42' in {runtime}"


def test_fragment_matching_several_files_lists_them_newest_first(runtime: Path) -> None:
    write(runtime, "kernel-1675.json", age=20)
    write(runtime, "kernel-6759.json", age=0)
    write(runtime, "kernel-6760.json", age=10)

    message = error_of(lambda: resolve_connection_file("6", cwd="/"))

    assert message == (
        "'6' matches 3 connection files: kernel-6759.json, kernel-6760.json, kernel-1675.json"
    )


def test_fragment_does_not_match_non_kernel_files_exactly(runtime: Path) -> None:
    write(runtime, "nbserver-1.json")

    message = error_of(lambda: resolve_connection_file("nbserver-1.json", cwd="/"))

    assert message.startswith("no connection file matches 'nbserver-1.json'")


# looks_alive


def test_kernel_whose_heartbeat_port_accepts_looks_alive(listening_port: int) -> None:
    assert looks_alive(conn_for(hb_port=listening_port)) is True


def test_kernel_bound_to_any_address_is_probed_through_loopback(listening_port: int) -> None:
    assert looks_alive(conn_for(ip="0.0.0.0", hb_port=listening_port)) is True


def test_kernel_whose_heartbeat_port_is_closed_looks_dead(closed_port: int) -> None:
    assert looks_alive(conn_for(hb_port=closed_port)) is False


def test_ipc_kernel_looks_alive_while_its_heartbeat_socket_file_exists(tmp_path: Path) -> None:
    prefix = tmp_path / "kernel-ipc"
    (tmp_path / "kernel-ipc-7").touch()

    assert looks_alive(conn_for(transport="ipc", ip=str(prefix), hb_port=7)) is True
    assert looks_alive(conn_for(transport="ipc", ip=str(prefix), hb_port=8)) is False


@pytest.mark.parametrize("info", [{}, {"ip": "127.0.0.1", "hb_port": "x"}, connection(ip="")])
def test_looks_alive_answers_false_for_malformed_info(info: dict[str, Any]) -> None:
    assert looks_alive(ConnectionInfo("/nowhere/kernel-x.json", info)) is False


# completion_candidates


def test_completion_lists_prefix_matches_before_substring_matches_newest_first(
    runtime: Path,
) -> None:
    write(runtime, "kernel-12.json", age=30)
    write(runtime, "kernel-912.json", age=0)
    write(runtime, "kernel-123.json", age=10)
    write(runtime, "kernel-777.json", age=5)

    assert completion_candidates("12") == ["kernel-123.json", "kernel-12.json", "kernel-912.json"]


def test_completion_with_empty_arglead_lists_every_file_newest_first(tmp_path: Path) -> None:
    write(tmp_path, "kernel-1.json", age=10)
    write(tmp_path, "kernel-2.json", age=0)

    assert completion_candidates("", dirs=[str(tmp_path)]) == ["kernel-2.json", "kernel-1.json"]


def test_completion_lists_live_kernels_first_then_prefixes_before_substrings(
    runtime: Path,
) -> None:
    write(runtime, "kernel-12.json", age=0)
    live_inner = write(runtime, "kernel-912.json", age=30)
    live_prefix = write(runtime, "kernel-123.json", age=20)
    write(runtime, "kernel-120.json", age=10)

    live = {str(live_inner), str(live_prefix)}

    assert completion_candidates("12", live=live) == [
        "kernel-123.json", "kernel-912.json", "kernel-12.json", "kernel-120.json",
    ]  # fmt: skip


def test_completion_matches_full_basename_prefixes(runtime: Path) -> None:
    write(runtime, "kernel-1.json")

    assert completion_candidates("kernel-") == ["kernel-1.json"]


# ConnectionFileSource: what the session asks of a kernel from a connection file


def source_for(tmp_path: Path, name: str, **overrides: Any) -> ConnectionFileSource:
    return ConnectionFileSource.from_file(str(write(tmp_path, name, **overrides)))


def test_source_names_the_file_the_status_and_the_buffer(tmp_path: Path) -> None:
    source = source_for(tmp_path, "kernel-6759.json")

    assert (source.name, source.short_name, source.buffer_name) == (
        "kernel-6759.json", "kernel-6759", "kernel://kernel-6759.json"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("kernel-f13fc968-b063-4b5c-9f0e-1d2a3b4c5d6e.json", "kernel-f13fc968"),
        ("kernel-F13FC968B0634B5C9F0E1D2A3B4C5D6E.json", "kernel-F13FC968"),
        ("kernel-f13fc968-b063.json", "kernel-f13fc968-b063"),  # not a uuid: kept whole
        ("my-kernel.json", "my-kernel"),
        ("conn", "conn"),
    ],
)
def test_short_name_cuts_a_uuid_id_to_eight_characters(
    tmp_path: Path, name: str, short: str
) -> None:
    source = source_for(tmp_path, name)

    assert source.short_name == short
    assert source.buffer_name == f"kernel://{name}"


def test_source_key_is_the_real_path_so_a_link_is_the_same_kernel(tmp_path: Path) -> None:
    source = source_for(tmp_path, "kernel-1.json")
    (tmp_path / "kernel-link.json").symlink_to(tmp_path / "kernel-1.json")
    linked = ConnectionFileSource.from_file(str(tmp_path / "kernel-link.json"))

    assert linked.key == source.key == os.path.realpath(tmp_path / "kernel-1.json")
    assert linked.name == "kernel-link.json"


def test_source_of_a_connection_file_is_not_ours_to_restart_or_shut_down(tmp_path: Path) -> None:
    source = source_for(tmp_path, "kernel-1.json")

    assert (source.owned, source.can_restart, source.can_shutdown) == (False, False, False)


def test_source_warns_as_the_file_is_vetted(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-1.json")
    path.chmod(0o604)

    warnings = ConnectionFileSource.from_file(str(path)).warnings()

    assert warnings == ["kernel-1.json is readable by other users (mode 0604)"]


def test_source_repr_names_the_file_but_never_the_key(tmp_path: Path) -> None:
    source = source_for(tmp_path, "kernel-1.json")

    assert "kernel-1.json" in repr(source)
    assert connection()["key"] not in repr(source)


def test_a_kernel_whose_ports_still_accept_is_not_taken_for_gone(
    tmp_path: Path, listening_port: int
) -> None:
    # Its process may be another user's, or stopped: nothing proves it gone.
    source = source_for(tmp_path, "kernel-1.json", hb_port=listening_port)
    source._process = None
    source._find = lambda: None  # type: ignore[method-assign]

    assert source.process_gone() is False
