"""A StatusAuthority survives a restart through state()/from_state(), and a gate's cache never
takes a list that undoes a revocation (an authority restarted without its state)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.identity import (
    MIN_BITS,
    BitstringStatusList,
    GateVerifier,
    IdentityError,
    Issuer,
    KeySet,
    Reason,
    StatusAuthority,
    StatusListCache,
    TrustStore,
)
from designpatterns_ref.identity.keys import b64url_decode
from tests.identity.world import T0

OPS = st.lists(st.one_of(st.just("allocate"), st.integers(0, 40)), max_size=60)


def _run(authority: StatusAuthority, clock: ManualClock, ops: list[object]) -> None:
    for op in ops:
        clock.advance(1)
        if op == "allocate":
            authority.allocate()
        elif isinstance(op, int) and op < authority.next_index:
            authority.revoke(op)
        if op == 7:
            authority.publish()


def _bits_of(token: str) -> set[int]:
    payload = json.loads(b64url_decode(token.split(".")[1]))
    bits = BitstringStatusList.decode(payload["vc"]["credentialSubject"]["encodedList"]).bits
    return {
        8 * at + bit
        for at, byte in enumerate(bits)
        if byte
        for bit in range(8)
        if byte >> (7 - bit) & 1
    }


@settings(max_examples=60, deadline=None)
@given(OPS, OPS)
def test_a_restored_authority_goes_on_exactly_where_the_saved_one_was(
    before: list[object], after: list[object]
) -> None:
    """Oracle: one authority that never restarts. The restored one (through JSON, as a file
    would hold it) shows the same revocations, hands out the same next indexes and publishes
    lists of the same bits, with a seq that keeps growing."""
    keys = KeySet("acme-id", seed=b"state")
    clock = ManualClock(T0)
    original = StatusAuthority(keys, "L", clock=clock)
    _run(original, clock, before)
    saved = json.loads(json.dumps(original.state()))
    twin_clock = ManualClock(clock())
    restored = StatusAuthority.from_state(keys, saved, clock=twin_clock)
    assert restored.epoch != original.epoch  # a new run
    assert restored.revoked_at == original.revoked_at
    assert restored.statuses.bits == original.statuses.bits
    assert (restored.next_index, restored.published) == (original.next_index, original.published)
    _run(original, clock, after)
    _run(restored, twin_clock, after)
    assert restored.state() == original.state()
    assert _bits_of(restored.publish()) == _bits_of(original.publish()) == set(original.revoked_at)


def test_after_a_restart_revoked_badges_stay_revoked_and_ids_are_not_reused() -> None:
    clock = ManualClock(T0)
    keys = KeySet("acme-id", seed=b"restart")
    authority = StatusAuthority(keys, "L", clock=clock)
    issuer = Issuer(keys, authority, clock=clock)
    first = issuer.issue("w1", "acme", "dock", "loader", valid_for=3_600)
    badge = issuer.sign_compact(first)
    authority.revoke(first.status_index)
    trust = TrustStore.from_jwks(keys.jwks(), issuer="acme-id")
    cache = StatusListCache(trust, clock=clock)
    cache.update(authority.publish())
    gate = GateVerifier(trust, cache, clock=clock)
    assert gate.verify(badge).reason is Reason.REVOKED
    saved = authority.state()
    clock.advance(60)
    authority = StatusAuthority.from_state(keys, saved, clock=clock)  # the restart
    second = Issuer(keys, authority, clock=clock).issue(
        "w2", "acme", "dock", "loader", valid_for=60
    )
    assert second.credential_id != first.credential_id
    cache.update(authority.publish())
    assert gate.verify(badge).reason is Reason.REVOKED


@settings(max_examples=80, deadline=None)
@given(
    st.sets(st.integers(0, MIN_BITS - 1), max_size=6),
    st.sets(st.integers(0, MIN_BITS - 1), max_size=6),
)
def test_the_cache_refuses_exactly_the_lists_that_undo_a_revocation(
    held: set[int], new: set[int]
) -> None:
    """Oracle: sets. A newer list is taken iff it shows every revocation the held one shows;
    refused, the cache is unchanged."""
    clock = ManualClock(T0)
    keys = KeySet("acme-id", seed=b"undo")
    trust = TrustStore.from_jwks(keys.jwks(), issuer="acme-id")
    cache = StatusListCache(trust, clock=clock)
    old = StatusAuthority(keys, "L", clock=clock)
    old.next_index = MIN_BITS
    for index in held:
        old.revoke(index)
    cache.update(old.publish())
    clock.advance(1)
    restarted = StatusAuthority(keys, "L", clock=clock)  # another run: its own revocations
    restarted.next_index = MIN_BITS
    for index in new:
        restarted.revoke(index)
    before = {k: (v[0], bytes(v[1])) for k, v in cache.lists.items()}
    token = restarted.publish()
    if held <= new:
        cache.update(token)
        assert cache.issued_at("L") == T0 + 1
    else:
        with pytest.raises(IdentityError, match="never undone") as info:
            cache.update(token)
        assert f"index {min(held - new)} " in str(info.value)
        assert {k: (v[0], bytes(v[1])) for k, v in cache.lists.items()} == before


def test_a_list_without_a_revocation_is_taken_once_its_key_is_no_longer_trusted() -> None:
    """The held list counts only while its key is trusted: a thief's list that set bits (to
    lock honest workers out) stops holding the honest list back once its key is distrusted."""
    clock = ManualClock(T0)
    keys = KeySet("acme-id", seed=b"undo")
    trust = TrustStore.from_jwks(keys.jwks(), issuer="acme-id")
    cache = StatusListCache(trust, clock=clock)
    thief = StatusAuthority(keys, "L", clock=clock)
    thief.revoke(thief.allocate())
    cache.update(thief.publish())
    stolen = keys.active_kid
    keys.distrust(stolen)
    trust.load(keys.jwks(), issuer="acme-id")
    clock.advance(1)
    honest = StatusAuthority(keys, "L", clock=clock)
    assert cache.update(honest.publish()) == "L"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"issuer": "other-id"}, "issuer"),
        ({"revoked": [[5, 1.0]]}, "index"),
        ({"revoked": [[0, 1.0], [0, 2.0]]}, "twice"),
        ({"revoked": [[0, float("nan")]]}, "time"),
        ({"next_index": MIN_BITS + 1}, "next_index"),
        ({"published": -1}, "published"),
        ({"extra": 1}, "fields"),
    ],
)
def test_a_state_that_is_not_one_is_refused(change: dict[str, object], match: str) -> None:
    keys = KeySet("acme-id", seed=b"bad-state")
    authority = StatusAuthority(keys, "L")
    authority.revoke(authority.allocate())
    state = authority.state() | change
    with pytest.raises(IdentityError, match=match):
        StatusAuthority.from_state(keys, state)
