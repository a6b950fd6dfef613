"""messaging: the stores, inbox, receipts, presence, server, tokens, read states, GC lab,
capacity model, and the constructors of the gateway, client and fault link.

Not registered: the async methods of ``Gateway``, ``Client`` and ``FaultLink`` (their bad
input arrives as frames, fuzzed over real sockets in ``tests/messaging/test_bad_input.py``),
the record ``Receipt`` (see ``NOT_FUZZED``), ``plot`` (figures of measured runs), the methods of
``Directory`` (they need a live Redis: tests/messaging/test_edge.py and
tests/messaging/test_bad_input.py check them on one; ``RedisStore``'s and ``RedisReadStore``'s
are registered here, on the suite's throwaway Redis),
and ``receivers.Receivers`` and the ``loadgen`` functions (they start processes; the same file
checks that they refuse bad arguments before starting any).
"""

from __future__ import annotations

import itertools
from typing import Any

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.messaging import (
    ChatServer,
    Inbox,
    MemoryStore,
    Message,
    MessagingError,
    Presence,
    Receipts,
    RedisStore,
    SQLiteStore,
)
from designpatterns_ref.messaging.capacity import capacity
from designpatterns_ref.messaging.channelserver import ChannelServer
from designpatterns_ref.messaging.client import Client
from designpatterns_ref.messaging.cluster import Cluster
from designpatterns_ref.messaging.directory import Directory
from designpatterns_ref.messaging.edge import EdgeGateway
from designpatterns_ref.messaging.faults import FaultLink
from designpatterns_ref.messaging.gateway import Gateway
from designpatterns_ref.messaging.gclab import measure
from designpatterns_ref.messaging.hashring import HashRing
from designpatterns_ref.messaging.naive import NaiveGateway
from designpatterns_ref.messaging.readstates import ReadStates
from designpatterns_ref.messaging.readstore import RedisReadStore, SQLiteReadStore
from designpatterns_ref.messaging.receivers import parse_frames
from designpatterns_ref.messaging.token import make_token, verify_token
from tests.fuzz.helpers import empty_redis_url, per_argument, redis_keys, scratch_dir
from tests.fuzz.spec import Entry

ERRORS = (MessagingError,)


def _store() -> MemoryStore:
    s = MemoryStore()
    s.append("c", "ann", "m1", "hi")
    return s


def _store_snap(s: Any) -> object:
    return s.read("c")


def _server() -> ChatServer:
    srv = ChatServer()
    srv.join("c", "ann"), srv.join("c", "bob")
    srv.connect("bob", "phone", {})
    srv.send("ann", "c", "m1", "hi")
    return srv


def _server_snap(srv: ChatServer) -> object:
    r = srv.receipts
    online = (srv.online("ann"), srv.online("bob"), r.devices("ann"), r.devices("bob"))
    marks = (dict(r._acked), dict(r._delivered), dict(r._read))
    return (srv.fetch("c", 1), srv.members("c"), online, marks)


def _inbox() -> Inbox:
    box = Inbox("c")
    box.receive(Message("c", 2, "a", "x", "b"))
    return box


def _inbox_snap(box: Inbox) -> object:
    return (box.cursor, list(box.shown), box.missing(), box.duplicates)


def _presence() -> Presence:
    p = Presence(ManualClock(), ttl=10)
    p.subscribe("bob", "ann")
    p.heartbeat("ann")
    return p


def _presence_snap(p: Presence) -> object:
    return (dict(p._beat), {k: set(v) for k, v in p._subs.items()}, dict(p._told))


def _rs() -> ReadStates:
    rs = ReadStates(":memory:", capacity=4, flush_entries=2)
    rs.ack("ann", "c", 5)
    return rs


def _rs_snap(rs: ReadStates) -> object:
    return (dict(rs._cache), set(rs._dirty), rs.flushes)


def _ring() -> HashRing:
    return HashRing(["a", "b"], vnodes=4)


def _ring_snap(r: HashRing) -> object:
    return (r.nodes, list(r._points))


_NOWHERE = "redis://127.0.0.1:1"


def _rstore() -> SQLiteReadStore:
    store = SQLiteReadStore(":memory:")
    store.write([("ann", "c", 5, 2)])
    return store


def _rstore_snap(store: SQLiteReadStore) -> object:
    return store._db.execute("SELECT * FROM read_states ORDER BY user, channel").fetchall()


_prefixes = itertools.count()


def _redis_store() -> RedisStore:
    store = RedisStore(empty_redis_url(), prefix=f"fuzzmsg{next(_prefixes)}")
    store.append("c", "ann", "m1", "hi")
    return store


