"""Which local process is the kernel of a connection file, proven by the sockets it holds.

A kernel's pid is in no message and, in general, in no file name, and guessing it sends SIGINT
to the wrong process: one named ``kernel-<pid>.json`` after a pid since reused, or any process
whose argv mentions the file (an editor, ``less``, a client). A process is taken as the kernel
only when it is ours (the same real and effective uid) and holds the listening sockets of every
port in the file: for tcp, the inodes of LISTEN sockets on those ports (asked of sock_diag
netlink; /proc/net/tcp and tcp6 are 20 times slower to read) among the sockets in its
/proc/<pid>/fd; for ipc, the listening unix sockets ``<ip>-<port>`` of /proc/net/unix. Only a
process holding all of them is the kernel; one listening on some is not. Known port forwarders
(ssh, socat) hold such sockets too and are never taken: SIGINT would end the tunnel, not
interrupt the kernel. Without /proc (macOS, Windows) nothing is proven.

For a list of kernels the same tables answer more cheaply: ``Listeners`` reads the socket tables
once and tells, for each connection file, whether something listens on all its ports (the
kernel looks alive); ``find_kernel_processes`` finds the processes of many kernels in one walk;
``details`` reads a process's argv, working directory and start time.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import signal
import socket
import struct
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Optional, Union

_TCP_LISTEN = "0A"
_NETLINK_SOCK_DIAG, _SOCK_DIAG_BY_FAMILY = 4, 20
_NLM_F_REQUEST, _NLM_F_DUMP, _NLMSG_ERROR, _NLMSG_DONE = 0x1, 0x300, 2, 3
_UNIX_ACCEPTCON = 0x10000  # __SO_ACCEPTCON in /proc/net/unix flags: a listening socket
_FORWARDERS = frozenset({"ssh", "sshd", "autossh", "socat", "ncat", "nc", "kubectl"})
_LOCAL_NAMES = frozenset({"localhost", ""})


@dataclass(frozen=True)
class LocalProcess:
    """A pid with the time it started, so that a pid reused later is not taken for it."""

    pid: int
    start: str  # field 22 of /proc/<pid>/stat: clock ticks after boot


def find_kernel_process(transport: str, ip: str, ports: Iterable[int]) -> LocalProcess | None:
    """The one process of ours holding the listening sockets of every port, or None."""
    return find_kernel_processes([(transport, ip, ports)])[0]


def find_kernel_processes(
    kernels: Sequence[tuple[str, str, Iterable[int]]], listeners: Listeners | None = None
) -> list[LocalProcess | None]:
    """``find_kernel_process`` of each kernel (transport, ip, ports), all in one walk of the
    processes' sockets: the walk costs the same for one kernel as for ten."""
    listeners = listeners or Listeners()
    wanted = [listeners.inodes(transport, ip, ports) for transport, ip, ports in kernels]
    held = _socket_holders({inode for inodes in wanted if inodes for inode in inodes})
    return [None if inodes is None else _root(inodes, held) for inodes in wanted]


class Listeners:
    """The machine's listening sockets, read once, then asked about many connection files."""

    def __init__(self) -> None:
        self.readable = os.path.isdir("/proc/net")  # False: nothing can be told here
        self._tcp: list[_Row] | None = None
        self._unix: list[list[str]] | None = None

    def serve(self, transport: str, ip: str, ports: Iterable[int]) -> bool | None:
        """Whether something listens on every port: anyone's socket counts, as it would take a
        connect. None when there is no /proc to tell."""
        wanted = set(ports)
        if not self.readable or not wanted:
            return None
        if transport == "ipc":
            return set(_ipc_listeners(ip, wanted, self._unix_rows()).values()) == wanted
        found = {port for address, port, _, _ in self._tcp_rows()
                 if port in wanted and address is not None and _reaches(address, ip)}  # fmt: skip
        return found == wanted

    def inodes(self, transport: str, ip: str, ports: Iterable[int]) -> dict[str, int] | None:
        """Inode -> port of our listening sockets on ``ports``; None unless every port has one."""
        wanted = set(ports)
        if not self.readable or not wanted:
            return None
        if transport == "tcp":
            found = _tcp_listeners(ip, wanted, self._tcp_rows())
        else:
            found = _ipc_listeners(ip, wanted, self._unix_rows())
        return found if set(found.values()) == wanted else None

    def _tcp_rows(self) -> list[_Row]:
        if self._tcp is None:
            try:
                self._tcp = _diag_listeners()
            except (OSError, AttributeError, struct.error):  # no netlink here: the slower tables
                self._tcp = _proc_listeners()
        return self._tcp

    def _unix_rows(self) -> list[list[str]]:
        if self._unix is None:
            self._unix = _rows("/proc/net/unix")
        return self._unix


