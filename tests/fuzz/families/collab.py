"""collab: every replica rule, Version, the operations, OT server and client, UTF-16 and traces."""

from __future__ import annotations

from typing import Any

from designpatterns_ref.collab import (
    RULES,
    CollabError,
    Delete,
    FugueMaxReplica,
    Insert,
    Message,
    OTClient,
    OTServer,
    SequenceReplica,
    TextOperation,
    Version,
    YjsModReplica,
    apply_update,
    decode_ops,
    decode_version,
    encode_ops,
    encode_update,
    encode_version,
    from_utf16,
    sync_socket,
    sync_step1,
    sync_step2,
    to_utf16,
)
from designpatterns_ref.collab import (
    Entry as OTEntry,
)
from designpatterns_ref.collab.batch import check_batch
from designpatterns_ref.collab.bulk import plan_load
from designpatterns_ref.collab.ids import check_id
from designpatterns_ref.collab.ops import check_op
from designpatterns_ref.collab.ot import compose_all
from designpatterns_ref.collab.sync import recv_message, send_message
from designpatterns_ref.collab.traces import (
    Trace,
    Txn,
    load_trace,
    replay_concurrent,
    replay_ot,
    replay_sequential,
)
from tests.fuzz.spec import Entry

ERRORS = (CollabError,)  # CRDTError and OTError are its subclasses

NOT_FUZZED: dict[str, str] = {
    "SequenceReplica": "the abstract base of the rules (making one raises TypeError: pick a "
    "rule); each rule's constructor is fuzzed, as RULES lists them",
    "SyncReport": "the record sync_socket returns; no call takes one",
}


def _replica(cls: type[SequenceReplica]) -> Any:
    def make() -> SequenceReplica:
        doc = cls("alice")
        doc.insert(0, "hello world")
        doc.delete(5, 1)  # a tombstone and a delete id
        bob = doc.fork("bob")
        bob.insert(0, ">")
        doc.insert(10, "!")
        doc.merge(bob)
        return doc

    return make


def _replica_state(doc: SequenceReplica) -> object:
    return (doc.text(), doc.version(), doc.stats(), doc.ops_since(), doc.agent, len(doc))


def _replica_entries(rule: str, cls: type[SequenceReplica]) -> list[Entry]:
    make, snap = _replica(cls), _replica_state
    calls: dict[str, Any] = {
        "(agent)": lambda _, v: cls(v),
        ".insert(pos)": lambda d, v: d.insert(v, "x"),
        ".insert(text)": lambda d, v: d.insert(3, v),
        ".delete(pos)": lambda d, v: d.delete(v, 1),
        ".delete(length)": lambda d, v: d.delete(0, v),
        ".apply_ops(ops)": lambda d, v: d.apply_ops(v),
        ".apply_ops([op])": lambda d, v: d.apply_ops([v]),
        ".apply_ops(Insert(text))": lambda d, v: d.apply_ops([Insert("zed", 0, 0, v, None, None)]),
        ".apply_ops(Delete(length))": lambda d, v: d.apply_ops(
            [Delete("zed", 0, 0, ("alice", 0), v)]
        ),
        ".apply_ops(Delete(target))": lambda d, v: d.apply_ops([Delete("zed", 0, 0, v, 1)]),
        ".ops_since(version)": lambda d, v: d.ops_since(v),
        ".has(ident)": lambda d, v: d.has(v),
        ".has((agent, seq))": lambda d, v: d.has(("alice", v)),
        ".is_within(version)": lambda d, v: d.is_within(v),
        ".merge(other)": lambda d, v: d.merge(v),
        ".fork(agent)": lambda d, v: d.fork(v),
        ".set_agent(agent)": lambda d, v: d.set_agent(v),
        ".set_agent(next_seq)": lambda d, v: d.set_agent("alice", v),
        ".text()": lambda d, v: d.text(),
        ".version()": lambda d, v: d.version(),
        ".stats()": lambda d, v: d.stats(),
    }
    return [
        Entry(f"{cls.__name__}{name}", call=call, make=None if name == "(agent)" else make,
              snapshot=None if name == "(agent)" else snap)
        for name, call in calls.items()
    ]  # fmt: skip


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False  # cannot be a dict key: nothing to hand to Version
    return True


def _version() -> Version:
    return Version({"alice": [(0, 5), (7, 9)], "bob": [(0, 1)]})


