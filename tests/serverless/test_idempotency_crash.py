"""A process that dies between the side effect and the record, on a table in a file.

The invocation runs in a child process on a table file and dies (``os._exit``, no cleanup)
before its side effect, between the effect and the record, or after the record. The table is
then opened afresh and the next deliveries of the same event are checked against what the
layer promises: before the record is completed, the claim blocks duplicates until its
in-progress timeout and then one redelivery runs the handler again (so an effect that happened
before the death happens twice: the layer only knows what its invocation recorded); once the
record is completed, every redelivery gets the stored response and runs nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.serverless import (
    COMPLETED,
    INPROGRESS,
    Idempotency,
    IdempotencyInProgress,
    KeyValueTable,
)

EVENT = {"call": "c-1", "patient": "p-42"}

CHILD = """
import json, os, sys
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.serverless import Idempotency, KeyValueTable

table_path, effects_path, dies = sys.argv[1:4]
clock = ManualClock(1000.0)
layer = Idempotency(KeyValueTable(table_path, clock=clock), in_progress_timeout=30, clock=clock)

def book(event):
    if dies == "before the effect":
        os._exit(9)
    with open(effects_path, "a") as f:
        f.write(json.dumps(event) + "\\n")
        f.flush()
        os.fsync(f.fileno())
    if dies == "between the effect and the record":
        os._exit(9)
    return {"booking": "b-1"}

layer.run(book, json.loads(sys.argv[4]))
os._exit(9)  # after the record
"""


def _effects(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.mark.parametrize(
    "dies", ["before the effect", "between the effect and the record", "after the record"]
)
def test_a_death_between_the_effect_and_the_record(tmp_path: Path, dies: str) -> None:
    table, effects = tmp_path / "idem.db", tmp_path / "ehr.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(table), str(effects), dies, json.dumps(EVENT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 9, child.stderr
    clock = ManualClock(1000.0)
    layer = Idempotency(KeyValueTable(str(table), clock=clock), in_progress_timeout=30, clock=clock)
    record = layer.record(EVENT)
    ran_before = _effects(effects)

    def book(event: dict[str, str]) -> dict[str, str]:
        with effects.open("a") as f:
            f.write(json.dumps(event) + "\n")
        return {"booking": "b-2"}

    if dies == "after the record":
        assert record is not None and record.status == COMPLETED and ran_before == 1
        assert layer.run(book, EVENT) == {"booking": "b-1"}  # the stored response
        assert _effects(effects) == 1
        return
    assert record is not None and record.status == INPROGRESS
    assert ran_before == (1 if dies == "between the effect and the record" else 0)
    clock.advance(30)  # until the in-progress expiry itself, duplicates are refused
    with pytest.raises(IdempotencyInProgress):
        layer.run(book, EVENT)
    assert _effects(effects) == ran_before
    clock.advance(0.001)  # the claim is presumed dead: one redelivery runs the handler again
    assert layer.run(book, EVENT) == {"booking": "b-2"}
    assert layer.run(book, EVENT) == {"booking": "b-2"}
    assert _effects(effects) == ran_before + 1
