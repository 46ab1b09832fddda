"""Connection files for the unit tests: written like Jupyter writes them, or broken on purpose."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import pytest

from kernel_nvim.errors import KernelError
from kernel_nvim.kernel.sources.connection_file import ConnectionInfo

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
