"""Decoding the operation records of an update message (the hot loop of :func:`decode_ops`).

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

Every field of every record is an unsigned LEB128 varint (the flags byte too), so the records
are one stream of numbers. The stream is decoded a bounded chunk at a time (:class:`_Varints`,
at most :data:`_CHUNK` bytes, so a hostile message of megabytes never becomes a list of
millions of numbers), by a loop over the bytes whose first test is the common one-byte
varint. A bad varint (padded with a redundant 0x00 byte, longer than ten bytes, cut by the
end) stops the chunk there and is reported only when a record asks for it: an earlier record
that is wrong is refused first, as when the numbers are read one at a time.

Each record then takes its fields with one slice of the decoded numbers, nine at a time (the
longest record: flags, agent, seq, Lamport time, length and two origins; the list ends in nine
zeros, so the last record can be sliced too, and a record that needs more values than are left
is refused as truncated). Agents are indices into the table, compared as ints; the table must
list them in the order the records first name them (``used``: how many are named so far).
Operations are built as the frozen dataclass constructor builds them, one slot at a time, but
by the slots' own descriptors instead of ``object.__setattr__`` by name: about half the
time of ``Insert(...)`` (the test suite checks the two agree field for field).

Complexity: O(record bytes + text) time, O(:data:`_CHUNK`) memory beyond the operations.
"""  # noqa: E501

from __future__ import annotations

from designpatterns_ref.collab.base import WireError
from designpatterns_ref.collab.dellog import MAX_ID
from designpatterns_ref.collab.ops import Delete, Insert, Op
from designpatterns_ref.errors import shown

#: the bytes of records decoded at a time: bounds the list of numbers a message can make
_CHUNK = 4096
_MAX_VARINT_BYTES = 10  # 70 bits: every sequence number or length a replica can hold
_PAD = [0] * 9  # after the last value: the longest record can always be sliced

# the flags byte of one record
_DELETE, _LEFT, _RIGHT, _BACKWARDS = 1, 2, 4, 8

_new = object.__new__
# the slots of the two operation kinds, set by their descriptors (the frozen dataclass's own
# __init__ sets each through object.__setattr__, which looks the name up every time)
_I_AGENT, _I_SEQ, _I_LAMPORT, _I_TEXT, _I_LEFT, _I_RIGHT = (
    vars(Insert)[name].__set__ for name in ("agent", "seq", "lamport", "text", "left", "right")
)
_D_AGENT, _D_SEQ, _D_LAMPORT, _D_TARGET, _D_LENGTH, _D_BACKWARDS = (
    vars(Delete)[name].__set__
    for name in ("agent", "seq", "lamport", "target", "length", "backwards")
)


class _Varints:
    """The varints of ``buf[pos:end]``, decoded a chunk at a time; the first bad one ends the
    stream and is kept in ``error`` until a record asks for it."""

    __slots__ = ("buf", "end", "error", "pos", "shift", "value")

    def __init__(self, buf: bytes, pos: int, end: int) -> None:
        self.buf, self.pos, self.end = buf, pos, end
        self.value = self.shift = 0  # a varint cut by the end of the previous chunk
        self.error: str | None = None

    def decode(self, out: list[int]) -> bool:
        """Append the numbers of the next chunk to ``out``; False once the stream has ended
        (every byte read, or a bad varint)."""
        pos = self.pos
        stop = min(self.end, pos + _CHUNK)
        value, shift = self.value, self.shift
        append = out.append
        for b in self.buf[pos:stop]:
            if b < 0x80 and not shift:  # the common case: a one-byte varint
                append(b)
            elif b >= 0x80:
                value |= (b & 0x7F) << shift
                shift += 7
                if shift >= 7 * _MAX_VARINT_BYTES:
                    self.error = f"a varint longer than {_MAX_VARINT_BYTES} bytes"
                    return False
            elif b:  # the last byte of a longer varint
                append(value | (b << shift))
                value = shift = 0
            else:  # k > 0: a last byte of zeros only pads the number
                self.error = "a varint padded with a redundant 0x00 byte"
                return False
        self.pos, self.value, self.shift = stop, value, shift
        if stop < self.end:
            return True
        if shift:
            self.error = "truncated: the last varint runs past the end of the message"
        return False

    def count_rest(self, out: list[int]) -> int:
        """How many numbers are left past ``out`` (decoded a chunk at a time, each chunk then
        dropped); :class:`WireError` if one of them is bad."""
        n = len(out)
        while True:
            out.clear()
            more = self.decode(out)
            n += len(out)
            if self.error is not None:
                raise WireError(f"corrupt message: after the last record: {self.error}")
            if not more:
                return n


def _bad_flags(flags: int) -> str:
    """Why the flags byte ``flags`` of a record means nothing."""
    if flags & ~0xF:
        return f"flags {flags:#04x} set a bit above bit 3 (0x08), which no record uses"
    if flags & _DELETE:
        return f"flags {flags:#04x} give a delete origins (0x02, 0x04), which only an insert has"
    return f"flags {flags:#04x} make an insert backwards (0x08), which only a delete can be"


def _not_named(a: int, what: str, used: int, n_agents: int) -> str:
    return (
        f"{what} agent {a} is not in the agent table of {n_agents}, or named before agent "
        f"{used} (the table is in the order the records first name the agents)"
    )


