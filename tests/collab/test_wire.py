"""The wire format: round trips, every truncation and corruption refused cleanly, two-step sync."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import random
import socket
import subprocess
import sys
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from designpatterns_ref.collab import (
    RULES,
    CRDTError,
    Delete,
    FugueMaxReplica,
    Insert,
    Op,
    SequenceReplica,
    SyncReport,
    Version,
    WireError,
    _records,
    apply_update,
    decode_ops,
    decode_version,
    encode_ops,
    encode_update,
    encode_version,
    sync_socket,
    sync_step1,
    sync_step2,
    wire,
)
from designpatterns_ref.collab.ops import check_op
from designpatterns_ref.collab.sync import recv_message, send_message
from tests.collab.wire_oracle import decode_update

SRC = Path(__file__).resolve().parents[2] / "src"

AGENT = st.text(min_size=1, max_size=6)  # any str, lone surrogates included
SEQ = st.integers(0, 2**40)
LENGTH = st.integers(1, 2**20)


@st.composite
def ops(
    draw: st.DrawFn,
    agents: st.SearchStrategy[str] = AGENT,
    seqs: st.SearchStrategy[int] = SEQ,
    lengths: st.SearchStrategy[int] = LENGTH,
) -> Op:
    agent, seq, lamport = draw(agents), draw(seqs), draw(seqs)
    refs = st.none() | st.tuples(agents, seqs)

    def before(ref: tuple[str, int] | None) -> tuple[str, int] | None:
        if ref is not None and ref[0] == agent and ref[1] >= seq:
            return None  # an op refers only to what came before it
        return ref

    if draw(st.booleans()):
        text = draw(st.text(min_size=1, max_size=8))
        return Insert(agent, seq, lamport, text, before(draw(refs)), before(draw(refs)))
    tagent, tseq, n = draw(agents), draw(seqs), draw(lengths)
    if tagent == agent and tseq + n > seq:
        tagent += "x"
    return Delete(agent, seq, lamport, (tagent, tseq), n, draw(st.booleans()))


BATCHES = st.lists(ops(), max_size=12)
#: few agents and small numbers: operations that refer to their own agent's ids, next to the
#: limits (a delete reaching just up to its own seq, an origin just before it)
CLOSE_BATCHES = st.lists(
    ops(st.sampled_from(["a", "b", "\ud800"]), st.integers(0, 12), st.integers(1, 4)), max_size=12
)


def _with_crc(body: bytes) -> bytes:
    """``body`` (a message without its checksum) with a correct checksum appended."""
    return body + zlib.crc32(body).to_bytes(4, "little")


def _history(cls: type[SequenceReplica], seed: int, n: int = 30) -> tuple[SequenceReplica, ...]:
    """Two replicas that share a start, then edit concurrently, now and then seeing part of the
    other's work (so their versions overlap in ragged ways)."""
    rng = random.Random(seed)
    base = cls("base")
    base.insert(0, "shared start")
    a, b = base.fork("a"), base.fork("ab")
    for _ in range(n):
        doc = rng.choice((a, b))
        if len(doc) and rng.random() < 0.35:
            pos = rng.randrange(len(doc))
            doc.delete(pos, min(rng.randint(1, 4), len(doc) - pos))
        else:
            text = rng.choice(["x", "yz", "📊", "\ud800", "long run"])
            doc.insert(rng.randint(0, len(doc)), text)
        if rng.random() < 0.15:  # a partial delivery: some of the other's operations
            other = b if doc is a else a
            missing = other.ops_since(doc.version())
            doc.apply_ops(missing[: rng.randint(0, len(missing))])
    return a, b


def _ids(version: Version) -> set[tuple[str, int]]:
    ranges = version.ranges()
    return {(a, s) for a, pairs in ranges.items() for lo, hi in pairs for s in range(lo, hi)}


def _op_ids(batch: list[Op]) -> list[tuple[str, int]]:
    out = []
    for op in batch:
        n = len(op.text) if isinstance(op, Insert) else op.length
        out += [(op.agent, op.seq + k) for k in range(n)]
    return out


# -- round trips ----------------------------------------------------------------------------------
@given(batch=BATCHES)
def test_random_batches_round_trip(batch: list[Op]) -> None:
    assert decode_ops(encode_ops(batch)) == batch


@pytest.mark.parametrize("rule", list(RULES))
@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1))
def test_replica_updates_round_trip_and_rebuild_the_text(rule: str, seed: int) -> None:
    a, _ = _history(RULES[rule], seed)
    ops_ = a.ops_since()
    assert decode_ops(encode_ops(ops_)) == ops_
    reader = RULES[rule]("reader")
    assert apply_update(reader, encode_update(a)) == len(ops_)
    assert reader.text() == a.text() and reader.version() == a.version()


@given(
    ranges=st.dictionaries(
        AGENT, st.lists(st.tuples(SEQ, st.integers(1, 2**20)), min_size=1, max_size=5), max_size=4
    )
)
def test_versions_round_trip(ranges: dict[str, list[tuple[int, int]]]) -> None:
    version = Version({a: [(s, s + n) for s, n in pairs] for a, pairs in ranges.items()})
    assert decode_version(encode_version(version)) == version


def test_an_update_is_compact() -> None:
    doc = FugueMaxReplica("alice")
    for k, ch in enumerate("typed one key at a time"):
        doc.insert(k, ch)
    doc.delete(0, 6)
    data = encode_update(doc)
    assert decode_ops(data) == doc.ops_since()
    # header 6 + agent table 7 + two records of 6 or 7 bytes + 24 bytes of text + crc 4
    assert len(data) <= 6 + 7 + 14 + 1 + 23 + 4


