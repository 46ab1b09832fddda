"""End to end: the everyday flows that must never lie to the user or lose their output.

Switching kernels, sending while connecting, the first run after a restart, a kernel that stops
answering for a while: each was seen to fail, each is driven here with real kernels.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from support.editor import Editor
from support.kernels import Kernel, owned_kernel, start_kernel
from support.sandbox import wait_for


def buffer_lines(editor: Editor, name: str) -> list[str]:
    return list(
        editor.nvim.exec_lua(
            "local b = vim.fn.bufnr('^' .. ... .. '$')"
            " if b < 0 then return {} end return vim.api.nvim_buf_get_lines(b, 0, -1, false)",
            name,
        )
    )


def test_switching_kernels_keeps_each_ones_output_and_restarts_nothing(
    editor: Editor, kernel: Kernel, own_kernel: Kernel
) -> None:
    a, b = f"kernel://{kernel.path.name}", f"kernel://{own_kernel.path.name}"
    editor.connect(kernel)
    editor.nvim.command("KernelExec print('A' + '1')")
    wait_for(lambda: "A1" in buffer_lines(editor, a), what="A1 in A's output")
    editor.connect(own_kernel)
    editor.nvim.command("KernelExec print('B' + '1')")
    wait_for(lambda: "B1" in buffer_lines(editor, b), what="B1 in B's output")
    editor.connect(kernel)
    editor.nvim.command("KernelExec print('A' + '2')")
    wait_for(lambda: "A2" in buffer_lines(editor, a), what="A2 in A's output")
    assert "A1" in buffer_lines(editor, a)
    assert "B1" not in buffer_lines(editor, a)
    for name in (a, b):
        assert "[kernel restarted]" not in buffer_lines(editor, name)
    assert "restarted" not in editor.messages()


def test_sends_made_while_connecting_wait_for_the_handshake_and_run_in_order(
    editor: Editor, kernel: Kernel
) -> None:
    editor.nvim.command(f"KernelConnect {kernel.fragment}")
    editor.nvim.command("KernelExec print('first')")
    editor.nvim.command("KernelExec print('second')")
    # The line itself, not the header that holds print('second').
    lines = wait_for(lambda: "second" in editor.output() and editor.output(), what="second")
    assert lines.index("first") < lines.index("second")
    assert "not connected" not in editor.messages()


def test_the_first_run_after_a_restart_keeps_its_output(
    editor: Editor, runtime_dir: Path, home: Path
) -> None:
    from kernel_nvim.kernel.sources.existing import load_connection_file, looks_alive

    with owned_kernel(runtime_dir, home, "restarts") as kernel:
        editor.connect(kernel)
        conn = load_connection_file(str(kernel.path))
        for i in range(3):
            kernel.manager.restart_kernel(now=True)
            # Send as soon as the new kernel listens, as a user pressing a key would.
            wait_for(lambda: looks_alive(conn), what="the restarted kernel listening")
            editor.nvim.command(f"KernelExec print('after restart', {i} * 10)")
            editor.wait_output(f"after restart {i * 10}")
            wait_for(lambda: editor.status().endswith(" idle"), what="idle")
        assert not any("no reply" in line and "restart" in line for line in editor.output()[-3:])


def test_a_stopped_kernel_is_unresponsive_and_its_output_resumes_when_it_continues(
    editor: Editor, own_kernel: Kernel
) -> None:
    editor.connect(own_kernel)
    name = f"kernel-{own_kernel.fragment}"
    editor.nvim.command(
        "KernelExec import time\nfor i in range(80): print('line', i, flush=True); time.sleep(0.02)"
    )
    editor.wait_output("line 10")
    os.kill(own_kernel.process.pid, signal.SIGSTOP)
    try:
        wait_for(lambda: editor.status() == f"{name} unresponsive", 20, "unresponsive")
    finally:
        os.kill(own_kernel.process.pid, signal.SIGCONT)
    editor.wait_output("line 79")
    lines = editor.output()
    assert [line for line in lines if line.startswith("line ")] == [f"line {i}" for i in range(80)]
    assert not any("no reply" in line for line in lines)
    wait_for(lambda: editor.status() == f"{name} idle", what="idle again")


def test_a_kernel_shut_down_by_another_client_is_told_as_shut_down(
    editor: Editor, own_kernel: Kernel
) -> None:
    editor.connect(own_kernel)
    name = f"kernel-{own_kernel.fragment}"
    client = own_kernel.client()
    try:
        client.shutdown()
        editor.wait_message(f"[kernel] {name} was shut down")
        wait_for(lambda: editor.status() == f"{name} dead", what="dead")
    finally:
        client.stop_channels()
    assert "stopped answering" not in editor.messages()
    assert sum("[kernel]" in line for line in editor.messages().splitlines()) == 2


def test_another_clients_code_shows_as_busy_other(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    name = f"kernel-{kernel.fragment}"
    client = kernel.client()
    try:
        msg_id = client.execute("import time; time.sleep(1.5)")
        wait_for(lambda: editor.status() == f"{name} busy (other)", what="busy (other)")
        assert editor.nvim.eval("g:kernel_state")["busy"] == "other"
        client.get_shell_msg(timeout=30)
        wait_for(lambda: editor.status() == f"{name} idle", what="idle again")
        assert msg_id
    finally:
        client.stop_channels()


def test_a_uuid_kernel_has_a_short_name_in_the_status_and_its_full_name_in_the_buffer(
    editor: Editor, runtime_dir: Path, home: Path
) -> None:
    uuid_kernel = start_kernel(runtime_dir, home, "f13fc968-b063-4d7e-9a2c-0123456789ab")
    try:
        editor.nvim.command(f"KernelConnect {uuid_kernel.fragment}")
        wait_for(lambda: editor.status() == "kernel-f13fc968 idle", 30, "short name idle")
        editor.nvim.command("KernelExec print('named')")
        editor.wait_output("named")
        names = editor.nvim.exec_lua(
            "return vim.tbl_map(vim.api.nvim_buf_get_name, vim.api.nvim_list_bufs())"
        )
        assert f"kernel://{uuid_kernel.path.name}" in names
    finally:
        uuid_kernel.kill()
