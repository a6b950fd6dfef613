"""A compact binary wire format for sequence-CRDT operations and versions.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

Operations leave a replica as bytes, not Python objects, so two replicas in different processes
(or written in different languages) can exchange them. A message is::

    b"DPCR" | format version (1 byte) | kind (1 byte) | body | CRC-32 of all before (4 bytes)

Kind 1, an *update* (a batch of operations), has an **agent table** (each agent name once,
UTF-8), every inserted text in one UTF-8 block, then one record per operation: a flags byte,
the agent's index, ``seq``, Lamport time, length, then the origins or the delete's target. The
flags are bit 0 for a delete, bits 1 and 2 for an insert's left and right origins, and bit 3
for a delete's ``backwards`` (a run of backspaces); any other combination (an origin on a
delete, ``backwards`` on an insert, a higher bit) means nothing and is refused. Numbers
are unsigned LEB128 **varints** (7 bits a byte), and most are written as the difference from
what the reader can predict: an operation's ``seq`` from the end of the previous operation of
the same agent, its Lamport time from the end of the previous operation, an origin's or a
target's ``seq`` from the operation's own (zigzag-coded, so small negative numbers stay small).
A run of characters typed left to right is one record (**run-length**), so a typical record
is a handful of one-byte varints. Kind 2, a *state vector*, is a :class:`Version`: per agent,
its ranges of sequence numbers as gaps and lengths.

Decoding checks everything: the magic, the version, the checksum, every count against the
bytes left, every varint's length, the UTF-8, each agent named once, and each record as
:func:`~designpatterns_ref.collab.ops.check_op` would (an operation refers only to what came
before it; every id below 2**62). A truncated, corrupt or hostile buffer raises
:class:`WireError` (a :class:`CRDTError`) naming where and what was wrong, never an
``IndexError`` or a garbage batch. Every batch has one encoding: a varint padded with a
redundant 0x00 byte is refused (so the flags byte is one byte), and so is an agent table
holding a name no record uses or listing the agents in another order than the records first
name them (the encoder's order), so equal batches are equal bytes. The table is decoded only
once the operation count bounds it (a record names at most three agents), each name checked
as it is read. Since the flags byte is itself a one-byte varint, the records are one stream of
varints, decoded only once the bytes left are no more than the declared records can take, and
then a 4 KiB chunk at a time (:mod:`~designpatterns_ref.collab._records`), each record taking
its fields with one slice: a hostile message is refused at its first bad record or name,
having decoded at most one chunk past it, and a bad varint is reported only when a record
reaches it.

Trade-off: deltas and varints make the common case one byte a field, but each record is still
checked and built into an operation one at a time in Python (about 2 µs a record); a columnar
layout would compress better at the price of readability.

Complexity: O(ops + text) to encode and to decode.

>>> from designpatterns_ref.collab.fuguemax import FugueMaxReplica
>>> doc = FugueMaxReplica("alice")
>>> doc.insert(0, "hello"); doc.delete(0, 1)
>>> data = encode_ops(doc.ops_since())
>>> len(data), decode_ops(data) == doc.ops_since()
(36, True)
>>> decode_version(encode_version(doc.version())) == doc.version()
True
"""  # noqa: E501

from __future__ import annotations

import gc
import zlib
from collections.abc import Iterable

from designpatterns_ref.collab._records import decode_records
from designpatterns_ref.collab.base import WireError
from designpatterns_ref.collab.dellog import MAX_ID
from designpatterns_ref.collab.ids import Version, _check_version
from designpatterns_ref.collab.ops import Delete, Insert, Op, check_op
from designpatterns_ref.errors import shown

__all__ = [
    "FORMAT_VERSION",
    "KIND_UPDATE",
    "KIND_VERSION",
    "MAGIC",
    "decode_ops",
    "decode_version",
    "encode_ops",
    "encode_version",
]

MAGIC = b"DPCR"
FORMAT_VERSION = 1
KIND_UPDATE = 1
KIND_VERSION = 2
_HEADER = 6  # magic, format version, kind
_CRC = 4
_MAX_VARINT_BYTES = 10  # 70 bits: every sequence number or length a replica can hold
#: the longest record: the flags byte, then agent, seq, Lamport time and length, then two
#: origins (or a target) of two varints each
_MAX_RECORD = 1 + 8 * _MAX_VARINT_BYTES

# the flag byte of one operation record
_DELETE, _LEFT, _RIGHT, _BACKWARDS = 1, 2, 4, 8


# -- writing ------------------------------------------------------------------------------------
def _varint(out: bytearray, n: int) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _zigzag(out: bytearray, n: int) -> None:
    _varint(out, n << 1 if n >= 0 else ((-n) << 1) - 1)


def _string(out: bytearray, s: str) -> None:
    raw = s.encode("utf-8", "surrogatepass")
    _varint(out, len(raw))
    out += raw


def _frame(kind: int, body: bytearray) -> bytes:
    out = bytearray(MAGIC)
    out += bytes((FORMAT_VERSION, kind))
    out += body
    out += zlib.crc32(out).to_bytes(4, "little")
    return bytes(out)


