"""Kernels on another host, the pure parts: targets, what is run there (and that a shell reads it
as meant), what its answers and ssh's complaints mean, and the options. No ssh is run here."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from kernel_nvim.errors import KernelError
from kernel_nvim.kernel.sources import ssh_hosts
from kernel_nvim.kernel.sources.connection_file import parse_connection_info
from kernel_nvim.kernel.sources.ssh_hosts import Listing, RemoteFile
from kernel_nvim.kernel.sources.targets import SshTarget, ssh_target
from kernel_nvim.session.options import Options
from kernel_nvim.tunnels import picker_items

KEY = "a8c1f7e2-secret-key-9d3b"
INFO = {"shell_port": 5001, "iopub_port": 5002, "stdin_port": 5003, "control_port": 5004,
        "hb_port": 5005, "ip": "127.0.0.1", "key": KEY, "transport": "tcp",
        "signature_scheme": "hmac-sha256", "kernel_name": "python3"}  # fmt: skip


# Section: targets


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("ssh://gpu", SshTarget("gpu")),
        ("ssh://me@gpu:2222/6759", SshTarget("gpu", "me", 2222, "6759")),
        ("ssh://gpu//tmp/kernel-1.json", SshTarget("gpu", "", 0, "/tmp/kernel-1.json")),
        ("ssh://gpu/~/k/kernel-1.json", SshTarget("gpu", "", 0, "~/k/kernel-1.json")),
        ("ssh://gpu//tmp/a%20b.json", SshTarget("gpu", "", 0, "/tmp/a b.json")),
        ("gpu:6759", SshTarget("gpu", "", 0, "6759")),
        ("me@gpu:", SshTarget("gpu", "me", 0, "")),
    ],
)
def test_a_target_names_the_host_and_what_there(text: str, want: SshTarget, tmp_path: Path) -> None:
    assert ssh_target(text, str(tmp_path)) == want


def test_a_local_file_named_like_host_colon_is_a_local_target(tmp_path: Path) -> None:
    (tmp_path / "gpu:6759").write_text("{}")
    assert ssh_target("gpu:6759", str(tmp_path)) is None
    assert ssh_target("kernel-1.json", str(tmp_path)) is None


def test_a_bad_port_is_one_line() -> None:
    with pytest.raises(KernelError, match="not a port number"):
        ssh_target("ssh://gpu:99999/", "/")


# Section: what is run there


def test_ssh_runs_in_batch_mode_with_the_port_and_the_host_after_dashes() -> None:
    argv = ssh_hosts.ssh_argv(["ssh", "-F", "cfg"], SshTarget("-oProxyCommand=x", "me", 2222))
    assert argv[:3] == ["ssh", "-F", "cfg"]
    assert "BatchMode=yes" in argv
    assert argv[-4:] == ["-p", "2222", "--", "me@-oProxyCommand=x"]


def run_as_remote(argv: list[str], env: dict[str, str]) -> bytes:
    """What the remote login shell does with the one string ssh hands it."""
    return subprocess.run(["sh", "-c", argv[-1]], env=env, capture_output=True, check=True,
                          timeout=10).stdout  # fmt: skip


def test_the_listing_script_finds_files_as_the_local_search_does(tmp_path: Path) -> None:
    home, runtime = tmp_path / "h o m e", tmp_path / "run'time"
    security = home / ".ipython" / "profile_default" / "security"
    for d in (runtime, security):
        d.mkdir(parents=True)
    for path, mtime in (
        (runtime / "kernel-old.json", 100),
        (runtime / "kernel-new.json", 300),
        (security / "kernel-p.json", 200),
        (runtime / "other.json", 400),
    ):
        path.write_text("{}")
        os.utime(path, (mtime, mtime))  # fmt: skip
    argv = ssh_hosts.remote_argv(["ssh"], SshTarget("h"), ssh_hosts.LIST_SCRIPT)
    env = {"HOME": str(home), "JUPYTER_RUNTIME_DIR": str(runtime), "PATH": os.environ["PATH"]}
    listing = ssh_hosts.parse_listing(run_as_remote(argv, env).decode())
    assert [f.name for f in listing.files] == [
        "kernel-new.json",
        "kernel-p.json",
        "kernel-old.json",
    ]
    assert listing.runtime_dir == str(runtime)
    assert listing.shown(str(security / "kernel-p.json")).startswith("~/.ipython/")


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="no /proc/net/tcp (not Linux)")
def test_the_listing_script_tells_a_file_whose_kernel_listens_from_one_whose_kernel_died(
    tmp_path: Path,
) -> None:
    listening = socket.create_server(("127.0.0.1", 0))
    closed = socket.create_server(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now, as after a kernel that died
    for name, port in (("kernel-live.json", listening.getsockname()[1]),
                       ("kernel-dead.json", dead_port)):  # fmt: skip
        (tmp_path / name).write_text(json.dumps({**INFO, "hb_port": port}, indent=1))
    (tmp_path / "kernel-ipc.json").write_text(json.dumps({**INFO, "transport": "ipc"}))
    argv = ssh_hosts.remote_argv(["ssh"], SshTarget("h"), ssh_hosts.LIST_SCRIPT)
    env = {"HOME": str(tmp_path), "JUPYTER_RUNTIME_DIR": str(tmp_path), "PATH": os.environ["PATH"]}
    try:
        listing = ssh_hosts.parse_listing(run_as_remote(argv, env).decode())
    finally:
        listening.close()
    alive = {f.name: f.alive for f in listing.files}
    assert alive == {"kernel-live.json": True, "kernel-dead.json": False, "kernel-ipc.json": None}
    assert listing.files[-1].name == "kernel-dead.json"  # running ones first
    assert {f.name for f in ssh_hosts.running(listing)} == {"kernel-live.json", "kernel-ipc.json"}


def test_the_read_script_prints_the_absolute_path_then_the_file(tmp_path: Path) -> None:
    (tmp_path / "k dir").mkdir()
    (tmp_path / "k dir" / "kernel-1.json").write_text('{"a": 1}')
    argv = ssh_hosts.remote_argv(
        ["ssh"], SshTarget("h"), ssh_hosts.READ_SCRIPT, "k dir/kernel-1.json"
    )
    out = run_as_remote(argv, {"HOME": str(tmp_path), "PATH": os.environ["PATH"]})
    assert out == f"{tmp_path}/k dir/kernel-1.json\n".encode() + b'{"a": 1}'


def test_the_scripts_hold_nothing_another_login_shell_reads_otherwise() -> None:
    for script in (ssh_hosts.LIST_SCRIPT, ssh_hosts.READ_SCRIPT):
        assert not set("'\\!") & set(script)


# Section: answers


def test_a_listing_is_newest_first_and_a_file_found_twice_is_once() -> None:
    text = ("h /home/me\nd /home/me/.local/share/jupyter/runtime\n"
            "f 100 1 /r/kernel-a.json\nf 300 ? /r/kernel-b.json\nf 100 1 /r/kernel-a.json\n"
            "f 400 0 /r/kernel-dead.json\nf x 1 /r/kernel-bad.json\nnoise\n")  # fmt: skip
    listing = ssh_hosts.parse_listing(text)
    assert [(f.path, f.alive) for f in listing.files] == [
        ("/r/kernel-b.json", None),
        ("/r/kernel-a.json", True),
        ("/r/kernel-dead.json", False),
    ]
    assert listing.home == "/home/me"
    nothing = Listing("/home/me", "/home/me/.local/share/jupyter/runtime", ())
    assert "~/.local/share/jupyter/runtime" in ssh_hosts.nothing_there(nothing, "gpu")
    dead = Listing("/home/me", "/r", (RemoteFile("/r/kernel-dead.json", 1, False),))
    assert ssh_hosts.nothing_there(dead, "gpu") == (
        "no running kernel on gpu: nothing listens at the 1 connection file there; start a "
        "kernel there, or :KernelConnect! to list the files anyway")  # fmt: skip


LISTING = Listing("/h", "/h/run", (RemoteFile("/h/run/kernel-6759.json", 3),
                                    RemoteFile("/h/run/kernel-6760.json", 2),
                                    RemoteFile("/h/run/kernel-abc.json", 1)))  # fmt: skip


def test_a_fragment_names_one_file_as_locally() -> None:
    assert ssh_hosts.choose(LISTING, "6759", "gpu").name == "kernel-6759.json"
    assert ssh_hosts.choose(LISTING, "kernel-abc.json", "gpu").name == "kernel-abc.json"
    assert ssh_hosts.choose(LISTING, "ab", "gpu").name == "kernel-abc.json"
    with pytest.raises(KernelError, match="'67' matches 2 connection files on gpu"):
        ssh_hosts.choose(LISTING, "67", "gpu")
    with pytest.raises(KernelError, match="no connection file matches 'zz' on gpu"):
        ssh_hosts.choose(LISTING, "zz", "gpu")
    # A dead kernel's file is no rival to a running one's; alone, it is still the one named.
    files = (
        RemoteFile("/h/run/kernel-6759.json", 3, False),
        RemoteFile("/h/run/kernel-67.json", 1),
    )
    assert ssh_hosts.choose(Listing("/h", "/h/run", files), "675", "gpu").alive is False
    assert ssh_hosts.choose(Listing("/h", "/h/run", files), "6", "gpu").name == "kernel-67.json"


@pytest.mark.parametrize(
    ("stderr", "says"),
    [
        ("me@gpu: Permission denied (publickey).\n", "add your key to ssh-agent (ssh-add)"),
        ("ssh: Could not resolve hostname gpu: Name or service not known\n", "no such name"),
        (
            "No ED25519 host key is known for gpu\nHost key verification failed.\n",
            "ssh gpu once by hand",
        ),
        ("ssh: connect to host gpu port 22: Connection refused\n", "connection refused"),
        (
            "Warning: Permanently added 'gpu'\nkex_exchange_identification: read: reset\n",
            "ssh to gpu: kex_exchange_identification: read: reset",
        ),
        ("", "ssh to gpu: it failed and said nothing"),
    ],
)
def test_what_ssh_says_is_one_line_saying_what_to_do(stderr: str, says: str) -> None:
    line = ssh_hosts.problem(stderr, "gpu")
    assert says in line
    assert "\n" not in line


def test_a_long_complaint_is_cut_short() -> None:
    assert len(ssh_hosts.problem("x" * 1000, "gpu")) < 230


# Section: the connection file, read into memory


def test_a_file_read_there_is_validated_as_a_local_one() -> None:
    conn = parse_connection_info("/r/kernel-1.json", json.dumps(INFO).encode())
    assert conn.ports["hb"] == 5005
    assert conn.path == "/r/kernel-1.json"


@pytest.mark.parametrize(
    "raw", [b"\xff", b'{"key": "' + KEY.encode() + b'"', json.dumps({**INFO, "hb_port": KEY})]
)
def test_a_bad_file_read_there_is_refused_without_quoting_it(raw: bytes | str) -> None:
    data = raw.encode() if isinstance(raw, str) else raw
    with pytest.raises(KernelError) as error:
        parse_connection_info("/r/kernel-1.json", data)
    assert KEY not in str(error.value)
    assert "kernel-1.json" in str(error.value)


# Section: options, the picker


def test_ssh_command_is_a_list_of_words_or_the_default() -> None:
    assert Options.from_editor({}).ssh_command == ("ssh",)
    assert Options.from_editor({"ssh_command": ["ssh", "-F", "c"]}).ssh_command == (
        "ssh",
        "-F",
        "c",
    )
    for bad in ("ssh -F c", [], ["ssh", ""], ["ssh", 1], None):
        assert Options.from_editor({"ssh_command": bad}).ssh_command == ("ssh",)


def test_the_picker_lists_the_files_there_newest_first_by_their_paths() -> None:
    target = SshTarget("gpu", "me", 2222)
    security = "/h/.ipython/profile_x/security"
    listing = Listing("/h", "/h/run", (RemoteFile("/h/run/kernel-a b.json", 90),
                                       RemoteFile(f"{security}/kernel-c.json", 0)))  # fmt: skip
    items = picker_items(target, listing, 100)
    assert [i["target"] for i in items] == [
        "ssh://me@gpu:2222//h/run/kernel-a%20b.json",
        f"ssh://me@gpu:2222/{security}/kernel-c.json",
    ]
    assert ssh_target(items[0]["target"], "/") == SshTarget(
        "gpu", "me", 2222, "/h/run/kernel-a b.json"
    )
    assert items[0]["label"].split() == ["kernel-a", "b.json", "10", "s", "ago", "~/run"]
    dead = Listing("/h", "/h/run", (RemoteFile("/h/run/kernel-d.json", 90, False),))
    assert picker_items(target, dead, 100)[0]["label"].endswith("~/run  not running")


# Section: what killed hosts left


def test_only_old_dirs_of_ours_with_nothing_listening_are_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import tempfile

    from kernel_nvim.kernel.sources import ssh

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dirs = {name: tmp_path / f"kernel-nvim-ssh-{name}" for name in ("dead", "live", "new", "own")}
    held = []
    for name, directory in dirs.items():
        directory.mkdir(mode=0o700)
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(directory / "k-5001"))
        if name == "live":
            sock.listen()
            held.append(sock)
        else:
            sock.close()  # its file stays, as a killed ssh's does
        if name != "new":
            os.utime(directory, (1, 1))
    ssh._sweep(keep=str(dirs["own"]))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "kernel-nvim-ssh-live", "kernel-nvim-ssh-new", "kernel-nvim-ssh-own"
    ]  # fmt: skip
    for sock in held:
        sock.close()