def _version_entries() -> list[Entry]:
    calls: dict[str, Any] = {
        "Version(ranges)": lambda _, v: Version(v),
        "Version({agent: ranges})": lambda _, v: Version({"a": v}),
        "Version({agent: [range]})": lambda _, v: Version({"a": [v]}),
        "Version({agent: [(start, end)]})": lambda _, v: Version({"a": [(0, v)]}),
        "Version({agent})": lambda _, v: Version({v: [(0, 1)]}) if _hashable(v) else None,
    }
    out = [Entry(name, call=call) for name, call in calls.items()]
    methods: dict[str, Any] = {
        "Version.with_range(agent)": lambda x, v: x.with_range(v, 0, 1),
        "Version.with_range(start)": lambda x, v: x.with_range("a", v, 9),
        "Version.with_range(end)": lambda x, v: x.with_range("a", 0, v),
        "Version <= other": lambda x, v: x <= v,
        "Version | other": lambda x, v: x | v,
        "Version == other": lambda x, v: x == v,
        "ident in Version": lambda x, v: v in x,
        "Version.ranges()": lambda x, v: x.ranges(),
    }
    out += [Entry(name, call=call, make=_version) for name, call in methods.items()]
    return out


def _ops_entries() -> list[Entry]:
    calls: dict[str, Any] = {
        "Insert(agent)": lambda _, v: Insert(v, 0, 0, "x", None, None),
        "Insert(left)": lambda _, v: Insert("a", 0, 0, "x", v, None),
        "Delete(target)": lambda _, v: Delete("a", 0, 0, v, 1),
        "check_op(op)": lambda _, v: check_op(v),
        "check_op(Insert(seq))": lambda _, v: check_op(Insert("a", v, 0, "x", None, None)),
        "check_op(Insert(lamport))": lambda _, v: check_op(Insert("a", 0, v, "x", None, None)),
        "check_op(Insert(right))": lambda _, v: check_op(Insert("a", 5, 0, "x", None, v)),
        "check_op(Delete(backwards))": lambda _, v: check_op(Delete("a", 5, 0, ("b", 0), 1, v)),
        "check_id(ident)": lambda _, v: check_id(v),
    }
    return [Entry(name, call=call) for name, call in calls.items()]


def _op() -> TextOperation:
    return TextOperation.from_patch(5, 2, 1, "xy")


def _client() -> OTClient:
    client = OTClient("alice", "hello", revision=2)
    client.insert(5, "!")  # one op in flight
    client.insert(0, ">")  # and one in the buffer
    return client


def _server() -> OTServer:
    server = OTServer("hello")
    server.receive(Message("bob", 0, 0, TextOperation.from_patch(5, 0, 0, "A")))
    return server