def encode_ops(ops: Iterable[Op]) -> bytes:
    """One update message holding ``ops`` (each checked with ``check_op``), in their order.

    >>> encode_ops([])[:6]
    b'DPCR\\x01\\x01'
    """
    if isinstance(ops, str | bytes) or not isinstance(ops, Iterable):
        raise WireError(f"ops={shown(ops, 80)} must be an iterable of Insert and Delete")
    batch = [check_op(op) for op in ops]
    agents: dict[str, int] = {}
    for op in batch:
        agents.setdefault(op.agent, len(agents))
        refs = (op.left, op.right) if type(op) is Insert else (op.target,)  # type: ignore[union-attr]
        for ref in refs:
            if ref is not None:
                agents.setdefault(ref[0], len(agents))
    body = bytearray()
    _varint(body, len(agents))
    for agent in agents:
        _string(body, agent)
    _string(body, "".join(op.text for op in batch if type(op) is Insert))
    _varint(body, len(batch))
    expected: dict[str, int] = {}  # per agent, the seq just past its previous operation
    lamport = 0  # the Lamport time just past the previous operation
    for op in batch:
        seq = op.seq
        if type(op) is Insert:
            n = len(op.text)
            flags = (_LEFT if op.left is not None else 0) | (_RIGHT if op.right is not None else 0)
        else:
            assert isinstance(op, Delete)
            n = op.length
            flags = _DELETE | (_BACKWARDS if op.backwards else 0)
        body.append(flags)
        _varint(body, agents[op.agent])
        _zigzag(body, seq - expected.get(op.agent, 0))
        _zigzag(body, op.lamport - lamport)
        _varint(body, n)
        if type(op) is Insert:
            for ref in (op.left, op.right):
                if ref is not None:
                    _varint(body, agents[ref[0]])
                    _zigzag(body, seq - ref[1])
        else:
            target = op.target  # type: ignore[union-attr]
            _varint(body, agents[target[0]])
            _zigzag(body, seq - target[1])
        expected[op.agent] = seq + n
        lamport = op.lamport + n
    return _frame(KIND_UPDATE, body)


def encode_version(version: Version) -> bytes:
    """One state-vector message holding ``version``.

    >>> encode_version(Version())
    b'DPCR\\x01\\x02\\x00...'
    """
    _check_version(version, "version")
    body = bytearray()
    ranges = version.ranges()
    _varint(body, len(ranges))
    for agent, pairs in ranges.items():
        _string(body, agent)
        _varint(body, len(pairs))
        end = 0
        for start, stop in pairs:
            _varint(body, start - end)
            _varint(body, stop - start)
            end = stop
    return _frame(KIND_VERSION, body)


# -- reading ------------------------------------------------------------------------------------
class _Reader:
    """A cursor over one message body that refuses to read past its end."""

    __slots__ = ("buf", "end", "pos")

    def __init__(self, buf: bytes, pos: int, end: int) -> None:
        self.buf, self.pos, self.end = buf, pos, end

    def fail(self, what: str) -> WireError:
        return WireError(f"corrupt message at byte {self.pos}: {what}")

    def varint(self, what: str) -> int:
        buf, pos, end = self.buf, self.pos, self.end
        if pos < end and buf[pos] < 0x80:  # the common case: one byte
            self.pos = pos + 1
            return buf[pos]
        n = shift = 0
        for k in range(_MAX_VARINT_BYTES):
            if pos + k >= end:
                raise self.fail(f"truncated: {what} runs past the end of the message")
            b = buf[pos + k]
            n |= (b & 0x7F) << shift
            if b < 0x80:
                if b == 0:  # k > 0: a last byte of zeros only pads the number
                    raise self.fail(f"{what} is a varint padded with a redundant 0x00 byte")
                self.pos = pos + k + 1
                return n
            shift += 7
        raise self.fail(f"{what} is a varint longer than {_MAX_VARINT_BYTES} bytes")

    def zigzag(self, what: str) -> int:
        n = self.varint(what)
        return n >> 1 if not n & 1 else -((n + 1) >> 1)

    def count(self, what: str, least: int = 1) -> int:
        """A count of things that take at least ``least`` bytes each: refused when the rest of
        the message cannot hold that many."""
        n = self.varint(what)
        if n * least > self.end - self.pos:
            raise self.fail(f"{what}={n} does not fit in the {self.end - self.pos} bytes left")
        return n

    def string(self, what: str) -> str:
        n = self.count(f"byte length of {what}")
        raw = self.buf[self.pos : self.pos + n]
        try:
            text = raw.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            raise self.fail(f"{what} is not UTF-8 ({exc.reason})") from None
        self.pos += n
        return text

    def agent(self, agents: list[str], what: str) -> str:
        k = self.varint(what)
        if k >= len(agents):
            raise self.fail(f"{what}={k} is not in the agent table of {len(agents)}")
        return agents[k]