def _redis_store_snap(store: RedisStore) -> object:
    return (store.read("c"), store.last_seq("c"), store._r.hgetall(f"{store.prefix}:c:ids"))


def _redis_rstore() -> RedisReadStore:
    store = RedisReadStore(empty_redis_url(), prefix=f"fuzzrs{next(_prefixes)}")
    store.write([("ann", "c", 5, 2)])
    return store


def _redis_rstore_snap(store: RedisReadStore) -> object:
    return redis_keys(store._r, f"{store.prefix}:*")


def _sqlite_store() -> SQLiteStore:
    store = SQLiteStore(":memory:")
    store.append("c", "ann", "m1", "hi")
    return store


def _receipts() -> Receipts:
    r = Receipts()
    r.add_device("bob", "phone")
    r.ack("bob", "phone", "c", 2)
    r.read("bob", "c", 1)
    return r


def _receipts_snap(r: Receipts) -> object:
    return (
        {u: set(d) for u, d in r._devices.items()},
        dict(r._acked),
        dict(r._delivered),
        dict(r._read),
    )


_M = Message("c", 1, "a", "x", "b")
_TOKEN = make_token(b"secret", "ann", expires=100.0)
#: Three dot-separated parts that are not ASCII, or not hex / digits where the format says so.
_DOTTED_TOKENS = (
    "a.1.\u00e9",
    "a.1.\ud800",
    "\ud800.1.00",
    _TOKEN[:-1] + "\u00e9",
    _TOKEN[:-1] + "\ud800",
    "\u00e9" + _TOKEN[1:],
    _TOKEN.replace(".100.", ".\u00b9\u00b2."),
    "zz" + _TOKEN[2:],
    "..",
    "\x00.\x00.\x00",
    "." * 2000,
)

NOT_FUZZED: dict[str, str] = {
    "Receipt": "the result of Receipts.status and ChatServer.receipt; users read it, never "
    "build it or pass it in",
}

