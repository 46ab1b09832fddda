"""End to end over the other transports a kernel manager sets up: CurveZMQ-encrypted tcp (keys
provisioned by jupyter_client's KernelManager, served by ipykernel 7) and ipc (unix sockets). The
Curve keys are secrets like the HMAC key: they must reach no message, variable, buffer or log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq

from kernel_nvim.kernel.sources.existing import ConnectionFileSource
from support.checks import assert_no_traceback, expect_one_message, settle
from support.editor import Editor
from support.kernelspecs import ManagedKernel, curve_missing, managed_kernel, missing
from support.sandbox import editor_env, wait_for

LOOP = "import time\nwhile True: time.sleep(0.01)"


def needs(spec: str) -> None:
    if missing(spec):
        pytest.skip(missing(spec))


@pytest.fixture
def curve_kernel(runtime_dir: Path, home: Path, kernelspecs: Path) -> Iterator[ManagedKernel]:
    needs("python3")
    if curve_missing():
        pytest.skip(curve_missing())
    with managed_kernel(runtime_dir, home, kernelspecs, "python3",
                        transport_encryption="required") as kernel:  # fmt: skip
        yield kernel


@pytest.fixture
def ipc_kernel(runtime_dir: Path, home: Path, kernelspecs: Path) -> Iterator[ManagedKernel]:
    needs("python3")
    with managed_kernel(runtime_dir, home, kernelspecs, "python3", transport="ipc") as kernel:
        yield kernel


@pytest.fixture
def logged_editor(
    manifest: Path, home: Path, runtime_dir: Path, tmp_path: Path,
    make_editor: Callable[..., Editor],
) -> tuple[Editor, Path]:  # fmt: skip
    """An editor whose Python host logs everything at DEBUG under the returned prefix."""
    prefix = tmp_path / "log"
    env = editor_env(home, runtime_dir, manifest)
    env.update(NVIM_PYTHON_LOG_FILE=str(prefix), NVIM_PYTHON_LOG_LEVEL="DEBUG")
    return make_editor(env=env), prefix


def run_and_interrupt(editor: Editor) -> None:
    editor.nvim.command("KernelExec print('reached', 6 * 7)")
    editor.wait_output("reached 42")
    editor.set_lines(LOOP.split("\n"))
    editor.nvim.command("%KernelSend")
    editor.wait_state("busy")
    editor.nvim.command("KernelInterrupt")
    editor.wait_output("KeyboardInterrupt")
    editor.wait_state("idle")


def everything_shown(editor: Editor) -> str:
    """What the user or a plugin can read: messages, every buffer, every g:, b: and w:
    variable, and :checkhealth's report."""
    editor.nvim.command("checkhealth kernel")
    return str(editor.nvim.exec_lua(
        "local out = {vim.fn.execute('messages'), vim.fn.string(vim.fn.eval('g:'))}"
        " for _, b in ipairs(vim.api.nvim_list_bufs()) do"
        "   out[#out + 1] = table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '\\n')"
        "   out[#out + 1] = vim.fn.string(vim.fn.getbufvar(b, '')) end"
        " for _, w in ipairs(vim.api.nvim_list_wins()) do"
        "   out[#out + 1] = vim.fn.string(vim.fn.getwinvar(w, '')) end"
        " return table.concat(out, '\\n')"
    ))  # fmt: skip


def unanswered_by_a_plain_client(info: dict[str, object]) -> bool:
    """A client without the Curve keys never hears the kernel: the encryption is real."""
    from jupyter_client.session import Session

    context = zmq.Context.instance()
    sock = context.socket(zmq.DEALER)
    sock.linger = 0
    try:
        sock.connect(f"tcp://{info['ip']}:{info['shell_port']}")
        Session(key=str(info["key"]).encode()).send(sock, "kernel_info_request", {})
        return not sock.poll(1000)
    finally:
        sock.close()


# Section: CurveZMQ


