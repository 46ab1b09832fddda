"""Unit tests of kernel_nvim.connection: finding, choosing, reading and vetting connection files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, Callable

import pytest

from kernel_nvim.connection import (
    ConnectionInfo,
    completion_candidates,
    kernel_pid,
    list_connection_files,
    load_connection_file,
    looks_alive,
    resolve_connection_file,
    search_dirs,
    security_warnings,
)
from kernel_nvim.errors import KernelError

KEY = "a0436f6c-1916-498b-8eb9-e81ab9368e84"
BASE_TIME = 1_700_000_000


def connection(**overrides: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "shell_port": 50001,
        "iopub_port": 50002,
        "stdin_port": 50003,
        "control_port": 50004,
        "hb_port": 50005,
        "ip": "127.0.0.1",
        "key": KEY,
        "transport": "tcp",
        "signature_scheme": "hmac-sha256",
        "kernel_name": "",
    }
    info.update(overrides)
    return info


def write(directory: Path, name: str, age: int = 0, content: Any = None, **overrides: Any) -> Path:
    """A connection file modified ``age`` seconds before the newest ones; 0600 like Jupyter's."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    text = content if isinstance(content, str) else json.dumps(content or connection(**overrides))
    path.write_text(text)
    path.chmod(0o600)
    os.utime(path, (BASE_TIME - age, BASE_TIME - age))
    return path


def conn_for(**overrides: Any) -> ConnectionInfo:
    return ConnectionInfo("/nowhere/kernel-x.json", connection(**overrides))


def error_of(func: Callable[[], object]) -> str:
    with pytest.raises(KernelError) as excinfo:
        func()
    return str(excinfo.value)


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


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    children: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", *args])
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()
        child.wait()


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


def test_blank_target_picks_newest_kernel_that_looks_alive(
    runtime: Path, listening_port: int, closed_port: int
) -> None:
    write(runtime, "kernel-dead.json", age=0, hb_port=closed_port)
    alive = write(runtime, "kernel-alive.json", age=10, hb_port=listening_port)
    write(runtime, "kernel-older.json", age=20, hb_port=listening_port)

    assert resolve_connection_file("  ", cwd=str(runtime)) == str(alive)


def test_blank_target_falls_back_to_newest_file_when_no_kernel_looks_alive(
    runtime: Path, closed_port: int
) -> None:
    newest = write(runtime, "kernel-1.json", age=0, hb_port=closed_port)
    write(runtime, "kernel-2.json", age=10, hb_port=closed_port)

    assert resolve_connection_file("", cwd=str(runtime)) == str(newest)


def test_blank_target_skips_broken_files_when_looking_for_a_live_kernel(
    runtime: Path, listening_port: int
) -> None:
    write(runtime, "kernel-broken.json", age=0, content="{")
    alive = write(runtime, "kernel-alive.json", age=10, hb_port=listening_port)

    assert resolve_connection_file("", cwd=str(runtime)) == str(alive)


def test_blank_target_without_files_names_the_dirs_searched(runtime: Path, home: Path) -> None:
    (home / ".ipython" / "profile_default" / "security").mkdir(parents=True)

    message = error_of(lambda: resolve_connection_file("", cwd=str(runtime)))

    assert message == (
        f"no connection file found in {runtime}, ~/.ipython/profile_default/security; "
        "start a kernel (e.g. ipython kernel) first"
    )


def test_blank_target_without_any_dir_names_the_runtime_dir(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "missing"))

    message = error_of(lambda: resolve_connection_file("", cwd=str(tmp_path)))

    assert f"no connection file found in {tmp_path / 'missing'};" in message


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


# load_connection_file and ConnectionInfo