# -- the decoder against the plain one ------------------------------------------------------------
@contextlib.contextmanager
def _chunks_of(size: int) -> Iterator[None]:
    """Records decoded ``size`` bytes at a time (small sizes cut varints and records at every
    place a large message would be cut)."""
    was = _records._CHUNK
    _records._CHUNK = size
    try:
        yield
    finally:
        _records._CHUNK = was


def _outcome(decode: Callable[[bytes], list[Op]], data: bytes) -> list[Op] | str:
    try:
        return decode(data)
    except WireError:
        return "refused"


CHUNKS = st.integers(1, 24) | st.just(_records._CHUNK)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` of ``data`` and the position after it, read byte by byte."""
    n = shift = 0
    while data[pos] & 0x80:
        n |= (data[pos] & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
    return n | data[pos] << shift, pos + 1


def _fields(data: bytes) -> tuple[list[bytes], bytes, int, list[int]]:
    """The agent names, the text block, the operation count and the record values of the
    update ``data`` (an independent walk of the layout, as in :func:`_flag_bytes`)."""
    pos = 6

    def varint() -> int:
        nonlocal pos
        n, pos = _read_varint(data, pos)
        return n

    def raw() -> bytes:
        nonlocal pos
        n = varint()
        pos += n
        return data[pos - n : pos]

    names = [raw() for _ in range(varint())]
    text = raw()
    count = varint()
    values = []
    while pos < len(data) - 4:
        values.append(varint())
    return names, text, count, values


def _update(names: list[bytes], text: bytes, count: int, values: list[int]) -> bytes:
    body = bytearray(b"DPCR\x01\x01")
    wire._varint(body, len(names))
    for raw in [*names, text]:
        wire._varint(body, len(raw))
        body += raw
    wire._varint(body, count)
    for value in values:
        wire._varint(body, value)
    return _with_crc(bytes(body))


@st.composite
def mutated_updates(draw: st.DrawFn) -> bytes:
    """An update with a few edits, the checksum then recomputed (so the records themselves are
    what is wrong, or, now and then, right): first whole fields changed and the message written
    again (a record's number nudged, a value added or dropped, a character more or less of
    text, an agent name added or dropped, the count changed), then bytes of the body set,
    inserted, deleted or cut off."""
    names, text, count, values = _fields(encode_ops(draw(BATCHES | CLOSE_BATCHES)))
    for _ in range(draw(st.integers(0, 2))):
        edit = draw(st.sampled_from(["nudge", "value", "text", "name", "count"]))
        k = draw(st.integers(0, len(values)))
        if edit == "nudge" and k < len(values):
            values[k] = max(0, values[k] + draw(st.sampled_from([-2, -1, 1, 2])))
        elif edit == "value" and draw(st.booleans()):
            values.insert(k, draw(st.integers(0, 12)))
        elif edit == "value":
            del values[k : k + 1]
        elif edit == "text" and draw(st.booleans()):
            text += draw(st.sampled_from([b"x", b"\xc3"]))
        elif edit == "text":
            text = text[:-1]
        elif edit == "name" and draw(st.booleans()):
            name = draw(st.sampled_from([b"", b"a", b"zz", *names[:1]]))
            names.insert(draw(st.integers(0, len(names))), name)
        elif edit == "name" and names:
            del names[k % len(names)]
        elif edit == "count":
            count = max(0, count + draw(st.sampled_from([-1, 1])))
    body = bytearray(_update(names, text, count, values)[:-4])
    byte = st.sampled_from([0x00, 0x01, 0x02, 0x06, 0x09, 0x7F, 0x80, 0x81, 0xFF]) | st.integers(
        0, 255
    )
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(6, len(body)))
        edit = draw(st.sampled_from(["set", "insert", "delete", "cut"]))
        if edit == "insert":
            body.insert(at, draw(byte))
        elif edit == "set" and at < len(body):
            body[at] = draw(byte)
        elif edit == "delete":
            del body[at : at + 1]
        elif edit == "cut":
            del body[at:]
    return _with_crc(bytes(body))


@st.composite
def raw_updates(draw: st.DrawFn) -> bytes:
    """An update written field by field from small numbers: records of valid or invalid flags
    whose agents are 0 to 2 and other fields 0 to 6, so that references to the operation's own
    ids, sequence numbers below zero and agents named out of order come up all the time; most
    often the agent table and the text block fit the records (else they are drawn as well)."""
    values: list[int] = []
    agents = typed = 0  # agents the records name, characters the inserts hold
    records = draw(st.integers(0, 4))
    small = st.integers(0, 6)
    for _ in range(records):
        flags = draw(st.sampled_from([0, 2, 4, 6, 1, 6, 1, 9]) | st.integers(0, 20))
        a, zs, zl, n = draw(st.integers(0, 2)), draw(small), draw(small), draw(st.integers(0, 3))
        refs = [(draw(st.integers(0, 2)), draw(small)) for _ in range(2)]
        refs = refs[: 1 if flags & 1 else bin(flags & 6).count("1")]
        values += [flags, a, zs, zl, n, *(v for ref in refs for v in ref)]
        agents = max(agents, a + 1, *(ref[0] + 1 for ref in refs))
        typed += 0 if flags & 1 else n
    if draw(st.integers(0, 4)) == 0:  # a value too many or too few
        values = values[:-1] if values and draw(st.booleans()) else [*values, 0]
    count = max(0, records + draw(st.sampled_from([0, 0, 0, 0, -1, 1])))
    names = [b"a", b"b", b"c"][:agents]
    text = b"x" * typed
    if draw(st.integers(0, 4)) == 0:
        names = draw(st.lists(st.sampled_from([b"a", b"b", b"", b"\xc3"]), max_size=3))
    if draw(st.integers(0, 4)) == 0:
        text = draw(st.sampled_from([b"", b"x", b"xyz", b"\xf0\x9f\x93\x8axyz", b"\xc3"]))
    return _update(names, text, count, values)


@settings(max_examples=300)
@given(data=raw_updates(), chunk=CHUNKS)
def test_the_decoder_and_the_plain_one_agree_on_updates_of_small_numbers(
    data: bytes, chunk: int
) -> None:
    with _chunks_of(chunk):
        got = _outcome(decode_ops, data)
    assert got == _outcome(decode_update, data)


@settings(max_examples=150)
@given(batch=CLOSE_BATCHES.filter(bool), chunk=CHUNKS)
def test_the_decoder_and_the_plain_one_agree_one_number_away_from_a_valid_update(
    batch: list[Op], chunk: int
) -> None:
    """Every message one step from a valid one: each number of each record moved by one or
    two (an agent index to the next, a reference to the next id, a length to one more), a
    character more or less of text, an agent name more or less, one record more or less
    declared. Small batches of few agents put references right at their limits (a delete
    reaching up to its own seq, an origin just before it), so one step crosses them."""
    names, text, count, values = _fields(encode_ops(batch))
    variants = [
        _update(names, text, count, [*values[:k], values[k] + step, *values[k + 1 :]])
        for k in range(len(values))
        for step in (-2, -1, 1, 2)
        if values[k] + step >= 0
    ]
    variants += [
        _update(names, text[:-1], count, values),
        _update(names, text + b"x", count, values),
        _update(names[:-1], text, count, values),
        _update([*names, b"z"], text, count, values),
        _update(names[::-1], text, count, values),
        _update(names, text, count - 1, values),
        _update(names, text, count + 1, values),
    ]
    with _chunks_of(chunk):
        for data in variants:
            assert _outcome(decode_ops, data) == _outcome(decode_update, data)


@given(batch=BATCHES | CLOSE_BATCHES, chunk=CHUNKS)
def test_the_decoder_and_the_plain_one_agree_on_valid_updates(batch: list[Op], chunk: int) -> None:
    data = encode_ops(batch)
    with _chunks_of(chunk):
        assert decode_ops(data) == decode_update(data) == batch


@settings(max_examples=300)
@given(data=mutated_updates(), chunk=CHUNKS)
def test_the_decoder_and_the_plain_one_agree_on_corrupt_updates(data: bytes, chunk: int) -> None:
    """The same operations, or both refuse with WireError (any other exception fails)."""
    with _chunks_of(chunk):
        got = _outcome(decode_ops, data)
    assert got == _outcome(decode_update, data)


@pytest.mark.parametrize("rule", list(RULES))
@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1), chunk=CHUNKS, cut=st.integers(1, 60))
def test_the_decoder_and_the_plain_one_agree_on_replica_updates(
    rule: str, seed: int, chunk: int, cut: int
) -> None:
    a, _ = _history(RULES[rule], seed, n=60)
    data = encode_update(a)
    truncated = _with_crc(data[: max(6, len(data) - 4 - cut)])
    with _chunks_of(chunk):
        assert decode_ops(data) == decode_update(data) == a.ops_since()
        assert _outcome(decode_ops, truncated) == _outcome(decode_update, truncated)


def test_decoded_operations_are_the_constructors_own() -> None:
    """The decoder sets the slots of Insert and Delete one by one instead of calling their
    constructors: the same object only while the slots are exactly the fields and nothing
    runs after them."""
    for cls in (Insert, Delete):
        assert cls.__slots__ == tuple(f.name for f in dataclasses.fields(cls))
        assert not hasattr(cls, "__post_init__")
    batch = [Insert("a", 3, 4, "hi", ("b", 1), None), Delete("a", 5, 6, ("a", 0), 2, True)]
    for got, want in zip(decode_ops(encode_ops(batch)), batch, strict=True):
        assert type(got) is type(want) and repr(got) == repr(want) and hash(got) == hash(want)


# -- truncation and corruption --------------------------------------------------------------------
def _decodes_or_refuses(data: bytes) -> None:
    try:
        batch = decode_ops(data)
    except WireError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    for op in batch:  # a valid batch: every operation well formed
        assert check_op(op) is op
    assert encode_ops(batch) == data  # and written the one way the encoder writes it
    for k, at in enumerate(_flag_bytes(data)):  # every flag it carries means something
        assert data[at] in (0, 2, 4, 6) if isinstance(batch[k], Insert) else data[at] in (1, 9)


@settings(max_examples=30)
@given(batch=BATCHES.filter(bool))
def test_every_truncation_is_refused(batch: list[Op]) -> None:
    data = encode_ops(batch)
    for cut in range(len(data)):
        with pytest.raises(WireError):
            decode_ops(data[:cut])


@given(batch=BATCHES, at=st.integers(0, 10**6), bit=st.integers(0, 7))
def test_a_flipped_bit_is_caught_by_the_checksum(batch: list[Op], at: int, bit: int) -> None:
    data = bytearray(encode_ops(batch))
    data[at % len(data)] ^= 1 << bit
    with pytest.raises(WireError):
        decode_ops(bytes(data))


@given(batch=BATCHES, at=st.integers(0, 10**6), byte=st.integers(0, 255), cut=st.integers(0, 40))
def test_corrupt_bodies_with_a_valid_checksum_decode_or_raise(
    batch: list[Op], at: int, byte: int, cut: int
) -> None:
    """The parser itself, past the checksum: any changed byte, any truncated body."""
    body = bytearray(encode_ops(batch)[:-4])
    body[6 + at % (len(body) - 6)] = byte
    _decodes_or_refuses(_with_crc(bytes(body)))
    _decodes_or_refuses(_with_crc(bytes(body[: max(6, len(body) - cut)])))


@given(data=st.binary(max_size=64))
def test_random_bytes_after_a_valid_header(data: bytes) -> None:
    _decodes_or_refuses(_with_crc(b"DPCR\x01\x01" + data))
    with contextlib.suppress(WireError):
        decode_version(_with_crc(b"DPCR\x01\x02" + data))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "too short"),
        (b"XXXX\x01\x01\x00\x00\x00\x00", "magic"),
        (_with_crc(b"DPCR\x02\x01\x00\x00\x00"), "format version 2"),
        (_with_crc(b"DPCR\x01\x02\x00"), "state vector, expected an update"),
        (_with_crc(b"DPCR\x01\x01\x05a"), "agent count=5"),
        (_with_crc(b"DPCR\x01\x01\x01\x02\xff\xfe\x00\x01\x00\x00\x00\x00\x01"), "not UTF-8"),
        (_with_crc(b"DPCR\x01\x01\x00" + b"\xff" * 11), "longer than 10 bytes"),
        (_with_crc(b"DPCR\x01\x01\x00\x00\x00\x00"), "1 bytes left for 0"),
        (
            _with_crc(b"DPCR\x01\x01\x01\x01a\x01x\x01\x00\x00\x00\x00\x01\x00"),
            "1 unexpected values",
        ),
        (_with_crc(b"DPCR\x01\x01\x01\x00\x00\x01\x00\x00\x00\x00\x01"), "an empty name"),
        (_with_crc(b"DPCR\x01\x01\x02\x01a\x01a\x00\x01\x00\x00\x00\x00\x01"), "names 'a' twice"),
        (_with_crc(b"DPCR\x01\x01\x04\x01a\x01b\x01c\x01d\x00\x01" + b"\x00" * 5), "agent count=4"),
        (_with_crc(b"DPCR\x01\x01\x02\x01a\x01b\x01x\x01\x00\x00\x00\x00\x01"), "'b', which no"),
        (
            _with_crc(b"DPCR\x01\x01\x02\x01b\x01a\x01x\x01\x00\x01\x00\x00\x01"),
            "named before agent 0",
        ),
        (_with_crc(b"DPCR\x01\x01\x01\x01a\x00\x01\x01\x00\x00\x00\x01\x00\x00"), "operation 0"),
        (_with_crc(b"DPCR\x01\x01\x01\x01a\x00\x01\x00\x00\x00\x00\x05"), "0 characters"),
        (_with_crc(b"DPCR\x01\x01\x01\x01a\x04hell\x01\x00\x00\x00\x00\x05"), "4 characters"),
        (_with_crc(b"DPCR\x01\x01\x01\x01a\x00\x01\x00\x00\x00\x00\x85"), "truncated"),
        (_with_crc(b"DPCR\x01\x01\x01\x01a\x00\x01\x10\x00\x00\x00\x01"), "flags 0x10"),
        (_with_crc(b"DPCR\x01\x01\x01\x01a\x01x\x01\x08\x00\x00\x00\x01"), "insert backwards"),
        (_with_crc(b"DPCR\x01\x01\x01\x01a\x00\x01\x03\x00\x00\x00\x01\x00\x00"), "origins"),
        (_with_crc(b"DPCR\x01\x01\x01\x01a\x00\x01\x80\x00\x00\x00\x00\x01"), "padded"),
        (_with_crc(b"DPCR\x01\x01\x01\x01a\x00\x81\x00"), "padded"),
        (_with_crc(b"DPCR\x01\x01\x00\x00\x00" + b"\x00" * 82), "82 bytes left for 0"),
    ],
)
def test_bad_messages_name_what_is_wrong(data: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message):
        decode_ops(data)


def _record_walk(data: bytes) -> tuple[list[int], list[tuple[int, int]]]:
    """Where the flags byte of each record of the update ``data`` is, and where each of its
    varints starts and ends (the flags bytes, counts and string lengths included): an
    independent walk over the layout the module docstring gives (every field a varint, origins
    and target two each)."""
    pos, starts, spans = 6, [], []

    def varint() -> int:
        nonlocal pos
        start = pos
        n, pos = _read_varint(data, pos)
        spans.append((start, pos))
        return n

    for _ in range(varint() + 1):  # each name of the agent table, then the text block
        length = varint()
        pos += length
    for _ in range(varint()):
        starts.append(pos)
        flags = varint()
        for _ in range(4 + (2 if flags & 1 else 2 * bin(flags & 6).count("1"))):
            varint()
    assert pos == len(data) - 4
    return starts, spans


def _flag_bytes(data: bytes) -> list[int]:
    """Where the flags byte of each record of the update ``data`` is (:func:`_record_walk`)."""
    return _record_walk(data)[0]


def _varint_spans(data: bytes) -> list[tuple[int, int]]:
    """Where each varint of the update ``data`` starts and ends (:func:`_record_walk`)."""
    return _record_walk(data)[1]


def _padded(data: bytes, span: tuple[int, int], extra: int) -> bytes:
    """``data`` with the varint at ``span`` written ``extra`` bytes longer: the same number,
    its last byte given a continuation bit and followed by 0x80 bytes and a final 0x00."""
    end = span[1]
    body = bytearray(data[:-4])
    body[end - 1] |= 0x80
    body[end:end] = b"\x80" * (extra - 1) + b"\x00"
    return _with_crc(bytes(body))


@given(batch=BATCHES, pick=st.integers(0, 10**6), extra=st.integers(1, 3))
def test_a_padded_varint_is_refused(batch: list[Op], pick: int, extra: int) -> None:
    """Every number has one encoding: any varint of an update (a flags byte too), written
    longer with redundant bytes, is refused, naming the padding."""
    data = encode_ops(batch)
    spans = _varint_spans(data)
    start, end = spans[pick % len(spans)]
    extra = min(extra, 10 - (end - start))  # longer than 10 bytes is refused for that
    assume(extra > 0)
    with pytest.raises(WireError, match="padded"):
        decode_ops(_padded(data, (start, end), extra))


@given(
    ranges=st.dictionaries(
        AGENT, st.lists(st.tuples(SEQ, st.integers(1, 2**20)), min_size=1, max_size=5), max_size=4
    ),
    pick=st.integers(0, 10**6),
)
def test_a_padded_varint_of_a_state_vector_is_refused(
    ranges: dict[str, list[tuple[int, int]]], pick: int
) -> None:
    version = Version({a: [(s, s + n) for s, n in pairs] for a, pairs in ranges.items()})
    data = encode_version(version)
    body = bytearray(data[:-4])
    # the agent count, then per agent: name length, name, range count, gap, length, ...
    pos, spans = 6, []

    def varint() -> int:
        nonlocal pos
        start = pos
        while body[pos] & 0x80:
            pos += 1
        pos += 1
        spans.append((start, pos))
        return int.from_bytes(body[start:pos], "little")  # only its being zero matters

    for agent, pairs in version.ranges().items():
        if not spans:
            varint()
        varint()
        pos += len(agent.encode("utf-8", "surrogatepass"))
        varint()
        for _ in pairs:
            varint(), varint()
    if not spans:
        varint()
    padded = _padded(data, spans[pick % len(spans)], 1)
    with pytest.raises(WireError, match="padded"):
        decode_version(padded)


def test_bytes_past_what_the_records_can_take_are_refused_before_decoding() -> None:
    """An update declaring no operations, then 8 MiB: refused without decoding the 8 MiB
    (each byte a number in a list took eight bytes or more)."""
    junk = b"\x01" * (8 << 20)
    data = _with_crc(b"DPCR\x01\x01\x00\x00\x01" + b"\x00" * 80 + junk)
    gc.collect()
    tracemalloc.start()
    try:
        with pytest.raises(WireError, match="take at most 81 bytes each"):
            decode_ops(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
    # a record of large numbers is still read
    longest = Insert("a", 2**61, 2**61, "x", ("b", 2**61 + 5), ("a", 0))
    prefix = [Insert("b", 0, 0, "y", None, None)]
    assert decode_ops(encode_ops([*prefix, longest])) == [*prefix, longest]


def _peak_bytes_refusing(data: bytes, message: str) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        with pytest.raises(WireError, match=message):
            decode_ops(data)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_bad_record_is_refused_before_the_records_after_it_are_decoded() -> None:
    """8 MiB of records, just enough of them declared for the bytes left, the first already
    wrong: refused at that record, having decoded a handful of numbers, not 8 Mi of them."""
    size = 8 << 20
    body = bytearray(b"\x00\x00")  # no agents, no text
    wire._varint(body, size // 81 + 1)
    data = _with_crc(b"DPCR\x01\x01" + bytes(body) + b"\x01" * size)
    assert _peak_bytes_refusing(data, "operation 0: the operation's agent 1") < 1 << 20


@pytest.mark.parametrize(
    "count, names, message",
    [
        (1 << 18, b"\x02ab" * (1 << 18), "count=262144 is more than the 1 operation"),
        (900, b"\x02ab" * 900, "names 'ab' twice"),  # 300 records could name 900 agents
        (900, b"\x01a\x00" + b"\x03abc" * 898, "an empty name"),
    ],
)
def test_a_bad_agent_table_is_refused_without_decoding_it_whole(
    count: int, names: bytes, message: str
) -> None:
    """A table of millions of names, or one repeating its first name: refused before (or at)
    the bad name, not after building millions of strings."""
    head, tail = bytearray(), bytearray(b"\x00")  # then no text
    wire._varint(head, count)
    ops = 1 if count > 900 else 300
    wire._varint(tail, ops)
    data = _with_crc(b"DPCR\x01\x01" + bytes(head) + names + bytes(tail) + b"\x00" * 5 * ops)
    assert _peak_bytes_refusing(data, message) < 1 << 20


def test_every_batch_has_one_encoding() -> None:
    """The agent table lists the agents in the order the records first name them, and no
    other: an unused name, or the same names in another order, is refused, so that equal
    batches are equal bytes."""
    batch = [Insert("a", 0, 0, "hi", None, None)]

    def build(agents: list[str], index: int) -> bytes:
        body = bytearray()
        wire._varint(body, len(agents))
        for agent in agents:
            wire._string(body, agent)
        wire._string(body, "hi")
        body += bytes((1, 0, index, 0, 0, 2))
        return _with_crc(b"DPCR\x01\x01" + bytes(body))

    assert build(["a"], 0) == encode_ops(batch)
    assert decode_ops(build(["a"], 0)) == batch
    with pytest.raises(WireError, match="'zzz', which no operation uses"):
        decode_ops(build(["a", "zzz"], 0))
    with pytest.raises(WireError, match=r"agent 1 is not in .* named before agent 0"):
        decode_ops(build(["zzz", "a"], 1))


@given(batch=BATCHES.filter(bool), pick=st.integers(0, 11))
def test_the_backwards_flag_reverses_a_delete_and_is_refused_on_an_insert(
    batch: list[Op], pick: int
) -> None:
    """Bit 3 of a record's flags is a delete's ``backwards``: toggled on a delete it decodes to
    the same batch with that delete reversed; set on an insert it means nothing, and the message
    is refused, naming it (the oracle is the batch itself)."""
    body = bytearray(encode_ops(batch)[:-4])
    k = pick % len(batch)
    body[_flag_bytes(encode_ops(batch))[k]] ^= 0x08
    data = _with_crc(bytes(body))
    op = batch[k]
    if isinstance(op, Delete):
        flipped = Delete(op.agent, op.seq, op.lamport, op.target, op.length, not op.backwards)
        assert decode_ops(data) == [*batch[:k], flipped, *batch[k + 1 :]]
    else:
        with pytest.raises(WireError, match=f"operation {k}: flags .* insert backwards"):
            decode_ops(data)


def test_a_well_formed_message_of_ops_that_do_not_fit_changes_nothing() -> None:
    doc = FugueMaxReplica("alice")
    doc.insert(0, "hello")
    before = (doc.text(), doc.version(), doc.ops_since())
    orphan = encode_ops([Insert("bob", 0, 0, "x", ("alice", 0), None)])
    refused = encode_ops(
        [Delete("bob", 0, 0, ("alice", 0), 1), Insert("bob", 0, 0, "y", None, None)]
    )
    with pytest.raises(CRDTError):
        apply_update(doc, refused)
    with pytest.raises(WireError):
        apply_update(doc, orphan[:-1])
    assert (doc.text(), doc.version(), doc.ops_since()) == before


# -- the two-step sync ----------------------------------------------------------------------------
@pytest.mark.parametrize("rule", list(RULES))
@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1))
def test_two_step_sync_sends_exactly_what_is_missing(rule: str, seed: int) -> None:
    a, b = _history(RULES[rule], seed)
    lacks_b, lacks_a = _ids(a.version()) - _ids(b.version()), _ids(b.version()) - _ids(a.version())
    step1_a, step1_b = sync_step1(a), sync_step1(b)
    to_b, to_a = sync_step2(a, step1_b), sync_step2(b, step1_a)
    sent_b, sent_a = _op_ids(decode_ops(to_b)), _op_ids(decode_ops(to_a))
    assert sorted(sent_b) == sorted(lacks_b) and sorted(sent_a) == sorted(lacks_a)  # no repeats
    apply_update(b, to_b)
    apply_update(a, to_a)
    assert a.text() == b.text() and a.version() == b.version()
    assert a.stats()["pending"] == b.stats()["pending"] == 0
    assert sync_step2(a, sync_step1(b)) == encode_ops([])  # nothing more to send


# -- over real sockets -----------------------------------------------------------------------------
def test_sync_over_a_loopback_socket_between_threads() -> None:
    a, b = _history(FugueMaxReplica, seed=7, n=200)
    server = socket.create_server(("127.0.0.1", 0))
    reports: list[SyncReport] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.settimeout(30)
            reports.append(sync_socket(b, conn, initiator=False))

    thread = threading.Thread(target=serve)
    thread.start()
    with socket.create_connection(server.getsockname(), timeout=30) as sock:
        mine = sync_socket(a, sock, initiator=True)
    thread.join(30)
    server.close()
    assert a.text() == b.text() and a.version() == b.version()
    theirs = reports[0]
    assert (mine.bytes_sent, mine.ops_sent) == (theirs.bytes_received, theirs.ops_received)
    assert (mine.bytes_received, mine.ops_received) == (theirs.bytes_sent, theirs.ops_sent)


def test_a_peer_that_hangs_up_mid_frame_is_a_wire_error() -> None:
    doc = FugueMaxReplica("alice")
    doc.insert(0, "hello")
    before = (doc.text(), doc.version())
    left, right = socket.socketpair()
    with left, right:
        right.sendall((100).to_bytes(4, "big") + b"DPCR")  # a 100-byte frame, cut short
        right.shutdown(socket.SHUT_WR)
        with pytest.raises(WireError, match="closed the connection after 4 of 100 bytes"):
            sync_socket(doc, left, initiator=False)
    assert (doc.text(), doc.version()) == before


_PEER = r"""
import random, socket, sys
from designpatterns_ref.collab import FugueMaxReplica, sync_socket

role, seed, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
doc = FugueMaxReplica("shared")
doc.insert(0, "the start both processes share")  # the same ops in both: seq and lamport match
doc.set_agent(role)
for _ in range(300):  # concurrent edits, different in each process
    if len(doc) and rng.random() < 0.3:
        pos = rng.randrange(len(doc))
        doc.delete(pos, min(3, len(doc) - pos))
    else:
        doc.insert(rng.randint(0, len(doc)), rng.choice(["a", "bc", "📊", " word"]))
if role == "server":
    listener = socket.create_server(("127.0.0.1", port))
    print(listener.getsockname()[1], flush=True)
    sock, _ = listener.accept()
else:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
sock.settimeout(60)
report = sync_socket(doc, sock, initiator=role == "client")
sock.close()
print(repr(doc.text()))
print(repr(sorted(doc.version().ranges().items())))
print(report.ops_sent, report.ops_received)
"""


def test_two_processes_sync_over_tcp() -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-c", _PEER]
    out = subprocess.PIPE
    server = subprocess.Popen([*cmd, "server", "1", "0"], stdout=out, text=True, env=env)
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        client = subprocess.run(
            [*cmd, "client", "2", port],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        out_server, _ = server.communicate(timeout=120)
    finally:
        server.kill()
    assert client.returncode == 0 and server.returncode == 0, client.stderr
    text_c, version_c, counts_c = client.stdout.splitlines()
    text_s, version_s, counts_s = out_server.splitlines()
    assert (text_c, version_c) == (text_s, version_s)
    assert "'client'" in version_c and "'server'" in version_c
    sent_c, received_c = map(int, counts_c.split())
    sent_s, received_s = map(int, counts_s.split())
    assert sent_c == received_s > 0 and sent_s == received_c > 0


# -- the run-based merge from bytes against the per-character oracle ----------------------------
@st.composite
def crowded_histories(draw: st.DrawFn) -> list[dict[str, object]]:
    """Concurrent histories where everyone edits at one place: positions 0 to 3, deletes of
    the neighbours of what others type, runs typed forwards and backwards."""
    history: list[dict[str, object]] = []
    for i in range(draw(st.integers(2, 16))):
        agent = draw(st.sampled_from(("a", "ab", "b")))
        parents = sorted(set(draw(st.lists(st.integers(0, i - 1), max_size=2)))) if i else []
        edit = st.tuples(
            st.integers(0, 3), st.sampled_from([0, 0, 1, 2]), st.text("xyz📊", max_size=3)
        )
        history.append(
            {"agent": agent, "parents": parents, "edits": draw(st.lists(edit, max_size=3))}
        )
    return history


@pytest.mark.parametrize("rule", list(RULES))
@settings(max_examples=40)
@given(history=crowded_histories(), seed=st.integers(0, 2**32 - 1))
def test_merging_from_bytes_matches_the_per_character_oracle(
    rule: str, history: list[dict[str, object]], seed: int
) -> None:
    from tests.collab.oracle import replay

    trace, expected, _ = replay(history, rule)
    cls, rng = RULES[rule], random.Random(seed)
    replicas: list[SequenceReplica] = []
    next_seq: dict[str, int] = {}
    for txn in trace["txns"]:
        parents, agent = txn["parents"], txn["agent"]
        doc = replicas[parents[0]].fork(agent) if parents else cls(agent)
        for p in parents[1:]:  # a merge over the wire: the two-step sync's update
            apply_update(doc, sync_step2(replicas[p], sync_step1(doc)))
        doc.set_agent(agent, next_seq.get(agent, 0))
        for pos, n_deleted, inserted in txn["patches"]:
            if n_deleted:
                doc.delete(pos, n_deleted)
            if inserted:
                doc.insert(pos, inserted)
        next_seq[agent] = max(
            [next_seq.get(agent, 0)] + [e for a, pairs in doc.version().ranges().items()
                                        if a == agent for _, e in pairs]
        )  # fmt: skip
        replicas.append(doc)
    everything = [op for r in replicas for op in r.ops_since()]
    whole = cls("whole")  # every operation, duplicates included, as one update
    apply_update(whole, encode_ops(everything))
    pieces = cls("pieces")  # shuffled, in several updates: some wait for their dependencies
    rng.shuffle(everything)
    while everything:
        cut = rng.randint(1, len(everything))
        apply_update(pieces, encode_ops(everything[:cut]))
        everything = everything[cut:]
    for reader in (whole, pieces):
        assert reader.text() == expected and reader.stats()["pending"] == 0


@pytest.mark.parametrize("enabled", [True, False])
def test_decoding_leaves_the_garbage_collector_as_it_found_it(enabled: bool) -> None:
    author = FugueMaxReplica("a")
    author.insert(0, "hello")
    data = encode_update(author)
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        assert decode_ops(data) == author.ops_since()
        assert gc.isenabled() is enabled
        with pytest.raises(WireError):
            decode_ops(data[:-1])
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


# -- waiting operations travel with the sync -------------------------------------------------------
def _deliveries(cls: type[SequenceReplica], seed: int) -> tuple[SequenceReplica, ...]:
    """Two replicas that each received a random part of a third's history, out of order, one
    operation at a time: some of what they hold waits for a dependency only the other has."""
    rng = random.Random(seed)
    author = cls("carol")
    for _ in range(rng.randint(1, 12)):
        if len(author) and rng.random() < 0.35:
            pos = rng.randrange(len(author))
            author.delete(pos, min(rng.randint(1, 3), len(author) - pos))
        else:
            author.insert(rng.randint(0, len(author)), rng.choice(["x", "yz", "P"]))
    history = author.ops_since()
    readers = cls("alice"), cls("bob")
    for reader in readers:
        part = [op for op in history if rng.random() < 0.6]
        rng.shuffle(part)
        for op in part:
            reader.apply_ops([op])
    return readers


def _sync_pair(a: SequenceReplica, b: SequenceReplica) -> None:
    """``a`` initiates a sync with ``b`` over a real socket pair, ``b`` answering in a thread."""
    left, right = socket.socketpair()
    errors: list[BaseException] = []

    def answer() -> None:
        try:
            sync_socket(b, right, initiator=False)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with left, right:
        left.settimeout(30)
        right.settimeout(30)
        thread = threading.Thread(target=answer)
        thread.start()
        sync_socket(a, left, initiator=True)
        thread.join(30)
    assert not errors


def _held(doc: SequenceReplica) -> set[tuple[str, int]]:
    """Every id ``doc`` holds, applied or waiting; each waiting operation waits once."""
    assert len(doc._pending) == len(set(doc._pending))
    return _ids(doc.version()) | set(_op_ids(doc._pending))


@pytest.mark.parametrize("rule", list(RULES))
@settings(max_examples=30)
@given(seed=st.integers(0, 2**32 - 1))
def test_after_a_socket_sync_both_hold_what_either_held_waiting_included(
    rule: str, seed: int
) -> None:
    """Operations waiting for a dependency go with the sync: a responder's waiting operation
    whose dependency the initiator sends, and the other way round, end up on both sides, and
    the two replicas agree with one that was given everything either held."""
    a, b = _deliveries(RULES[rule], seed)
    union = _held(a) | _held(b)
    everything = RULES[rule]("oracle")
    everything.apply_ops([*a.ops_since(), *a._pending, *b.ops_since(), *b._pending])
    _sync_pair(a, b)
    assert _held(a) == _held(b) == union
    assert a.text() == b.text() == everything.text()
    assert a.version() == b.version() == everything.version()


def test_a_waiting_operation_the_responder_holds_reaches_the_initiator() -> None:
    carol = FugueMaxReplica("carol")
    carol.insert(0, "X")
    carol.delete(0, 1)
    carol.insert(0, "P")  # its right origin is X
    x, _, p = carol.ops_since()
    alice, bob = FugueMaxReplica("alice"), FugueMaxReplica("bob")
    alice.apply_ops([p])  # waits for X
    bob.apply_ops([x])
    assert alice.stats()["pending"] == 1
    _sync_pair(bob, alice)
    assert alice.text() == bob.text() == "PX"
    assert alice.stats()["pending"] == bob.stats()["pending"] == 0
    # the same through the function-level steps and through merge
    alice, bob = FugueMaxReplica("alice"), FugueMaxReplica("bob")
    alice.apply_ops([p])
    bob.apply_ops([x])
    apply_update(bob, sync_step2(alice, sync_step1(bob)))
    assert bob.text() == "PX"
    alice, bob = FugueMaxReplica("alice"), FugueMaxReplica("bob")
    alice.apply_ops([p])
    bob.apply_ops([x])
    bob.merge(alice)
    assert bob.text() == "PX"
    assert decode_ops(encode_update(alice)) == [p]  # the whole state includes what waits


def test_a_socket_that_cannot_carry_a_sync_is_a_wire_error() -> None:
    doc = FugueMaxReplica("a")
    doc.insert(0, "hello")
    before = (doc.text(), doc.version())
    closed, other = socket.socketpair()
    closed.close()
    other.close()
    datagram = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    unconnected = socket.socket()
    with datagram, unconnected:
        for sock, message in (
            (closed, "must be an open, connected socket"),
            (datagram, "must be a stream socket"),
            (unconnected, "the connection to the peer failed"),
        ):
            with pytest.raises(WireError, match=message):
                sync_socket(doc, sock, initiator=True)
    assert (doc.text(), doc.version()) == before


@given(
    payload=st.binary(max_size=300),
    kind=st.sampled_from([bytes, bytearray, lambda b: memoryview(b)[::-1][::-1]]),
)
def test_frames_of_any_bytes_like_payload_round_trip(payload: bytes, kind: object) -> None:
    # A bytearray (which every decoder accepts) used to be refused by send_message.
    left, right = socket.socketpair()
    with left, right:
        assert send_message(left, kind(payload)) == 4 + len(payload)  # type: ignore[operator]
        assert recv_message(right) == payload


def test_send_and_recv_on_a_bad_or_broken_socket_are_wire_errors() -> None:
    # They raised AttributeError (no socket) and BrokenPipeError (the peer gone).
    closed, other = socket.socketpair()
    closed.close()
    datagram = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with other, datagram:
        for sock, message in (
            (None, "sock=None must be an open, connected socket"),
            ("socket", "must be an open, connected socket"),
            (closed, "must be an open, connected socket"),
            (datagram, "must be a stream socket"),
        ):
            with pytest.raises(WireError, match=message):
                send_message(sock, b"x")  # type: ignore[arg-type]
            with pytest.raises(WireError, match=message):
                recv_message(sock)  # type: ignore[arg-type]
        for data in ("text", 5, None, [1, 2]):
            with pytest.raises(WireError, match=r"data=.* must be bytes-like"):
                send_message(other, data)  # type: ignore[arg-type]
    left, right = socket.socketpair()
    with left:
        right.close()
        with pytest.raises(WireError, match="the connection to the peer failed"):
            for _ in range(100):  # the first sends may still fit the buffer
                send_message(left, b"x" * 65536)
    left, right = socket.socketpair()
    with left, right:
        right.settimeout(0.01)
        with pytest.raises(TimeoutError):  # a timeout propagates, as in sync_socket
            recv_message(right)


def test_versions_and_their_messages_hold_only_ids_below_max_id() -> None:
    top = 2**62
    assert Version({"a": [(0, top)]}).ranges() == {"a": [(0, top)]}
    for ranges in ({"a": [(0, top + 1)]}, {"a": [(0, 10**400)]}, {"a": [(top, top + 1)]}):
        with pytest.raises(CRDTError, match="2\\*\\*62"):
            Version(ranges)
    with pytest.raises(CRDTError, match="2\\*\\*62"):
        Version().with_range("a", 0, top + 1)

    def one_range(length: int) -> bytes:  # a state vector: agent "a" holds [0, length)
        body = bytearray()
        wire._varint(body, 1)  # one agent
        wire._string(body, "a")
        wire._varint(body, 1)  # one range, from 0
        wire._varint(body, 0)
        wire._varint(body, length)
        return wire._frame(wire.KIND_VERSION, body)

    assert decode_version(one_range(top)).ranges() == {"a": [(0, top)]}
    with pytest.raises(WireError, match="past the last id"):
        decode_version(one_range(top + 1))


def test_a_waiting_operation_both_sides_hold_stays_one_through_repeated_syncs() -> None:
    """A sync sends what waits; a peer already holding that operation waiting keeps it once,
    however often the two sync or merge (each copy would otherwise travel again)."""
    carol = FugueMaxReplica("carol")
    carol.insert(0, "X")
    carol.insert(0, "P")
    x, p = carol.ops_since()
    a, b = FugueMaxReplica("alice"), FugueMaxReplica("bob")
    a.apply_ops([p])
    b.apply_ops([p])
    for _ in range(4):
        apply_update(b, sync_step2(a, sync_step1(b)))
        apply_update(a, sync_step2(b, sync_step1(a)))
        _sync_pair(a, b)
        a.merge(b)
    assert a._pending == b._pending == [p]
    assert len(encode_update(a)) == len(encode_ops([p]))
    a.apply_ops([x])
    b.merge(a)
    assert a.text() == b.text() == "PX" and a._pending == b._pending == []
