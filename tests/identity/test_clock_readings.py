"""A clock that returns no usable time fails closed, everywhere the family reads one.

Before the fix a gate whose clock read NaN accepted an expired credential against a stale
status list (every comparison with NaN is false, so no check refused it); the issuer and the
status authority raised a bare ValueError or OverflowError from ``int()`` of NaN or infinity,
or took ``True`` for second 1; the audit log raised a bare OverflowError for ``10**400`` and
recorded ``True`` as the time. Now every clock reading must be an int or a float (not a bool)
that is a finite number, else :class:`IdentityError` and nothing changes.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.identity import AuditLog, IdentityError, StatusAuthority
from tests.identity.world import DAY, T0, World, make_world, standard_claims

BAD_READINGS = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, -math.nan, True, False]),
    st.integers(min_value=2**1024).flatmap(lambda n: st.sampled_from([n, -n])),
    st.sampled_from([None, "1800000000", b"1", [T0], complex(T0, 0), object()]),
)


def _gate_state(w: World) -> object:
    return (
        copy.deepcopy(w.audit.entries),
        dict(w.gate._parsed),
        dict(w.gate._parsed_compact),
        {k: (v[0], bytes(v[1]), v[2]) for k, v in w.cache.lists.items()},
    )


@settings(max_examples=60, deadline=None)
@given(reading=BAD_READINGS, compact=st.booleans())
@example(reading=math.nan, compact=False)  # NaN: accepted, expired and stale
@example(reading=-math.inf, compact=False)
@example(reading=True, compact=True)
@example(reading=10**400, compact=False)
def test_a_gate_refuses_to_verify_with_a_clock_that_reads_no_time(
    reading: Any, compact: bool
) -> None:
    w = make_world(max_age=600)
    claims = standard_claims(w, valid_for=3_600)
    token: str | bytes = w.issuer.sign_compact(claims) if compact else w.issuer.sign_jws(claims)
    assert w.gate.verify(token).ok
    w.clock.advance(10 * DAY)  # expired, and the cached list is stale
    assert not w.gate.verify(token).ok
    before = _gate_state(w)
    gate = w.gate
    gate.clock = lambda: reading
    with pytest.raises(IdentityError, match="clock"):
        gate.verify(token)
    assert _gate_state(w) == before  # nothing audited, nothing cached


@settings(max_examples=40, deadline=None)
@given(reading=BAD_READINGS)
@example(reading=math.nan)
@example(reading=True)
@example(reading=10**400)
def test_issuer_and_authority_refuse_a_clock_that_reads_no_time(reading: Any) -> None:
    w = make_world()
    state = (w.authority.next_index, w.authority.published, bytes(w.authority.statuses.bits))
    w.issuer.clock = w.authority.clock = lambda: reading
    with pytest.raises(IdentityError, match="clock"):
        w.issuer.issue("w", "e", "s", "r", valid_for=60)
    with pytest.raises(IdentityError, match="clock"):
        w.authority.publish()
    assert (w.authority.next_index, w.authority.published) == state[:2]
    index = w.authority.allocate()
    with pytest.raises(IdentityError, match="clock"):
        w.authority.revoke(index)
    assert bytes(w.authority.statuses.bits) == state[2]  # the bit stays clear
    assert w.authority.revoked_at == {}


@pytest.mark.parametrize("reading", [-1, 2**32, 1e12, -1e300])
def test_a_status_list_is_not_published_at_a_time_no_cache_accepts(reading: float) -> None:
    authority = StatusAuthority(make_world().keys, "L", clock=lambda: reading)
    with pytest.raises(IdentityError, match="clock"):
        authority.publish()
    assert authority.published == 0


@settings(max_examples=40, deadline=None)
@given(reading=BAD_READINGS)
@example(reading=10**400)  # a bare OverflowError before the fix
@example(reading=True)  # recorded as "at": true before the fix
@example(reading=False)
def test_the_audit_log_refuses_a_clock_that_reads_no_time(reading: Any) -> None:
    now = [1.0]
    log = AuditLog(clock=lambda: now[0])
    log.append({"outcome": "ok"})
    before = (copy.deepcopy(log.entries), log.head)
    now[0] = reading
    with pytest.raises(IdentityError, match="clock"):
        log.append({"outcome": "revoked"})
    assert (log.entries, log.head) == before
    assert log.verify().ok


@given(reading=st.integers(-(2**53), 2**53) | st.floats(-1e300, 1e300))
def test_the_audit_log_records_any_finite_reading_as_given(reading: float) -> None:
    log = AuditLog(clock=lambda: reading)
    entry = log.append({"outcome": "ok"})
    assert entry["at"] == reading and type(entry["at"]) is type(reading)
    assert log.verify().ok


@settings(max_examples=40, deadline=None)
@given(reading=BAD_READINGS)
@example(reading=math.nan)  # every comparison false: a list from any future would be taken
def test_a_status_list_cache_refuses_a_clock_that_reads_no_time(reading: Any) -> None:
    w = make_world()
    w.clock.advance(60)
    token = w.authority.publish()
    before = {k: (v[0], bytes(v[1]), v[2]) for k, v in w.cache.lists.items()}
    w.cache.clock = lambda: reading
    with pytest.raises(IdentityError, match="clock"):
        w.cache.update(token)
    assert {k: (v[0], bytes(v[1]), v[2]) for k, v in w.cache.lists.items()} == before
