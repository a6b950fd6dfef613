"""The order in which a central OT server receives a concurrent trace's transactions.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

:func:`~designpatterns_ref.collab.traces.replay_ot` drives one client per agent through
:class:`~designpatterns_ref.collab.otserver.OTServer`. Each client receives the server's
entries in order, so a transaction must reach the server after everything its parents had
seen and before anything they had not: :func:`server_order` turns those needs into edges
between transactions and returns a topological order (Kahn's algorithm, the smallest listed
index first), or refuses the graphs no central server can produce.

Complexity: O(t + e log t) for t transactions and e edges, where e grows with the number of
agents squared per transaction (one edge per pair of other agents).
"""  # noqa: E501

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from designpatterns_ref.collab.base import CollabError
from designpatterns_ref.errors import shown

if TYPE_CHECKING:
    from designpatterns_ref.collab.traces import Trace

__all__ = ["server_order"]


def server_order(trace: Trace) -> tuple[list[int], list[dict[str, int]]]:
    """The order in which the server receives the transactions that edit, and per
    transaction the version it was typed on (per agent, how many of its operations).

    A client receives the server's entries in order, so a transaction of agent ``c`` that saw
    the first ``n_b`` operations of each other agent ``b`` needs all of them before, in the
    server's order, any operation it did not see of a third agent ``a``; as each agent's
    operations go in sequence, that is one constraint per pair of other agents: ``b``'s
    operation ``n_b - 1`` before ``a``'s operation ``n_a``. With the parents they are edges
    between transactions. Any topological order then satisfies every transaction (the smallest
    listed index goes first, so a trace listed in a valid order keeps it); a cycle means that
    no server order gives each client exactly what its transaction's parents had seen."""
    txns = trace.txns
    count: dict[str, int] = {}  # operations of each agent so far
    starts: dict[tuple[str, int], int] = {}  # (agent, index of its txn's first op) -> txn
    ends: dict[tuple[str, int], int] = {}  # (agent, its op count after the txn) -> txn
    versions: list[dict[str, int]] = []  # per txn: what its parents had seen
    after: list[dict[str, int]] = []  # per txn: that version with its own operations
    for i, txn in enumerate(txns):
        if len(txn.parents) == 1:  # the common case: the parent's version, shared
            version = after[txn.parents[0]]
        else:
            version = {}
            for p in txn.parents:
                for a, n in after[p].items():
                    if n > version.get(a, 0):
                        version[a] = n
        versions.append(version)
        agent, n_ops = txn.agent, len(txn.patches)
        if not n_ops:  # sends nothing: constrains nothing
            after.append(version)
            continue
        if version.get(agent, 0) != count.get(agent, 0):
            raise CollabError(
                f"replay_ot: txn {i} of {shown(agent)} is concurrent with that agent's earlier "
                "edits; one client cannot edit two concurrent branches"
            )
        starts[agent, count.get(agent, 0)] = i
        count[agent] = count.get(agent, 0) + n_ops
        ends[agent, count[agent]] = i
        after.append({**version, agent: count[agent]})
    edit = [i for i, txn in enumerate(txns) if txn.patches]
    # (before, after): what a txn saw of one other agent goes before what it did not see of
    # a third; the parents' edges (before their children) always point forward
    pairs = [
        (ends[b, n], later)
        for i in (edit if len(count) > 2 else ())  # it takes three agents
        for b, n in versions[i].items()
        if b != txns[i].agent
        for a in count
        if a not in (txns[i].agent, b)
        and (later := starts.get((a, versions[i].get(a, 0)))) is not None
    ]
    if all(before < later for before, later in pairs):
        return edit, versions  # the listing order is a valid server order
    edges: dict[int, list[int]] = {}  # txn -> the txns the server must receive after it
    for before, later in pairs:
        edges.setdefault(before, []).append(later)
    for i in edit:
        for b, n in versions[i].items():
            edges.setdefault(ends[b, n], []).append(i)
    indegree = dict.fromkeys(edit, 0)
    for targets in edges.values():
        for t in targets:
            indegree[t] += 1
    ready = [i for i in edit if not indegree[i]]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for t in edges.get(i, ()):
            indegree[t] -= 1
            if not indegree[t]:
                heapq.heappush(ready, t)
    if len(order) < len(edit):
        stuck = sorted(i for i in edit if indegree[i])[:5]
        raise CollabError(
            f"replay_ot: no server order gives every client exactly the edits its "
            f"transaction's parents had seen (txns {stuck} wait on each other); a central "
            "server with one client per agent cannot produce this graph"
        )
    return order, versions
