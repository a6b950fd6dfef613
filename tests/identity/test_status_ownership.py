"""The status list cache: each list belongs to its issuer, and no list rolls back a newer one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.identity import (
    GateVerifier,
    IdentityError,
    Issuer,
    KeySet,
    Reason,
    StatusAuthority,
    StatusListCache,
    TrustStore,
)
from designpatterns_ref.identity.jws import _DUMP
from designpatterns_ref.identity.keys import b64url
from designpatterns_ref.identity.statuslist import BitstringStatusList
from tests.identity.world import DAY, T0

ACME_LIST = "acme/status/1"


def _forge(keys: KeySet, iss: str, list_id: str, iat: int, revoked: tuple[int, ...] = ()) -> str:
    """A status list signed by ``keys`` whose payload claims the issuer ``iss``."""
    bits = BitstringStatusList()
    for index in revoked:
        bits.set(index)
    payload: dict[str, Any] = {
        "iss": iss,
        "iat": iat,
        "ttl": 300_000,
        "vc": {
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "id": list_id,
            "credentialSubject": {
                "type": "BitstringStatusList",
                "statusPurpose": "revocation",
                "encodedList": bits.encode(),
            },
        },
    }
    header = b64url(_DUMP({"alg": "EdDSA", "kid": keys.active_kid, "typ": "JWT"}).encode())
    body = b64url(_DUMP(payload).encode())
    _, signature = keys.sign(f"{header}.{body}".encode("ascii"))
    return f"{header}.{body}.{b64url(signature)}"


def _state(cache: StatusListCache) -> object:
    return {k: (v[0], bytes(v[1]), v[2]) for k, v in cache.lists.items()}


class TwoIssuers:
    """acme and other, both trusted by one gate; acme issued one credential to w1."""

    def __init__(self) -> None:
        self.clock = ManualClock(start=T0)
        self.acme = KeySet("acme-id", seed=b"acme")
        self.other = KeySet("other-id", seed=b"other")
        self.acme_status = StatusAuthority(self.acme, ACME_LIST, clock=self.clock)
        issuer = Issuer(self.acme, self.acme_status, clock=self.clock)
        self.claims = issuer.issue("w1", "acme", "dock-3", "loader", valid_for=DAY)
        self.token = issuer.sign_jws(self.claims)
        self.trust = TrustStore.from_jwks(self.acme.jwks(), issuer="acme-id")
        self.trust.load(self.other.jwks(), issuer="other-id")
        self.cache = StatusListCache(self.trust, clock=self.clock)
        self.gate = GateVerifier(self.trust, self.cache, max_age=DAY, clock=self.clock)


def test_another_trusted_issuer_cannot_replace_an_issuers_list() -> None:
    w = TwoIssuers()
    w.acme_status.revoke(w.claims.status_index)
    w.cache.update(w.acme_status.publish())
    assert w.gate.verify(w.token).reason is Reason.REVOKED
    w.clock.advance(1)
    squatter = StatusAuthority(w.other, ACME_LIST, clock=w.clock).publish()
    w.cache.update(squatter)  # other-id's own list of that name: kept apart from acme's
    assert w.gate.verify(w.token).reason is Reason.REVOKED
    assert w.cache.issued_at(ACME_LIST, issuer="acme-id") == T0
    assert w.cache.issued_at(ACME_LIST, issuer="other-id") == T0 + 1


def test_a_list_whose_iss_is_not_its_signers_issuer_is_refused() -> None:
    w = TwoIssuers()
    w.acme_status.revoke(w.claims.status_index)
    w.cache.update(w.acme_status.publish())
    before = _state(w.cache)
    forged = _forge(w.other, "acme-id", ACME_LIST, T0 + 1)  # other-id's key, acme-id's name
    with pytest.raises(IdentityError, match="iss"):
        w.cache.update(forged)
    assert _state(w.cache) == before
    assert w.gate.verify(w.token).reason is Reason.REVOKED


def test_the_gate_reads_only_the_credentials_own_issuers_list() -> None:
    w = TwoIssuers()
    w.clock.advance(1)
    w.cache.update(StatusAuthority(w.other, ACME_LIST, clock=w.clock).publish())
    verdict = w.gate.verify(w.token)  # only other-id's list of that name is cached
    assert verdict.reason is Reason.STATUS_UNAVAILABLE and "acme-id" in verdict.detail


_STEPS = st.lists(
    st.sampled_from(
        ["acme revokes", "acme publishes", "other publishes", "other forges", "other revokes"]
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(steps=_STEPS, other_list=st.sampled_from([ACME_LIST, "other/status/1"]))
@example(steps=["acme revokes", "acme publishes", "other publishes"], other_list=ACME_LIST)
@example(steps=["acme revokes", "acme publishes", "other forges"], other_list=ACME_LIST)
@example(steps=["other publishes", "acme revokes", "acme publishes"], other_list=ACME_LIST)
def test_only_the_credentials_issuer_decides_its_status(steps: list[str], other_list: str) -> None:
    """Oracle: the verdict follows acme's last published list, whatever other-id sends."""
    w = TwoIssuers()
    other_status = StatusAuthority(w.other, other_list, clock=w.clock)
    other_status.allocate()
    revoked = False
    shown: bool | None = None  # what acme's last published list says, None before any
    for step in steps:
        w.clock.advance(1)
        if step == "acme revokes":
            w.acme_status.revoke(w.claims.status_index)
            revoked = True
        elif step == "acme publishes":
            w.cache.update(w.acme_status.publish())
            shown = revoked
        elif step == "other publishes":
            w.cache.update(other_status.publish())
        elif step == "other revokes":
            other_status.revoke(0)
        else:
            before = _state(w.cache)
            with pytest.raises(IdentityError):
                w.cache.update(_forge(w.other, "acme-id", ACME_LIST, int(w.clock())))
            assert _state(w.cache) == before
    reason = w.gate.verify(w.token).reason
    expected = {None: Reason.STATUS_UNAVAILABLE, True: Reason.REVOKED, False: Reason.OK}[shown]
    assert reason is expected, (steps, other_list)


