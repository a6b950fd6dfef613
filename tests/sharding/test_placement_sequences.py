"""Placements driven through random add / remove sequences against a plain model.

The model is the shard list in order with each shard's weight, and the published rule for
what is refused (a shard there already, an unknown or last shard, jump's not-last shard, a
weight a scheme does not take, a ring shard left with no point, a Maglev table too small).
After every step the placement lists the model's shards, and every sampled key goes where
the formula says (modulo, jump, rendezvous) or where a placement built afresh over the same
list sends it (ring, Maglev): the history of adds and removes leaves no trace. A refused
call changes nothing.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from xxhash import xxh3_64_intdigest

from designpatterns_ref.sharding import (
    ConsistentHashRing,
    JumpPlacement,
    MaglevPlacement,
    ModuloPlacement,
    RendezvousPlacement,
    ShardingError,
    jump_hash,
)
from designpatterns_ref.sharding.logical import LogicalShards

NAMES = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
KEYS = [f"user:{i}" for i in range(200)] + list(range(50)) + [b"\xff", ""]
WEIGHTED = ("ring", "rendezvous")
VNODES = 4  # few points, so a light ring shard can be left with none (refused)
TABLE = 67  # a prime whose table holds at most 67 // 8 = 8 shards


def build(scheme: str, shards: dict[str, float]) -> Any:
    names = list(shards)
    if scheme == "ring":
        return ConsistentHashRing(names, vnodes=VNODES, weights=dict(shards))
    if scheme == "rendezvous":
        return RendezvousPlacement(names, weights=dict(shards))
    if scheme == "maglev":
        return MaglevPlacement(names, table_size=TABLE)
    return {"modulo": ModuloPlacement, "jump": JumpPlacement}[scheme](names)


def ring_refuses(weights: dict[str, float]) -> bool:
    total, n = sum(weights.values()), len(weights)
    return any(int((VNODES * n * w) // total) == 0 for w in weights.values())


def expected(scheme: str, shards: dict[str, float], key: Any) -> str | None:
    """The published formula's shard, or ``None`` for schemes checked against a fresh build."""
    data = key.encode() if isinstance(key, str) else key if isinstance(key, bytes) else b"%d" % key
    names = list(shards)
    if scheme == "modulo":
        return names[xxh3_64_intdigest(data) % len(names)]
    if scheme == "jump":
        return names[jump_hash(xxh3_64_intdigest(data), len(names))]
    if scheme == "rendezvous":

        def score(name: str) -> float:
            h = xxh3_64_intdigest(data, xxh3_64_intdigest(name.encode()))
            return -shards[name] / math.log(((h >> 11) + 0.5) / 2**53)

        return max(names, key=score)
    return None