@dataclass(frozen=True)
class Details:
    """What /proc tells of a process, for a list of kernels. The argv is never shown as it is:
    a kernel may have been given its key on its command line."""

    argv: tuple[str, ...]
    cwd: str  # "" when unknown
    started: float  # seconds since the epoch; 0.0 when unknown


def details(proc: LocalProcess) -> Details:
    """The argv, working directory and start time of a process found above."""
    try:
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            argv = tuple(a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a)
    except OSError:
        argv = ()
    try:
        cwd = os.readlink(f"/proc/{proc.pid}/cwd")
    except OSError:
        cwd = ""
    boot, ticks = _boot_time(), os.sysconf("SC_CLK_TCK")
    started = boot + int(proc.start) / ticks if boot and ticks > 0 else 0.0
    return Details(argv, cwd, started)


def still_serves(proc: LocalProcess, transport: str, ip: str, ports: Iterable[int]) -> bool:
    """Whether ``proc`` is still alive, still ours and still holds every listening socket."""
    if is_gone(proc) or not _ours(proc.pid):
        return False
    wanted = _listening_inodes(transport, ip, set(ports))
    return wanted is not None and _holds(proc.pid, wanted)


def is_gone(proc: LocalProcess) -> bool:
    """True when the process has exited (or is a zombie), or its pid now names another one."""
    now = _identify(proc.pid)
    return now is None or now != proc


def interrupt(proc: LocalProcess) -> bool:
    if proc.pid <= 1 or proc.pid == os.getpid():
        return False  # os.kill(0, ...) would address our whole process group
    try:
        os.kill(proc.pid, signal.SIGINT)
    except OSError:
        return False
    return True


def _listening_inodes(transport: str, ip: str, ports: set[int]) -> dict[str, int] | None:
    return Listeners().inodes(transport, ip, ports)


def _tcp_listeners(ip: str, ports: set[int], rows: list[_Row]) -> dict[str, int]:
    uid = os.getuid()
    return {
        inode: port
        for address, port, owner, inode in rows
        if port in ports and owner == uid and address is not None and _reaches(address, ip)
    }


_Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
_Row = tuple[Optional[_Address], int, int, str]  # address, port, uid, inode


def _proc_listeners() -> list[_Row]:
    # Reading these walks every socket of the machine: 5 ms each with a few dozen sockets.
    found: list[_Row] = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for fields in _rows(table):
            if len(fields) >= 10 and fields[3] == _TCP_LISTEN and fields[7].isdigit():
                address, port = _tcp_address(fields[1])
                found.append((address, port, int(fields[7]), fields[9]))
    return found


def _diag_listeners() -> list[_Row]:
    """LISTEN sockets from the kernel's sock_diag netlink: the listening hash only, 0.5 ms."""
    found: list[_Row] = []
    for family in (socket.AF_INET, socket.AF_INET6):
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as sock:
            sock.settimeout(1.0)
            # inet_diag_req_v2: family, protocol, ext, pad, states; then an empty sockid.
            request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 1 << 10) + bytes(48)
            header = struct.pack("=IHHII", 16 + len(request), _SOCK_DIAG_BY_FAMILY,
                                 _NLM_F_REQUEST | _NLM_F_DUMP, 1, 0)  # fmt: skip
            sock.send(header + request)
            found.extend(_diag_replies(sock))
    return found


def _diag_replies(sock: socket.socket) -> Iterator[_Row]:
    while True:
        data = sock.recv(65536)
        offset = 0
        while offset + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, offset)
            if kind == _NLMSG_DONE:
                return
            if kind == _NLMSG_ERROR or length < 16:
                raise OSError("sock_diag refused")
            yield _diag_row(data[offset + 16 : offset + length])
            offset += (length + 3) & ~3


def _diag_row(msg: bytes) -> _Row:
    # inet_diag_msg: family, state, timer, retrans, sockid (sport, dport, src[16], dst[16],
    # if, cookie[2]), expires, rqueue, wqueue, uid, inode.
    family, port = msg[0], struct.unpack_from("!H", msg, 4)[0]
    uid, inode = struct.unpack_from("=II", msg, 64)
    raw = msg[8:12] if family == socket.AF_INET else msg[8:24]
    address = ipaddress.ip_address(raw)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address, port, uid, str(inode)