def _ot_entries() -> list[Entry]:
    plain: dict[str, Any] = {
        "TextOperation(components)": lambda _, v: TextOperation(v),
        "TextOperation([component])": lambda _, v: TextOperation([v]),
        "TextOperation.from_patch(length)": lambda _, v: TextOperation.from_patch(v, 0, 0, ""),
        "TextOperation.from_patch(pos)": lambda _, v: TextOperation.from_patch(5, v, 0, ""),
        "TextOperation.from_patch(n_deleted)": lambda _, v: TextOperation.from_patch(5, 0, v, ""),
        "TextOperation.from_patch(inserted)": lambda _, v: TextOperation.from_patch(5, 0, 0, v),
        "TextOperation.transform(a)": lambda _, v: TextOperation.transform(v, _op()),
        "TextOperation.transform(b)": lambda _, v: TextOperation.transform(_op(), v),
        "OTServer(document)": lambda _, v: OTServer(v),
        "OTClient(client)": lambda _, v: OTClient(v),
        "OTClient(document)": lambda _, v: OTClient("c", v),
        "OTClient(revision)": lambda _, v: OTClient("c", "", v),
        "Message(client)": lambda _, v: Message(v, 0, 0, _op()),
        "Message(seq)": lambda _, v: Message("c", v, 0, _op()),
        "Message(revision)": lambda _, v: Message("c", 0, v, _op()),
        "Message(op)": lambda _, v: Message("c", 0, 0, v),
        "Entry(client)": lambda _, v: OTEntry(v, 0, 1, _op()),
        "Entry(seq)": lambda _, v: OTEntry("c", v, 1, _op()),
        "Entry(revision)": lambda _, v: OTEntry("c", 0, v, _op()),
        "Entry(op)": lambda _, v: OTEntry("c", 0, 1, v),
        "compose_all(ops)": lambda _, v: compose_all(v),
        "compose_all([op])": lambda _, v: compose_all([_op(), v]),
        "to_utf16(text)": lambda _, v: to_utf16(v, 0),
        "to_utf16(pos)": lambda _, v: to_utf16("A📊B", v),
        "from_utf16(text)": lambda _, v: from_utf16(v, 0),
        "from_utf16(offset)": lambda _, v: from_utf16("A📊B", v),
    }
    out = [Entry(name, call=call) for name, call in plain.items()]
    op_methods: dict[str, Any] = {
        "TextOperation.retain(n)": lambda o, v: o.retain(v),
        "TextOperation.insert(s)": lambda o, v: o.insert(v),
        "TextOperation.delete(n)": lambda o, v: o.delete(v),
        "TextOperation.apply(text)": lambda o, v: o.apply(v),
        "TextOperation.invert(text)": lambda o, v: o.invert(v),
        "TextOperation.compose(other)": lambda o, v: o.compose(v),
        "TextOperation.transform_position(pos)": lambda o, v: o.transform_position(v),
        "TextOperation.transform_position(own)": lambda o, v: o.transform_position(1, own=v),
        "TextOperation.is_noop()": lambda o, v: o.is_noop(),
    }
    out += [Entry(name, call=call, make=_op) for name, call in op_methods.items()]
    out.append(Entry("OTServer.receive(message)", call=lambda s, v: s.receive(v), make=_server))
    client_methods: dict[str, Any] = {
        "OTClient.insert(pos)": lambda c, v: c.insert(v, "x"),
        "OTClient.insert(text)": lambda c, v: c.insert(0, v),
        "OTClient.delete(pos)": lambda c, v: c.delete(v, 1),
        "OTClient.delete(length)": lambda c, v: c.delete(0, v),
        "OTClient.apply_local(op)": lambda c, v: c.apply_local(v),
        "OTClient.receive(entry)": lambda c, v: c.receive(v),
        "OTClient.receive(Entry(op))": lambda c, v: c.receive(
            OTEntry("bob", 0, 3, TextOperation([v]))
        ),
        "OTClient.resend()": lambda c, v: c.resend(),
        "OTClient.text()": lambda c, v: c.text(),
    }
    out += [Entry(name, call=call, make=_client) for name, call in client_methods.items()]
    return out


def _trace() -> Trace:
    return Trace.from_json({"startContent": "", "txns": [{"patches": [[0, 0, "hi"]]}]})


def _trace_entries() -> list[Entry]:
    def concurrent(agent: object = 0, parents: object = (), patches: object = ()) -> object:
        txn = {"agent": agent, "parents": list(parents) if isinstance(parents, tuple) else parents,
               "patches": list(patches) if isinstance(patches, tuple) else patches}  # fmt: skip
        return Trace.from_json({"kind": "concurrent", "txns": [txn]})

    calls: dict[str, Any] = {
        "Trace.from_json(data)": lambda _, v: Trace.from_json(v),
        "Trace.from_json(name)": lambda _, v: Trace.from_json({"txns": []}, v),
        "Trace.from_json(txns)": lambda _, v: Trace.from_json({"txns": v}),
        "Trace.from_json([txn])": lambda _, v: Trace.from_json({"txns": [v]}),
        "Trace.from_json(patches)": lambda _, v: Trace.from_json({"txns": [{"patches": v}]}),
        "Trace.from_json([patch])": lambda _, v: Trace.from_json({"txns": [{"patches": [v]}]}),
        "Trace.from_json(startContent)": lambda _, v: Trace.from_json(
            {"startContent": v, "txns": []}
        ),
        "Trace.from_json(agent)": lambda _, v: concurrent(agent=v),
        "Trace.from_json(parents)": lambda _, v: concurrent(parents=v),
        "Trace(kind)": lambda _, v: Trace(v, "", "", ()),
        "Trace(start)": lambda _, v: Trace("sequential", v, "", ()),
        "Trace(txns)": lambda _, v: Trace("sequential", "", "", v),
        "Txn(patches)": lambda _, v: Txn(v, (), "a"),
        "load_trace(path)": lambda _, v: load_trace(v),
        "replay_sequential(trace)": lambda _, v: replay_sequential(v, FugueMaxReplica("a")),
        "replay_sequential(replica)": lambda _, v: replay_sequential(_trace(), v),
        "replay_concurrent(trace)": lambda _, v: replay_concurrent(v, FugueMaxReplica),
        "replay_concurrent(factory)": lambda _, v: replay_concurrent(concurrent(), v),
        "replay_ot(trace)": lambda _, v: replay_ot(v),
    }
    out = [Entry(name, call=call) for name, call in calls.items()]
    out += [
        Entry("Trace.patches()", call=lambda t, v: t.patches(), make=_trace),
        Entry("Trace.patch_count()", call=lambda t, v: t.patch_count(), make=_trace),
    ]
    return out


