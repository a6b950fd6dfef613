"""Kill the order worker (a real process, SIGKILL) at random points and restart it: every order
ends delivered or fully compensated, and no side effect happens twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.workflows import World, expected, random_scenarios

ORDERS = 5


def _run(tmp: Path, seed: int, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "designpatterns_ref.workflows.worker"]
    cmd += [str(tmp / "wf.db"), str(tmp / "world.db"), "--orders", str(ORDERS)]
    return subprocess.run(
        [*cmd, "--seed", str(seed), *extra], capture_output=True, text=True, timeout=60
    )


def _check_world(tmp: Path, seed: int, states: dict[str, str]) -> None:
    scenarios = random_scenarios(ORDERS, seed)
    world = World(tmp / "world.db", scenarios, clock=ManualClock())
    assert world.duplicates() == {}
    for s in scenarios:
        state, effects = expected(s)
        assert states[s.order_id] == state
        assert Counter(world.effects(s.order_id)) == Counter(effects), s
        if state != "delivered":  # fully compensated: every charge refunded, every ticket
            keys = set(effects)  # cancelled or rejected, every assigned driver released
            o = s.order_id
            assert (f"charge:{o}" in keys) == (f"refund:{o}" in keys)
            assert (f"driver.assign:{o}" in keys) == (f"driver.release:{o}" in keys)


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    crashes=st.lists(st.integers(1, 90), min_size=1, max_size=3),
)
def test_killed_anywhere_the_orders_finish_once(seed: int, crashes: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="wf-crash-") as name:
        tmp = Path(name)
        for point in crashes:  # each run dies at its point, or finishes if it has fewer points
            proc = _run(tmp, seed, "--crash-at", str(point))
            assert proc.returncode in (0, -signal.SIGKILL), proc.stderr
        final = _run(tmp, seed)
        assert final.returncode == 0, final.stderr
        _check_world(tmp, seed, json.loads(final.stdout))


def test_a_kill_between_a_charge_and_its_record_repeats_it_without_idempotency_keys(
    tmp_path: Path,
) -> None:
    """The ledger detects duplicates: with the providers ignoring idempotency keys, the replayed
    charge shows up twice (so the property above could fail)."""
    seed = next(i for i in range(100) if random_scenarios(ORDERS, i)[0].card_ok)
    proc = _run(tmp_path, seed, "--crash-on", "do:charge.done", "--no-idempotency")
    assert proc.returncode == -signal.SIGKILL
    assert _run(tmp_path, seed, "--no-idempotency").returncode == 0
    world = World(tmp_path / "world.db", random_scenarios(ORDERS, seed), clock=ManualClock())
    assert world.duplicates() == {"charge:order-0": 2}


def test_the_same_kill_with_idempotency_keys_charges_once(tmp_path: Path) -> None:
    seed = next(i for i in range(100) if random_scenarios(ORDERS, i)[0].card_ok)
    assert _run(tmp_path, seed, "--crash-on", "do:charge.done").returncode == -signal.SIGKILL
    assert _run(tmp_path, seed, "--crash-on", "relay.published").returncode == -signal.SIGKILL
    final = _run(tmp_path, seed)
    assert final.returncode == 0, final.stderr
    _check_world(tmp_path, seed, json.loads(final.stdout))
