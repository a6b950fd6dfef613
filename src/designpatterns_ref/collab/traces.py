"""Replaying real editing sessions through CRDT replicas and the OT server.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

The editing traces (Joseph Gentle's ``editing-traces`` collection, CC BY 4.0) record every
keystroke of real documents. A *sequential* trace is a list of transactions, each a list of
patches ``(pos, n_deleted, inserted)``; :func:`replay_sequential` applies them to one replica.
A *concurrent* trace also names each transaction's ``parents`` (the versions it was typed
against) and its ``agent``: :func:`replay_concurrent` rebuilds that version graph, making each
transaction on a replica that holds exactly its parents' versions (one parent: continue that
replica; several: merge first) and returns the final text. :func:`replay_ot` (also reached
as ``replay_concurrent(trace, OTServer)``) drives the central OT server with one client per
agent, in a server order that delivers each client exactly the entries its transaction's
parents had seen; it refuses the graphs no such order produces.

The replay of a concurrent trace keeps a small pool of replicas (about one per agent) rather
than a copy per version: a transaction takes a replica whose state is contained in its
parents' version (its agent's own, when it can, so no replica has to start over) and catches
it up with the operations of the transactions it lacks.
Agents may be numbers or strings; an agent that edits on two concurrent branches keeps unique
sequence numbers across the whole trace.

Complexity: sequential replay O(patches) replica edits; concurrent replay adds, per
transaction, the operations it is missing (each transaction's operations are applied at most
once per pooled replica).

>>> trace = Trace.from_json({"startContent": "", "endContent": "hi!",
...     "txns": [{"patches": [[0, 0, "hi"]]}, {"patches": [[2, 0, "!"]]}]})
>>> from designpatterns_ref.collab.crdt import FugueMaxReplica
>>> replay_sequential(trace, FugueMaxReplica("a")) == trace.end
True
"""  # noqa: E501

from __future__ import annotations

import gzip
import json
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from designpatterns_ref.collab.base import CollabError, TextReplica
from designpatterns_ref.collab.crdt import Insert, Op, SequenceReplica, Version
from designpatterns_ref.collab.ot import TextOperation
from designpatterns_ref.collab.otserver import Message, OTServer
from designpatterns_ref.collab.serverorder import server_order
from designpatterns_ref.errors import shown

__all__ = [
    "Patch",
    "Trace",
    "Txn",
    "load_trace",
    "replay_concurrent",
    "replay_ot",
    "replay_sequential",
]

Patch = tuple[int, int, str]
"""``(pos, n_deleted, inserted)``: ``text[:pos] + inserted + text[pos + n_deleted:]``."""


class Txn(NamedTuple):
    """One transaction: its patches (applied in order), parents and agent."""

    patches: tuple[Patch, ...]
    parents: tuple[int, ...]
    agent: str


def _check_txn(name: str, i: int, txn: Txn) -> None:
    """Refuse a transaction whose patches are not (int >= 0, int >= 0, str), whose parents are
    not earlier transactions, or whose agent is not a non-empty str."""
    patches, parents, agent = txn
    shaped = isinstance(patches, tuple) and all(
        isinstance(p, tuple)
        and len(p) == 3
        and type(p[0]) is int
        and type(p[1]) is int
        and type(p[2]) is str
        and p[0] >= 0
        and p[1] >= 0
        for p in patches
    )
    if not shaped:
        raise CollabError(
            f"trace {shown(name, 80)}: txn {i} patches {shown(patches, 80)} must be (int, int, "
            "str) "
            "tuples: position and deleted count >= 0, then the inserted text"
        )
    if not isinstance(parents, tuple) or any(type(p) is not int or not 0 <= p < i for p in parents):
        raise CollabError(
            f"trace {shown(name, 80)}: txn {i} has parents {shown(parents, 80)} not before it"
        )
    if type(agent) is not str or not agent:
        raise CollabError(
            f"trace {shown(name, 80)}: txn {i} agent {shown(agent, 80)} must be a non-empty str"
        )


