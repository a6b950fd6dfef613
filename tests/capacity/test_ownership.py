"""Field ownership under random writes and merges, against a causal-history oracle.

The oracle tracks, per replica and field, the set of writes it has seen, and for each write the
writes its author had seen when it wrote. The writes no other seen write knew of are the
*maximal* ones: a replica must hold one of them, every replica with the same history holds the
same one, and when there are two or more, each one not kept has been surfaced as a conflict.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.capacity import DEFAULT_OWNERS, OwnershipError, Replica, compare

SYSTEMS = {
    "desk": "clinical",
    "tablet": "clinical",
    "town": "municipality",
    "county": "municipality",
}
FIELDS = tuple(DEFAULT_OWNERS)
RECORDS = ("r1", "r2")

ops = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.sampled_from(sorted(SYSTEMS)), st.sampled_from(RECORDS),
                  st.sampled_from(FIELDS), st.integers(0, 5)),
        st.tuples(st.just("merge"), st.sampled_from(sorted(SYSTEMS)),
                  st.sampled_from(sorted(SYSTEMS))),
    ),
    max_size=40,
)  # fmt: skip


@given(ops)
def test_merges_keep_owners_fields_and_surface_every_true_conflict(steps: list[tuple]) -> None:  # type: ignore[type-arg]
    replicas = {n: Replica(n, s) for n, s in SYSTEMS.items()}
    known: dict[tuple[str, str, str], set[str]] = {}  # (replica, record, field) -> write ids
    knew: dict[str, set[str]] = {}  # write id -> what its author had seen
    value_of: dict[str, str] = {}
    for step in steps:
        if step[0] == "write":
            _, name, record, field, at = step
            r = replicas[name]
            before = r.get(record)
            if DEFAULT_OWNERS[field] != SYSTEMS[name]:
                with pytest.raises(OwnershipError, match=f"owned by '{DEFAULT_OWNERS[field]}'"):
                    r.write(record, field, f"{name}-{at}", at=at)
                assert r.get(record) == before  # refused: nothing changed
                continue
            fv = r.write(record, field, f"{name}-{at}", at=at)
            seen = known.setdefault((name, record, field), set())
            knew[fv.write_id] = set(seen)
            value_of[fv.write_id] = fv.value  # type: ignore[assignment]
            seen.add(fv.write_id)
        else:
            _, a, b = step
            replicas[a].merge(replicas[b])
            for (n, record, field), ids in list(known.items()):
                if n == b:
                    known.setdefault((a, record, field), set()).update(ids)
    surfaced = {c.lost.write_id for r in replicas.values() for c in r.conflicts}
    for c in (c for r in replicas.values() for c in r.conflicts):
        assert c.kept.write_id not in knew[c.lost.write_id]
        assert c.lost.write_id not in knew[c.kept.write_id]  # only truly concurrent writes
    by_history: dict[tuple[str, str, frozenset[str]], str] = {}
    for (name, record, field), ids in known.items():
        if not ids:
            continue
        held = replicas[name].records[record][field]
        assert held.system == DEFAULT_OWNERS[field]  # no non-owner write ever lands
        maximal = {w for w in ids if not any(w in knew[o] for o in ids)}
        assert held.write_id in maximal and held.value == value_of[held.write_id]
        assert maximal - {held.write_id} <= surfaced  # the losers were surfaced, not lost
        key = (record, field, frozenset(ids))
        assert by_history.setdefault(key, held.write_id) == held.write_id  # convergence


def test_different_owners_merge_field_by_field_both_ways() -> None:
    desk, town = Replica("desk", "clinical"), Replica("town", "municipality")
    desk.write("r", "diagnosis", "fracture", at=1)
    town.write("r", "reservation", "elm/a/1", at=1)
    assert desk.merge(town) == [] and town.merge(desk) == []
    assert desk.get("r") == town.get("r") == {"diagnosis": "fracture", "reservation": "elm/a/1"}


def test_a_forged_value_from_a_non_owner_is_refused_on_merge() -> None:
    town = Replica("town", "municipality", owners={"diagnosis": "municipality"})
    town.write("r", "diagnosis", "guess", at=1)
    desk = Replica("desk", "clinical")
    with pytest.raises(OwnershipError, match="owned by 'clinical'"):
        desk.merge(town)
    assert desk.records == {}


def test_compare() -> None:
    assert compare({"a": 1}, {"a": 1}) == "equal"
    assert compare({"a": 1}, {"a": 2}) == "before"
    assert compare({"a": 2, "b": 1}, {"a": 2}) == "after"
    assert compare({"a": 1}, {"b": 1}) == "concurrent"
