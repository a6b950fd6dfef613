"""A socket sync whose peer fails between two steps: the replica holds what it held, or that
plus the peer's update whole, never a part of it.

The peer is scripted on the raw framing (``send_message`` / ``recv_message``): it runs the
protocol honestly up to a point, then hangs up, sends a cut or corrupt frame, or sends an
update that does not fit. Every such point is tried for both roles.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

import pytest

from designpatterns_ref.collab import (
    CRDTError,
    FugueMaxReplica,
    Insert,
    SequenceReplica,
    Version,
    WireError,
    apply_update,
    encode_ops,
    encode_update,
    sync_socket,
    sync_step1,
    sync_step2,
)
from designpatterns_ref.collab.sync import recv_message, send_message


def _pair() -> tuple[SequenceReplica, SequenceReplica]:
    mine = FugueMaxReplica("mine")
    mine.insert(0, "shared text")
    theirs = mine.fork("theirs")
    mine.insert(0, "mine: ")
    mine.delete(8, 3)
    theirs.insert(11, " and theirs")
    theirs.delete(0, 2)
    return mine, theirs


def _state(doc: SequenceReplica) -> tuple[object, ...]:
    return (doc.text(), doc.version(), doc.stats(), doc.ops_since())


def _run(doc: SequenceReplica, initiator: bool, peer: Callable[[socket.socket], None]) -> None:
    """``sync_socket`` against the scripted ``peer``; the peer hangs up when its script ends."""
    left, right = socket.socketpair()

    def script() -> None:
        with right:
            right.settimeout(10)
            with contextlib.suppress(OSError, CRDTError):  # the other side hung up first
                peer(right)

    thread = threading.Thread(target=script)
    thread.start()
    try:
        with left:
            left.settimeout(10)
            sync_socket(doc, left, initiator=initiator)
    finally:
        thread.join(10)


def _cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flip(data: bytes) -> bytes:
    return data[:-6] + bytes([data[-6] ^ 0x40]) + data[-5:]


# What the peer of an initiator does: it reads step 1 and answers with its update and its own
# step 1, then reads the initiator's update. Each script stops or misbehaves at one point.
RESPONDER_SCRIPTS: dict[str, Callable[[socket.socket, SequenceReplica], None]] = {
    "hangs up at once": lambda s, t: None,
    "hangs up after step 1": lambda s, t: (recv_message(s), None)[1],
    "sends half an update": lambda s, t: (
        send_message(s, _cut(sync_step2(t, recv_message(s)))),
        s.shutdown(socket.SHUT_WR),
    )[1],
    "sends a corrupt update": lambda s, t: (
        send_message(s, _flip(sync_step2(t, recv_message(s)))),
        send_message(s, sync_step1(t)),
        recv_message(s),
    )[1],
    "sends the update, then hangs up": lambda s, t: (
        send_message(s, sync_step2(t, recv_message(s))),
        None,
    )[1],
    "sends the update and a corrupt step 1": lambda s, t: (
        send_message(s, sync_step2(t, recv_message(s))),
        send_message(s, _flip(sync_step1(t))),
        recv_message(s),
    )[1],
    "sends an update that does not fit": lambda s, t: (
        recv_message(s),
        send_message(s, encode_ops([Insert("mine", 0, 0, "X" * 11, None, None)])),
        send_message(s, sync_step1(t)),
        recv_message(s),
    )[1],
    "hangs up before reading the initiator's update": lambda s, t: (
        send_message(s, sync_step2(t, recv_message(s))),
        send_message(s, sync_step1(t)),
    )[1],
}


@pytest.mark.parametrize("script", list(RESPONDER_SCRIPTS))
def test_an_initiator_whose_peer_fails_holds_what_it_held_or_the_whole_update(script: str) -> None:
    mine, theirs = _pair()
    before = _state(mine)
    merged = mine.fork("mine")  # what the initiator holds once the update is applied whole
    merged.merge(theirs)
    after = _state(merged)[:2]
    with contextlib.suppress(CRDTError):  # WireError is one; some scripts end cleanly
        _run(mine, True, lambda s: RESPONDER_SCRIPTS[script](s, theirs))
    now = _state(mine)
    assert now == before or now[:2] == after, script
    if script != "hangs up before reading the initiator's update":
        assert now == before, script  # failed before the update could be applied


# What the peer of a responder does: it sends step 1, reads the update and the step 1, then
# sends its own update.
INITIATOR_SCRIPTS: dict[str, Callable[[socket.socket, SequenceReplica], None]] = {
    "sends half a step 1": lambda s, t: (
        send_message(s, _cut(sync_step1(t))),
        recv_message(s),
    )[1],
    "hangs up after step 1": lambda s, t: (send_message(s, sync_step1(t)), None)[1],
    "hangs up instead of its update": lambda s, t: (
        send_message(s, sync_step1(t)),
        recv_message(s),
        recv_message(s),
    )[1],
    "sends half its update": lambda s, t: (
        send_message(s, sync_step1(t)),
        recv_message(s),
        send_message(s, _cut(sync_step2(t, recv_message(s)))),
    )[1],
    "sends a corrupt update": lambda s, t: (
        send_message(s, sync_step1(t)),
        recv_message(s),
        send_message(s, _flip(sync_step2(t, recv_message(s)))),
    )[1],
    "sends an update that does not fit": lambda s, t: (
        send_message(s, sync_step1(t)),
        recv_message(s),
        recv_message(s),
        send_message(s, encode_ops([Insert("mine", 0, 0, "X" * 11, None, None)])),
    )[1],
}


@pytest.mark.parametrize("script", list(INITIATOR_SCRIPTS))
def test_a_responder_whose_peer_fails_holds_what_it_held(script: str) -> None:
    mine, theirs = _pair()
    before = _state(mine)
    with pytest.raises(CRDTError):
        _run(mine, False, lambda s: INITIATOR_SCRIPTS[script](s, theirs))
    assert _state(mine) == before


def test_two_initiators_are_told_at_once_instead_of_waiting_for_each_other() -> None:
    """Both sides passing ``initiator=True`` each receive a state vector where the protocol has
    an update: that breaks the protocol, and is a :class:`WireError` at once, not a wait for
    a second message that never comes (until the timeout, or for ever without one)."""
    mine, theirs = _pair()
    before = [_state(mine), _state(theirs)]
    left, right = socket.socketpair()
    errors: dict[str, BaseException] = {}

    def run(name: str, doc: SequenceReplica, sock: socket.socket) -> None:
        try:
            sync_socket(doc, sock, initiator=True)
        except BaseException as exc:
            errors[name] = exc

    with left, right:
        left.settimeout(5)
        right.settimeout(5)
        threads = [
            threading.Thread(target=run, args=("mine", mine, left)),
            threading.Thread(target=run, args=("theirs", theirs, right)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    for name in ("mine", "theirs"):
        assert isinstance(errors.get(name), WireError), errors
        assert "a state vector, expected an update" in str(errors[name])
    assert [_state(mine), _state(theirs)] == before


def test_a_non_blocking_socket_is_refused_before_anything_is_sent() -> None:
    """A non-blocking socket cannot wait for the peer's answer: refused up front, naming it,
    rather than a step 1 sent and then a "connection failed" that did not happen."""
    mine, _ = _pair()
    before = _state(mine)
    left, right = socket.socketpair()
    with left, right:
        left.setblocking(False)
        right.settimeout(0.2)
        for call in (
            lambda: sync_socket(mine, left, initiator=True),
            lambda: send_message(left, b"x"),
            lambda: recv_message(left),
        ):
            with pytest.raises(WireError, match="non-blocking"):
                call()
        with pytest.raises(TimeoutError):
            right.recv(1)  # nothing was sent
    assert _state(mine) == before


def test_apply_update_counts_the_operations_received_not_those_new() -> None:
    """The count is of what the update held, as documented: sent twice, the second time it
    applies nothing new and still counts every operation; one that waits counts too."""
    author = FugueMaxReplica("author")
    author.insert(0, "ab")
    author.insert(0, "c")  # a second run, before the first
    update = encode_update(author)
    reader = FugueMaxReplica("reader")
    assert apply_update(reader, update) == 2
    version = reader.version()
    assert apply_update(reader, update) == 2
    assert reader.version() == version
    late = FugueMaxReplica("late")
    assert apply_update(late, encode_update(author, Version({"author": [(0, 2)]}))) == 1
    assert late.stats()["pending"] == 1 and late.text() == ""