def test_load_connection_file_returns_parsed_info_and_names(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-6759.json")

    conn = load_connection_file(str(path))

    assert conn.path == str(path)
    assert conn.info == connection()
    assert conn.name == "kernel-6759.json"
    assert conn.short_name == "kernel-6759"


def test_load_connection_file_fills_jupyter_client_defaults(tmp_path: Path) -> None:
    info = connection()
    del info["transport"], info["signature_scheme"]
    path = write(tmp_path, "kernel-1.json", content=info)

    conn = load_connection_file(str(path))

    assert conn.info["transport"] == "tcp"
    assert conn.info["signature_scheme"] == "hmac-sha256"


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "kernel-x.json").mkdir()

    message = error_of(lambda: load_connection_file(str(tmp_path / "kernel-x.json")))

    assert message == "cannot read kernel-x.json: Is a directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_without_read_permission_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json")
    path.chmod(0)

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == "cannot read kernel-x.json: Permission denied"


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    message = error_of(lambda: load_connection_file(str(tmp_path / "kernel-x.json")))

    assert message == "cannot read kernel-x.json: No such file or directory"


def test_invalid_json_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json", content='{\n  "ip": "127.0.0.1",\n  oops\n}')

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == "kernel-x.json is not a connection file: not valid JSON (line 3)"


def test_non_utf8_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "kernel-x.json"
    path.write_bytes(b"\xff\xfe{}")

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == "kernel-x.json is not a connection file: not UTF-8 text"


def test_json_that_is_not_an_object_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json", content="[1, 2]")

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == "kernel-x.json is not a connection file: not a JSON object"


def test_missing_keys_are_all_named_in_one_error(tmp_path: Path) -> None:
    info = connection()
    del info["hb_port"], info["key"], info["ip"]
    path = write(tmp_path, "kernel-x.json", content=info)

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == "kernel-x.json is not a connection file: missing hb_port, ip, key"


@pytest.mark.parametrize("bad", ["50001", 50001.0, True, None, 0, 70000])
def test_port_that_is_not_a_port_number_is_an_error(tmp_path: Path, bad: object) -> None:
    path = write(tmp_path, "kernel-x.json", shell_port=bad, hb_port=bad)

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == "kernel-x.json is not a connection file: bad shell_port, hb_port"


def test_ip_that_is_not_text_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json", ip=127)

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == "kernel-x.json is not a connection file: ip not text"


def test_unknown_transport_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json", transport="udp")

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == "kernel-x.json has an unsupported transport (expected tcp or ipc)"


@pytest.mark.parametrize("scheme", ["sha256", "hmac-nosuchhash", "hmac-shake_128", "hmac-"])
def test_signature_scheme_without_a_hashlib_hmac_is_an_error(tmp_path: Path, scheme: str) -> None:
    path = write(tmp_path, "kernel-x.json", signature_scheme=scheme)

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == (
        "kernel-x.json has an unsupported signature_scheme (expected hmac-<hash>, e.g. hmac-sha256)"
    )


def test_other_hmac_signature_schemes_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json", signature_scheme="hmac-sha512")

    assert load_connection_file(str(path)).info["signature_scheme"] == "hmac-sha512"


