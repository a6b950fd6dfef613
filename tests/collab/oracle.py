"""Plain list-based replays of the three ordering rules, written from the papers.

One Python list holds every character of the document in order, deleted ones included; every
character is its own record (no runs, no chunks, no index, no hints). Positions are found by
walking the list. The integration functions follow the published list algorithms:

* RGA (Roh et al. 2011; Automerge's form in Gentle's reference-crdts): after the left origin,
  skip siblings with a larger (Lamport, agent, seq) and everything typed after them; stop at the
  first item whose left origin lies before ours.
* FugueMax / YjsMod (Gentle's reference-crdts ``integrateYjsMod``; Weidner and Kleppmann prove
  it equal to FugueMax): scan from the left origin to the right origin; siblings whose right
  origin is nearer may be ours to pass (keep scanning), equal right origins tie by (agent, seq).
* Fugue (Weidner and Kleppmann, the list form ``ListFugueSimple``): the same scan comparing
  *right parents*: an item's right origin when that one has the same left origin, else the end.

Local inserts take as left origin the visible character before the position and as right
origin the next item after it, deleted or not. O(n^2) and proud of it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

Id = tuple[str, int]


@dataclass
class Char:
    id: Id
    lamport: int
    left: Id | None
    right: Id | None
    ch: str
    deleted: bool = False


@dataclass
class ListDoc:
    rule: str
    chars: list[Char] = field(default_factory=list)

    def index(self, ident: Id | None) -> int:
        if ident is None:
            return -1
        for i, c in enumerate(self.chars):
            if c.id == ident:
                return i
        raise KeyError(ident)

    def text(self) -> str:
        return "".join(c.ch for c in self.chars if not c.deleted)

    def visible(self) -> list[int]:
        return [i for i, c in enumerate(self.chars) if not c.deleted]

    def origins(self, pos: int) -> tuple[Id | None, Id | None]:
        """Left: the visible character before ``pos``; right: the item right after it."""
        if pos == 0:
            return None, (self.chars[0].id if self.chars else None)
        k = self.visible()[pos - 1]
        nxt = self.chars[k + 1].id if k + 1 < len(self.chars) else None
        return self.chars[k].id, nxt

    def delete(self, ident: Id) -> None:
        self.chars[self.index(ident)].deleted = True

    def integrate(self, new: Char) -> None:
        dest = {"rga": self._rga, "fuguemax": self._fuguemax, "fugue": self._fugue}[self.rule](new)
        self.chars.insert(dest, new)

    def _rga(self, new: Char) -> int:
        parent = self.index(new.left)
        i = parent + 1
        while i < len(self.chars):
            o = self.chars[i]
            oparent = self.index(o.left)
            if oparent < parent:
                break
            if oparent == parent and (new.lamport, *new.id) > (o.lamport, *o.id):
                break
            i += 1
        return i

    def _fuguemax(self, new: Char) -> int:
        return self._scan(new, lambda c: c.right)

    def _fugue(self, new: Char) -> int:
        def right_parent(c: Char) -> Id | None:
            if c.right is None or self.chars[self.index(c.right)].left != c.left:
                return None
            return c.right

        return self._scan(new, right_parent)

    def _scan(self, new: Char, right_of: Any) -> int:
        end = len(self.chars)

        def at(ident: Id | None) -> int:
            return end if ident is None else self.index(ident)

        left = self.index(new.left)
        stop = at(new.right)
        mine = at(right_of(new))
        dest, scanning = left + 1, False
        for i in range(left + 1, stop):
            o = self.chars[i]
            oleft = self.index(o.left)
            if oleft < left:
                break
            if oleft == left:
                theirs = at(right_of(o))
                if theirs < mine:
                    scanning = True
                elif theirs == mine:
                    if new.id < o.id:
                        break
                    scanning = False
                else:
                    scanning = False
            if not scanning:
                dest = i + 1
        return dest


Op = tuple[str, Any]  # ("ins", Char) or ("del", Id)


def resolve(length: int, pos_seed: int, del_seed: int) -> tuple[int, int]:
    """A patch's position and deletion count from two seeds, fitting a text of ``length``."""
    pos = pos_seed % (length + 1)
    return pos, min(del_seed, length - pos)


def replay(history: list[dict[str, Any]], rule: str) -> tuple[dict[str, Any], str, list[str]]:
    """Replay a history of transactions ``{"agent", "parents", "edits": [(pos_seed,
    del_seed, text)]}``; returns the concrete trace (JSON shape, positions resolved: they
    depend on the rule once concurrent deletes merge), the final text with every transaction
    merged, and the text each transaction left on its own branch."""
    states: list[ListDoc] = []
    ops: list[list[Op]] = []
    ancestors: list[set[int]] = []
    lamports: list[int] = []
    next_seq: dict[str, int] = {}
    txns = []
    for txn in history:
        parents = txn["parents"]
        mine: set[int] = set()
        for p in parents:
            mine |= ancestors[p] | {p}
        ancestors.append(mine)
        doc = copy.deepcopy(states[parents[0]]) if parents else ListDoc(rule)
        have = (ancestors[parents[0]] | {parents[0]}) if parents else set()
        for t in sorted(mine - have):  # index order is a causal order
            _apply(doc, ops[t])
        lamport = max((lamports[t] for t in mine), default=-1)
        agent = txn["agent"]
        seq = next_seq.get(agent, 0)
        made: list[Op] = []
        patches = []
        for pos_seed, del_seed, text in txn["edits"]:
            pos, n_deleted = resolve(len(doc.text()), pos_seed, del_seed)
            patches.append([pos, n_deleted, text])
            for _ in range(n_deleted):
                target = doc.chars[doc.visible()[pos]].id
                doc.delete(target)
                made.append(("del", target))
                seq, lamport = seq + 1, lamport + 1
            for k, ch in enumerate(text):
                left, right = doc.origins(pos + k)
                new = Char((agent, seq), lamport + 1, left, right, ch)
                doc.integrate(new)
                assert doc.text()[pos + k] == ch  # a local insert lands where it was typed
                made.append(("ins", copy.copy(new)))
                seq, lamport = seq + 1, lamport + 1
        next_seq[agent] = seq
        lamports.append(lamport)
        ops.append(made)
        states.append(doc)
        txns.append({"parents": list(parents), "agent": agent, "patches": patches})
    final = ListDoc(rule)
    for made in ops:
        _apply(final, made)
    trace = {"kind": "concurrent", "endContent": final.text(), "txns": txns}
    return trace, final.text(), [state.text() for state in states]


def _apply(doc: ListDoc, made: list[Op]) -> None:
    for kind, what in made:
        if kind == "ins":
            doc.integrate(Char(what.id, what.lamport, what.left, what.right, what.ch))
        else:
            doc.delete(what)
