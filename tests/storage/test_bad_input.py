"""Bad input at every public entry point: StorageError, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from designpatterns_ref.storage import StorageError, TransactionClosed
from tests.fuzz.families import storage as registry
from tests.fuzz.test_fuzz import HOSTILE

ENTRIES = {entry.name: entry for entry in registry.ENTRIES}


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_hostile_values_are_refused_and_change_nothing(name: str) -> None:
    entry = ENTRIES[name]
    for value in HOSTILE:
        obj = entry.make() if entry.make else None
        snap = entry.snapshot or (lambda o: None)
        before = snap(obj)
        try:
            entry.call(obj, value)
        except StorageError:
            assert snap(obj) == before, f"{name}({value!r:.40}) refused but changed state"


@pytest.mark.parametrize("kind", ["heap", "clustered", "model"])
@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.insert({"id": 2, "city": "\ud800", "trips": 0}),
        lambda t: t.insert({"id": 2, "city": "x" * 257, "trips": 0}),
        lambda t: t.insert({"id": 2**63, "city": "x", "trips": 0}),
        lambda t: t.insert({"id": True, "city": "x", "trips": 0}),
        lambda t: t.insert({"id": 2, "city": "x"}),
        lambda t: t.insert({"id": 2, "city": "x", "trips": 0, "extra": 1}),
        lambda t: t.insert({"id": 1, "city": "Bergen", "trips": 9}),  # duplicate key
        lambda t: t.update(1, {"id": 5}),
        lambda t: t.update(1, {}),
        lambda t: t.update(1, {"trips": 1.5}),
        lambda t: t.scan("trips"),
        lambda t: t.scan("city", 3),
        lambda t: t.get(None),
    ],
)
def test_each_refusal_names_the_problem_and_writes_nothing(kind: str, call: Any) -> None:
    tx = registry._tx(kind)()
    before = registry._tx_state(tx)
    with pytest.raises(StorageError) as info:
        call(tx)
    assert str(info.value)
    assert registry._tx_state(tx) == before
    assert tx.status == "active"  # a refusal does not end the transaction
    assert tx.get(1) == {"id": 1, "city": "Oslo", "trips": 0}


@pytest.mark.parametrize("kind", ["heap", "clustered", "model"])
def test_a_finished_transaction_refuses_everything(kind: str) -> None:
    tx = registry._tx(kind)()
    tx.commit()
    for call in (lambda: tx.get(1), lambda: tx.commit(), lambda: tx.abort(),
                 lambda: tx.insert(registry.ROW), lambda: tx.delete(1)):  # fmt: skip
        with pytest.raises(TransactionClosed):
            call()