def _open(data: object, kind: int) -> _Reader:
    """Check type, header and checksum of a message; a reader over its body."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise WireError(
            f"data={shown(data, 80)} must be bytes (a message of the collab wire format)"
        )
    buf = bytes(data)
    if len(buf) < _HEADER + _CRC:
        raise WireError(
            f"data of {len(buf)} bytes is too short for a message (at least {_HEADER + _CRC})"
        )
    if buf[:4] != MAGIC:
        raise WireError(f"data starts with {shown(buf[:4])}, not the magic {shown(MAGIC)}")
    if buf[4] != FORMAT_VERSION:
        raise WireError(f"format version {buf[4]} is not supported (this reader: 1)")
    if buf[5] != kind:
        names = {KIND_UPDATE: "an update", KIND_VERSION: "a state vector"}
        got = names.get(buf[5], f"kind {buf[5]}")
        raise WireError(f"message is {got}, expected {names[kind]}")
    crc = int.from_bytes(buf[-_CRC:], "little")
    if zlib.crc32(memoryview(buf)[:-_CRC]) != crc:  # a view: no copy of a large message
        raise WireError(f"checksum mismatch: the {len(buf)}-byte message is truncated or corrupt")
    return _Reader(buf, _HEADER, len(buf) - _CRC)


def _done(reader: _Reader) -> None:
    if reader.pos != reader.end:
        raise reader.fail(f"{reader.end - reader.pos} unexpected bytes after the last field")


def decode_ops(data: bytes) -> list[Op]:
    """The operations of an update message; :class:`WireError` if it is not a whole, valid one.

    >>> decode_ops(b"DPCR")
    Traceback (most recent call last):
    ...
    designpatterns_ref.collab.base.WireError: data of 4 bytes is too short for a message (at least 10)
    """  # noqa: E501
    # The cyclic garbage collector is paused meanwhile: decoding allocates an object or three
    # per operation and frees none, so collections would scan them (and the rest of the heap)
    # for nothing.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _parse_update(_open(data, KIND_UPDATE))
    finally:
        if paused:
            gc.enable()


def _agent_table(r: _Reader) -> tuple[int, int]:
    """Skip the agent table, reading only its byte lengths: its count and where it starts."""
    n_agents = r.count("agent count", 2)
    table = r.pos
    buf, end = r.buf, r.end
    for _ in range(n_agents):
        pos = r.pos
        if pos < end and buf[pos] < 0x80 and pos + 1 + buf[pos] <= end:  # a short name
            r.pos = pos + 1 + buf[pos]
        else:
            n = r.count("byte length of an agent name")
            r.pos += n
    return n_agents, table


def _parse_update(r: _Reader) -> list[Op]:
    # The agent table is decoded only once the operation count bounds it: every agent is
    # named by some record (the encoder writes no other), and a record names at most three.
    n_agents, table = _agent_table(r)
    text = r.string("inserted text")
    n_ops = r.count("operation count", 5)
    if n_agents > 3 * n_ops:
        raise r.fail(
            f"agent count={n_agents} is more than the {n_ops} operation records can name "
            "(three each)"
        )
    if r.end - r.pos > n_ops * _MAX_RECORD:  # refused before decoding what no record needs
        raise r.fail(
            f"{r.end - r.pos} bytes left for {n_ops} operation records, which take at most "
            f"{_MAX_RECORD} bytes each"
        )
    records, r.pos = r.pos, table
    agents: list[str] = []
    names: set[str] = set()
    for k in range(n_agents):  # each name checked as it is read
        name = r.string(f"agent {k}")
        if not name or name in names:
            raise r.fail(f"the agent table names {shown(name, 40)} twice, or an empty name")
        names.add(name)
        agents.append(name)
    del names
    return decode_records(r.buf, records, r.end, agents, text, n_ops)


def decode_version(data: bytes) -> Version:
    """The :class:`Version` of a state-vector message; :class:`WireError` if it is not one.

    >>> decode_version(encode_version(Version({"a": [(0, 3), (5, 6)]}))).ranges()
    {'a': [(0, 3), (5, 6)]}
    """
    r = _open(data, KIND_VERSION)
    ranges: dict[str, list[tuple[int, int]]] = {}
    for _ in range(r.count("agent count", 3)):
        agent = r.string("agent")
        if not agent or agent in ranges:
            raise r.fail(f"agent {shown(agent, 80)} is empty or appears twice")
        pairs = []
        end = 0
        for k in range(r.count(f"range count of {agent!r:.40}", 2)):
            gap = r.varint("range gap")
            if k and not gap:
                raise r.fail(f"ranges of {shown(agent, 40)} touch: they would be one range")
            start = end + gap
            end = start + r.varint("range length")
            if end == start:
                raise r.fail(f"an empty range of {shown(agent, 40)}")
            if end > MAX_ID:
                raise r.fail(f"a range of {shown(agent, 40)} ends at {end}, past the last id 2**62")
            pairs.append((start, end))
        if not pairs:
            raise r.fail(f"agent {shown(agent, 40)} has no ranges")
        ranges[agent] = pairs
    _done(r)
    return Version(ranges)
