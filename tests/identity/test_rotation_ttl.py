"""A routine key rotation never knocks a gate to "status unavailable" while its list is fresh:
the gate counts a list fresh for min(max_age, the list's signed ttl), and the issuer keeps the
list's signing key published for that ttl. And a status list id leaves room for every index."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.identity import (
    MIN_BITS,
    GateVerifier,
    IdentityError,
    Issuer,
    KeySet,
    Reason,
    StatusAuthority,
    StatusListCache,
    TrustStore,
)
from tests.identity.world import T0


def _rotate_prune_and_scan(ttl: float | None, max_age: float | None, elapsed: int) -> Reason:
    """Publish a list, rotate, issue a badge with the new key; ``elapsed`` seconds later the
    issuer prunes its keys and the gate reloads the key set (as it must, to verify new badges)
    but has not fetched a new list yet. None: the library's default."""
    clock = ManualClock(T0)
    keys = KeySet("acme-id", seed=b"ttl")
    options = {} if ttl is None else {"ttl": ttl}
    authority = StatusAuthority(keys, "L", clock=clock, **options)  # type: ignore[arg-type]
    trust = TrustStore.from_jwks(keys.jwks(), issuer="acme-id")
    cache = StatusListCache(trust, clock=clock)
    cache.update(authority.publish())
    keys.rotate()
    issuer = Issuer(keys, authority, clock=clock)
    badge = issuer.sign_compact(issuer.issue("w1", "acme", "dock", "loader", valid_for=10**6))
    clock.advance(elapsed)
    keys.prune(int(clock()))
    trust.load(keys.jwks(), issuer="acme-id")
    gate_options = {} if max_age is None else {"max_age": max_age}
    gate = GateVerifier(trust, cache, clock=clock, **gate_options)  # type: ignore[arg-type]
    return gate.verify(badge).reason


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(st.none(), st.integers(1, 5_000).map(float)),
    st.one_of(st.none(), st.integers(1, 5_000).map(float)),
    st.integers(0, 200_000),
)
def test_a_rotation_never_leaves_a_fresh_list_without_its_key(
    ttl: float | None, max_age: float | None, elapsed: int
) -> None:
    """Oracle: the list is fresh for min(max_age, ttl) seconds (each a day by default): ok
    while fresh, never "status unavailable" then; after, refused (stale, or its key gone)."""
    limit = min(86_400.0 if ttl is None else ttl, 86_400.0 if max_age is None else max_age)
    reason = _rotate_prune_and_scan(ttl, max_age, elapsed)
    if elapsed < limit:
        assert reason is Reason.OK
    else:
        assert reason in (Reason.STALE_STATUS, Reason.STATUS_UNAVAILABLE)


def test_the_defaults_keep_an_offline_gate_working_for_its_max_age_across_a_rotation() -> None:
    assert _rotate_prune_and_scan(None, None, 600) is Reason.OK
    assert _rotate_prune_and_scan(None, None, 86_399) is Reason.OK
    assert _rotate_prune_and_scan(None, None, 86_400) is not Reason.OK


@pytest.mark.parametrize("size", [MIN_BITS, 2**20, 2**27])
def test_a_list_id_is_as_long_as_every_credential_id_allows(size: int) -> None:
    """The longest list id accepted issues at the list's last index; one byte more is refused
    by the authority, naming list_id, not later by the issuer naming credential_id."""
    room = 255 - 1 - len(str(size - 1))
    keys = KeySet("acme-id", seed=b"long")
    authority = StatusAuthority(keys, "é" * (room // 2) + "x" * (room % 2), size=size)
    authority.next_index = size - 1
    claims = Issuer(keys, authority).issue("w", "acme", "dock", "loader", valid_for=60)
    assert len(claims.credential_id.encode()) == 255
    with pytest.raises(IdentityError, match=f"list_id=.*at most {room} fit"):
        StatusAuthority(keys, "x" * (room + 1), size=size)
