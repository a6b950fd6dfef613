"""Both step logs (memory and SQLite, the latter reopened now and then) driven by random puts,
repeats, refused events, reads and marks against a dict and a list: a put is whole or refused
with nothing kept, a key is written once, the outbox gives back its unpublished events in
the order they were put.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from designpatterns_ref.workflows import Event, MemoryLog, SQLiteLog, WorkflowError
from designpatterns_ref.workflows.durable import MISSING

WFS = st.sampled_from(["w1", "w2"])
KEYS = st.sampled_from(["do:a", "do:b", "undo:a", "outcome"])
IDS = st.sampled_from(["e1", "e2", "e3", "e4", "e5"])
RESULTS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 3), max_size=2),
)  # fmt: skip

DATA = st.lists(
    st.tuples(st.sampled_from(["b", "a", "c"]), st.integers(0, 3) | st.tuples(st.integers(0, 3))),
    max_size=3,
).map(tuple)


class Logs(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory(prefix="wf-log-model-")
        self.path = Path(self.dir.name) / "wf.db"
        self.logs: list[Any] = [MemoryLog(), SQLiteLog(self.path)]
        self.steps: dict[tuple[str, str], Any] = {}
        self.outbox: list[tuple[str, bool]] = []  # (event id, published) in the order put
        self.data: dict[str, tuple[tuple[str, Any], ...]] = {}  # each event's data, as kept

    def teardown(self) -> None:
        self.logs[1].close()
        self.dir.cleanup()

    @rule(wf=WFS, key=KEYS, result=RESULTS, ids=st.lists(IDS, max_size=3), data=DATA)
    def put(self, wf: str, key: str, result: Any, ids: list[str], data: Any) -> None:
        known = {i for i, _ in self.outbox}
        names = [n for n, _ in data]
        refused = (
            (wf, key) in self.steps
            or len(set(ids)) != len(ids)
            or any(i in known for i in ids)
            or (bool(ids) and len(set(names)) != len(names))
        )
        events = [Event(i, "topic", wf, data) for i in ids]
        for log in self.logs:
            try:
                log.put(wf, key, result, events)
            except WorkflowError:
                assert refused, (wf, key, ids)
            else:
                assert not refused, (wf, key, ids)
        if not refused:
            self.steps[(wf, key)] = result
            self.outbox += [(i, False) for i in ids]
            # as the log gives it back: values through JSON (a tuple is a list), names sorted
            kept = sorted((n, list(v) if isinstance(v, tuple) else v) for n, v in data if ids)
            self.data.update({i: tuple(kept) for i in ids})

    @rule(wf=WFS, key=KEYS)
    def get(self, wf: str, key: str) -> None:
        want = self.steps.get((wf, key), MISSING)
        for log in self.logs:
            assert log.get(wf, key) == want

    @rule(limit=st.integers(1, 6))
    def pending(self, limit: int) -> None:
        want_ids = [i for i, done in self.outbox if not done][:limit]
        for log in self.logs:
            got = log.pending(limit)
            assert [e.event_id for e in got] == want_ids
            assert [e.data for e in got] == [self.data[i] for i in want_ids]

    @rule(ids=st.lists(IDS, max_size=3))
    def mark(self, ids: list[str]) -> None:
        for log in self.logs:
            log.mark_published(ids)
        self.outbox = [(i, done or i in ids) for i, done in self.outbox]

    @rule()
    def reopen(self) -> None:
        self.logs[1].close()
        self.logs[1] = SQLiteLog(self.path)

    @invariant()
    def agree(self) -> None:
        for wf in ("w1", "w2"):
            want = {k: v for (w, k), v in self.steps.items() if w == wf}
            assert self.logs[1].results(wf) == want
        assert len(self.logs[0]) == len(self.steps)


TestLogs = Logs.TestCase
TestLogs.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)


def test_both_logs_give_back_the_same_event_and_refuse_a_name_twice() -> None:
    """SQLite kept one value of a name given twice (silently) and gave the data back sorted
    and through JSON, while the memory log gave back the event as put."""
    for log in (MemoryLog(), SQLiteLog(":memory:")):
        twice = Event("e2", "t", "o", (("a", 1), ("a", 2)))
        try:
            log.put("w", "k", 1, [twice])
        except WorkflowError as err:
            assert "'e2'" in str(err) and "twice" in str(err)
        else:
            raise AssertionError(f"{type(log).__name__} kept {log.pending()}")
        assert log.get("w", "k") is MISSING and log.pending() == []
        log.put("w", "k", 1, [Event("e1", "t", "o", (("b", 1), ("a", (1, 2))))])
        assert log.pending() == [Event("e1", "t", "o", (("a", [1, 2]), ("b", 1)))]