class Sequences(RuleBasedStateMachine):
    scheme = "modulo"

    @initialize(first=st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    def start(self, first: list[str]) -> None:
        self.model: dict[str, float] = dict.fromkeys(first, 1.0)
        self.placement = build(self.scheme, self.model)

    def _placed(self) -> list[str]:
        return [self.placement.shard_for(k) for k in KEYS]

    def _refused(self, call: Any) -> None:
        before = (self.placement.shards, self._placed())
        with pytest.raises(ShardingError):
            call()
        assert (self.placement.shards, self._placed()) == before

    @rule(name=st.sampled_from(NAMES), weight=st.sampled_from([1, 1.0, 0.1, 2.5, 5]))
    def add(self, name: str, weight: float) -> None:
        after = {**self.model, name: float(weight)}
        refused = (
            name in self.model
            or (self.scheme not in WEIGHTED and weight != 1)
            or (self.scheme == "maglev" and len(after) > TABLE // 8)
            or (self.scheme == "ring" and ring_refuses(after))
        )
        if refused:
            self._refused(lambda: self.placement.add(name, weight))
        else:
            self.placement.add(name, weight)
            self.model = after

    @rule(name=st.sampled_from(NAMES))
    def remove(self, name: str) -> None:
        after = {k: w for k, w in self.model.items() if k != name}
        refused = (
            name not in self.model
            or not after
            or (self.scheme == "jump" and name != list(self.model)[-1])
            or (self.scheme == "ring" and ring_refuses(after))
        )
        if refused:
            self._refused(lambda: self.placement.remove(name))
        else:
            self.placement.remove(name)
            self.model = after

    @rule(name=st.sampled_from(NAMES))
    def remove_then_add_back(self, name: str) -> None:
        """A shard removed and added back with its weight lands every key where it was
        (the ring, Maglev and modulo: as a placement built over the new order does)."""
        if name not in self.model or len(self.model) == 1:
            return
        if self.scheme == "jump" and name != list(self.model)[-1]:
            return
        weight = self.model[name]
        rest = {k: w for k, w in self.model.items() if k != name}
        if self.scheme == "ring" and ring_refuses(rest):
            return
        self.placement.remove(name)
        self.placement.add(name, weight)
        self.model = {**rest, name: weight}

    @invariant()
    def agrees(self) -> None:
        assert self.placement.shards == tuple(self.model)
        fresh = build(self.scheme, self.model)
        for key in KEYS:
            got = self.placement.shard_for(key)
            want = expected(self.scheme, self.model, key)
            assert got == (want if want is not None else fresh.shard_for(key)), key
            assert got in self.model


@pytest.mark.parametrize("scheme", ["modulo", "jump", "rendezvous", "ring", "maglev"])
def test_a_placement_after_any_sequence_matches_the_model(scheme: str) -> None:
    machine = type(f"Sequences_{scheme}", (Sequences,), {"scheme": scheme})
    machine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
    machine.TestCase().runTest()


class Fleets(RuleBasedStateMachine):
    """Notion's logical shards on hosts: the model is the owner of each logical shard. A host
    added takes whole logical shards and only from the others, a host removed hands on only
    its own; the moves returned are exactly the changes, and the load stays even (the most and
    least loaded hosts differ by at most one logical shard)."""

    @initialize(
        first=st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True),
        logical=st.sampled_from([1, 2, 3, 7, 16, 480]),
    )
    def start(self, first: list[str], logical: int) -> None:
        if len(first) > logical:
            with pytest.raises(ShardingError, match="cannot share"):
                LogicalShards(first, logical=logical)
            first = first[:logical]
        self.fleet = LogicalShards(first, logical=logical)
        self.owner = list(self.fleet.owner)
        self.hosts = list(first)

    def _check_moves(self, moves: list[tuple[int, str, str]], host: str, added: bool) -> None:
        before, self.owner = self.owner, list(self.fleet.owner)
        changed = [
            (i, a, b) for i, (a, b) in enumerate(zip(before, self.owner, strict=True)) if a != b
        ]
        assert sorted(moves) == changed
        assert all((b if added else a) == host for _, a, b in changed)

    @rule(host=st.sampled_from(NAMES))
    def add_host(self, host: str) -> None:
        if host in self.hosts or len(self.hosts) == self.fleet.logical:
            before = (self.fleet.hosts, list(self.fleet.owner))
            with pytest.raises(ShardingError):
                self.fleet.add_host(host)
            assert (self.fleet.hosts, self.fleet.owner) == before
            return
        moves = self.fleet.add_host(host)
        self.hosts.append(host)
        self._check_moves(moves, host, added=True)

    @rule(host=st.sampled_from(NAMES))
    def remove_host(self, host: str) -> None:
        if host not in self.hosts or len(self.hosts) == 1:
            before = (self.fleet.hosts, list(self.fleet.owner))
            with pytest.raises(ShardingError):
                self.fleet.remove_host(host)
            assert (self.fleet.hosts, self.fleet.owner) == before
            return
        moves = self.fleet.remove_host(host)
        self.hosts.remove(host)
        self._check_moves(moves, host, added=False)

    @invariant()
    def even_and_routed(self) -> None:
        assert self.fleet.hosts == tuple(self.hosts)
        load = self.fleet.load()
        assert sum(load.values()) == self.fleet.logical and set(self.owner) <= set(self.hosts)
        assert max(load.values()) - min(load.values()) <= 1, load
        for key in KEYS[:50]:
            data = key.encode() if isinstance(key, str) else b"%d" % key
            want = self.owner[xxh3_64_intdigest(data) % self.fleet.logical]
            assert self.fleet.host_for(key) == want


def test_a_fleet_after_any_sequence_of_hosts_matches_the_model() -> None:
    Fleets.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
    Fleets.TestCase().runTest()
