"""End to end, the kernel's side: interrupts, death, floods, odd bytes, switching kernels."""

from __future__ import annotations

import time
from pathlib import Path

from support.checks import assert_no_traceback, kernel_lines
from support.editor import Editor
from support.kernels import Kernel, run_in_console, start_kernel
from support.sandbox import wait_for

# Section: helpers


def buffer_text(editor: Editor, name: str) -> str:
    """The text of the buffer called `name` ('' when there is none)."""
    lines = editor.nvim.exec_lua(
        "local b = vim.fn.bufnr('^' .. ... .. '$')"
        " if b < 0 then return {} end return vim.api.nvim_buf_get_lines(b, 0, -1, false)",
        name,
    )
    return "\n".join(lines)


def last_output_line(editor: Editor) -> str:
    """The last non-empty line of the output buffer, read without fetching the whole buffer."""
    return str(
        editor.nvim.exec_lua(
            "for _, b in ipairs(vim.api.nvim_list_bufs()) do"
            "  if vim.api.nvim_buf_get_name(b):match('^kernel://') then"
            "    local lines = vim.api.nvim_buf_get_lines(b, -10, -1, false)"
            "    for i = #lines, 1, -1 do if lines[i] ~= '' then return lines[i] end end"
            "  end end return ''"
        )
    )


# Section: interrupting


def test_interrupt_command_stops_a_busy_loop(editor: Editor, own_kernel: Kernel) -> None:
    editor.connect(own_kernel)
    editor.nvim.command("KernelExec while True: pass")
    editor.wait_state("busy")
    editor.nvim.command("KernelInterrupt")
    editor.wait_output("KeyboardInterrupt")
    editor.wait_state("idle")
    assert editor.responsive() < 1.0
    assert_no_traceback(editor)


def test_interrupt_key_stops_a_busy_loop(editor: Editor, own_kernel: Kernel) -> None:
    editor.connect(own_kernel)
    editor.set_lines(["while True: pass"])
    editor.feed("\\l")
    editor.wait_state("busy")
    assert "KeyboardInterrupt" not in editor.output_text()
    editor.feed("\\i")
    editor.wait_output("KeyboardInterrupt")
    editor.wait_state("idle")
    editor.nvim.command("KernelExec print('still here')")
    editor.wait_output("still here")


# Section: a kernel that dies


def test_kernel_killed_mid_execution_is_reported_dead(editor: Editor, own_kernel: Kernel) -> None:
    editor.connect(own_kernel)
    name = f"kernel-{own_kernel.fragment}"
    editor.nvim.command("KernelExec import time; time.sleep(60)")
    editor.wait_state("busy")
    before = len(kernel_lines(editor))
    own_kernel.kill()
    wait_for(lambda: editor.status() == f"{name} dead", 15, "status dead")
    editor.wait_output("[no reply: the kernel died]")
    added = kernel_lines(editor)[before:]
    assert added == [f"[kernel] {name} stopped answering: the kernel died"]
    assert editor.responsive() < 1.0

    editor.nvim.command("KernelExec 1")
    editor.wait_message(f"[kernel] {name} is dead: :KernelConnect to try again")
    assert len(kernel_lines(editor)) == before + 2
    assert editor.status() == f"{name} dead"
    assert_no_traceback(editor)


def test_kernel_connect_again_after_a_new_kernel_took_the_file_works(
    editor: Editor, own_kernel: Kernel, runtime_dir: Path, home: Path
) -> None:
    editor.connect(own_kernel)
    name = f"kernel-{own_kernel.fragment}"
    own_kernel.kill()
    wait_for(lambda: editor.status() == f"{name} dead", 15, "status dead")
    # The user starts a kernel again from the same connection file: same ports, same key.
    again = start_kernel(runtime_dir, home, own_kernel.fragment)
    try:
        editor.nvim.command(f"KernelConnect {own_kernel.fragment}")
        wait_for(lambda: editor.status() == f"{name} idle", 30, "connected again")
        editor.nvim.command("KernelExec print('back ' + 'again')")
        editor.wait_output("back again")
    finally:
        again.kill()


# Section: the editor stays responsive