@settings(max_examples=60, deadline=None)
@given(
    plan=st.lists(
        st.tuples(st.sampled_from([0.0, 0.1, 0.3, 0.5, 1.0, 7.0, -1.0, -7.0]), st.booleans()),
        min_size=1,
        max_size=6,
    ),
    order=st.lists(st.integers(0, 5), min_size=1, max_size=10),
)
@example(plan=[(0.0, False), (0.6, True)], order=[1, 0])  # r3: same second, revoked between
@example(plan=[(0.0, False), (0.0, False)], order=[1, 0, 1, 1])  # republished, then replayed
@example(plan=[(0.0, False), (-1.0, True)], order=[0, 1, 0])  # the clock stepped back
def test_an_older_list_never_replaces_a_newer_one(
    plan: list[tuple[float, bool]], order: list[int]
) -> None:
    """Oracle: publication order, whatever the authority's clock did between publications
    (a negative delay steps it back). A list is accepted iff it is the one held or a later
    one. The gate's clock is right, a minute ahead of every date the authority writes."""
    clock = ManualClock(start=T0 + 0.2)  # the authority's
    gate_clock = ManualClock(start=T0 + 60)
    keys = KeySet("acme-id", seed=b"acme")
    authority = StatusAuthority(keys, ACME_LIST, clock=clock)
    issuer = Issuer(keys, authority, clock=clock)
    claims = issuer.issue("w1", "acme", "dock-3", "loader", valid_for=DAY)
    token = issuer.sign_jws(claims)
    trust = TrustStore.from_jwks(keys.jwks(), issuer=keys.issuer)
    cache = StatusListCache(trust, clock=gate_clock)
    gate = GateVerifier(trust, cache, max_age=DAY, clock=gate_clock)
    published: list[tuple[str, bool]] = []  # (token, shows the revocation), in order
    for delay, revoke_first in plan:
        clock.set(clock() + delay, allow_backwards=True)
        if revoke_first:
            authority.revoke(claims.status_index)
        published.append((authority.publish(), claims.status_index in authority.revoked_at))
    held = -1
    for i in (k % len(published) for k in order):
        before = _state(cache)
        if i >= held:
            cache.update(published[i][0])
            held = i
        else:
            with pytest.raises(IdentityError, match="older"):
                cache.update(published[i][0])
            assert _state(cache) == before
    assert gate.verify(token).reason is (Reason.REVOKED if published[held][1] else Reason.OK)