def test_a_curve_kernel_runs_code_and_is_interrupted(
    logged_editor: tuple[Editor, Path], curve_kernel: ManagedKernel
) -> None:
    editor, prefix = logged_editor
    info = curve_kernel.info()
    secrets = [str(info["key"]), str(info["curve_publickey"]), str(info["curve_secretkey"])]
    assert len(secrets[1]) == len(secrets[2]) == 40
    editor.connect(curve_kernel)
    assert "not encrypted" not in editor.messages()  # tcp with Curve is not warned about
    run_and_interrupt(editor)
    # Its keys in a file whose sockets cannot open: the host logs that failure.
    broken = curve_kernel.path.with_name(f"kernel-badip-{curve_kernel.fragment}.json")
    broken.write_text(json.dumps({**info, "ip": "bad host!"}))
    broken.chmod(0o600)
    editor.nvim.command(f"KernelConnect {broken.name}")
    editor.wait_message(f"[kernel] cannot talk to {broken.name}: ")
    settle(editor)
    assert_no_traceback(editor)

    shown = everything_shown(editor)
    # The reads read what the user sees: the output, and g:kernel_state.
    assert "reached 42" in shown and "'kernel_state': {" in shown
    log_text = "".join(p.read_text(errors="replace")
                       for p in sorted(prefix.parent.glob(prefix.name + "*")))  # fmt: skip
    assert "kernel.nvim: cannot open sockets" in log_text, "the host's log was not written"
    for secret in secrets:
        assert secret not in shown
        assert secret not in log_text
    assert unanswered_by_a_plain_client(info)


def test_a_connection_file_with_another_kernels_curve_keys_fails_in_one_line(
    editor: Editor, curve_kernel: ManagedKernel, runtime_dir: Path
) -> None:
    info = curve_kernel.info()
    public, secret = (k.decode() for k in zmq.curve_keypair())
    stale = runtime_dir / f"kernel-stale-{curve_kernel.fragment}.json"
    stale.write_text(json.dumps({**info, "curve_publickey": public, "curve_secretkey": secret}))
    stale.chmod(0o600)
    line = expect_one_message(
        editor, lambda: editor.nvim.command(f"KernelConnect {stale.name}"), "did not answer",
        timeout=20,
    )  # fmt: skip
    assert line == f"[kernel] {stale.name} did not answer within 5 s; not connected"
    assert editor.status() == "disconnected"
    for text in (public, secret, info["curve_secretkey"]):
        assert text not in editor.messages()


def test_a_connection_file_with_a_malformed_curve_key_says_so_without_quoting_it(
    editor: Editor, curve_kernel: ManagedKernel, runtime_dir: Path
) -> None:
    info = curve_kernel.info()
    cut = str(info["curve_secretkey"])[:30]
    bad = runtime_dir / f"kernel-badcurve-{curve_kernel.fragment}.json"
    bad.write_text(json.dumps({**info, "curve_secretkey": cut}))
    bad.chmod(0o600)
    line = expect_one_message(
        editor, lambda: editor.nvim.command(f"KernelConnect {bad.name}"), "curve_secretkey"
    )
    assert line == (f"[kernel] {bad.name} is not a connection file: bad curve_secretkey "
                    "(expected 40 Z85 characters)")  # fmt: skip
    assert cut not in editor.messages()


# Section: ipc


def test_an_ipc_kernel_is_found_runs_code_and_is_interrupted(
    editor: Editor, ipc_kernel: ManagedKernel
) -> None:
    info = ipc_kernel.info()
    assert info["transport"] == "ipc"
    socket = Path(f"{info['ip']}-{info['hb_port']}")  # a unix socket, not a port
    wait_for(socket.exists, 30, "the kernel listening")
    editor.nvim.command("KernelConnect")  # the newest kernel that answers: this one
    wait_for(lambda: editor.status() == f"{ipc_kernel.path.stem} idle", 30, "connected")
    run_and_interrupt(editor)
    assert_no_traceback(editor)


def test_sigint_reaches_an_ipc_kernel_proven_by_its_unix_sockets(
    editor: Editor, ipc_kernel: ManagedKernel
) -> None:
    editor.connect(ipc_kernel)
    editor.set_lines(LOOP.split("\n"))
    editor.nvim.command("%KernelSend")
    editor.wait_state("busy")
    source = ConnectionFileSource.from_file(str(ipc_kernel.path))
    assert source.interrupt_fallback() is True  # the fallback for a kernel that does not answer
    editor.wait_output("KeyboardInterrupt")
    editor.wait_state("idle")
    assert ipc_kernel.alive()
