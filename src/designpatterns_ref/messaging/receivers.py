"""Receiving processes for the load generator: member sockets read with epoll, stamped per frame.

Case study: Slack's WebSocket Gateway: 1M Concurrent Connections
(docs/case-studies/slack-gateway.md)

A fan-out latency is only as true as the clock at the receiving end. One asyncio process
reading 1,000 sockets spends about 30 µs a frame (a selector callback, a protocol call, a
buffer copy), so it stamps the 1,000th delivery some 30 ms after the first even when the
gateway wrote all of them at once: the measuring process, not the gateway, sets the figure.
Real clients are on a thousand machines. Here the member sockets are shared among a few
:class:`Receivers` processes, each reading its share with a bare ``select.epoll`` loop and
stamping every frame with ``time.monotonic()`` right after its ``recv`` (CLOCK_MONOTONIC on
Linux: one clock for every process of the machine, so a stamp taken here minus a send time
taken in the parent is a latency).

Each process opens its sockets one handshake at a time (upgrade, ``hello``, wait for
``ready``), reports its resident-memory growth, then answers on its pipes: it writes a key
line as soon as every one of its sockets has a message of that ``client_msg_id``, and on
``stop`` it prints every socket's first arrival of each key as JSON and exits.

>>> frames, rest = parse_frames(b"\\x81\\x02hi\\x81\\x05wor")
>>> frames, rest
([b'hi'], b'\\x81\\x05wor')
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import MessagingError, MessagingTypeError, check_id

__all__ = ["Receivers", "client_frame", "parse_frames", "upgrade_request"]

_KEY = b'"client_msg_id": "'


def upgrade_request(host: str, port: int) -> bytes:
    """A client's WebSocket upgrade request (RFC 6455 section 4.1) with a fresh random key."""
    from base64 import b64encode

    key = b64encode(os.urandom(16)).decode()
    return (
        f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def client_frame(payload: bytes) -> bytes:
    """A masked text frame (mask key 0000: XOR changes nothing, the header says masked), as a
    client must send; up to 65,535 bytes of payload."""
    n = len(payload)
    head = bytes((0x81, 0x80 | n)) if n < 126 else bytes((0x81, 0xFE)) + n.to_bytes(2, "big")
    return head + b"\0\0\0\0" + payload


def _frame_at(buf: bytes, i: int) -> tuple[int, int]:
    """The payload start and end of the unmasked server frame at ``buf[i:]``; (-1, -1) when
    it is not all there yet."""
    n = len(buf)
    if n - i < 2:
        return -1, -1
    size, start = buf[i + 1] & 0x7F, i + 2
    if size == 126:
        size, start = int.from_bytes(buf[i + 2 : i + 4], "big"), i + 4
    elif size == 127:
        size, start = int.from_bytes(buf[i + 2 : i + 10], "big"), i + 10
    return (start, start + size) if start <= n and start + size <= n else (-1, -1)


def parse_frames(buf: bytes) -> tuple[list[bytes], bytes]:
    """Split ``buf`` into whole unmasked server frames' payloads and the incomplete rest."""
    if not isinstance(buf, bytes):
        raise MessagingTypeError(f"buf={shown(buf, 80)} must be bytes")
    out: list[bytes] = []
    i = 0
    while True:
        start, end = _frame_at(buf, i)
        if end < 0:
            return out, buf[i:]
        out.append(buf[start:end])
        i = end


def _open(port: int, secret: bytes, user: str) -> tuple[socket.socket, bytes]:
    """One upgraded, hello'd socket, and the bytes it already holds after ``ready``."""
    from designpatterns_ref.messaging.token import make_token

    sock = socket.create_connection(("127.0.0.1", port), timeout=30)  # for the handshake
    sock.sendall(upgrade_request("127.0.0.1", port))
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise MessagingError(f"the gateway closed {user}'s socket during the upgrade")
        buf += chunk
    if not buf.startswith(b"HTTP/1.1 101"):
        raise MessagingError(f"upgrade refused: {shown(buf[:60])}")
    buf = buf[buf.index(b"\r\n\r\n") + 4 :]
    token = make_token(secret, user, expires=time.time() + 3600)
    hello = f'{{"op": "hello", "token": "{token}", "device": "d"}}'.encode()
    sock.sendall(client_frame(hello))
    while True:
        _, end = _frame_at(buf, 0)
        if end >= 0:  # the first frame after hello is "ready"
            return sock, buf[end:]
        chunk = sock.recv(65536)
        if not chunk:
            raise MessagingError(f"the gateway closed {user}'s socket before 'ready'")
        buf += chunk


def _main(port: int, secret: bytes, users: list[str]) -> None:
    """The receiving process: open, say ``ready BYTES``, then stamp frames until ``stop``."""
    from designpatterns_ref.messaging.loadgen import rss_of  # here: loadgen imports this module

    before = rss_of()
    socks: dict[int, socket.socket] = {}
    bufs: dict[int, bytes] = {}
    for user in users:
        sock, rest = _open(port, secret, user)
        sock.setblocking(False)
        socks[sock.fileno()], bufs[sock.fileno()] = sock, rest
    print(f"ready {rss_of() - before}", flush=True)
    stamps: dict[str, dict[int, float]] = {}  # key -> socket -> first arrival
    poller, stdin = select.epoll(), sys.stdin.fileno()
    poller.register(stdin, select.EPOLLIN)
    for fd in socks:
        poller.register(fd, select.EPOLLIN)
    need, monotonic = len(socks), time.monotonic
    while True:
        for fd, _ in poller.poll():
            if fd == stdin:
                if os.read(stdin, 4096).strip() in (b"stop", b""):
                    print(json.dumps({k: list(v.values()) for k, v in stamps.items()}), flush=True)
                    return
                continue
            data = socks[fd].recv(65536)
            now = monotonic()
            if not data:
                poller.unregister(fd)
                continue
            frames, bufs[fd] = parse_frames(bufs[fd] + data)
            for payload in frames:
                at = payload.find(_KEY)
                if not payload.startswith(b'{"op": "message"') or at < 0:
                    continue
                key = payload[at + len(_KEY) : payload.index(b'"', at + len(_KEY))].decode()
                got = stamps.setdefault(key, {})
                if fd not in got:  # a duplicate delivers nothing new
                    got[fd] = now
                    if len(got) == need:
                        print(key, flush=True)


class Receivers:
    """``processes`` receiving processes sharing ``users``' sockets (round robin).

    ``with Receivers(port, secret, users, processes=2) as r:`` opens them all;
    ``r.wait(key, timeout)`` returns when every socket has the message ``key`` (or the time
    runs out); ``r.stamps()`` stops the processes and returns each key's arrival times.
    """

    def __init__(self, port: int, secret: bytes, users: list[str], processes: int = 2) -> None:
        for name, value, high in (("port", port, 65535), ("processes", processes, 64)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise MessagingTypeError(f"{name}={shown(value, 80)} must be an integer")
            if not 1 <= value <= high:
                raise MessagingError(f"{name}={shown(value, 80)} must be in 1..{high}")
        if not isinstance(secret, bytes) or len(secret) < 4 or not secret.isascii():
            raise MessagingError("secret must be ASCII bytes, at least 4 of them")
        if not isinstance(users, list) or not users:
            raise MessagingTypeError(
                f"users={shown(users, 80)} must be a non-empty list of user ids"
            )
        for user in users:
            if "," in check_id("user", user):
                raise MessagingError(f"user={shown(user, 80)} must not contain a comma")
        self.procs: list[subprocess.Popen[bytes]] = []
        self.client_bytes = 0
        shares = [users[i::processes] for i in range(processes)]
        for share in (s for s in shares if s):
            code = (
                "import sys; from designpatterns_ref.messaging.receivers import _main; "
                "_main(int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].split(','))"
            )
            self.procs.append(subprocess.Popen(
                [sys.executable, "-c", code, str(port), secret.decode(), ",".join(share)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
            ))  # fmt: skip
        self._pending = {p.pid: b"" for p in self.procs}

    def __enter__(self) -> Receivers:
        try:
            for proc in self.procs:
                line = self._line(proc).split()
                if not line or line[0] != b"ready":
                    raise MessagingError("a receiving process did not open its sockets")
                self.client_bytes += int(line[1])
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _line(self, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> bytes:
        """The next line ``proc`` writes (unbuffered, so ``select`` stays true); a process
        silent for ``timeout`` seconds is an error."""
        assert proc.stdout is not None
        while b"\n" not in self._pending[proc.pid]:
            if not select.select([proc.stdout], [], [], timeout)[0]:
                raise MessagingError(f"a receiving process said nothing for {timeout} s")
            chunk = os.read(proc.stdout.fileno(), 1 << 20)
            if not chunk:
                raise MessagingError("a receiving process ended early")
            self._pending[proc.pid] += chunk
        line, self._pending[proc.pid] = self._pending[proc.pid].split(b"\n", 1)
        return line

    def wait(self, key: str, timeout: float) -> bool:
        """True when every process has seen ``key`` on all its sockets within ``timeout`` s."""
        waiting = {p.stdout.fileno(): p for p in self.procs if p.stdout is not None}
        deadline = time.monotonic() + timeout
        while waiting:
            for fd, proc in list(waiting.items()):
                while b"\n" in self._pending[proc.pid]:
                    if self._line(proc).decode() == key:
                        del waiting[fd]
                        break
            if not waiting:
                break
            left = deadline - time.monotonic()
            ready, _, _ = select.select(list(waiting), [], [], max(left, 0))
            if not ready:
                return False
            for fd in ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise MessagingError("a receiving process ended early")
                self._pending[waiting[fd].pid] += chunk
        return True

    def stamps(self) -> dict[str, list[float]]:
        """Stop every process; each key's arrival stamps (``time.monotonic()``), all merged."""
        out: dict[str, list[float]] = {}
        for proc in self.procs:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(b"stop\n")
            while not (line := self._line(proc)).startswith(b"{"):
                pass  # keys of rounds nobody waited for
            for key, times in json.loads(line).items():
                out.setdefault(key, []).extend(times)
        self.close()
        return out

    def close(self) -> None:
        """End the processes (their sockets close with them)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()