@dataclass(frozen=True, slots=True)
class Trace:
    """A recorded editing session."""

    kind: str  # "sequential" or "concurrent"
    start: str
    end: str
    txns: tuple[Txn, ...]
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("sequential", "concurrent"):
            raise CollabError(f"kind={shown(self.kind, 80)} must be 'sequential' or 'concurrent'")
        for field in ("start", "end", "name"):
            if not isinstance(getattr(self, field), str):
                raise CollabError(f"{field}={shown(getattr(self, field), 80)} must be a str")
        if not isinstance(self.txns, tuple) or not all(isinstance(t, Txn) for t in self.txns):
            raise CollabError(f"txns={shown(self.txns, 80)} must be a tuple of Txn")
        for i, txn in enumerate(self.txns):  # a trace built directly is checked as a loaded one
            _check_txn(self.name, i, txn)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], name: str = "") -> Trace:
        """Build a trace from the traces' JSON shape (sequential or concurrent)."""
        if not isinstance(name, str):
            raise CollabError(f"name={shown(name, 80)} must be a str")
        if not isinstance(data, Mapping) or not isinstance(data.get("txns"), list):
            raise CollabError(f"trace {shown(name, 80)}: expected an object with a 'txns' list")
        for key in ("startContent", "endContent"):
            if not isinstance(data.get(key, ""), str):
                raise CollabError(f"trace {shown(name, 80)}: {key} must be a str")
        concurrent = data.get("kind") == "concurrent"
        txns = []
        for i, raw in enumerate(data["txns"]):
            try:
                patches = tuple(map(tuple, raw["patches"]))
                for pos, n_deleted, inserted in patches:
                    if type(pos) is not int or type(n_deleted) is not int or pos < 0:
                        raise TypeError(f"patch {[pos, n_deleted, inserted]} needs int, int, str")
                    if type(inserted) is not str or n_deleted < 0:
                        raise TypeError(f"patch {[pos, n_deleted, inserted]} needs int, int, str")
                if concurrent:
                    parents = tuple(raw["parents"])
                    agent = raw["agent"]
                    if not isinstance(agent, (int, str)) or isinstance(agent, bool):
                        raise TypeError(f"agent {shown(agent)} must be a number or a string")
                    agent = str(agent)
                else:
                    parents, agent = ((i - 1,) if i else ()), "0"
            except (KeyError, TypeError, ValueError) as exc:
                raise CollabError(
                    f"trace {shown(name, 80)}: txn {i} is malformed ({exc!s:.200})"
                ) from None
            txns.append(Txn(patches, parents, agent))  # checked with the trace
        return cls(
            "concurrent" if concurrent else "sequential",
            data.get("startContent", ""),
            data.get("endContent", ""),
            tuple(txns),
            name,
        )

    def __len__(self) -> int:
        return len(self.txns)

    def patch_count(self) -> int:
        """The number of patches over all transactions."""
        return sum(len(t.patches) for t in self.txns)

    def patches(self) -> list[Patch]:
        """Every patch, in order (for a sequential trace, the whole history)."""
        return [p for t in self.txns for p in t.patches]


def load_trace(path: str | Path) -> Trace:
    """Read a trace file, gzipped (``.json.gz``) or plain JSON."""
    if not isinstance(path, str | Path):
        raise CollabError(f"path={shown(path, 80)} must be a str or a Path")
    try:
        path = Path(path)
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, ValueError, EOFError, zlib.error) as exc:
        raise CollabError(f"path={shown(str(path), 80)} cannot be read ({exc!s:.200})") from None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise CollabError(f"{shown(str(path), 80)}: not JSON ({exc!s:.200})") from None
    name = path.name.removesuffix(".gz").removesuffix(".json")
    return Trace.from_json(data, name)


def _check_patches(patches: list[Patch], length: int, name: str) -> None:
    """Refuse (before any is applied) a patch that does not fit the text it meets, whose
    length starts at ``length`` and moves with each patch."""
    for k, patch in enumerate(patches):
        pos, n_deleted, inserted = patch
        fits = (
            type(pos) is int
            and type(n_deleted) is int
            and type(inserted) is str
            and pos >= 0
            and n_deleted >= 0
            and pos + n_deleted <= length
        )
        if not fits:
            raise CollabError(
                f"trace {shown(name, 80)}: patch {k} {shown(patch, 80)} does not fit a text of "
                f"{length} "
                "characters; nothing was applied"
            )
        length += len(inserted) - n_deleted