ENTRIES = [
    *per_argument("MemoryStore.append", lambda s, **kw: s.append(**kw),
                  {"conv": "c", "sender": "ann", "client_msg_id": "m2", "body": "yo"},
                  make=_store, snapshot=_store_snap),
    *per_argument("MemoryStore.read", lambda s, **kw: s.read(**kw),
                  {"conv": "c", "after": 0, "limit": 10}, make=_store, snapshot=_store_snap),
    Entry("MemoryStore.last_seq(conv)", call=lambda s, v: s.last_seq(v), make=_store,
          snapshot=_store_snap),
    Entry("SQLiteStore(path)", call=lambda _, v: SQLiteStore(
        f"{scratch_dir()}/{v}" if isinstance(v, str) and v.isprintable() and "/" not in v
        else v).close()),
    *per_argument("SQLiteStore.append", lambda s, **kw: s.append(**kw),
                  {"conv": "c", "sender": "ann", "client_msg_id": "m2", "body": "yo"},
                  make=lambda: SQLiteStore(":memory:"), snapshot=lambda s: s.read("c")),
    *per_argument("SQLiteStore.read", lambda s, **kw: s.read(**kw),
                  {"conv": "c", "after": 0, "limit": 10}, make=_sqlite_store,
                  snapshot=lambda s: s.read("c")),
    Entry("SQLiteStore.last_seq(conv)", call=lambda s, v: s.last_seq(v), make=_sqlite_store,
          snapshot=lambda s: s.read("c")),
    *per_argument("Message", lambda _, **kw: Message(**kw),
                  {"conv": "c", "seq": 3, "sender": "a", "client_msg_id": "x", "body": "b"}),
    *per_argument("Inbox", lambda _, **kw: Inbox(**kw), {"conv": "c", "cursor": 0}),
    Entry("Inbox.receive(msg)", call=lambda b, v: b.receive(v), make=_inbox, snapshot=_inbox_snap),
    *per_argument("Inbox.receive(Message(...))", lambda b, **kw: b.receive(Message(**kw)),
                  {"conv": "c", "seq": 3, "sender": "a", "client_msg_id": "x", "body": "b"},
                  make=_inbox, snapshot=_inbox_snap),
    Entry("Inbox.conflicts(msg)", call=lambda b, v: b.conflicts(v), make=_inbox,
          snapshot=_inbox_snap),
    Entry("Receipts.forget(conv)", call=lambda r, v: r.forget(v), make=_receipts,
          snapshot=_receipts_snap),
    *per_argument("Receipts.ack", lambda r, **kw: r.ack(**kw),
                  {"user": "u", "device": "d", "conv": "c", "seq": 1}, make=Receipts,
                  snapshot=lambda r: dict(r._acked)),
    *per_argument("Receipts.add_device", lambda r, **kw: r.add_device(**kw),
                  {"user": "cy", "device": "d"}, make=_receipts, snapshot=_receipts_snap),
    *per_argument("Receipts.remove_device", lambda r, **kw: r.remove_device(**kw),
                  {"user": "bob", "device": "phone"}, make=_receipts, snapshot=_receipts_snap),
    *per_argument("Receipts.delivered", lambda r, **kw: r.delivered(**kw),
                  {"user": "bob", "conv": "c"}, make=_receipts, snapshot=_receipts_snap),
    Entry("Receipts.devices(user)", call=lambda r, v: r.devices(v), make=_receipts,
          snapshot=_receipts_snap),
    *per_argument("Receipts.acked", lambda r, **kw: r.acked(**kw),
                  {"user": "bob", "device": "phone", "conv": "c"}, make=_receipts,
                  snapshot=_receipts_snap),
    *per_argument("Receipts.read", lambda r, **kw: r.read(**kw),
                  {"user": "bob", "conv": "c", "seq": 2}, make=_receipts, snapshot=_receipts_snap),
    *per_argument("Receipts.read_marker", lambda r, **kw: r.read_marker(**kw),
                  {"user": "bob", "conv": "c"}, make=_receipts, snapshot=_receipts_snap),
    *per_argument("Receipts.status", lambda r, **kw: r.status(**kw),
                  {"conv": "c", "seq": 1, "sender": "a", "members": ["a", "b"]}, make=Receipts),
    *per_argument("Presence", lambda _, **kw: Presence(**kw), {"clock": ManualClock(), "ttl": 5}),
    *per_argument("Presence.heartbeat", lambda p, **kw: p.heartbeat(**kw),
                  {"user": "ann", "status": "away"}, make=_presence, snapshot=_presence_snap),
    Entry("Presence.disconnect(user)", call=lambda p, v: p.disconnect(v), make=_presence,
          snapshot=_presence_snap),
    Entry("Presence.state(user)", call=lambda p, v: p.state(v), make=_presence,
          snapshot=_presence_snap),
    Entry("Presence.last_seen(user)", call=lambda p, v: p.last_seen(v), make=_presence,
          snapshot=_presence_snap),
    *per_argument("Presence.unsubscribe", lambda p, **kw: p.unsubscribe(**kw),
                  {"subscriber": "bob", "user": "ann"}, make=_presence, snapshot=_presence_snap),
    *per_argument("Presence.subscribe", lambda p, **kw: p.subscribe(**kw),
                  {"subscriber": "cy", "user": "ann"}, make=_presence, snapshot=_presence_snap),
    Entry("ChatServer(store)", call=lambda _, v: ChatServer(v)),
    Entry("ChatServer.members(conv)", call=lambda s, v: s.members(v), make=_server,
          snapshot=_server_snap),
    Entry("ChatServer.conversations(user)", call=lambda s, v: s.conversations(v), make=_server,
          snapshot=_server_snap),
    Entry("ChatServer.online(user)", call=lambda s, v: s.online(v), make=_server,
          snapshot=_server_snap),
    Entry("ChatServer.targets(conv)", call=lambda s, v: s.targets(v), make=_server,
          snapshot=_server_snap),
    *per_argument("ChatServer.check_member", lambda s, **kw: s.check_member(**kw),
                  {"conv": "c", "user": "ann"}, make=_server, snapshot=_server_snap),
    *per_argument("ChatServer.disconnect", lambda s, **kw: s.disconnect(**kw),
                  {"user": "bob", "device": "phone"}, make=_server, snapshot=_server_snap),
    *per_argument("ChatServer.join", lambda s, **kw: s.join(**kw), {"conv": "d", "user": "cy"},
                  make=_server, snapshot=_server_snap),
    *per_argument("ChatServer.send", lambda s, **kw: s.send(**kw),
                  {"user": "ann", "conv": "c", "client_msg_id": "m9", "body": "x"},
                  make=_server, snapshot=_server_snap),
    *per_argument("ChatServer.append", lambda s, **kw: s.append(**kw),
                  {"user": "ann", "conv": "c", "client_msg_id": "m9", "body": "x"},
                  make=_server, snapshot=_server_snap),
    *per_argument("ChatServer.last_seq", lambda s, **kw: s.last_seq(**kw), {"conv": "c"},
                  make=_server, snapshot=_server_snap),
    *per_argument("ChatServer.connect", lambda s, **kw: s.connect(**kw),
                  {"user": "ann", "device": "d", "cursors": {"c": 0}, "limit": 1},
                  make=_server, snapshot=_server_snap),
    *per_argument("ChatServer.replay", lambda s, **kw: s.replay(**kw),
                  {"user": "ann", "cursors": {"c": 0}, "limit": 1},
                  make=_server, snapshot=_server_snap),
    *per_argument("ChatServer.attach", lambda s, **kw: s.attach(**kw),
                  {"user": "ann", "device": "d"}, make=_server, snapshot=_server_snap),
    *per_argument("ChatServer.detach", lambda s, **kw: s.detach(**kw),
                  {"user": "bob", "device": "phone"}, make=_server, snapshot=_server_snap),
    Entry("ChatServer.connect(cursors={c: v})", call=lambda s, v: s.connect("ann", "d", {"c": v}),
          make=_server, snapshot=_server_snap, values=(2**63 - 1, 2**63)),
    *per_argument("ChatServer.ack", lambda s, **kw: s.ack(**kw),
                  {"user": "bob", "device": "phone", "conv": "c", "seq": 1},
                  make=_server, snapshot=_server_snap),
    *per_argument("ChatServer.read", lambda s, **kw: s.read(**kw),
                  {"user": "bob", "conv": "c", "seq": 1}, make=_server, snapshot=_server_snap),
    *per_argument("ChatServer.fetch", lambda s, **kw: s.fetch(**kw),
                  {"conv": "c", "first": 1, "last": 1, "limit": 1}, make=_server,
                  snapshot=_server_snap),
    *per_argument("ChatServer.receipt", lambda s, **kw: s.receipt(**kw), {"conv": "c", "seq": 1},
                  make=_server, snapshot=_server_snap),
    *per_argument("make_token", lambda _, **kw: make_token(**kw),
                  {"secret": b"secret", "user": "ann", "expires": 100.0}),
    *per_argument("verify_token", lambda _, **kw: verify_token(**kw),
                  {"secret": b"secret", "token": _TOKEN, "now": 50.0}),
    Entry("verify_token(token=dotted)", call=lambda _, v: verify_token(b"secret", v, now=50.0),
          values=_DOTTED_TOKENS),
    *per_argument("ReadStates", lambda _, **kw: ReadStates(**kw).close(),
                  {"path": ":memory:", "capacity": 4, "flush_entries": 2, "flush_interval": 1.0,
                   "store": None}),
    Entry("SQLiteReadStore(path)", call=lambda _, v: SQLiteReadStore(
        f"{scratch_dir()}/{v}" if isinstance(v, str) and v.isprintable() and "/" not in v
        else v).close()),
    *per_argument("SQLiteReadStore.load", lambda r, **kw: r.load(**kw),
                  {"user": "ann", "channel": "c"}, make=_rstore, snapshot=_rstore_snap),
    Entry("SQLiteReadStore.write(rows)", call=lambda r, v: r.write(v), make=_rstore,
          snapshot=_rstore_snap),
    Entry("SQLiteReadStore.write([row])", call=lambda r, v: r.write([v]), make=_rstore,
          snapshot=_rstore_snap),
    Entry("SQLiteReadStore.write([(u, c, v, 0)])", call=lambda r, v: r.write([("u", "c", v, 0)]),
          make=_rstore, snapshot=_rstore_snap),
    Entry("SQLiteReadStore.unread(user)", call=lambda r, v: r.unread(v), make=_rstore,
          snapshot=_rstore_snap),
    *per_argument("RedisReadStore", lambda _, **kw: RedisReadStore(**kw).close(),
                  {"client": _NOWHERE, "prefix": "p", "deadline": 0.1}),
    *per_argument("RedisReadStore.load", lambda r, **kw: r.load(**kw),
                  {"user": "ann", "channel": "c"}, make=_redis_rstore,
                  snapshot=_redis_rstore_snap),
    Entry("RedisReadStore.write(rows)", call=lambda r, v: r.write(v), make=_redis_rstore,
          snapshot=_redis_rstore_snap),
    Entry("RedisReadStore.write([row])", call=lambda r, v: r.write([v]), make=_redis_rstore,
          snapshot=_redis_rstore_snap),
    Entry("RedisReadStore.write([(u, c, v, 0)])",
          call=lambda r, v: r.write([("u", "c", v, 0)]), make=_redis_rstore,
          snapshot=_redis_rstore_snap),
    Entry("RedisReadStore.unread(user)", call=lambda r, v: r.unread(v), make=_redis_rstore,
          snapshot=_redis_rstore_snap),
    *per_argument("RedisStore", lambda _, **kw: RedisStore(**kw).close(),
                  {"client": _NOWHERE, "prefix": "p", "deadline": 0.1}),
    *per_argument("RedisStore.append", lambda s, **kw: s.append(**kw),
                  {"conv": "c", "sender": "ann", "client_msg_id": "m2", "body": "yo"},
                  make=_redis_store, snapshot=_redis_store_snap),
    *per_argument("RedisStore.read", lambda s, **kw: s.read(**kw),
                  {"conv": "c", "after": 0, "limit": 10}, make=_redis_store,
                  snapshot=_redis_store_snap),
    Entry("RedisStore.last_seq(conv)", call=lambda s, v: s.last_seq(v), make=_redis_store,
          snapshot=_redis_store_snap),
    *per_argument("ReadStates.ack", lambda r, **kw: r.ack(**kw),
                  {"user": "ann", "channel": "d", "msg_id": 7}, make=_rs, snapshot=_rs_snap),
    *per_argument("ReadStates.mention", lambda r, **kw: r.mention(**kw),
                  {"user": "ann", "channel": "d", "count": 2}, make=_rs, snapshot=_rs_snap),
    Entry("ReadStates.unread(user)", call=lambda r, v: r.unread(v), make=_rs, snapshot=_rs_snap),
    *per_argument("gclab.measure", lambda _, **kw: measure(**kw),
                  {"layout": "gc_aware", "entries": 10, "ops": 10}),
    *per_argument("capacity", lambda _, **kw: capacity(**kw),
                  {"connections": 1000, "bytes_per_conn": 1e4, "fanout_frames_per_s": 1e4,
                   "messages_per_s": 10, "members": 10}),
    *per_argument("Gateway", lambda _, **kw: Gateway(**kw),
                  {"host": "127.0.0.1", "port": 0, "secret": b"secret", "max_frame": 4096,
                   "write_limit": 4096, "page": 8, "presence_interval": 0.5}),
    *per_argument("NaiveGateway", lambda _, **kw: NaiveGateway(**kw),
                  {"host": "127.0.0.1", "port": 0, "secret": b"secret"}),
    Entry("receivers.parse_frames(buf)", call=lambda _, v: parse_frames(v)),
    *per_argument("Client", lambda _, **kw: Client(**kw),
                  {"url": "ws://127.0.0.1:1", "token": "t", "device": "d", "heartbeat": 0.1,
                   "base": 0.1, "cap": 1.0, "seed": 1}),
    *per_argument("FaultLink", lambda _, **kw: FaultLink(**kw),
                  {"upstream": "ws://127.0.0.1:1", "drop": 0.1, "duplicate": 0.1, "delay": 0.1,
                   "delay_s": 0.01, "cut": 0.0, "seed": 1}),
    *per_argument("HashRing", lambda _, **kw: HashRing(**kw), {"nodes": ["a", "b"], "vnodes": 4}),
    Entry("HashRing.add(node)", call=lambda r, v: r.add(v), make=_ring, snapshot=_ring_snap),
    Entry("HashRing.remove(node)", call=lambda r, v: r.remove(v), make=_ring, snapshot=_ring_snap),
    Entry("HashRing.node_for(key)", call=lambda r, v: r.node_for(v), make=_ring,
          snapshot=_ring_snap),
    Entry("HashRing.points(node)", call=lambda r, v: r.points(v), make=_ring, snapshot=_ring_snap),
    *per_argument("Directory", lambda _, **kw: Directory(**kw).close(),
                  {"client": _NOWHERE, "prefix": "p", "deadline": 0.1}),
    *per_argument("ChannelServer", lambda _, **kw: ChannelServer(**kw),
                  {"redis_url": _NOWHERE, "name": "a", "ring": HashRing(["a"]),
                   "host": "127.0.0.1", "port": 0, "prefix": "p"}),
    *per_argument("EdgeGateway", lambda _, **kw: EdgeGateway(**kw),
                  {"redis_url": _NOWHERE, "channel_servers": {"a": "127.0.0.1:7000"},
                   "secret": b"secret", "host": "127.0.0.1", "port": 0, "prefix": "p",
                   "max_frame": 4096, "write_limit": 4096, "page": 10, "vnodes": 4}),
    *per_argument("Cluster", lambda _, **kw: Cluster(**kw),
                  {"redis_url": _NOWHERE, "secret": b"secret", "gateways": 2,
                   "channel_servers": 2, "prefix": "p", "start_timeout": 5.0}),
]  # fmt: skip