def test_editor_answers_at_once_while_the_kernel_sleeps(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec import time; time.sleep(3)")
    editor.wait_state("busy")
    start = time.monotonic()
    rounds: list[float] = []

    def idle_again() -> bool:
        rounds.append(editor.responsive())
        return editor.status().endswith(" idle")

    wait_for(idle_again, 15, "the sleep to end")
    assert time.monotonic() - start > 2.5, "the sleep was not observed"
    assert len(rounds) > 50
    assert max(rounds) < 0.5


def test_hundred_thousand_lines_arrive_whole_and_editor_stays_responsive(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec for i in range(100_000): print(i)")
    rounds: list[float] = []

    def last_line_arrived() -> bool:
        rounds.append(editor.responsive())
        return last_output_line(editor) == "99999"

    wait_for(last_line_arrived, 60, "line 99999")
    editor.wait_state("idle")
    assert max(rounds) < 1.0
    text = editor.output_text()
    assert "\x1b" not in text
    assert text.splitlines()[-3:] == ["99997", "99998", "99999"]


# Section: odd output


def test_invalid_utf8_output_shows_replacement_character(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    before = len(kernel_lines(editor))
    # ipykernel writes the lone surrogate as the byte 0xff, which is not UTF-8.
    editor.nvim.command('KernelExec print("\\udcff ok")')
    editor.nvim.command('KernelExec import sys; sys.stdout.write("caf\\xe9\\n")')
    editor.wait_output("café")
    lines = editor.output()
    assert "\ufffd ok" in lines
    assert "café" in lines
    assert len(kernel_lines(editor)) == before
    assert_no_traceback(editor)


NOT_RUN = "[not run: an earlier execution raised an error]"


def test_failed_execution_marks_every_one_queued_after_it_not_run(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    # Queued in one go, so that they reach the kernel before 1/0 has failed. The kernel aborts
    # what it has queued by then; a late one may still run, but every block must say which.
    editor.nvim.exec_lua(
        "vim.cmd('KernelExec 1/0')"
        " for i = 1, 100 do vim.cmd('KernelExec print(\"after ' .. i .. '\")') end"
    )
    editor.wait_output("ZeroDivisionError: division by zero")
    wait_for(lambda: 'print("after 100")' in editor.output_text(), what="the last header")
    editor.wait_state("idle")

    def silent() -> list[int] | None:
        """The blocks that do not say whether they ran; None until all 100 are shown."""
        lines = editor.output()
        headers = [i for i, line in enumerate(lines) if 'print("after ' in line]
        if len(headers) != 100:
            return None
        outcomes = [lines[i + 1] if i + 1 < len(lines) else "" for i in headers]
        return [n for n, line in enumerate(outcomes, 1) if line not in (NOT_RUN, f"after {n}")]

    # Replies come on the shell socket and output on iopub: they may arrive in either order.
    wait_for(lambda: silent() == [], what="every block saying whether it ran")
    lines = editor.output()
    outcomes = [lines[i + 1] for i, line in enumerate(lines) if 'print("after ' in line]
    assert outcomes[0] == NOT_RUN  # queued behind 1/0 for sure


# Section: connecting and disconnecting


def test_disconnect_leaves_the_kernel_running_for_others(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    before = len(kernel_lines(editor))
    editor.nvim.command("KernelDisconnect")
    wait_for(lambda: editor.status() == "disconnected", what="disconnected")
    assert kernel.process.poll() is None
    assert run_in_console(kernel, "print('alive')")["content"]["status"] == "ok"
    editor.nvim.command("KernelExec 1")
    editor.wait_message("[kernel] not connected: use :KernelConnect first")
    assert len(kernel_lines(editor)) == before + 1
    assert_no_traceback(editor)


def test_connect_to_another_kernel_replaces_the_link(
    editor: Editor, kernel: Kernel, own_kernel: Kernel
) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec print('first')")
    editor.wait_output("first")
    editor.nvim.command(f"KernelConnect {own_kernel.fragment}")
    new_status = f"kernel-{own_kernel.fragment} idle"
    wait_for(lambda: editor.status() == new_status, 30, new_status)
    editor.nvim.command("KernelExec print('second')")
    new = f"kernel://{own_kernel.path.name}"
    wait_for(lambda: "second" in buffer_text(editor, new).splitlines(), what="output in " + new)
    assert "first" not in buffer_text(editor, new).splitlines()
    assert "second" not in buffer_text(editor, f"kernel://{kernel.path.name}").splitlines()
    editor.wait_message(f"[kernel] Connected to {own_kernel.path.name} (python 3.")


def test_tab_completion_lists_connection_files(
    editor: Editor, kernel: Kernel, own_kernel: Kernel, runtime_dir: Path
) -> None:
    names = editor.nvim.call("kernel#complete_connect", "", "KernelConnect ", 14)
    assert sorted(names) == sorted(p.name for p in runtime_dir.glob("kernel-*.json"))
    assert {kernel.path.name, own_kernel.path.name} <= set(names)
    fragment = own_kernel.fragment[:5]
    assert own_kernel.path.name in editor.nvim.call(
        "kernel#complete_connect", fragment, "KernelConnect " + fragment, 14 + len(fragment)
    )