def replay_sequential(trace: Trace, replica: TextReplica) -> str:
    """Apply every patch of ``trace`` in order to ``replica``; returns the final text.

    All or nothing: every patch is checked against the length of the text it will meet
    before the first is applied, so a trace that does not fit leaves ``replica`` as it was."""
    _check_trace(trace)
    if not isinstance(replica, TextReplica):
        raise CollabError(f"replica={shown(replica, 80)} must offer insert, delete and text")
    if trace.kind != "sequential":
        raise CollabError(f"trace {shown(trace.name)} is concurrent; use replay_concurrent")
    patches = list(trace.patches())
    _check_patches(patches, len(replica.text()) + len(trace.start), trace.name)
    if trace.start:
        replica.insert(0, trace.start)
    insert, delete = replica.insert, replica.delete
    for pos, n_deleted, inserted in patches:
        if n_deleted:
            delete(pos, n_deleted)
        if inserted:
            insert(pos, inserted)
    return replica.text()


Factory = type[SequenceReplica] | Callable[[str], SequenceReplica]


def replay_concurrent(trace: Trace, factory: Factory | type[OTServer]) -> str:
    """Replay ``trace``'s version graph on replicas made by ``factory(agent)``; returns the
    text at the version that merges every branch. ``factory=OTServer`` drives the central OT
    server instead (see :func:`replay_ot`)."""
    _check_trace(trace)
    if factory is OTServer:
        return replay_ot(trace)
    if not callable(factory):
        raise CollabError(f"factory={shown(factory, 80)} must be a replica class or a callable")

    def make(agent: str) -> SequenceReplica:
        replica = factory(agent)
        if not isinstance(replica, SequenceReplica):
            raise CollabError(
                f"factory({shown(agent)}) returned {shown(replica, 80)}, not a replica"
            )
        return replica

    txns = trace.txns
    next_seq: dict[str, int] = {}
    first: list[tuple[str, int] | None] = []  # each txn's first operation id, if any
    ops: list[list[Op]] = []
    pool: list[tuple[SequenceReplica, int]] = []  # (replica, the txn it is at)
    if trace.start:
        raise CollabError("replay_concurrent: traces with startContent are not supported")

    versions: list[Version] = []  # each txn's version: the operation ids it has seen

    def version_of(parents: tuple[int, ...]) -> Version:
        if not parents:
            return Version()
        out = versions[parents[0]]
        for p in parents[1:]:
            out = out | versions[p]
        return out

    def catch_up(replica: SequenceReplica, parents: tuple[int, ...]) -> None:
        """Apply the operations of every txn in ``parents``' version that ``replica`` lacks."""
        stack, missing = list(parents), set()
        while stack:
            t = stack.pop()
            ident = first[t]
            if t in missing or (ident is not None and replica.has(ident)):
                continue
            missing.add(t)
            stack.extend(txns[t].parents)
        replica.apply_ops([op for t in sorted(missing) for op in ops[t]])

    for i, txn in enumerate(txns):
        target = version_of(txn.parents)
        usable = [k for k, (replica, _) in enumerate(pool) if replica.is_within(target)]
        if usable:
            # the agent's own last txn first (it keeps its replica), then any parent, then
            # the most advanced: taking another agent's replica would make it start over
            def preference(k: int, txn: Txn = txn) -> tuple[bool, bool, int]:
                head = pool[k][1]
                own = head in txn.parents and txns[head].agent == txn.agent
                return (own, head in txn.parents, head)

            replica = pool.pop(max(usable, key=preference))[0]
        else:
            replica = make(txn.agent)
        catch_up(replica, txn.parents)
        replica.set_agent(txn.agent, next_seq.get(txn.agent, 0))
        before = replica.version()
        for pos, n_deleted, inserted in txn.patches:
            if n_deleted:
                replica.delete(pos, n_deleted)
            if inserted:
                replica.insert(pos, inserted)
        made = replica.ops_since(before)
        ops.append(made)
        first.append((made[0].agent, min(op.seq for op in made)) if made else None)
        for op in made:
            target = target.with_range(op.agent, op.seq, _end(op))
        versions.append(target)
        next_seq[txn.agent] = max([next_seq.get(txn.agent, 0)] + [_end(op) for op in made])
        pool.append((replica, i))
    if not txns:
        return make("0").text()
    referenced = {p for t in txns for p in t.parents}
    leaves = tuple(i for i in range(len(txns)) if i not in referenced)
    replica = max(pool, key=lambda entry: entry[1])[0]
    catch_up(replica, leaves)
    return replica.text()


