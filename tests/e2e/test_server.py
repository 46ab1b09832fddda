"""End to end: kernels behind a real Jupyter Server (and a real Kernel Gateway) on 127.0.0.1,
reached through their REST API and kernel websocket, with real ipykernels behind them.

Nothing of the server side is faked: a test that needs a network blip puts a byte relay between
the editor and the server and cuts its connections. Every wait has a deadline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.checks import assert_no_traceback, expect_one_message
from support.editor import Editor
from support.jupyter_server import BareClient, Relay, Server, missing, running_server
from support.sandbox import wait_for

pytestmark = pytest.mark.skipif(bool(missing()), reason=missing() or "")

CHOOSE = (
    "vim.ui.select = function(items, opts, on_choice)"
    "  local labels = {} for i, item in ipairs(items) do labels[i] = item.label or item end"
    "  vim.g.kernel_test_menu = labels"
    "  for i, label in ipairs(labels) do"
    "    if vim.g.kernel_test_choose and label:find(vim.g.kernel_test_choose, 1, true) then"
    "      return on_choice(items[i], i) end end"
    "  on_choice(nil, nil) end"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("server")
    with running_server(tmp, tmp) as started:
        yield started


@pytest.fixture
def kernel_id(server: Server) -> Iterator[str]:
    """A kernel another client (a notebook) started through the REST API."""
    kernel = server.start_kernel()
    yield kernel
    if any(k["id"] == kernel for k in server.kernels()):
        server.rest("DELETE", f"api/kernels/{kernel}")


def link(editor: Editor, url: str) -> None:
    editor.nvim.command(f"KernelConnect {url}")
    editor.wait_state("idle", timeout=60)


def test_attach_to_a_notebooks_kernel_and_work_beside_it(
    editor: Editor, server: Server, kernel_id: str
) -> None:
    link(editor, f"{server.url}api/kernels/{kernel_id}?token={server.token}")
    editor.wait_message("Connected to kernel")
    editor.nvim.command("KernelExec print('reached', 6 * 7)")
    editor.wait_output("reached 42")
    lab = BareClient(server, kernel_id)  # a JupyterLab open on the same kernel
    try:
        lab.execute("print('typed in the lab')")
        text = editor.wait_output("typed in the lab")
    finally:
        lab.close()
    assert "[other] In [" in text
    editor.nvim.command("KernelExec 1/0")
    editor.wait_output("ZeroDivisionError")
    everything = str(editor.nvim.exec_lua(
        "return vim.fn.execute('messages') .. vim.fn.string(vim.fn.eval('g:'))"
        " .. table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '')"))  # fmt: skip
    assert server.token not in everything.replace(f"token={server.token}", "")
    assert_no_traceback(editor)


def test_the_picker_lists_kernels_and_starts_one_we_then_shut_down(
    editor: Editor, server: Server, kernel_id: str
) -> None:
    other = server.start_kernel()
    try:
        editor.nvim.exec_lua(CHOOSE)
        editor.nvim.command("let g:kernel_test_choose = 'new: '")
        before = {k["id"] for k in server.kernels()}
        link(editor, f"{server.url}lab?token={server.token}")
        menu = editor.nvim.vars["kernel_test_menu"]
        assert sum(kernel_id[:8] in line or other[:8] in line for line in menu) == 2
        assert any(line.startswith("python3  ") and "connection" in line for line in menu)
        started = wait_for(lambda: {k["id"] for k in server.kernels()} - before, 30, "a kernel")
        editor.wait_message("Started kernel")
        editor.nvim.command("KernelExec import os; print('pid', os.getpid())")
        editor.wait_output("pid ")
        editor.nvim.command("KernelShutdown")
        editor.wait_state("dead")
        wait_for(lambda: not started & {k["id"] for k in server.kernels()}, 30, "it shut down")
    finally:
        server.rest("DELETE", f"api/kernels/{other}")


def test_input_interrupt_and_restart_through_the_server(
    editor: Editor, server: Server, kernel_id: str
) -> None:
    link(editor, f"{server.url}api/kernels/{kernel_id}?token={server.token}")
    editor.nvim.command("KernelExec name = input('wh' + 'o? '); print('hello', name)")
    editor.wait_screen("who?")
    editor.feed("Ada<CR>")
    editor.wait_output("hello Ada")
    editor.nvim.command("KernelExec import time; time.sleep(60)")
    editor.wait_state("busy")
    editor.nvim.command("KernelInterrupt")
    editor.wait_output("KeyboardInterrupt", timeout=20)
    editor.wait_state("idle")
    expect_one_message(editor, lambda: editor.nvim.command("KernelShutdown"),
                       "was not started here")  # fmt: skip
    editor.nvim.command("KernelRestart")
    editor.wait_state("restarted", timeout=60)
    editor.nvim.command("KernelExec print('name' in dir())")
    editor.wait_output("False")


@contextlib.contextmanager
def moving_kernel(editor: Editor, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """A server whose kernels move to new ports on restart; the editor linked to one of them,
    with `x` set in it (gone once it restarted)."""
    with running_server(tmp_path, tmp_path, moving=True) as own:
        kernel = own.start_kernel()
        link(editor, f"{own.url}api/kernels/{kernel}?token={own.token}")
        editor.run("x = 1")
        yield own, kernel


def test_a_kernel_that_moves_to_new_ports_on_restart_is_followed(
    editor: Editor, tmp_path: Path
) -> None:
    # As a gateway's remote kernels do: the server's sockets behind a websocket opened before
    # the restart lead nowhere after it, so the link opens its websocket anew.
    with moving_kernel(editor, tmp_path) as (own, kernel):
        editor.nvim.command("KernelRestart")
        # Sent at once: it waits for the new process, and runs there, not in the old one.
        editor.nvim.command("KernelExec print('x' in dir(), 'sent during the restart')")
        editor.wait_output("False sent during the restart", timeout=60)
        editor.nvim.command("KernelExec print('x' in dir(), 'after the move')")
        editor.wait_output("False after the move", timeout=30)
        assert "reconnect" not in editor.messages()  # our own restart: nothing to tell


def test_a_kernel_another_client_moves_to_new_ports_is_found_again(
    editor: Editor, tmp_path: Path
) -> None:
    # JupyterLab's restart button, on a kernel that moves: the server says nothing to us, and our
    # websocket's sockets lead nowhere. Its REST model shows activity that the link never heard.
    with moving_kernel(editor, tmp_path) as (own, kernel):
        own.rest("POST", f"api/kernels/{kernel}/restart")
        # Sent into the void: it runs once the link has found the kernel again.
        editor.nvim.command("KernelExec print('x' in dir(), 'after the move')")
        editor.wait_output("False after the move", timeout=60)
        editor.wait_message("restarted: its variables are gone")
        assert "reconnect" not in editor.messages()  # the websocket was never lost


def test_how_far_the_servers_clock_is_from_ours_is_read_off_its_answers(server: Server) -> None:
    from kernel_nvim.kernel.sources.server import Rest, parse_url

    rest = Rest(parse_url(f"{server.url}?token={server.token}"))
    rest.get("api/status")
    # The same clock, read to the second: within a second of none (never 0.0, as before any).
    assert rest.ahead != 0.0 and abs(rest.ahead) <= 1.0


def test_a_token_asked_once_and_a_wrong_one(editor: Editor, server: Server, kernel_id: str) -> None:
    editor.nvim.command(f"KernelConnect {server.url}api/kernels/{kernel_id}")
    editor.wait_screen("Token for")
    editor.feed(server.token + "<CR>")
    editor.wait_state("idle", timeout=60)
    assert server.token not in editor.messages()
    editor.nvim.command("KernelDisconnect")
    wrong = f"KernelConnect {server.url}?token=not-the-token"
    expect_one_message(editor, lambda: editor.nvim.command(wrong), "refused the token")


@contextlib.contextmanager
def relayed(editor: Editor, server: Server, kernel_id: str) -> Iterator[Relay]:
    """The editor linked to the kernel through a Relay, whose connections the test can cut."""
    relay = Relay(int(server.url.rsplit(":", 1)[1].split("/")[0]))
    try:
        link(editor, f"http://127.0.0.1:{relay.port}/api/kernels/{kernel_id}?token={server.token}")
        yield relay
    finally:
        relay.close()


def test_output_is_not_lost_when_the_connection_drops(
    editor: Editor, server: Server, kernel_id: str
) -> None:
    with relayed(editor, server, kernel_id) as relay:
        loop = "for i in range(40): print('n', i, flush=True); time.sleep(0.05)"
        editor.nvim.command(f"KernelExec import time\n{loop}")
        editor.wait_output("n 5")
        assert relay.cut() >= 1
        editor.wait_output("n 39", timeout=30)
        editor.wait_state("idle", timeout=30)
        text = editor.output_text()
        numbers = [int(line.split()[1]) for line in text.splitlines() if line.startswith("n ")]
        assert numbers == list(range(40))
        editor.wait_message("reconnected")


def test_code_lost_on_the_way_when_the_connection_drops_runs_once_it_is_back(
    editor: Editor, server: Server, kernel_id: str
) -> None:
    with relayed(editor, server, kernel_id) as relay:
        relay.deafen()  # what goes now never reaches the server
        editor.nvim.command("KernelExec print('lost', 'then run', 6 * 7)")
        wait_for(lambda: relay.swallowed > 200, what="the request on its way")  # not a ping
        assert relay.cut() >= 1
        editor.wait_output("lost then run 42", timeout=30)
        editor.wait_state("idle", timeout=30)
        assert editor.output_text().count("lost then run 42") == 1


def test_a_server_restarted_without_the_kernel_says_so(editor: Editor, tmp_path: Path) -> None:
    with running_server(tmp_path, tmp_path) as own:
        kernel = own.start_kernel()
        link(editor, f"{own.url}api/kernels/{kernel}?token={own.token}")
        own.kill_server_only()
        editor.wait_state("reconnecting")
        own.start_again()
        editor.wait_state("dead", timeout=30)
        editor.wait_message("no longer has this kernel")


def test_base_url_and_the_json_protocol(editor: Editor, tmp_path: Path) -> None:
    with running_server(tmp_path, tmp_path, base_url="/user/ada/", json_only=True) as hub:
        hub.start_kernel()  # the one kernel there: linked without a picker
        link(editor, f"{hub.url}lab/tree/x.ipynb?token={hub.token}")
        editor.nvim.command("KernelExec print('through', 'the hub')")
        editor.wait_output("through the hub")


def test_https_with_a_self_signed_certificate(editor: Editor, tmp_path: Path) -> None:
    with running_server(tmp_path, tmp_path, tls=True) as secure:
        kernel = secure.start_kernel()
        url = f"{secure.url}api/kernels/{kernel}?token={secure.token}"
        connect = f"KernelConnect {url}"
        expect_one_message(editor, lambda: editor.nvim.command(connect),
                           "certificate is not trusted")  # fmt: skip
        editor.nvim.vars["kernel_servers"] = {secure.url: {"ca": secure.ca_file}}
        link(editor, url)
        editor.nvim.command("KernelExec print('over', 'tls')")
        editor.wait_output("over tls")


@pytest.mark.skipif(bool(missing("gateway")), reason=missing("gateway") or "")
def test_a_kernel_gateway(editor: Editor, tmp_path: Path) -> None:
    with running_server(tmp_path, tmp_path, kind="gateway") as gateway:
        editor.nvim.exec_lua(CHOOSE)
        editor.nvim.command("let g:kernel_test_choose = 'new: '")
        link(editor, f"{gateway.url}?token={gateway.token}")
        editor.nvim.command("KernelExec print('gateway', 1 + 1)")
        editor.wait_output("gateway 2")