def _ipc_listeners(ip: str, ports: set[int], rows: list[list[str]]) -> dict[str, int]:
    paths = {f"{ip}-{port}": port for port in ports}
    paths.update({os.path.abspath(path): port for path, port in list(paths.items())})
    found: dict[str, int] = {}
    for fields in rows:
        if len(fields) < 8 or fields[7] not in paths:
            continue
        try:
            listening = int(fields[3], 16) & _UNIX_ACCEPTCON
        except ValueError:
            continue
        if listening:
            found[fields[6]] = paths[fields[7]]
    return found


def _rows(table: str) -> list[list[str]]:
    try:
        with open(table, encoding="ascii", errors="replace") as f:
            return [line.split() for line in f.readlines()[1:]]
    except OSError:
        return []


def _tcp_address(field: str) -> tuple[_Address | None, int]:
    """``0100007F:1F90`` -> (127.0.0.1, 8080): the address is in host byte order per word."""
    hex_address, _, hex_port = field.partition(":")
    try:
        raw = bytes.fromhex(hex_address)
        port = int(hex_port, 16)
    except ValueError:
        return None, -1
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    if len(raw) == 4:
        return ipaddress.IPv4Address(raw), port
    if len(raw) == 16:
        address = ipaddress.IPv6Address(raw)
        return address.ipv4_mapped or address, port
    return None, -1


def _reaches(address: _Address, ip: str) -> bool:
    """Whether a client dialling ``ip`` reaches a socket listening on ``address``."""
    if address.is_unspecified:
        return True
    if ip.lower() in _LOCAL_NAMES:
        return address.is_loopback
    try:
        wanted = ipaddress.ip_address(ip)
    except ValueError:
        return False  # a host name: not resolved here, so not proven
    if isinstance(wanted, ipaddress.IPv6Address) and wanted.ipv4_mapped:
        wanted = wanted.ipv4_mapped
    return wanted.is_unspecified and address.is_loopback or wanted == address


def _our_pids() -> list[int]:
    uid, me = os.getuid(), os.getpid()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                pids.append(int(entry))
        except OSError:
            continue  # exited while we looked
    return pids


def _socket_holders(inodes: set[str]) -> dict[int, set[str]]:
    """Pid -> the ``inodes`` among its sockets, for each process of ours holding any."""
    held: dict[int, set[str]] = {}
    if not inodes:
        return held
    for pid in _our_pids():
        found = {inode for inode in _socket_inodes(pid) if inode in inodes}
        if found and _ours(pid):
            held[pid] = found
    return held


def _root(wanted: dict[str, int], held: dict[int, set[str]]) -> LocalProcess | None:
    ports = set(wanted.values())
    holders = [pid for pid, inodes in held.items()
               if {wanted[i] for i in inodes if i in wanted} == ports]  # fmt: skip
    # A kernel that forked (multiprocessing) shares its sockets with its children: the kernel
    # is the one whose parent is not among them.
    parents = {pid: _parent(pid) for pid in holders}
    roots = [pid for pid in holders if parents[pid] not in parents]
    if len(roots) != 1 or _comm(roots[0]) in _FORWARDERS:
        return None
    return _identify(roots[0])


def _socket_inodes(pid: int) -> Iterator[str]:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            yield target[len("socket:[") : -1]


def _holds(pid: int, wanted: dict[str, int]) -> bool:
    """Whether ``pid`` holds a socket for every port in ``wanted`` (inode -> port)."""
    ports = {wanted[inode] for inode in _socket_inodes(pid) if inode in wanted}
    return ports == set(wanted.values()) and _ours(pid)


def _ours(pid: int) -> bool:
    """Same real and effective uid as us: the /proc entry's owner is only the effective one."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Uid:"):
                    real, effective = line.split()[1:3]
                    return int(real) == int(effective) == os.getuid()
    except (OSError, ValueError):
        pass
    return False


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    # The command name, in parentheses, may hold spaces and parentheses itself.
    return text[text.rfind(")") + 2 :].split()


def _identify(pid: int) -> LocalProcess | None:
    fields = _stat_fields(pid)
    # fields[0] is field 3 of stat (the state), fields[19] is field 22 (the start time).
    if fields is None or len(fields) < 20 or fields[0] in ("Z", "X", "x"):
        return None
    return LocalProcess(pid, fields[19])


@functools.lru_cache(maxsize=1)
def _boot_time() -> float:
    """Seconds since the epoch when the machine booted (the btime of /proc/stat), or 0.0."""
    for fields in _rows("/proc/stat"):
        if len(fields) == 2 and fields[0] == "btime" and fields[1].isdigit():
            return float(fields[1])
    return 0.0


def _parent(pid: int) -> int:
    fields = _stat_fields(pid)
    try:
        return int(fields[1]) if fields else 0
    except ValueError:
        return 0


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""
