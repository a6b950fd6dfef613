"""Real editing traces replay to their recorded end through every CRDT rule and through OT."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.collab import RULES, CollabError, FugueMaxReplica, OTServer, RGAReplica
from designpatterns_ref.collab.traces import (
    Trace,
    Txn,
    load_trace,
    replay_concurrent,
    replay_ot,
    replay_sequential,
)

RULE_IDS = list(RULES)


@pytest.fixture(scope="module")
def traces_dir(shared_data: Path) -> Path:
    path = shared_data / "editing-traces"
    if not path.is_dir():
        pytest.skip(f"editing traces not found in {shared_data}")
    return path


@pytest.fixture(scope="module")
def sequential(traces_dir: Path) -> list[Trace]:
    """Every sequential trace in the shared folder, loaded once."""
    out = [load_trace(path) for path in sorted(traces_dir.glob("*.json*"))]
    out = [t for t in out if t.kind == "sequential"]
    assert out, "no sequential trace in the shared folder"
    return out


@pytest.mark.slow
@pytest.mark.parametrize("rule", RULE_IDS)
def test_every_sequential_trace_replays_through_each_rule(
    sequential: list[Trace], rule: str
) -> None:
    for trace in sequential:
        replica = RULES[rule]("author")
        assert replay_sequential(trace, replica) == trace.end, trace.name
        remote = RULES[rule]("reader")  # every op applied to an empty replica
        remote.apply_ops(replica.ops_since())
        assert remote.text() == trace.end, trace.name


@pytest.mark.slow
def test_every_sequential_trace_replays_through_ot(sequential: list[Trace]) -> None:
    for trace in sequential:
        assert replay_ot(trace) == trace.end, trace.name


@pytest.fixture(scope="module")
def clownschool(traces_dir: Path) -> Trace:
    path = traces_dir / "clownschool.json.gz"
    if not path.exists():
        pytest.skip("clownschool.json.gz is not in the shared folder")
    trace = load_trace(path)
    assert trace.kind == "concurrent"
    return trace


@pytest.mark.slow
@pytest.mark.parametrize("rule", RULE_IDS)
def test_clownschool_concurrent_replays_through_each_rule(clownschool: Trace, rule: str) -> None:
    assert replay_concurrent(clownschool, RULES[rule]) == clownschool.end


@pytest.mark.slow
def test_clownschool_concurrent_replays_through_the_ot_server(clownschool: Trace) -> None:
    assert replay_ot(clownschool) == clownschool.end


def small_concurrent(agents: tuple[object, object]) -> dict[str, object]:
    a, b = agents
    return {
        "kind": "concurrent",
        "endContent": "A:hi B:yo!",
        "numAgents": 2,
        "txns": [
            {"parents": [], "agent": a, "patches": [[0, 0, "A: B:"]]},
            {"parents": [0], "agent": a, "patches": [[2, 0, "hi"]]},
            {"parents": [0], "agent": b, "patches": [[5, 0, "yo"]]},
            {"parents": [1, 2], "agent": b, "patches": [[9, 0, "!"]]},
            # the first agent again, on a branch concurrent with its own txn 1
            {"parents": [0], "agent": a, "patches": [[3, 0, "_"], [3, 1, ""]]},
            {"parents": [3, 4], "agent": b, "patches": []},
        ],
    }


@pytest.mark.parametrize("agents", [(0, 1), ("alice", "bob"), (7, "bob")])
@pytest.mark.parametrize("rule", RULE_IDS)
def test_small_concurrent_trace(agents: tuple[object, object], rule: str) -> None:
    trace = Trace.from_json(small_concurrent(agents), "small")
    assert replay_concurrent(trace, RULES[rule]) == "A:hi B:yo!"
    assert replay_concurrent(trace, lambda agent: RULES[rule](f"user-{agent}")) == "A:hi B:yo!"


def test_small_concurrent_trace_through_ot() -> None:
    data = small_concurrent(("alice", "bob"))
    data["txns"] = data["txns"][:4]  # type: ignore[index]
    assert replay_ot(Trace.from_json(data)) == "A:hi B:yo!"
    assert replay_concurrent(Trace.from_json(data), OTServer) == "A:hi B:yo!"


def test_ot_refuses_a_graph_no_server_order_can_produce() -> None:
    trace = Trace.from_json(small_concurrent((0, 1)))
    with pytest.raises(CollabError, match="replay_ot"):
        replay_ot(trace)


def test_load_plain_and_gzipped(tmp_path: Path) -> None:
    data = {"startContent": "", "endContent": "ab", "txns": [{"patches": [[0, 0, "ab"]]}]}
    plain = tmp_path / "t.json"
    plain.write_text(json.dumps(data))
    packed = tmp_path / "t.json.gz"
    packed.write_bytes(gzip.compress(json.dumps(data).encode()))
    for path in (plain, packed):
        trace = load_trace(path)
        assert trace.name == "t" and len(trace) == 1 and trace.patch_count() == 1
        assert replay_sequential(trace, RGAReplica("x")) == "ab"
        assert replay_ot(trace) == "ab"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"txns": 3}, "txns"),
        ({"txns": [{"patches": [["x", 0, ""]]}]}, "malformed"),
        ({"kind": "concurrent", "txns": [{"patches": [], "agent": 0, "parents": [0]}]}, "parents"),
        ({"kind": "concurrent", "txns": [{"patches": [], "agent": None, "parents": []}]}, "agent"),
    ],
)
def test_malformed_traces_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(CollabError, match=message):
        Trace.from_json(data)


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{nope")
    with pytest.raises(CollabError, match="not JSON"):
        load_trace(path)


def test_sequential_replay_refuses_a_concurrent_trace() -> None:
    with pytest.raises(CollabError, match="concurrent"):
        replay_sequential(Trace.from_json(small_concurrent((0, 1))), FugueMaxReplica("a"))


def naive_replay(trace: Trace, rule: str) -> tuple[str, list[str]]:
    """The obviously correct replay: a fresh replica per transaction, built from every
    operation of its ancestors in order. Returns the final text and, per transaction, the
    text it was typed on."""
    cls = RULES[rule]
    ancestors: list[set[int]] = []
    ops: list[list[object]] = []
    next_seq: dict[str, int] = {}
    typed_on: list[str] = []
    for txn in trace.txns:
        mine: set[int] = set()
        for p in txn.parents:
            mine |= ancestors[p] | {p}
        ancestors.append(mine)
        replica = cls(txn.agent)
        replica.apply_ops([op for t in sorted(mine) for op in ops[t]])  # type: ignore[misc]
        replica.set_agent(txn.agent, next_seq.get(txn.agent, 0))
        typed_on.append(replica.text())
        before = replica.version()
        for pos, n_deleted, inserted in txn.patches:
            if n_deleted:
                replica.delete(pos, n_deleted)
            if inserted:
                replica.insert(pos, inserted)
        made = replica.ops_since(before)
        ops.append(list(made))
        for op in made:
            end = op.seq + (len(op.text) if hasattr(op, "text") else op.length)  # type: ignore[union-attr]
            next_seq[txn.agent] = max(next_seq.get(txn.agent, 0), end)
    final = cls("reader")
    final.apply_ops([op for group in ops for op in group])  # type: ignore[misc]
    return final.text(), typed_on


@st.composite
def random_graphs(draw: st.DrawFn, rule: str) -> dict[str, object]:
    """A random concurrent trace: agents fork and merge (one agent sometimes on two concurrent
    branches); each patch fits the text its parents have under ``rule``."""
    txns: list[dict[str, object]] = []
    last: dict[int, int] = {}
    for i in range(draw(st.integers(1, 14))):
        agent = draw(st.integers(0, 2))
        parents = {last[agent]} if agent in last else set()
        if i and draw(st.booleans()):
            parents.add(draw(st.integers(0, i - 1)))
        if draw(st.integers(0, 9)) == 0 and i:  # the same agent on a concurrent branch
            parents = {draw(st.integers(0, i - 1))}
        txns.append({"parents": sorted(parents), "agent": agent, "patches": []})
        data = {"kind": "concurrent", "endContent": "", "txns": txns}
        length = len(naive_replay(Trace.from_json(data), rule)[1][-1])
        pos = draw(st.integers(0, length))
        n_deleted = draw(st.integers(0, length - pos))
        inserted = draw(st.text("ab📊", max_size=3))
        txns[-1]["patches"] = [[pos, n_deleted, inserted]]
        last[agent] = i
    return {"kind": "concurrent", "endContent": "", "txns": txns}


@pytest.mark.parametrize("rule", RULE_IDS)
@settings(max_examples=25)
@given(data=st.data())
def test_pooled_replay_matches_a_fresh_replica_per_transaction(
    rule: str, data: st.DataObject
) -> None:
    trace = Trace.from_json(data.draw(random_graphs(rule)))
    assert replay_concurrent(trace, RULES[rule]) == naive_replay(trace, rule)[0]


@given(
    patches=st.lists(
        st.tuples(st.integers(-1, 12), st.integers(-1, 4), st.text("ab", max_size=3)), max_size=6
    )
)
def test_replay_sequential_is_all_or_nothing(patches: list[tuple[int, int, str]]) -> None:
    # Against a plain replay on a Python string: a trace that fits gives the same text; one
    # that does not is refused with the replica left exactly as it was.
    data = {"startContent": "", "endContent": "", "txns": [{"patches": [list(p)]} for p in patches]}
    try:
        trace = Trace.from_json(data)
    except CollabError:
        return  # refused before any replica is touched
    doc = FugueMaxReplica("me")
    doc.insert(0, "keep")
    before = (doc.text(), doc.version())
    text, fits = "keep", True
    for pos, n_deleted, inserted in patches:
        if not (pos >= 0 and n_deleted >= 0 and pos + n_deleted <= len(text)):
            fits = False
            break
        text = text[:pos] + inserted + text[pos + n_deleted :]
    if fits:
        assert replay_sequential(trace, doc) == text
    else:
        with pytest.raises(CollabError):
            replay_sequential(trace, doc)
        assert (doc.text(), doc.version()) == before


@pytest.mark.parametrize(
    "txn",
    [
        Txn(((0, 0, "a"),), (5,), "a"),  # a parent that comes later
        Txn(((0, 0, "a"),), (0,), "a"),  # itself
        Txn(((-1, 0, "a"),), (), "a"),
        Txn(((0, -2, "a"),), (), "a"),
        Txn(((0, 0, 5),), (), "a"),
        Txn(((True, 0, "a"),), (), "a"),
        Txn([(0, 0, "a")], (), "a"),  # type: ignore[arg-type]
        Txn(((0, 0, "a"),), (), ""),
    ],
    ids=repr,
)
def test_a_trace_built_directly_is_checked_like_a_loaded_one(txn: Txn) -> None:
    # Replaying an unchecked one raised a bare IndexError deep in the replay.
    with pytest.raises(CollabError, match="txn 0"):
        Trace("concurrent", "", "", (txn,))


def _inserts_at(txns: list[tuple[str, list[int], list[int]]]) -> Trace:
    """A concurrent trace from (agent, parents, insert positions); each insert is one new
    character, so the characters of the final text are known whatever the merge order."""
    chars = iter(chr(0x4E00 + k) for k in range(10_000))
    data = [
        {"agent": agent, "parents": parents, "patches": [[pos, 0, next(chars)] for pos in at]}
        for agent, parents, at in txns
    ]
    return Trace.from_json({"kind": "concurrent", "txns": data})


def _ancestors(trace: Trace) -> list[set[int]]:
    out: list[set[int]] = []
    for txn in trace.txns:
        out.append(set().union(*(out[p] | {p} for p in txn.parents)))
    return out


def _server_can_produce(trace: Trace) -> bool:
    """By brute force: some order of the editing txns (parents first) lets each agent's one
    client see, among the other agents' txns, exactly its txn's ancestors as a prefix."""
    anc = _ancestors(trace)
    edit = [i for i, t in enumerate(trace.txns) if t.patches]
    for i in edit:  # one client per agent: its edits form a chain
        agent = trace.txns[i].agent
        if any(trace.txns[j].agent == agent and j not in anc[i] for j in edit if j < i):
            return False
    for order in itertools.permutations(edit):
        place = {t: k for k, t in enumerate(order)}
        if any(place[a] > place[i] for i in edit for a in anc[i] if a in place):
            continue  # a parent after its child
        if all(
            _is_prefix([t for t in order if trace.txns[t].agent != trace.txns[i].agent], anc[i])
            for i in edit
        ):
            return True
    return False


def _is_prefix(sequence: list[int], members: set[int]) -> bool:
    inside = [t in members for t in sequence]
    return inside == sorted(inside, reverse=True)


@st.composite
def small_graphs(draw: st.DrawFn) -> Trace:
    """Any causal history of up to 7 txns by 3 agents (some editing nothing)."""
    txns: list[tuple[str, list[int], list[int]]] = []
    for i in range(draw(st.integers(1, 7))):
        parents = draw(st.sets(st.integers(0, i - 1), max_size=2)) if i else set()
        at = [0] * draw(st.integers(0, 2))
        txns.append((draw(st.sampled_from("abc")), sorted(parents), at))
    return _inserts_at(txns)


@settings(max_examples=300, deadline=None)
@given(trace=small_graphs())
def test_replay_ot_refuses_exactly_the_graphs_no_server_order_produces(trace: Trace) -> None:
    # It used to send the txns in their listing order and refused most graphs a server does
    # produce (a root listed first that a later txn had not seen; an empty txn).
    inserted = sorted(p[2] for t in trace.txns for p in t.patches)
    if _server_can_produce(trace):
        assert sorted(replay_ot(trace)) == inserted
    else:
        with pytest.raises(CollabError, match="replay_ot"):
            replay_ot(trace)


@st.composite
def server_sessions(draw: st.DrawFn) -> Trace:
    """A session through a central server, listed in a random order parents-first: each of
    three clients types against the entries it has received (in the server's order) and its
    own edits, and sends them some time later."""
    history: list[int] = []  # txn ids in the order the server received them
    taken = {a: 0 for a in "abc"}  # entries of the history each client has taken
    unsent: dict[str, list[int]] = {a: [] for a in "abc"}
    own: dict[str, list[int]] = {a: [] for a in "abc"}
    txns: list[tuple[str, set[int], int]] = []  # agent, seen txns, inserts
    for _ in range(draw(st.integers(1, 30))):
        agent = draw(st.sampled_from("abc"))
        action = draw(st.sampled_from(["type", "send", "take"]))
        if action == "type":
            seen = set(history[: taken[agent]]) | set(own[agent])
            txns.append((agent, seen, draw(st.integers(0, 2))))
            own[agent].append(len(txns) - 1)
            unsent[agent].append(len(txns) - 1)
        elif action == "send" and unsent[agent]:
            history.append(unsent[agent].pop(0))
        elif taken[agent] < len(history):
            taken[agent] += 1
    order: list[int] = []  # a random listing order, each txn after what it saw
    while len(order) < len(txns):
        ready = [t for t in range(len(txns)) if t not in order and txns[t][1] <= set(order)]
        order.append(draw(st.sampled_from(ready)))
    index = {t: k for k, t in enumerate(order)}
    listed: list[tuple[str, list[int], list[int]]] = []
    for t in order:
        agent, seen, n = txns[t]
        base = sum(txns[s][2] for s in seen)
        at = [draw(st.integers(0, base + k)) for k in range(n)]
        listed.append((agent, sorted(index[s] for s in seen), at))
    return _inserts_at(listed)


@settings(max_examples=200, deadline=None)
@given(trace=server_sessions())
def test_replay_ot_accepts_every_central_server_session_in_any_listing_order(
    trace: Trace,
) -> None:
    inserted = sorted(p[2] for t in trace.txns for p in t.patches)
    text = replay_ot(trace)
    assert sorted(text) == inserted
    assert sorted(replay_concurrent(trace, FugueMaxReplica)) == inserted


def test_replay_ot_refuses_three_pairwise_merges_no_server_produces() -> None:
    # a, b and c each edit; then a merges b, b merges c and c merges a: whichever of the
    # three roots the server receives first, one merging client would have to see it last.
    trace = _inserts_at(
        [("a", [], [0]), ("b", [], [0]), ("c", [], [0]),
         ("a", [0, 1], [0]), ("b", [1, 2], [0]), ("c", [2, 0], [0])]
    )  # fmt: skip
    assert not _server_can_produce(trace)
    assert sorted(replay_concurrent(trace, FugueMaxReplica)) == sorted(replay_concurrent(
        trace, RGAReplica))  # fmt: skip
    with pytest.raises(CollabError, match="no server order"):
        replay_ot(trace)


def test_replay_ot_after_a_transaction_that_edits_nothing() -> None:
    # b opened the document and typed nothing; a's next edit, after it, was refused.
    trace = Trace.from_json({"kind": "concurrent", "endContent": "hi!", "txns": [
        {"agent": "a", "parents": [], "patches": [[0, 0, "hi"]]},
        {"agent": "b", "parents": [0], "patches": []},
        {"agent": "a", "parents": [1], "patches": [[2, 0, "!"]]},
    ]})  # fmt: skip
    assert replay_ot(trace) == replay_concurrent(trace, FugueMaxReplica) == "hi!"
