"""End to end: kernels on another host over ssh. A real OpenSSH sshd on 127.0.0.1 (host keys, a
user key and configs of the test's own), real ipykernels whose connection files are in the
"remote" runtime dir (the one sshd's sessions see), and Neovim reaching them through
g:kernel_ssh_command = ['ssh', '-F', the test's config]. The tunnels are checked by pid."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.checks import assert_no_traceback, expect_one_message, kernel_lines, settle
from support.editor import Editor
from support.kernels import Kernel, start_kernel
from support.sandbox import Sandbox, wait_for
from support.sshd import MASTER, PASSWORD, REMOTE, STRANGER, UNKNOWN, Sshd, ensure_sshd, start_sshd

PROMPT = "Connect to kernel on kremote:"
TICKS = "import time\nfor i in range(40):\n    print('tick', i, flush=True)\n    time.sleep(0.25)\n"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    path, why = ensure_sshd()
    if not path:
        pytest.skip(why)
    server = start_sshd(path, tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def remote_kernels(sshd: Sshd, home: Path) -> Iterator[Callable[..., Kernel]]:
    """`start(dir=runtime)`: an ipykernel whose file is there; killed and its file gone after."""
    started: list[Kernel] = []

    def start(directory: Path | None = None) -> Kernel:
        directory = directory or sshd.runtime
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        started.append(start_kernel(directory, home))
        return started[-1]

    yield start
    for kernel in started:
        kernel.kill()
        kernel.path.unlink(missing_ok=True)


@pytest.fixture
def ssh_editor(make_editor: Callable[..., Editor], sandbox: Sandbox, sshd: Sshd) -> Editor:
    editor = make_editor(env=sandbox.env())
    editor.nvim.command("set columns=200 lines=30")
    editor.nvim.vars["kernel_ssh_command"] = sshd.ssh_command
    return editor


def tunnels(sshd: Sshd) -> list[int]:
    """The pids of the tunnels' ssh processes (alive, not zombies) to this sshd."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            b"ExitOnForwardFailure=yes" in argv
            and str(sshd.config).encode() in argv
            and alive(int(entry))
        ):
            found.append(int(entry))
    return found


