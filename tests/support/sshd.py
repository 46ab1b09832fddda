"""A real OpenSSH server on 127.0.0.1 for the tests of kernels on another host: host keys, a user
key and a config of its own in a temp dir, and an ssh client config naming it by Host aliases.

The "remote" host is this machine through sshd: its sessions see a HOME and a Jupyter runtime
dir of the test's (sshd's own SetEnv), so its kernels are the test's. Nothing here sleeps for a
fixed time; sshd is stopped by its pid.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .sandbox import REPO, wait_for

SSHD = "/usr/sbin/sshd"
# Host aliases of the client config: the remote host; a user with no authorized key (it would
# need a password); a name that does not resolve; a host whose key is not known; the remote host
# through a ControlMaster the test starts.
REMOTE, PASSWORD, UNKNOWN, STRANGER, MASTER = (
    "kremote",
    "kpassword",
    "kunknown",
    "kstranger",
    "kmaster",
)


def ensure_sshd() -> tuple[str, str]:
    """The path of sshd, installed by scripts/ensure-sshd when missing (as root, with apt-get),
    and ""; or "" and why it cannot be had."""
    done = subprocess.run([str(REPO / "scripts" / "ensure-sshd")], capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    if done.returncode == 0:
        return done.stdout.strip(), ""
    lines = done.stderr.strip().splitlines()
    return "", lines[-1] if lines else "no sshd"


@dataclass
class Sshd:
    """sshd on 127.0.0.1:``port``; ``config`` is the client's config (ssh -F config)."""

    root: Path
    port: int
    home: Path  # HOME of the remote sessions
    runtime: Path  # JUPYTER_RUNTIME_DIR of the remote sessions
    config: Path
    process: subprocess.Popen[bytes]
    log: Path
    masters: list[Path] = field(default_factory=list)

    @property
    def ssh_command(self) -> list[str]:
        """What g:kernel_ssh_command is set to."""
        return ["ssh", "-F", str(self.config)]

    def ssh(self, alias: str, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.ssh_command, "-o", "BatchMode=yes", *args, alias],
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)  # fmt: skip

    def start_master(self) -> Path:
        """A ControlMaster to the MASTER alias, as a user's `ssh -M -S sock -fN host` is."""
        sock = self.root / "master.sock"
        subprocess.run([*self.ssh_command, "-o", "BatchMode=yes", "-M", "-S", str(sock), "-fN",
                        MASTER], check=True, timeout=20, capture_output=True,
                       stdin=subprocess.DEVNULL)  # fmt: skip
        wait_for(sock.exists, 10, "the master's socket")
        self.masters.append(sock)
        return sock

    def accepted(self) -> int:
        """How many logins sshd accepted so far (its log)."""
        return self.log.read_text(errors="replace").count("Accepted publickey")

    def stop(self) -> None:
        for sock in self.masters:
            subprocess.run([*self.ssh_command, "-S", str(sock), "-O", "exit", MASTER],
                           capture_output=True, timeout=10)  # fmt: skip
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_sshd(sshd: str, root: Path) -> Sshd:
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    home, runtime, keys = root / "home", root / "runtime", root / "authorized"
    for d in (home, runtime, keys):
        d.mkdir(mode=0o700, exist_ok=True)
    _keygen(root / "host_key")
    _keygen(root / "user_key")
    user = getpass.getuser()
    shutil.copy(root / "user_key.pub", keys / user)  # one file per user: only ours has a key
    port = _free_port()
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    (root / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {root / 'host_key'}\n"
        f"AuthorizedKeysFile {keys}/%u\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nStrictModes no\nUsePAM no\n"
        f"PidFile {root / 'sshd.pid'}\nPermitRootLogin prohibit-password\n"
        "AllowTcpForwarding yes\nAllowStreamLocalForwarding yes\nLogLevel INFO\n"
        f"SetEnv HOME={home} JUPYTER_RUNTIME_DIR={runtime}\n"
    )
    host_key = (root / "host_key.pub").read_text().split()
    (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    config = root / "ssh_config"
    config.write_text(_client_config(root, port, user))
    config.chmod(0o600)
    log = root / "sshd.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sshd, "-D", "-e", "-f", str(root / "sshd_config")],
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=out)  # fmt: skip
    server = Sshd(root, port, home, runtime, config, process, log)
    try:
        wait_for(lambda: process.poll() is not None or _listening(port), 15, "sshd listening")
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {log.read_text(errors='replace')[-500:]}")
    except BaseException:
        server.stop()
        raise
    return server


def _client_config(root: Path, port: int, user: str) -> str:
    common = (f"  HostName 127.0.0.1\n  Port {port}\n  IdentityFile {root / 'user_key'}\n"
              "  IdentitiesOnly yes\n  StrictHostKeyChecking yes\n"
              "  GlobalKnownHostsFile /dev/null\n")  # fmt: skip
    known = f"  UserKnownHostsFile {root / 'known_hosts'}\n"
    return (
        f"Host {REMOTE}\n  User {user}\n{common}{known}"
        f"Host {PASSWORD}\n  User nobody\n{common}{known}"
        f"Host {STRANGER}\n  User {user}\n{common}  UserKnownHostsFile /dev/null\n"
        f"Host {MASTER}\n  User {user}\n{common}{known}"
        f"  ControlPath {root / 'master.sock'}\n  ControlMaster no\n"
        f"Host {UNKNOWN}\n  HostName nosuchhost.invalid\n  User {user}\n"
        f"  IdentityFile {root / 'user_key'}\n  IdentitiesOnly yes\n"
    )


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kernel.nvim test",
                    "-f", str(path)], check=True, capture_output=True, timeout=30)  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