def test_empty_key_is_refused_because_messages_would_be_unsigned(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json", key="")

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == (
        "kernel-x.json has an empty key, so its messages would be unsigned; "
        "set g:kernel_allow_unsigned = 1 to connect anyway"
    )


def test_empty_key_is_accepted_when_unsigned_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json", key="")

    assert load_connection_file(str(path), allow_unsigned=True).info["key"] == ""


@pytest.mark.parametrize(
    ("ip", "transport", "local"),
    [
        ("127.0.0.1", "tcp", True),
        ("127.3.4.5", "tcp", True),
        ("::1", "tcp", True),
        ("localhost", "tcp", True),
        ("LocalHost", "tcp", True),
        ("0.0.0.0", "tcp", True),
        ("10.0.0.5", "tcp", False),
        ("192.168.1.2", "tcp", False),
        ("kernels.example.com", "tcp", False),
        ("/tmp/kernel-ipc", "ipc", True),
    ],
)
def test_is_local_recognises_loopback_any_address_and_ipc(
    ip: str, transport: str, local: bool
) -> None:
    assert conn_for(ip=ip, transport=transport).is_local is local


# security_warnings


def test_no_security_warnings_for_a_private_local_file(tmp_path: Path) -> None:
    conn = load_connection_file(str(write(tmp_path, "kernel-x.json")))

    assert security_warnings(conn) == []


def test_security_warning_for_a_file_other_users_can_read(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json")
    path.chmod(0o644)

    warnings = security_warnings(load_connection_file(str(path)))

    assert warnings == ["kernel-x.json is readable by other users (mode 0644)"]


def test_security_warning_for_plain_tcp_to_a_remote_ip(tmp_path: Path) -> None:
    conn = load_connection_file(str(write(tmp_path, "kernel-x.json", ip="10.0.0.5")))

    assert security_warnings(conn) == ["traffic to 10.0.0.5 is not encrypted"]


def test_no_security_warning_for_curve_encrypted_tcp_to_a_remote_ip(tmp_path: Path) -> None:
    path = write(
        tmp_path, "kernel-x.json", ip="10.0.0.5", curve_publickey="pub", curve_secretkey="s"
    )

    assert security_warnings(load_connection_file(str(path))) == []


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


# kernel_pid


def test_kernel_pid_finds_the_process_given_the_file_path(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    path = write(tmp_path, "kernel-abc.json")
    child = spawn("-f", str(path))

    assert kernel_pid(load_connection_file(str(path))) == child.pid


def test_kernel_pid_finds_the_process_given_only_the_basename(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    path = write(tmp_path, f"kernel-{os.getpid()}-basename.json")
    child = spawn("-f", path.name)

    assert kernel_pid(load_connection_file(str(path))) == child.pid


def test_kernel_pid_ignores_clients_attached_with_existing(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    path = write(tmp_path, "kernel-abc-client.json")
    spawn("--existing", str(path))

    assert kernel_pid(load_connection_file(str(path))) is None


def test_kernel_pid_falls_back_to_the_pid_in_an_ipython_kernel_file_name(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    child = spawn()
    path = write(tmp_path, f"kernel-{child.pid}.json")

    assert kernel_pid(load_connection_file(str(path))) == child.pid


def test_kernel_pid_is_none_when_the_named_pid_has_exited(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    path = write(tmp_path, f"kernel-{child.pid}.json")

    assert kernel_pid(load_connection_file(str(path))) is None


def test_kernel_pid_is_none_for_our_own_pid_and_for_pid_zero(tmp_path: Path) -> None:
    for name in (f"kernel-{os.getpid()}.json", "kernel-0.json"):
        assert kernel_pid(load_connection_file(str(write(tmp_path, name)))) is None


def test_kernel_pid_is_none_for_a_remote_kernel(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    path = write(tmp_path, "kernel-remote.json", ip="10.0.0.5")
    spawn("-f", str(path))

    assert kernel_pid(load_connection_file(str(path))) is None


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


def test_completion_matches_full_basename_prefixes(runtime: Path) -> None:
    write(runtime, "kernel-1.json")

    assert completion_candidates("kernel-") == ["kernel-1.json"]


# the key never leaks


def test_no_error_message_repr_or_warning_contains_the_key(tmp_path: Path, runtime: Path) -> None:
    broken = {
        "kernel-json.json": '{"key": "' + KEY + '",\n "ip": }',
        "kernel-list.json": json.dumps([KEY]),
        "kernel-missing.json": json.dumps({"key": KEY}),
        "kernel-port.json": json.dumps(connection(hb_port=KEY)),
        "kernel-ip.json": json.dumps(connection(ip=[KEY])),
        "kernel-transport.json": json.dumps(connection(transport=KEY)),
        "kernel-scheme.json": json.dumps(connection(signature_scheme="hmac-" + KEY)),
        "kernel-ipport.json": json.dumps(connection(ip=KEY, hb_port="1")),
        "kernel-unsigned.json": json.dumps(connection(key="", ip=KEY)),
    }
    messages: list[str] = []
    for name, text in broken.items():
        path = write(tmp_path, name, content=text)
        messages.append(error_of(partial(load_connection_file, str(path))))
    good = write(tmp_path, "kernel-good.json", ip="10.0.0.5")
    good.chmod(0o644)
    conn = load_connection_file(str(good))

    shown = [*messages, repr(conn), str(conn), *security_warnings(conn)]

    assert len(shown) == len(broken) + 4
    assert [text for text in shown if KEY in text] == []
