"""Unit tests of kernel_nvim.kernel.sources.connection_file: reading and vetting one file."""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path

import pytest
import zmq
from connection_files import KEY, conn_for, connection, error_of, write

from kernel_nvim.kernel.sources.connection_file import load_connection_file, security_warnings

# load_connection_file and ConnectionInfo


def test_load_connection_file_returns_parsed_info_and_names(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-6759.json")

    conn = load_connection_file(str(path))

    assert conn.path == str(path)
    assert conn.info == connection()
    assert conn.name == "kernel-6759.json"


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


def test_security_warning_for_plain_tcp_to_a_remote_ip_does_not_quote_it(tmp_path: Path) -> None:
    conn = load_connection_file(str(write(tmp_path, "kernel-x.json", ip="10.0.0.5")))

    assert security_warnings(conn) == [
        "kernel-x.json names another host: the traffic to it is not encrypted"
    ]


def test_no_security_warning_for_curve_encrypted_tcp_to_a_remote_ip(tmp_path: Path) -> None:
    public, secret = (k.decode() for k in zmq.curve_keypair())
    path = write(
        tmp_path, "kernel-x.json", ip="10.0.0.5", curve_publickey=public, curve_secretkey=secret
    )

    assert security_warnings(load_connection_file(str(path))) == []


def test_security_warning_for_a_file_other_users_can_read_and_write(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json")
    path.chmod(0o666)

    warnings = security_warnings(load_connection_file(str(path)))

    assert warnings == ["kernel-x.json is readable and writable by other users (mode 0666)"]


@pytest.mark.parametrize("mode", [0o602, 0o620])
def test_security_warning_for_a_file_other_users_can_write(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path, "kernel-x.json")
    path.chmod(mode)

    warnings = security_warnings(load_connection_file(str(path)))

    assert warnings == [f"kernel-x.json is writable by other users (mode {mode:04o})"]


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702])
def test_security_warning_for_a_directory_other_users_can_write(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path / "runtime", "kernel-x.json")
    (tmp_path / "runtime").chmod(mode)

    warnings = security_warnings(load_connection_file(str(path)))

    assert warnings == [f"{tmp_path / 'runtime'} is writable by other users (mode {mode:04o})"]


def test_no_security_warning_for_a_sticky_directory_like_tmp(tmp_path: Path) -> None:
    path = write(tmp_path / "shared", "kernel-x.json")
    (tmp_path / "shared").chmod(0o1777)

    assert security_warnings(load_connection_file(str(path))) == []


def test_security_warning_names_a_symlinked_file_and_its_target(tmp_path: Path) -> None:
    target = write(tmp_path / "real", "kernel-x.json")
    (tmp_path / "links").mkdir(mode=0o700)
    link = tmp_path / "links" / "kernel-x.json"
    link.symlink_to(target)

    warnings = security_warnings(load_connection_file(str(link)))

    assert warnings == [f"kernel-x.json is a symbolic link to {target}"]


def test_security_warnings_check_the_directory_of_a_symlink_target_too(tmp_path: Path) -> None:
    target = write(tmp_path / "open", "kernel-x.json")
    (tmp_path / "open").chmod(0o777)
    link = tmp_path / "kernel-x.json"
    link.symlink_to(target)

    warnings = security_warnings(load_connection_file(str(link)))

    assert f"{tmp_path / 'open'} is writable by other users (mode 0777)" in warnings


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_security_warning_for_a_file_of_another_user(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json")
    os.chown(path, 65534, -1)

    warnings = security_warnings(load_connection_file(str(path)))

    assert warnings == ["kernel-x.json belongs to another user"]


# Lone surrogates: a JSON escape makes a str that cannot be encoded, and its error quotes it.


@pytest.mark.parametrize("field", ["key", "ip", "signature_scheme", "curve_secretkey"])
def test_a_lone_surrogate_in_a_text_field_is_one_error_that_does_not_quote_it(
    tmp_path: Path, field: str
) -> None:
    info = connection(**{field: "PLACEHOLDER"})
    text = json.dumps(info).replace("PLACEHOLDER", "\\udc80" + KEY)
    path = write(tmp_path, "kernel-x.json", content=text)

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == f"kernel-x.json is not a connection file: {field} not valid Unicode"


def test_curve_keys_that_are_not_text_are_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json", curve_publickey=7, curve_secretkey=[KEY])

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == (
        "kernel-x.json is not a connection file: curve_publickey, curve_secretkey not text"
    )


def test_a_file_nested_too_deep_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json", content='{"k": ' + "[" * 100_000 + "]" * 100_000 + "}")

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == "kernel-x.json is not a connection file: nested too deep"