def _check_trace(trace: object) -> None:
    if not isinstance(trace, Trace):
        raise CollabError(
            f"trace={shown(trace, 80)} must be a Trace (see load_trace, Trace.from_json)"
        )


def _end(op: Op) -> int:
    return op.seq + (len(op.text) if isinstance(op, Insert) else op.length)


def replay_ot(trace: Trace) -> str:
    """Replay ``trace`` through :class:`OTServer`, one client per agent; returns the server's
    final document.

    The server receives the transactions in an order that lets every client see exactly
    what its transaction's parents had seen
    (:func:`~designpatterns_ref.collab.serverorder.server_order`; the listing order when it
    does). Before each transaction its agent's client takes, in the server's order, the
    entries of that version (its own entries are acknowledgements); the transaction's
    operations are then sent at once. Clients may have several operations in flight, as in
    Jupiter: a client transforms each incoming entry past its unacknowledged operations, and
    an operation is brought to the server's head by the same transformations before
    :meth:`OTServer.receive` appends it, so every path uses TP1 only. A transaction with no
    patches sends nothing.

    Accepted: every trace a central server with one client per agent could have produced.
    Refused with :class:`CollabError`: an agent that edits on two concurrent branches, and a
    graph no server order reproduces (one client would have to see an entry without one
    before it). A CRDT replays those; OT with one server would need TP2 to.
    """
    _check_trace(trace)
    txns = trace.txns
    order, versions = server_order(trace)
    server = OTServer(trace.start)
    history = server.history
    docs: dict[str, str] = {}
    delivered: dict[str, int] = {}  # how many history entries each client has taken
    inflight: dict[str, deque[TextOperation]] = {}  # unacknowledged own ops, client form
    received: dict[str, dict[str, int]] = {}  # per client: entries taken from each other agent
    seq: dict[str, int] = {}  # per client: its operations sent (its next op's index)

    # Jupiter's server side: per client, the entries it has not taken yet, each transformed
    # past every operation of that client the server has received since.
    backlog: dict[str, deque[list[Any]]] = {}

    def take(agent: str) -> None:  # deliver the next history entry to `agent`'s client
        entry = history[delivered[agent]]
        if entry.client == agent:
            inflight[agent].popleft()
        else:
            backlog[agent].popleft()
            x, mine = entry.op, deque[TextOperation]()
            for p in inflight[agent]:
                p, x = TextOperation.transform(p, x)
                mine.append(p)
            docs[agent], inflight[agent] = x.apply(docs[agent]), mine
            received[agent][entry.client] = received[agent].get(entry.client, 0) + 1
        delivered[agent] += 1

    def to_head(agent: str, op: TextOperation) -> TextOperation:
        """``op`` (made after the client's in-flight ops) in the context of the server's head."""
        for slot in backlog[agent]:
            op, slot[1] = TextOperation.transform(op, slot[1])
        return op

    def publish(agent: str, index: int) -> None:
        for other, queue in backlog.items():
            if other != agent:
                queue.append([index, history[index].op])

    for i in order:
        txn = txns[i]
        agent, version = txn.agent, versions[i]
        if agent not in docs:
            docs[agent], delivered[agent], inflight[agent] = trace.start, 0, deque()
            received[agent], seq[agent] = {}, 0
            backlog[agent] = deque([k, e.op] for k, e in enumerate(history) if e.client != agent)
        while delivered[agent] < len(history):
            entry = history[delivered[agent]]
            if entry.client != agent and entry.seq >= version.get(entry.client, 0):
                break
            take(agent)
        want = {a: n for a, n in version.items() if a != agent and n}
        if received[agent] != want:  # pragma: no cover - the server order guarantees it
            raise CollabError(
                f"replay_ot: txn {i} of {shown(agent)} was typed having seen {want}, but its "
                f"client has taken {received[agent]}"
            )
        for pos, n_deleted, inserted in txn.patches:
            op = TextOperation.from_patch(len(docs[agent]), pos, n_deleted, inserted)
            docs[agent] = op.apply(docs[agent])
            server.receive(Message(agent, seq[agent], len(history), to_head(agent, op)))
            publish(agent, len(history) - 1)
            seq[agent] += 1
            inflight[agent].append(op)
    for agent in docs:
        while delivered[agent] < len(history):
            take(agent)
        if docs[agent] != server.document:  # pragma: no cover - a broken transform
            raise CollabError(f"replay_ot: client {shown(agent)} diverged from the server")
    return server.document
