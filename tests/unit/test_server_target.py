"""What a server URL names, what g:kernel_servers gives, and that no token is ever shown."""

from __future__ import annotations

import pytest

from kernel_nvim.errors import KernelError
from kernel_nvim.kernel.sources import targets
from kernel_nvim.kernel.sources.server import Rest, ServerKernelSource, parse_url
from kernel_nvim.session.options import Options

ID = "8ca9288e-d2bf-4e40-b2db-1e66a3958086"


@pytest.mark.parametrize(
    ("url", "base", "kernel", "spec"),
    [
        ("http://localhost:8888/lab?token=abc", "http://localhost:8888/", "", ""),
        ("http://localhost:8888/?token=abc", "http://localhost:8888/", "", ""),
        ("http://localhost:8888", "http://localhost:8888/", "", ""),
        ("https://hub.example.org/user/ada/lab/tree/x.ipynb", "https://hub.example.org/user/ada/",
         "", ""),
        ("https://hub.example.org/user/ada/", "https://hub.example.org/user/ada/", "", ""),
        (f"http://127.0.0.1:9/api/kernels/{ID}", "http://127.0.0.1:9/", ID, ""),
        (f"http://127.0.0.1:9/base/api/kernels/{ID}/channels", "http://127.0.0.1:9/base/", ID, ""),
        ("http://127.0.0.1:9/api/kernelspecs/python3", "http://127.0.0.1:9/", "", "python3"),
        ("http://me:pw@127.0.0.1:9/tree", "http://127.0.0.1:9/", "", ""),
    ],
)  # fmt: skip
def test_any_url_of_the_server_is_cut_to_its_base(
    url: str, base: str, kernel: str, spec: str
) -> None:
    target = parse_url(url)
    assert (target.base, target.kernel_id, target.spec) == (base, kernel, spec)
    assert targets.is_server_url(url)


def test_the_token_is_taken_and_never_shown() -> None:
    target = parse_url("http://localhost:8888/lab?token=s3cret")
    assert target.token == "s3cret"
    assert "s3cret" not in repr(target) and "s3cret" not in target.shown
    source = ServerKernelSource(Rest(target), {"id": ID, "name": "python3"}, False, print)
    shown = [source.name, source.short_name, source.buffer_name, source.key, repr(source),
             source.greeting("python 3"), *source.warnings()]  # fmt: skip
    assert not any("s3cret" in text for text in shown)


def test_plain_http_to_another_host_is_warned_about() -> None:
    remote = ServerKernelSource(Rest(parse_url("http://gpu.example.org:8888/")), {"id": ID},
                                False, print)  # fmt: skip
    local = ServerKernelSource(Rest(parse_url("http://127.0.0.1:8888/")), {"id": ID}, False, print)
    assert remote.warnings() and "not encrypted" in remote.warnings()[0]
    assert local.warnings() == []


@pytest.mark.parametrize("url", ["ftp://x/", "http://", "https:///lab"])
def test_not_a_server_url(url: str) -> None:
    with pytest.raises(KernelError):
        parse_url(url)


def test_servers_option_keeps_tokens_out_of_its_repr() -> None:
    options = Options.from_editor({"servers": {
        "https://hub.example.org/user/ada/": {"token": "t0k", "ca": "/ca.pem"},
        "https://hub.example.org/": {"token": "other"}, "nope": {"token": "x"}, "http://x/": 3,
    }})  # fmt: skip
    assert options.servers[0] == ("https://hub.example.org/user/ada/", "t0k", "/ca.pem")
    assert [s[0] for s in options.servers] == [
        "https://hub.example.org/user/ada/",
        "https://hub.example.org/",
        "http://x/",
    ]
    assert "t0k" not in repr(options)


def test_a_refused_call_names_the_server_not_the_token() -> None:
    target = parse_url("http://127.0.0.1:1/?token=s3cret")  # nothing listens on port 1
    with pytest.raises(KernelError) as caught:
        Rest(target).get("api/kernels")
    assert "connection refused" in str(caught.value) and "s3cret" not in str(caught.value)