# the key never leaks


def test_no_error_message_repr_or_warning_contains_the_key(tmp_path: Path) -> None:
    surrogate = json.dumps(connection(key="PLACEHOLDER")).replace("PLACEHOLDER", "\\udc80" + KEY)
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
        "kernel-surrogate.json": surrogate,
        "kernel-curve.json": json.dumps(connection(curve_secretkey=[KEY])),
    }
    messages: list[str] = []
    for name, text in broken.items():
        path = write(tmp_path, name, content=text)
        messages.append(error_of(partial(load_connection_file, str(path))))
    # Every warning at once: remote ip (the key, here), symlink, modes, an open directory.
    (tmp_path / "open").mkdir(mode=0o777)
    (tmp_path / "open").chmod(0o777)
    good = write(tmp_path / "open", "kernel-good.json", ip=KEY)
    good.chmod(0o666)
    link = tmp_path / "open" / "kernel-link.json"
    link.symlink_to(good)
    conn = load_connection_file(str(link))
    warnings = security_warnings(conn)

    shown = [*messages, repr(conn), str(conn), *warnings]

    assert len(warnings) == 4
    assert len(shown) == len(broken) + 6
    assert [text for text in shown if KEY in text] == []


# CurveZMQ keys: checked, and like the HMAC key never quoted


def test_curve_keys_of_jupyter_client_are_taken_as_they_are(tmp_path: Path) -> None:
    public, secret = (k.decode() for k in zmq.curve_keypair())
    path = write(tmp_path, "kernel-x.json", curve_publickey=public, curve_secretkey=secret)

    info = load_connection_file(str(path)).info

    assert (info["curve_publickey"], info["curve_secretkey"]) == (public, secret)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"curve_publickey": KEY[:20]}, "bad curve_publickey (expected 40 Z85 characters)"),
        ({"curve_publickey": "~" * 40}, "bad curve_publickey (expected 40 Z85 characters)"),
        (
            {"curve_publickey": "a" * 40, "curve_secretkey": KEY + KEY},
            "bad curve_secretkey (expected 40 Z85 characters)",
        ),
    ],
)
def test_a_malformed_curve_key_is_one_error_that_does_not_quote_it(
    tmp_path: Path, fields: dict[str, str], expected: str
) -> None:
    path = write(tmp_path, "kernel-x.json", **fields)

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == f"kernel-x.json is not a connection file: {expected}"
    assert KEY[:20] not in message


def test_a_curve_secret_key_without_its_public_key_is_an_error(tmp_path: Path) -> None:
    _, secret = (k.decode() for k in zmq.curve_keypair())
    path = write(tmp_path, "kernel-x.json", curve_secretkey=secret)

    message = error_of(lambda: load_connection_file(str(path)))

    assert message == "kernel-x.json has a curve_secretkey but no curve_publickey"
    assert secret not in message


# ipc


def test_a_relative_ipc_path_is_taken_from_the_connection_files_directory(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json", transport="ipc", ip="kernel-x-ipc")

    info = load_connection_file(str(path)).info

    assert info["ip"] == str(tmp_path / "kernel-x-ipc")


def test_an_absolute_ipc_path_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-x.json", transport="ipc", ip="/run/k/kernel-x-ipc")

    assert load_connection_file(str(path)).info["ip"] == "/run/k/kernel-x-ipc"
