"""The two-step sync of Yjs between two replicas, as bytes, over any byte stream or a socket.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

Two replicas that have been apart each hold operations the other lacks. Sending everything
would work (duplicates are ignored) but costs the whole history every time. Yjs syncs in two
steps instead: **step 1**, each side sends its *state vector* (its :class:`Version`: per agent,
the ranges of sequence numbers it has applied, a few bytes); **step 2**, each side answers
the other's state vector with exactly the operations that version lacks
(:meth:`SequenceReplica.ops_since`), as one update message of the wire format
(:mod:`~designpatterns_ref.collab.wire`), followed by the operations it holds waiting for a
dependency that the other side may have (Yjs sends its pending structs the same way). After
both updates are applied the replicas hold the same operations.

Over a socket the messages are framed by a 4-byte big-endian length. The *initiator* sends its
step 1; the *responder* answers with its step 2 and its own step 1; the initiator applies the
update and answers with its step 2. Nobody sends a large message while the other is sending
one, so neither side can block on a full socket buffer.

Trade-off: one extra round trip (the state vectors) buys an update of exactly the missing
operations; a replica that has never synced pays nothing extra (its state vector is empty).

Complexity: step 1 O(ranges); step 2 O(missing operations + ranges).

>>> from designpatterns_ref.collab.fuguemax import FugueMaxReplica
>>> alice, bob = FugueMaxReplica("alice"), FugueMaxReplica("bob")
>>> alice.insert(0, "hi"); bob.insert(0, "yo")
>>> to_bob = sync_step2(alice, sync_step1(bob))      # what bob lacks, as bytes
>>> to_alice = sync_step2(bob, sync_step1(alice))
>>> apply_update(bob, to_bob), apply_update(alice, to_alice)   # operations received
(1, 1)
>>> alice.text() == bob.text()
True
"""  # noqa: E501

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import NamedTuple

from designpatterns_ref.collab.base import CRDTError, WireError
from designpatterns_ref.collab.ids import Version, _check_version
from designpatterns_ref.collab.sequence import SequenceReplica
from designpatterns_ref.collab.wire import decode_ops, decode_version, encode_ops, encode_version
from designpatterns_ref.errors import shown

__all__ = [
    "MAX_MESSAGE",
    "SyncReport",
    "apply_update",
    "encode_update",
    "recv_message",
    "send_message",
    "sync_socket",
    "sync_step1",
    "sync_step2",
]

MAX_MESSAGE = 1 << 28  # 256 MiB: a longer frame is refused before anything is read


class SyncReport(NamedTuple):
    """What one side of a socket sync sent and received: bytes, framing included, and the
    operations the updates held. ``ops_received`` counts every operation of the update that
    arrived, as :func:`apply_update` does: one this side already held (ignored) or one that
    now waits for a dependency counts too; ``version()`` and ``stats()["pending"]`` say what
    was applied."""

    bytes_sent: int
    bytes_received: int
    ops_sent: int
    ops_received: int


def _check_replica(replica: object) -> SequenceReplica:
    if not isinstance(replica, SequenceReplica):
        raise CRDTError(f"replica={shown(replica, 80)} must be a SequenceReplica")
    return replica


def encode_update(replica: SequenceReplica, since: Version | None = None) -> bytes:
    """Every operation ``replica`` has that ``since`` lacks (everything by default), as bytes:
    those it has applied, then those it holds waiting for a dependency."""
    _check_replica(replica)
    if since is not None:
        _check_version(since, "since")
    return encode_ops(replica._outgoing(since))


def apply_update(replica: SequenceReplica, update: bytes) -> int:
    """Decode ``update`` and apply it to ``replica``, all or nothing; the number of
    operations it held (received, not necessarily new: one the replica already held is
    ignored, one whose dependency has not arrived waits). A message that does not decode
    raises :class:`WireError`, one that does not fit raises :class:`CRDTError`, and the
    replica is unchanged."""
    _check_replica(replica)
    ops = decode_ops(update)  # every operation checked while decoding
    replica._apply_batch(ops)
    return len(ops)


def sync_step1(replica: SequenceReplica) -> bytes:
    """Step 1: ``replica``'s state vector, to send to the other side."""
    return encode_version(_check_replica(replica).version())


def sync_step2(replica: SequenceReplica, step1: bytes) -> bytes:
    """Step 2: the update holding exactly what the sender of ``step1`` lacks (operations
    waiting here for a dependency included: the other side may hold it)."""
    _check_replica(replica)
    return encode_ops(replica._outgoing(decode_version(step1)))


