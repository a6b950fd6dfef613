"""The key-value table and the single-table access patterns, against a brute-force scan."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.serverless import (
    ConditionFailed,
    KeyValueTable,
    ServerlessError,
    ServerlessUnavailable,
)
from designpatterns_ref.serverless.singletable import (
    PatientOps,
    brute_patient_by_phone,
    brute_recall_due,
    brute_upcoming,
)

PHONES = ["+46700000001", "+46700000002", "+46700000003"]
TIMES = [
    "2026-12-06T08:00",
    "2026-12-06T09:00",
    "2026-12-06T09:30",
    "2026-12-07T09:00",
    "0999-06-01T09:00",  # a year below 1000: the sort key must still be zero-padded
    "0001-01-01T00:00",
    "9999-12-31T23:59",
]
DAYS = ["2026-12-01", "2026-12-06", "2026-12-07", "2027-01-01"]
IDS = st.sampled_from(["p1", "p2", "p3", "p4", "a-1", "A_2"])

commands = st.lists(
    st.one_of(
        st.tuples(st.just("patient"), IDS, st.sampled_from(PHONES)),
        st.tuples(st.just("appt"), IDS, IDS, st.sampled_from(["c1", "c2"]), st.sampled_from(TIMES)),
        st.tuples(st.just("recall"), st.sampled_from(["flu", "hpv"]), IDS, st.sampled_from(DAYS)),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(commands, st.sampled_from(PHONES), st.sampled_from(TIMES), st.sampled_from(DAYS))
@example([("appt", "a-1", "p1", "c1", "0999-06-01T09:00")], PHONES[0], TIMES[0], DAYS[0])
def test_each_access_pattern_equals_a_brute_force_scan(
    cmds: list[tuple[Any, ...]], phone: str, now: str, on: str
) -> None:
    ops = PatientOps(KeyValueTable())
    for cmd in cmds:
        if cmd[0] == "patient":
            ops.add_patient(cmd[1], cmd[2], "name")
        elif cmd[0] == "appt":
            ops.add_appointment(cmd[1], cmd[2], cmd[3], cmd[4])
        else:
            ops.add_recall(cmd[1], cmd[2], cmd[3])
    items = ops.table.scan()
    assert ops.patient_by_phone(phone) == brute_patient_by_phone(items, phone)
    for clinic in ("c1", "c2"):
        assert ops.upcoming(clinic, now) == brute_upcoming(items, clinic, now)
    for campaign in ("flu", "hpv"):
        assert ops.recall_due(campaign, on) == brute_recall_due(items, campaign, on)


def test_an_appointment_in_year_999_is_not_upcoming_in_2026() -> None:
    ops = PatientOps(KeyValueTable())
    ops.add_appointment("old", "p1", "c1", "0999-06-01T09:00")
    ops.add_appointment("new", "p1", "c1", "2027-01-01T09:00")
    assert [i["appointment"] for i in ops.upcoming("c1", "2026-12-06T08:00")] == ["new"]
    assert [i["appointment"] for i in ops.upcoming("c1", "0998-01-01T00:00")] == ["old", "new"]
    (old,) = [i for i in ops.table.scan() if i.get("appointment") == "old"]
    assert old["at"] == "0999-06-01T09:00" and old["gsi2sk"] == "APPT#0999-06-01T09:00#old"


@pytest.mark.parametrize("index", [None, "gsi1", "gsi2"])
def test_every_query_is_an_index_search_of_one_partition(index: str | None) -> None:
    plan = KeyValueTable().query_plan(index)
    assert "SEARCH" in plan and "SCAN" not in plan
    assert "pk=?" in plan.replace(" ", "")


def test_conditional_writes_are_atomic_and_refusals_change_nothing() -> None:
    t = KeyValueTable()
    t.put({"pk": "a", "sk": "1", "v": 1}, condition=lambda old: old is None)
    with pytest.raises(ConditionFailed) as err:
        t.put({"pk": "a", "sk": "1", "v": 2}, condition=lambda old: old is None)
    assert err.value.existing == {"pk": "a", "sk": "1", "v": 1}
    assert t.get("a", "1") == {"pk": "a", "sk": "1", "v": 1}
    with pytest.raises(ConditionFailed):
        t.delete("a", "1", condition=lambda old: old is not None and old["v"] == 9)
    assert len(t) == 1


def test_ttl_deletes_lazily_like_dynamodb() -> None:
    clock = ManualClock()
    t = KeyValueTable(clock=clock)
    t.put({"pk": "a", "sk": "1", "ttl": 10})
    t.put({"pk": "a", "sk": "2"})
    clock.advance(20)
    assert t.get("a", "1") is not None  # expired, still readable until the sweep
    assert t.sweep() == 1
    assert t.get("a", "1") is None and t.get("a", "2") is not None


def test_a_family_sharing_a_phone_is_found_together() -> None:
    ops = PatientOps(KeyValueTable())
    ops.add_patient("mum", "+46701111111", "Eva")
    ops.add_patient("kid", "+46701111111", "Leo")
    ops.add_patient("other", "+46702222222", "Ola")
    assert [p["patient"] for p in ops.patient_by_phone("+46701111111")] == ["kid", "mum"]


def test_the_sweep_deletes_only_items_whose_ttl_has_passed() -> None:
    """DynamoDB's TTL: an item expires when its TTL is less than the current time, so at the
    TTL instant itself it stays (an idempotency record then still protects its payload)."""
    clock = ManualClock()
    t = KeyValueTable(clock=clock)
    t.put({"pk": "a", "sk": "1", "ttl": 10})
    clock.advance(10)
    assert t.sweep() == 0 and t.get("a", "1") is not None
    clock.advance(0.001)
    assert t.sweep() == 1 and t.get("a", "1") is None


def test_a_conditional_write_is_atomic_across_tables_on_one_file(tmp_path: Path) -> None:
    """Two function instances, each with its own table on the same file, race to create one
    item: the condition and the write are one transaction, so exactly one of them wins."""
    path = str(tmp_path / "t.db")
    tables = [KeyValueTable(path), KeyValueTable(path)]
    read = threading.Barrier(2, timeout=2)
    winners: list[int] = []
    refused: list[int] = []

    def absent(old: dict[str, Any] | None) -> bool:
        # both conditions read before either writes, if the table lets them; the wait times
        # out when the other writer is held at the file's lock and the race cannot happen
        with contextlib.suppress(threading.BrokenBarrierError):
            read.wait()
        return old is None

    def create(n: int) -> None:
        try:
            tables[n].put({"pk": "IDEM", "sk": "k", "owner": n}, condition=absent)
            winners.append(n)
        except ConditionFailed:
            refused.append(n)

    threads = [threading.Thread(target=create, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and len(refused) == 1
    assert tables[1].get("IDEM", "k") == {"pk": "IDEM", "sk": "k", "owner": winners[0]}


def test_a_locked_file_raises_unavailable_and_writes_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "t.db")
    t = KeyValueTable(path, busy_timeout=0.05)
    t.put({"pk": "a", "sk": "1", "v": 1})
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the file
    with pytest.raises(ServerlessUnavailable, match=r"KeyValueTable\.put"):
        t.put({"pk": "a", "sk": "1", "v": 2}, condition=lambda old: True)
    with pytest.raises(ServerlessUnavailable, match=r"KeyValueTable\.delete"):
        t.delete("a", "1")
    other.execute("ROLLBACK")
    other.close()
    assert t.get("a", "1") == {"pk": "a", "sk": "1", "v": 1}
    t.put({"pk": "a", "sk": "1", "v": 3}, condition=lambda old: old is not None)  # usable again
    assert t.get("a", "1") == {"pk": "a", "sk": "1", "v": 3}


def test_a_closed_table_refuses_every_call_with_the_familys_error() -> None:
    t = KeyValueTable()
    t.put({"pk": "a", "sk": "1"})
    t.close()
    t.close()  # twice: nothing
    calls: list[Any] = [
        lambda: t.get("a", "1"),
        lambda: t.put({"pk": "a", "sk": "2"}),
        lambda: t.delete("a", "1"),
        lambda: t.query("a"),
        lambda: t.query_plan(),
        t.scan,
        t.sweep,
        lambda: len(t),
    ]
    for call in calls:
        with pytest.raises(ServerlessError, match="closed"):
            call()


@pytest.mark.parametrize("outer", ["put", "delete"])
@pytest.mark.parametrize("inner", ["put", "delete", "sweep", "close"])
@pytest.mark.parametrize("verdict", [True, False])
@pytest.mark.parametrize("on_file", [False, True])
def test_a_condition_may_read_but_not_write_or_close_the_table(
    tmp_path: Path, outer: str, inner: str, verdict: bool, on_file: bool
) -> None:
    """A write inside a condition would join the conditional write's transaction and be rolled
    back with it when the condition fails (reported done, yet lost); a close would leave it on
    a closed connection. Both are refused with the family's error, whatever the condition then
    says; nothing is written and the table stays open. Reads inside a condition are fine."""
    t = KeyValueTable(str(tmp_path / "t.db") if on_file else ":memory:", clock=ManualClock(10.0))
    t.put({"pk": "a", "sk": "1", "v": 1})
    t.put({"pk": "old", "sk": "1", "ttl": 1.0})
    before = sorted(map(str, t.scan()))
    inner_calls = {
        "put": lambda: t.put({"pk": "audit", "sk": "1"}),
        "delete": lambda: t.delete("a", "1"),
        "sweep": t.sweep,
        "close": t.close,
    }
    seen: list[Any] = []

    def condition(old: dict[str, Any] | None) -> bool:
        seen.append((old, t.get("a", "1"), len(t.query("a"))))  # reads are allowed
        inner_calls[inner]()
        return verdict

    with pytest.raises(ServerlessError, match="inside a condition") as err:
        if outer == "put":
            t.put({"pk": "a", "sk": "1", "v": 2}, condition=condition)
        else:
            t.delete("a", "1", condition=condition)
    assert not isinstance(err.value, ConditionFailed)
    assert seen == [({"pk": "a", "sk": "1", "v": 1},) * 2 + (1,)]
    assert sorted(map(str, t.scan())) == before  # nothing written, the table still open
    t.put({"pk": "audit", "sk": "1"})  # outside a condition: a write as any other
    assert t.get("audit", "1") == {"pk": "audit", "sk": "1"}
    t.close()


def test_the_phone_oracle_skips_a_patient_item_without_a_phone() -> None:
    items = [
        {"pk": "P#1", "sk": "PROFILE", "type": "patient", "patient": "1"},
        {"pk": "P#2", "sk": "PROFILE", "type": "patient", "patient": "2", "phone": "+46701234567"},
    ]
    assert [i["patient"] for i in brute_patient_by_phone(items, "+46701234567")] == ["2"]


table_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("put"),
            st.sampled_from(["a", "b"]),
            st.sampled_from(["x", "y", "z"]),
            st.sampled_from([None, 5.0, 10.0, 20.0]),
            st.sampled_from([None, "absent", "expired"]),
            st.sampled_from([None, "g1", "g2"]),
        ),
        st.tuples(
            st.just("delete"),
            st.sampled_from(["a", "b"]),
            st.sampled_from(["x", "y"]),
            st.sampled_from([None, "present", "absent"]),
        ),
        st.tuples(st.just("sweep")),
        st.tuples(st.just("wait"), st.sampled_from([0.0, 5.0, 10.0])),
    ),
    max_size=40,
)


@settings(max_examples=80, deadline=None)
@given(table_ops)
@example([("put", "a", "x", 10.0, None, None), ("wait", 10.0), ("sweep",)])  # at the TTL: stays
def test_the_table_matches_a_dict(ops: list[tuple[Any, ...]]) -> None:
    """Puts (plain, only if absent, only if absent or expired), deletes (plain or
    conditional), TTL sweeps and waits against a dict keyed by (pk, sk): every answer and
    refusal, and after each step the items, each partition's query and the gsi1 index."""
    clock = ManualClock(0.0)
    table = KeyValueTable(clock=clock)
    model: dict[tuple[str, str], dict[str, Any]] = {}
    conditions = {
        None: None,
        "absent": lambda old: old is None,
        "expired": lambda old: old is None or old.get("ttl", float("inf")) < clock(),
        "present": lambda old: old is not None,
    }
    for n, (op, *args) in enumerate(ops):
        if op == "put":
            pk, sk, ttl, cond, gsi = args
            item: dict[str, Any] = {"pk": pk, "sk": sk, "n": n}
            if ttl is not None:
                item["ttl"] = clock() + ttl
            if gsi is not None:
                item["gsi1pk"], item["gsi1sk"] = gsi, f"{sk}#{n}"
            check = conditions[cond]
            allowed = check is None or check(model.get((pk, sk)))
            try:
                table.put(item, condition=check)
            except ConditionFailed as exc:
                assert not allowed and exc.existing == model.get((pk, sk))
            else:
                assert allowed
                model[pk, sk] = item
        elif op == "delete":
            pk, sk, cond = args
            check = conditions[cond]
            allowed = check is None or check(model.get((pk, sk)))
            try:
                got = table.delete(pk, sk, condition=check)
            except ConditionFailed:
                assert not allowed
            else:
                assert allowed and got == ((pk, sk) in model)
                model.pop((pk, sk), None)
        elif op == "sweep":
            gone = [k for k, v in model.items() if v.get("ttl", float("inf")) < clock()]
            assert table.sweep() == len(gone)
            for k in gone:
                del model[k]
        else:
            clock.advance(args[0])
        assert len(table) == len(model)
        for pk in ("a", "b"):
            want = [model[k] for k in sorted(model) if k[0] == pk]
            assert table.query(pk) == want
            assert [table.get(pk, sk) for sk in "xyz"] == [model.get((pk, sk)) for sk in "xyz"]
        for g in ("g1", "g2"):
            index = sorted(
                (v for v in model.values() if v.get("gsi1pk") == g),
                key=lambda v: (v["gsi1sk"], v["pk"], v["sk"]),
            )
            assert table.query(g, index="gsi1") == index
