"""A plain decoder of update messages, written from the layout in ``collab.wire``'s docstring.

One varint at a time, one field after another, no chunks, no early bounds: every operation is
built with its constructor and checked with ``check_op``, and the few rules of the format that
``check_op`` does not know are checked once, at the end, in the words of the docstring (every
byte taken, every character of the text block used, the agent table in the order the records
first name the agents). The early refusals of the real decoder (counts against the bytes left,
bytes past what the records can take) only refuse sooner what this one refuses later. Slow,
and meant to be obviously right.
"""

from __future__ import annotations

import zlib

from designpatterns_ref.collab import CRDTError, Delete, Insert, Op, WireError
from designpatterns_ref.collab.ops import check_op


def decode_update(data: bytes) -> list[Op]:
    """The operations of the update message ``data``; :class:`WireError` if it is not one."""
    if len(data) < 10 or data[:6] != b"DPCR\x01\x01":
        raise WireError("not an update message of format version 1")
    if zlib.crc32(data[:-4]) != int.from_bytes(data[-4:], "little"):
        raise WireError("checksum mismatch")
    body = data[6:-4]
    pos = 0

    def varint() -> int:
        nonlocal pos
        n = 0
        for k in range(10):
            if pos == len(body):
                raise WireError("truncated")
            byte = body[pos]
            pos += 1
            n |= (byte & 0x7F) << (7 * k)
            if byte < 0x80:
                if k > 0 and byte == 0:
                    raise WireError("padded varint")
                return n
        raise WireError("a varint longer than 10 bytes")

    def zigzag() -> int:
        n = varint()
        return n // 2 if n % 2 == 0 else -(n + 1) // 2

    def string() -> str:
        nonlocal pos
        n = varint()
        if pos + n > len(body):
            raise WireError("truncated string")
        raw = body[pos : pos + n]
        pos += n
        try:
            return raw.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise WireError("not UTF-8") from None

    agents = [string() for _ in range(varint())]
    if "" in agents or len(set(agents)) != len(agents):
        raise WireError("an empty or repeated agent name")
    text = string()
    first_named: list[int] = []  # agent indices, in the order the records first name them

    def agent() -> str:
        k = varint()
        if k >= len(agents):
            raise WireError("an agent index past the table")
        if k not in first_named:
            first_named.append(k)
        return agents[k]

    ops: list[Op] = []
    expected: dict[str, int] = {}  # per agent, the seq just past its previous operation
    lamport = at = 0
    for _ in range(varint()):
        flags = varint()
        if flags not in (0, 2, 4, 6, 1, 9):
            raise WireError("flags that mean nothing")
        who = agent()
        seq = expected.get(who, 0) + zigzag()
        lam = lamport + zigzag()
        n = varint()
        op: Op
        if flags & 1:
            target = agent()
            op = Delete(who, seq, lam, (target, seq - zigzag()), n, flags == 9)
        else:
            left = right = None
            if flags & 2:
                name = agent()
                left = (name, seq - zigzag())
            if flags & 4:
                name = agent()
                right = (name, seq - zigzag())
            if at + n > len(text):
                raise WireError("more characters than the text block")
            op = Insert(who, seq, lam, text[at : at + n], left, right)
            at += n
        try:
            check_op(op)
        except CRDTError as exc:
            raise WireError(str(exc)) from None
        ops.append(op)
        expected[who] = seq + n
        lamport = lam + n
    if pos != len(body):
        raise WireError("bytes after the last record")
    if at != len(text):
        raise WireError("characters of the text block no insert holds")
    if first_named != list(range(len(agents))):
        raise WireError("the agent table is not in the order the records first name them")
    return ops