def _wire_entries() -> list[Entry]:
    """The wire format and the two-step sync: bytes in, the family's error out."""
    make, snap = _replica(FugueMaxReplica), _replica_state
    update = encode_update(make())
    step1 = sync_step1(FugueMaxReplica("zed"))

    def flipped(v: object) -> object:  # the hostile value as one byte of a real message
        if type(v) is not int or isinstance(v, bool):
            return v
        data = bytearray(update)
        data[v % len(data)] ^= 0xFF
        return bytes(data)

    def framed(v: object, *, send: bool) -> object:  # v as the payload of one frame
        import socket

        a, b = socket.socketpair()
        with a, b:
            a.settimeout(1.0)
            b.settimeout(1.0)
            return send_message(a, v) if send else recv_message(v)  # type: ignore[arg-type]

    def on_socket(replica: SequenceReplica, v: object, initiator: object = True) -> object:
        import socket

        a, b = socket.socketpair()
        with a, b:
            b.close()  # the peer hangs up at once
            return sync_socket(replica, v if v is not None else a, initiator=initiator)  # type: ignore[arg-type]

    plain: dict[str, Any] = {
        "bulk.plan_load(batch)": lambda _, v: plan_load(v),
        "batch.check_batch(doc)": lambda _, v: check_batch(v, []),
        "bulk.plan_load([op])": lambda _, v: plan_load([v]),
        "encode_ops(ops)": lambda _, v: encode_ops(v),
        "encode_ops([op])": lambda _, v: encode_ops([v]),
        "decode_ops(data)": lambda _, v: decode_ops(v),
        "decode_ops(flipped byte)": lambda _, v: decode_ops(flipped(v)),
        "decode_ops(truncated)": lambda _, v: (
            decode_ops(update[: v % len(update)]) if type(v) is int else None
        ),
        "encode_version(version)": lambda _, v: encode_version(v),
        "decode_version(data)": lambda _, v: decode_version(v),
        "sync.send_message(sock)": lambda _, v: send_message(v, b"x"),
        "sync.send_message(data)": lambda _, v: framed(v, send=True),
        "sync.recv_message(sock)": lambda _, v: framed(v, send=False),
        "sync_step1(replica)": lambda _, v: sync_step1(v),
        "sync_step2(replica)": lambda _, v: sync_step2(v, step1),
        "encode_update(replica)": lambda _, v: encode_update(v),
        "apply_update(replica)": lambda _, v: apply_update(v, update),
    }
    out = [Entry(name, call=call) for name, call in plain.items()]
    methods: dict[str, Any] = {
        "apply_update(update)": lambda d, v: apply_update(d, v),
        "apply_update(flipped byte)": lambda d, v: apply_update(d, flipped(v)),
        "sync_step2(step1)": lambda d, v: sync_step2(d, v),
        "encode_update(since)": lambda d, v: encode_update(d, v),
        "sync_socket(sock)": lambda d, v: on_socket(d, v if v is not None else 0),
        "sync_socket(initiator)": lambda d, v: on_socket(d, None, v),
        "batch.check_batch(batch)": lambda d, v: check_batch(d, v),
        "batch.check_batch([op])": lambda d, v: check_batch(d, [v]),
    }
    out += [Entry(n, call=c, make=make, snapshot=snap) for n, c in methods.items()]
    return out


ENTRIES = [
    *(e for rule, cls in RULES.items() for e in _replica_entries(rule, cls)),
    Entry("YjsModReplica(agent)", call=lambda _, v: YjsModReplica(v)),  # FugueMax's other name
    *_version_entries(),
    *_ops_entries(),
    *_ot_entries(),
    *_trace_entries(),
    *_wire_entries(),
]