# -- over a socket ---------------------------------------------------------------------------------
def _check_socket(sock: object) -> socket.socket:
    if not isinstance(sock, socket.socket) or sock.fileno() == -1:
        raise WireError(f"sock={shown(sock, 80)} must be an open, connected socket.socket")
    if sock.type != socket.SOCK_STREAM:
        raise WireError(f"sock={shown(sock, 80)} must be a stream socket (TCP, or a Unix stream)")
    if sock.gettimeout() == 0:  # it could not wait for the peer: refused before anything is sent
        raise WireError(
            f"sock={shown(sock, 80)} is non-blocking; it must block, or have a timeout "
            "(sock.settimeout)"
        )
    return sock


def send_message(sock: socket.socket, data: bytes | bytearray | memoryview) -> int:
    """Send one frame (4-byte big-endian length, then ``data``, any bytes-like object); the
    bytes written. A socket that is not an open, blocking stream socket (a timeout is fine),
    or a connection that fails, raises :class:`WireError`; a timeout (``sock.settimeout``)
    propagates as :class:`TimeoutError`."""
    _check_socket(sock)
    try:
        payload = data if type(data) is bytes else memoryview(data).tobytes()
    except TypeError:
        raise WireError(f"data={shown(data, 80)} must be bytes-like (bytes, bytearray)") from None
    if len(payload) > MAX_MESSAGE:
        raise WireError(
            f"a message of {len(payload)} bytes is longer than MAX_MESSAGE={MAX_MESSAGE}"
        )
    with _wire_errors():
        sock.sendall(len(payload).to_bytes(4, "big") + payload)
    return 4 + len(payload)


@contextlib.contextmanager
def _wire_errors() -> Iterator[None]:
    """An :class:`OSError` of the connection (reset, broken pipe, not connected) as a
    :class:`WireError`; a timeout stays a :class:`TimeoutError`."""
    try:
        yield
    except TimeoutError:
        raise
    except OSError as exc:
        raise WireError(f"the connection to the peer failed: {exc}") from exc


def _recv_exactly(sock: socket.socket, n: int, what: str) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise WireError(f"the peer closed the connection after {got} of {n} bytes of {what}")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv_message(sock: socket.socket) -> bytes:
    """Receive one frame written by :func:`send_message`; :class:`WireError` when ``sock`` is
    not an open, blocking stream socket (a timeout is fine), the connection fails, the peer
    closes mid-frame or announces more than :data:`MAX_MESSAGE` bytes."""
    _check_socket(sock)
    with _wire_errors():
        n = int.from_bytes(_recv_exactly(sock, 4, "a frame header"), "big")
        if n > MAX_MESSAGE:
            raise WireError(
                f"the peer announced a {n}-byte message, over MAX_MESSAGE={MAX_MESSAGE}"
            )
        return _recv_exactly(sock, n, f"a {n}-byte message")


def sync_socket(replica: SequenceReplica, sock: socket.socket, *, initiator: bool) -> SyncReport:
    """Sync ``replica`` with the replica at the other end of the connected ``sock``: one side
    passes ``initiator=True``, the other ``False``. Afterwards both hold every operation either
    had. A peer that hangs up, sends what is not a message or breaks the protocol raises
    :class:`WireError`, and an update that does not fit raises :class:`CRDTError`; either way the
    replica holds what it held or, if the failure came after the update was applied, that
    update whole. Two initiators are told at once (each receives a state vector where the
    protocol has an update); two responders both wait for a first message, so give the socket
    a timeout. Timeouts (``sock.settimeout``) propagate as :class:`TimeoutError`."""
    _check_replica(replica)
    _check_socket(sock)
    if type(initiator) is not bool:
        raise WireError(f"initiator={shown(initiator, 80)} must be True or False")
    with _wire_errors():  # reset, refused, not connected, ...
        return _sync(replica, sock, initiator)


def _sync(replica: SequenceReplica, sock: socket.socket, initiator: bool) -> SyncReport:
    sent = received = ops_sent = ops_received = 0
    if initiator:
        sent += send_message(sock, sync_step1(replica))
        update = recv_message(sock)
        # decoded before waiting for the next message: a peer that sent a state vector here
        # (another initiator) is waiting too, and would wait for ever
        incoming = decode_ops(update)
        step1 = recv_message(sock)
        received += len(update) + len(step1) + 8
        theirs = decode_version(step1)  # checked before the update changes anything
        replica._apply_batch(incoming)
        ops_received = len(incoming)
        ops = replica._outgoing(theirs)
        sent += send_message(sock, encode_ops(ops))
        ops_sent = len(ops)
    else:
        step1 = recv_message(sock)
        received += len(step1) + 4
        ops = replica._outgoing(decode_version(step1))
        sent += send_message(sock, encode_ops(ops))
        sent += send_message(sock, sync_step1(replica))
        ops_sent = len(ops)
        update = recv_message(sock)
        received += len(update) + 4
        ops_received = apply_update(replica, update)
    return SyncReport(sent, received, ops_sent, ops_received)
