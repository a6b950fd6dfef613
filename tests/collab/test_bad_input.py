"""Hostile values at the collab entry points named in the hardening report: the family's own
error naming the argument, and nothing changed (the fuzz suite covers every entry point)."""

from __future__ import annotations

import math

import pytest

from designpatterns_ref.collab import (
    RULES,
    CollabError,
    CRDTError,
    Entry,
    Message,
    OTClient,
    OTError,
    OTServer,
    SequenceReplica,
    TextOperation,
    Version,
    from_utf16,
    to_utf16,
)
from designpatterns_ref.collab.traces import load_trace, replay_concurrent, replay_sequential
from tests.fuzz.spec import Opaque

HOSTILE = [None, True, 1, -1, 1.5, math.nan, 10**400, "", "\ud800", [], {}, (), Opaque()]


def _state(doc: SequenceReplica) -> object:
    return (doc.text(), doc.version(), doc.stats(), doc.ops_since(), doc.agent)


@pytest.fixture(params=list(RULES.values()), ids=list(RULES))
def doc(request: pytest.FixtureRequest) -> SequenceReplica:
    replica: SequenceReplica = request.param("alice")
    replica.insert(0, "hello")
    replica.delete(1, 2)
    return replica


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize(
    "method, argument",
    [("ops_since", "version"), ("has", "ident"), ("is_within", "version"), ("merge", "other")],
)
def test_replica_methods_name_the_argument(
    doc: SequenceReplica, method: str, argument: str, value: object
) -> None:
    if method == "ops_since" and value is None:
        return  # ops_since(None): everything, by design
    before = _state(doc)
    with pytest.raises(CRDTError, match=argument):
        getattr(doc, method)(value)
    assert _state(doc) == before


@pytest.mark.parametrize("value", [1, "ab", [("a", 1)], {"a": 5}, {"a": [(2, 1)]}, {"": [(0, 1)]}])
def test_version_refuses_what_is_not_ranges(value: object) -> None:
    with pytest.raises(CRDTError, match=r"range|agent"):
        Version(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [[], "ops", 7, None])
def test_apply_ops_refuses_what_is_not_operations(doc: SequenceReplica, value: object) -> None:
    before = _state(doc)
    with pytest.raises(CRDTError, match="op"):
        doc.apply_ops(value if value != [] else [value])  # type: ignore[arg-type]
    assert _state(doc) == before


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"revision": -1}, "revision"),
        ({"revision": "3"}, "revision"),
        ({"revision": True}, "revision"),
        ({"document": None}, "document"),
        ({"client": ""}, "client"),
    ],
)
def test_ot_client_refused_at_the_boundary(kwargs: dict[str, object], argument: str) -> None:
    args: dict[str, object] = {"client": "alice", **kwargs}
    with pytest.raises(OTError, match=argument):
        OTClient(**args)  # type: ignore[arg-type]


def test_ot_client_receive_that_does_not_fit_changes_nothing() -> None:
    client = OTClient("alice", "hello")
    client.insert(5, "!")
    before = (client.document, client.revision, client.buffer, client.outstanding, client.state)
    for bad in (None, "entry", Entry("bob", 0, 1, TextOperation.from_patch(3, 0, 0, "x"))):
        with pytest.raises(OTError):
            client.receive(bad)  # type: ignore[arg-type]
        assert (client.document, client.revision, client.buffer, client.outstanding,
                client.state) == before  # fmt: skip


# Ints with too many digits to print (pytest could not print them as ids either).
@pytest.mark.parametrize("huge", [10**5000, 2**20_000 + 1], ids=["10**5000", "2**20000+1"])
def test_ot_server_names_a_huge_revision_or_seq_without_printing_it(huge: int) -> None:
    server = OTServer("abc")
    op = TextOperation.from_patch(3, 0, 0, "x")
    with pytest.raises(OTError, match="revision=<int of about"):
        server.receive(Message("c", 0, huge, op))
    server.receive(Message("c", huge, 0, op))  # a sequence number has no upper bound
    before = (server.document, server.revision)
    with pytest.raises(OTError, match="seq=<int of about"):
        server.receive(Message("c", huge, 0, TextOperation.from_patch(3, 0, 0, "y")))
    assert (server.document, server.revision) == before


@pytest.mark.parametrize("value", [None, "x", 3, Opaque()])
def test_ot_values_that_are_not_operations(value: object) -> None:
    op = TextOperation.from_patch(3, 0, 0, "a")
    for call in (
        lambda: op.apply(value),
        lambda: op.compose(value),
        lambda: TextOperation.transform(op, value),
        lambda: OTServer("abc").receive(value),
        lambda: OTClient("c", "abc").apply_local(value),
    ):
        with pytest.raises(OTError):
            call()  # type: ignore[no-untyped-call]


def test_utf16_helpers_and_traces_refuse_with_the_family_error() -> None:
    assert to_utf16("a\ud800b", 3) == 3  # a lone surrogate is one UTF-16 unit, as in JavaScript
    assert from_utf16("\ud800", 1) == 1
    for call in (
        lambda: to_utf16(None, 0),
        lambda: from_utf16(b"ab", 0),
        lambda: load_trace(None),
        lambda: load_trace("x" * 10_000),
        lambda: load_trace("a\x00b"),
        lambda: replay_sequential(None, RULES["rga"]("a")),
        lambda: replay_concurrent(None, RULES["rga"]),
    ):
        with pytest.raises(CollabError):
            call()  # type: ignore[no-untyped-call]


# -- the wire format and sync ---------------------------------------------------------------
@pytest.mark.parametrize("value", [*HOSTILE, b"", b"DPCR", bytearray(b"DPCR\x01\x01")], ids=repr)
def test_wire_entry_points_refuse_what_is_not_a_message(
    doc: SequenceReplica, value: object
) -> None:
    from designpatterns_ref.collab import (
        WireError,
        apply_update,
        decode_ops,
        decode_version,
        sync_step2,
    )

    before = _state(doc)
    for call, argument in [
        (lambda: decode_ops(value), "data"),  # type: ignore[arg-type]
        (lambda: decode_version(value), "data"),  # type: ignore[arg-type]
        (lambda: apply_update(doc, value), "data"),  # type: ignore[arg-type]
        (lambda: sync_step2(doc, value), "data"),  # type: ignore[arg-type]
    ]:
        with pytest.raises(
            WireError, match=argument if not isinstance(value, bytes | bytearray) else "short"
        ):
            call()
    assert _state(doc) == before


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_wire_encoders_and_sync_name_the_argument(doc: SequenceReplica, value: object) -> None:
    import socket

    from designpatterns_ref.collab import encode_ops, encode_update, encode_version, sync_socket

    before = _state(doc)
    if not isinstance(value, list | tuple | dict):  # an empty iterable is an empty batch
        with pytest.raises(CRDTError, match="ops"):
            encode_ops(value)  # type: ignore[arg-type]
    with pytest.raises(CRDTError, match="version"):
        encode_version(value)  # type: ignore[arg-type]
    with pytest.raises(CRDTError, match="replica"):
        encode_update(value)  # type: ignore[arg-type]
    if value is not None:
        with pytest.raises(CRDTError, match="since"):
            encode_update(doc, value)  # type: ignore[arg-type]
        with pytest.raises(CRDTError, match="sock"):
            sync_socket(doc, value, initiator=True)  # type: ignore[arg-type]
    left, right = socket.socketpair()
    with left, right:
        if type(value) is not bool:
            with pytest.raises(CRDTError, match="initiator"):
                sync_socket(doc, left, initiator=value)  # type: ignore[arg-type]
    assert _state(doc) == before