def decode_records(
    buf: bytes, start: int, end: int, agents: list[str], text: str, n_ops: int
) -> list[Op]:
    """The ``n_ops`` operations whose records are ``buf[start:end]``, with the agent table
    ``agents`` and the inserted ``text``; :class:`WireError` at the first bad record, or if
    the records leave numbers, agents or text unused."""
    n_agents, n_text = len(agents), len(text)
    stream = _Varints(buf, start, end)
    vals: list[int] = []
    i = real = 0  # the next value of vals, and how many are real (not the padding)
    more = True
    ops: list[Op] = []
    append = ops.append
    expected = [0] * n_agents  # per agent index, the seq just past its previous operation
    lamport = at = used = 0  # used: how many agents of the table the records named so far
    new = _new
    i_agent, i_seq, i_lamport, i_text, i_left, i_right = (
        _I_AGENT,
        _I_SEQ,
        _I_LAMPORT,
        _I_TEXT,
        _I_LEFT,
        _I_RIGHT,
    )
    d_agent, d_seq, d_lamport, d_target, d_length, d_backwards = (
        _D_AGENT,
        _D_SEQ,
        _D_LAMPORT,
        _D_TARGET,
        _D_LENGTH,
        _D_BACKWARDS,
    )

    def fail(what: str) -> WireError:
        return WireError(f"corrupt message: operation {len(ops)}: {what}")

    for _ in range(n_ops):
        while i + 9 > real and more:  # fewer than a whole record left: the next chunk
            vals = vals[i:real]
            i = 0
            more = stream.decode(vals)
            real = len(vals)
            vals += _PAD
        flags, a, zs, zl, n, xa, xz, ya, yz = vals[i : i + 9]
        if flags & _DELETE:
            if flags != _DELETE and flags != _DELETE | _BACKWARDS:
                raise fail(_bad_flags(flags))
            i += 7
        elif flags & ~(_LEFT | _RIGHT):
            raise fail(_bad_flags(flags))
        else:  # an insert: five values, two more for each origin
            i += 5 + (flags & _LEFT) + ((flags & _RIGHT) >> 1)
            if flags == _RIGHT:  # the only origin is the right one: its values come first
                ya, yz = xa, xz
        if i > real:
            raise fail(stream.error or "truncated: the record runs past the end of the message")
        if a >= used:  # the first record naming agent `used`, or a bad index
            if a != used or a >= n_agents:
                raise fail(_not_named(a, "the operation's", used, n_agents))
            used += 1
        agent = agents[a]
        seq = expected[a] + ((zs >> 1) ^ -(zs & 1))  # zigzag: 0, -1, 1, -2, ...
        lam = lamport + ((zl >> 1) ^ -(zl & 1))
        if seq < 0 or lam < 0 or not n or (seq if seq > lam else lam) + n > MAX_ID:
            raise fail(f"seq={seq}, lamport={lam}, length={n} out of range")
        op: Op
        if flags & _DELETE:
            if xa >= used:
                if xa != used or xa >= n_agents:
                    raise fail(_not_named(xa, "delete target", used, n_agents))
                used += 1
            tseq = seq - ((xz >> 1) ^ -(xz & 1))
            if tseq < 0 or tseq + n > MAX_ID or (xa == a and tseq + n > seq):
                raise fail(
                    f"delete target seq {tseq} of length {n} is out of range or reaches past "
                    "the operation itself"
                )
            op = new(Delete)
            d_agent(op, agent)
            d_seq(op, seq)
            d_lamport(op, lam)
            d_target(op, (agents[xa], tseq))
            d_length(op, n)
            d_backwards(op, flags == _DELETE | _BACKWARDS)
        else:
            left = right = None
            if flags & _LEFT:
                if xa >= used:
                    if xa != used or xa >= n_agents:
                        raise fail(_not_named(xa, "left origin", used, n_agents))
                    used += 1
                rseq = seq - ((xz >> 1) ^ -(xz & 1))
                if rseq < 0 or rseq >= MAX_ID or (xa == a and rseq >= seq):
                    raise fail(f"left origin seq {rseq} is out of range or not before the op")
                left = (agents[xa], rseq)
            if flags & _RIGHT:
                if ya >= used:
                    if ya != used or ya >= n_agents:
                        raise fail(_not_named(ya, "right origin", used, n_agents))
                    used += 1
                rseq = seq - ((yz >> 1) ^ -(yz & 1))
                if rseq < 0 or rseq >= MAX_ID or (ya == a and rseq >= seq):
                    raise fail(f"right origin seq {rseq} is out of range or not before the op")
                right = (agents[ya], rseq)
            if at + n > n_text:
                raise fail(f"the inserts hold more than the {n_text} characters of text")
            op = new(Insert)
            i_agent(op, agent)
            i_seq(op, seq)
            i_lamport(op, lam)
            i_text(op, text[at : at + n])
            i_left(op, left)
            i_right(op, right)
            at += n
        append(op)
        expected[a] = seq + n
        lamport = lam + n
    extra = real - i  # numbers no record took
    if more:
        extra = stream.count_rest(vals[i:real])
    elif stream.error is not None:
        raise WireError(f"corrupt message: after the last record: {stream.error}")
    if extra:
        raise WireError(f"corrupt message: {extra} unexpected values after the last record")
    if used < n_agents:
        raise WireError(
            f"corrupt message: the agent table names {shown(agents[used], 40)}, which no "
            "operation uses"
        )
    if at != n_text:
        raise WireError(
            f"corrupt message: the inserts hold {at} characters, the text block {n_text}"
        )
    return ops