def forwarded(pid: int) -> list[Path]:
    """The unix sockets the tunnel ``pid`` listens on (its -L arguments)."""
    argv = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
    return [Path(a.removeprefix("-L").split(":")[0]) for a in argv if a.startswith("-L")]


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def parent(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def wait_linked(editor: Editor, host: str, kernel: Kernel) -> None:
    want = f"{host}:{kernel.path.stem} idle"
    wait_for(lambda: editor.status() == want, 30, f"linked to {kernel.path.name} on {host}")


def run(editor: Editor, code: str, shows: str) -> None:
    """Run ``code`` in the linked kernel; until its output buffer shows ``shows``."""
    name = editor.nvim.eval("get(g:, 'kernel_state', {})").get("buffer", "")
    editor.nvim.command(f"KernelExec {code}")

    def output() -> str:
        lines = editor.nvim.exec_lua(
            "local b = vim.fn.bufnr('^' .. ... .. '$')"
            " return b > 0 and vim.api.nvim_buf_get_lines(b, 0, -1, false) or {}", name
        )  # fmt: skip
        return "\n".join(lines)

    wait_for(lambda: shows in output(), 30, f"{shows!r} in {name}")


def readable(editor: Editor) -> str:
    """What the user or a plugin can read: messages, every buffer and g: variable."""
    return str(editor.nvim.exec_lua(
        "local out = {vim.fn.execute('messages'), vim.fn.string(vim.fn.eval('g:'))}"
        " for _, b in ipairs(vim.api.nvim_list_bufs()) do"
        "   out[#out + 1] = table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '\\n')"
        "   out[#out + 1] = vim.fn.string(vim.fn.getbufvar(b, '')) end"
        " return table.concat(out, '\\n')"
    ))  # fmt: skip


# Section: finding and linking


def test_the_one_kernel_there_is_linked_and_runs_code_through_a_private_tunnel(
    make_editor: Callable[..., Editor], sandbox: Sandbox, sshd: Sshd, tmp_path: Path,
    remote_kernels: Callable[..., Kernel],
) -> None:  # fmt: skip
    kernel = remote_kernels()
    log = tmp_path / "log"  # the host logs everything: the key must not be in it either
    env = dict(sandbox.env(), NVIM_PYTHON_LOG_FILE=str(log), NVIM_PYTHON_LOG_LEVEL="DEBUG")
    ssh_editor = make_editor(env=env)
    ssh_editor.nvim.vars["kernel_ssh_command"] = sshd.ssh_command
    ssh_editor.nvim.command(f"KernelConnect {REMOTE}:")  # scp's form; no kernel named: the one
    wait_linked(ssh_editor, REMOTE, kernel)
    ssh_editor.wait_message(f"Connected to {kernel.path.name} on {REMOTE}")
    run(ssh_editor, "print('remote', 6 * 7)", "remote 42")
    [pid] = tunnels(sshd)
    sockets = forwarded(pid)
    assert len(sockets) == 5
    assert sockets[0].parent.stat().st_mode & 0o777 == 0o700
    assert all(s.stat().st_mode & 0o077 == 0 for s in sockets)
    key = str(kernel.path.read_text().split('"key": "')[1].split('"')[0])
    assert len(key) > 10 and key not in readable(ssh_editor)
    logs = list(tmp_path.glob("log*"))
    assert logs, "the host's log was not opened"
    assert all(key not in p.read_text(errors="replace") for p in logs)
    assert "not encrypted" not in ssh_editor.messages()
    assert_no_traceback(ssh_editor)


def test_a_kernel_there_is_found_by_fragment_and_by_path(
    ssh_editor: Editor, sshd: Sshd, remote_kernels: Callable[..., Kernel]
) -> None:
    first = remote_kernels()
    profile = remote_kernels(sshd.home / ".ipython" / "profile_default" / "security")
    # Code sent at once waits for the kernel there, as for a local one.
    ssh_editor.nvim.command(f"KernelConnect ssh://{REMOTE}/{first.fragment} | KernelExec print(7)")
    wait_linked(ssh_editor, REMOTE, first)
    run(ssh_editor, "print('first', 1 + 1)", "first 2")
    assert "In [1]: print(7)\n7" in "\n".join(ssh_editor.output())
    relative = profile.path.relative_to(sshd.home)
    ssh_editor.nvim.command(f"KernelConnect {REMOTE}:~/{relative}")
    wait_linked(ssh_editor, REMOTE, profile)
    run(ssh_editor, "print('profile', 2 + 2)", "profile 4")
    ssh_editor.nvim.command(f"KernelConnect ssh://{REMOTE}/{profile.path}")  # absolute
    wait_linked(ssh_editor, REMOTE, profile)
    assert len(tunnels(sshd)) == 1  # the link replaced took its tunnel along
    line = expect_one_message(
        ssh_editor, lambda: ssh_editor.nvim.command(f"KernelConnect ssh://{REMOTE}/nosuch"),
        "no connection file matches 'nosuch' on kremote",
    )  # fmt: skip
    assert f"(looked in {sshd.runtime} and ~/.ipython/profile_*/security)" in line


def test_the_picker_lists_the_kernels_there_newest_first_and_links_the_choice(
    ssh_editor: Editor, sshd: Sshd, remote_kernels: Callable[..., Kernel]
) -> None:
    older = remote_kernels()
    newer = remote_kernels()
    later = time.time() + 5
    os.utime(newer.path, (later, later))
    ssh_editor.nvim.command(f"KernelConnect ssh://{REMOTE}")
    lines = ssh_editor.wait_screen("Type number and <Enter>", 30)
    first = next(i for i, line in enumerate(lines) if line.startswith(PROMPT)) + 1
    rows = lines[first : first + 2]
    assert [row.split(": ", 1)[1].split()[0] for row in rows] == [newer.path.name, older.path.name]
    ssh_editor.feed("2\r")
    wait_linked(ssh_editor, REMOTE, older)
    run(ssh_editor, "print('picked', 3 * 3)", "picked 9")


def test_a_kernel_that_died_there_is_left_out_unless_asked_for_with_a_bang(
    ssh_editor: Editor, sshd: Sshd, remote_kernels: Callable[..., Kernel]
) -> None:
    live = remote_kernels()
    dead = remote_kernels()
    later = time.time() + 5  # the dead one is the newest: still not the one linked
    os.utime(dead.path, (later, later))
    dead.kill()  # its file stays there, as after a crash
    ssh_editor.nvim.command(f"KernelConnect ssh://{REMOTE}")
    wait_linked(ssh_editor, REMOTE, live)  # the one running kernel: no picker
    run(ssh_editor, "print('alive', 5 * 5)", "alive 25")
    ssh_editor.nvim.command(f"KernelConnect! ssh://{REMOTE}")
    lines = ssh_editor.wait_screen("Type number and <Enter>", 30)
    first = next(i for i, line in enumerate(lines) if line.startswith(PROMPT)) + 1
    rows = lines[first : first + 2]
    assert rows[0].split(": ", 1)[1].split()[0] == live.path.name
    assert dead.path.name in rows[1] and rows[1].rstrip().endswith("not running")
    ssh_editor.feed("\x1b")
    live.kill()
    expect_one_message(
        ssh_editor, lambda: ssh_editor.nvim.command(f"KernelConnect ssh://{REMOTE}"),
        "no running kernel on kremote: nothing listens at the 2 connection files there",
    )  # fmt: skip
    assert_no_traceback(ssh_editor)


def test_a_kernel_not_found_there_leaves_the_kernel_linked_before_linked(
    ssh_editor: Editor, sshd: Sshd, kernel: Kernel, remote_kernels: Callable[..., Kernel]
) -> None:
    remote_kernels()
    ssh_editor.connect(kernel)
    ssh_editor.nvim.command("KernelExec import time; time.sleep(1.5); print('went on')")
    expect_one_message(
        ssh_editor, lambda: ssh_editor.nvim.command(f"KernelConnect ssh://{REMOTE}/nosuch"),
        "no connection file matches 'nosuch' on kremote",
    )  # fmt: skip
    # The run went on meanwhile, its output was kept, and the local kernel is still the one.
    wait_for(lambda: "went on" in ssh_editor.output(), 30, "the local run's output")
    wait_for(lambda: ssh_editor.status() == f"{kernel.path.stem} idle", 30, "linked as before")
    run(ssh_editor, "print('still', 8 * 8)", "still 64")
    ssh_editor.nvim.command(f"KernelConnect! ssh://{REMOTE}")  # the picker, then Escape
    ssh_editor.wait_screen("Type number and <Enter>", 30)
    ssh_editor.feed("\x1b")
    wait_for(lambda: ssh_editor.status() == f"{kernel.path.stem} idle", 30, "linked as before")
    run(ssh_editor, "print('and', 9 * 9)", "and 81")
    assert_no_traceback(ssh_editor)


# Section: running


def test_interrupt_reaches_a_kernel_there_over_the_control_channel(
    ssh_editor: Editor, remote_kernels: Callable[..., Kernel]
) -> None:
    kernel = remote_kernels()
    ssh_editor.nvim.command(f"KernelConnect ssh://{REMOTE}/{kernel.fragment}")
    wait_linked(ssh_editor, REMOTE, kernel)
    ssh_editor.set_lines(["import time", "time.sleep(60)"])
    ssh_editor.nvim.command("%KernelSend")
    ssh_editor.wait_state("busy")
    ssh_editor.nvim.command("KernelInterrupt")
    ssh_editor.wait_output("KeyboardInterrupt", 20)
    ssh_editor.wait_state("idle")


def test_a_tunnel_killed_mid_run_is_made_again_and_the_run_goes_on(
    ssh_editor: Editor, sshd: Sshd, remote_kernels: Callable[..., Kernel]
) -> None:
    kernel = remote_kernels()
    ssh_editor.nvim.command(f"KernelConnect ssh://{REMOTE}/{kernel.fragment}")
    wait_linked(ssh_editor, REMOTE, kernel)
    ssh_editor.set_lines([*TICKS.splitlines(), "print('finished')"])
    ssh_editor.nvim.command("%KernelSend")
    ssh_editor.wait_output("tick 3", 20)
    [pid] = tunnels(sshd)
    os.kill(pid, signal.SIGKILL)
    ssh_editor.wait_message("connection lost (ssh ended by signal 9); reconnecting")
    ssh_editor.wait_message(f"{REMOTE}:{kernel.path.stem}: reconnected", 20)
    [again] = wait_for(lambda: tunnels(sshd), 10, "a new tunnel")
    assert again != pid
    ssh_editor.wait_output("finished", 30)
    ssh_editor.wait_state("idle")
    shown = ssh_editor.output_text()
    seen = [i for i in range(40) if f"tick {i}\n" in shown + "\n"]
    assert seen[-1] == 39  # the later output came; what was published with no tunnel may not
    print(f"ticks lost while the tunnel was down: {sorted(set(range(40)) - set(seen))}")
    assert_no_traceback(ssh_editor)


# Section: what cannot be reached says so in one line


@pytest.mark.parametrize(
    ("alias", "says"),
    [
        (PASSWORD, "needs a password or a key it does not have: add your key to ssh-agent"),
        (UNKNOWN, f"ssh cannot find the host {UNKNOWN}: no such name"),
        (STRANGER, f"ssh does not know the host key of {STRANGER}: ssh {STRANGER} once by hand"),
    ],
)
def test_a_host_that_cannot_be_reached_is_one_line_at_once(
    ssh_editor: Editor, sshd: Sshd, alias: str, says: str
) -> None:
    start = time.monotonic()
    line = expect_one_message(
        ssh_editor, lambda: ssh_editor.nvim.command(f"KernelConnect ssh://{alias}/"), says
    )
    assert time.monotonic() - start < 10
    assert line.startswith("[kernel] ")
    assert ssh_editor.nvim.api.get_mode()["mode"] == "n"  # no prompt waits
    assert "assword:" not in ssh_editor.messages()
    assert not tunnels(sshd)


# Section: no ssh process outlives the link


def test_disconnect_and_exit_and_a_dead_host_leave_no_ssh_process(
    make_editor: Callable[..., Editor], sandbox: Sandbox, sshd: Sshd,
    remote_kernels: Callable[..., Kernel],
) -> None:  # fmt: skip
    kernel = remote_kernels()
    for end in ("disconnect", "exit", "host killed"):
        editor = make_editor(env=sandbox.env())
        editor.nvim.vars["kernel_ssh_command"] = sshd.ssh_command
        editor.nvim.command(f"KernelConnect ssh://{REMOTE}/{kernel.fragment}")
        wait_linked(editor, REMOTE, kernel)
        # An earlier test's editor may still be closing its tunnel: this one's is the one left.
        wait_for(lambda: len(tunnels(sshd)) == 1, 10, "one tunnel")
        [pid] = tunnels(sshd)
        sockets = forwarded(pid)[0].parent
        if end == "disconnect":
            editor.nvim.command("KernelDisconnect")
        elif end == "exit":
            editor.close()
        else:
            os.kill(parent(pid), signal.SIGKILL)  # the Python host, as a crash would
        wait_for(lambda: not alive(pid), 10, f"ssh {pid} gone after {end}")  # noqa: B023
        assert not tunnels(sshd)
        if end != "host killed":
            wait_for(lambda: not sockets.exists(), 10, "the sockets' dir removed")  # noqa: B023
        else:  # a killed host cannot remove its sockets' dir
            shutil.rmtree(sockets)
        if end == "disconnect":
            assert editor.status() == "disconnected"
            settle(editor)
            editor.close()


def test_remote_commands_reuse_a_controlmaster_and_the_tunnel_still_closes_with_the_link(
    ssh_editor: Editor, sshd: Sshd, remote_kernels: Callable[..., Kernel]
) -> None:
    kernel = remote_kernels()
    master = sshd.start_master()
    before = sshd.accepted()
    ssh_editor.nvim.command(f"KernelConnect ssh://{MASTER}/{kernel.fragment}")
    wait_linked(ssh_editor, MASTER, kernel)
    run(ssh_editor, "print('through', 'master')", "through master")
    # Listing and reading went through the master; only the tunnel logged in.
    wait_for(lambda: sshd.accepted() == before + 1, 10, "one login more")
    [pid] = tunnels(sshd)
    ssh_editor.nvim.command("KernelDisconnect")
    wait_for(lambda: not alive(pid), 10, "the tunnel gone")
    check = sshd.ssh(MASTER, "-S", str(master), "-O", "check")
    assert check.returncode == 0, check.stderr  # the user's master is left as it was
    assert "[kernel]" in "\n".join(kernel_lines(ssh_editor))


def test_checkhealth_tells_the_ssh_it_runs(ssh_editor: Editor, sshd: Sshd) -> None:
    ssh_editor.nvim.command("checkhealth kernel")
    report = "\n".join(ssh_editor.nvim.current.buffer[:])
    assert f"g:kernel_ssh_command: ssh -F {sshd.config}" in report
    assert "OpenSSH_" in report


def test_a_tunnel_that_cannot_be_made_again_is_given_up_in_one_line(
    ssh_editor: Editor, sandbox: Sandbox, home: Path, tmp_path: Path
) -> None:
    path, why = ensure_sshd()
    if not path:
        pytest.skip(why)
    server = start_sshd(path, tmp_path / "sshd")  # a host of its own, to stop
    kernel = start_kernel(server.runtime, home)
    try:
        ssh_editor.nvim.vars["kernel_ssh_command"] = server.ssh_command
        ssh_editor.nvim.command(f"KernelConnect ssh://{REMOTE}/{kernel.fragment}")
        wait_linked(ssh_editor, REMOTE, kernel)
        [pid] = tunnels(server)
        server.stop()  # the host takes no new login; the tunnel's own session lives on
        os.kill(pid, signal.SIGKILL)
        ssh_editor.wait_message("reconnecting")
        line = ssh_editor.wait_message("could not be made again", 40)
        lost = [x for x in line.splitlines() if "could not be made again" in x]
        assert lost == [f"[kernel] cannot talk to {kernel.path.name}: the ssh tunnel to {REMOTE} "
                        f"could not be made again: ssh to {REMOTE}: connection refused (no ssh "
                        "server there, or another port)"]  # fmt: skip
        wait_for(lambda: ssh_editor.status() == "disconnected", 10, "disconnected")
        assert not tunnels(server)
    finally:
        kernel.kill()
