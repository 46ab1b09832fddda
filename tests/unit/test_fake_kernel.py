"""The fake kernel speaks the protocol: jupyter_client's own client connects, asks and runs."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
from jupyter_client.blocking.client import BlockingKernelClient

from support.fake_kernel import FakeKernel, dumps


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeKernel]:
    tmp_path.chmod(0o700)
    with FakeKernel(tmp_path, kernel_info={"implementation": "checked"}) as kernel:
        yield kernel


@pytest.fixture
def client(fake: FakeKernel) -> Iterator[Any]:
    client = BlockingKernelClient(connection_file=str(fake.path))
    client.load_connection_file()
    client.start_channels()
    yield client
    client.stop_channels()


def iopub_of(client: Any, msg_id: str, until: str = "idle") -> list[dict[str, Any]]:
    """The iopub messages of request `msg_id`, up to its status `until`."""
    got = []
    while True:
        msg = client.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        got.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == until:
            return got


def test_connection_file_is_private_and_names_every_port(fake: FakeKernel) -> None:
    assert stat.S_IMODE(fake.path.stat().st_mode) == 0o600
    info = json.loads(fake.path.read_text())
    assert info["key"] == fake.key and len(fake.key) >= 32
    assert {f"{c}_port" for c in ("shell", "iopub", "stdin", "control", "hb")} <= info.keys()


def test_client_becomes_ready_and_gets_the_kernel_info_given(fake: FakeKernel, client: Any) -> None:
    client.wait_for_ready(timeout=10)
    reply = client.kernel_info(reply=True, timeout=10)
    assert reply["content"]["implementation"] == "checked"
    assert reply["content"]["language_info"]["name"] == "python"
    assert all(r.signed for r in fake.requests)


def test_execute_gives_busy_input_stream_idle_and_a_reply(fake: FakeKernel, client: Any) -> None:
    client.wait_for_ready(timeout=10)
    msg_id = client.execute("anything")
    types = [m["msg_type"] for m in iopub_of(client, msg_id)]
    assert types == ["status", "execute_input", "stream", "status"]
    reply = client.get_shell_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "ok"
    assert fake.wait_request("execute_request").content["code"] == "anything"


def test_raw_and_published_messages_are_signed_with_the_key(fake: FakeKernel, client: Any) -> None:
    client.wait_for_ready(timeout=10)
    fake.answer_execute = False
    msg_id = client.execute("x")
    request = fake.wait_request("execute_request")
    fake.publish("status", {"execution_state": "busy"}, request)
    header = dumps(fake.header("stream"))
    fake.send_raw("iopub", header, dumps(request.header), b"{}", b'{"name":"stdout","text":"r"}')
    fake.publish("status", {"execution_state": "idle"}, request)
    stream = [m for m in iopub_of(client, msg_id) if m["msg_type"] == "stream"]
    assert [m["content"]["text"] for m in stream] == ["r"]  # Session checked the signature


def test_input_request_reaches_the_client_and_its_reply_is_recorded(
    fake: FakeKernel, client: Any
) -> None:
    client.wait_for_ready(timeout=10)
    fake.answer_execute = False
    client.execute("input()", allow_stdin=True)
    request = fake.wait_request("execute_request")
    fake.send_input_request(request, "name? ")
    asked = client.get_stdin_msg(timeout=10)
    assert asked["content"]["prompt"] == "name? "
    client.input("Ada")
    assert fake.wait_request("input_reply").content["value"] == "Ada"


def test_heartbeat_stops_and_starts_again(fake: FakeKernel) -> None:
    context = zmq.Context()
    ping = context.socket(zmq.REQ)
    ping.connect(f"tcp://127.0.0.1:{fake.ports['hb']}")
    try:
        fake.stop_heartbeat()
        ping.send(b"ping")
        assert not ping.poll(300), "answered while stopped"
        fake.start_heartbeat()
        assert ping.poll(5000), "not answered once started again"
        assert ping.recv() == b"ping"
    finally:
        ping.close(linger=0)
        context.term()


def test_each_subscription_is_welcomed_on_iopub(fake: FakeKernel) -> None:
    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(f"tcp://127.0.0.1:{fake.ports['iopub']}")
    try:
        assert sub.poll(5000), "no welcome"
        frames = sub.recv_multipart()
        header = json.loads(frames[frames.index(b"<IDS|MSG>") + 2])
        assert header["msg_type"] == "iopub_welcome"
    finally:
        sub.close(linger=0)
        context.term()
