"""Whose key is it: a key set loaded for one issuer never brings or replaces another's keys."""

from __future__ import annotations

import copy
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.identity import (
    Claims,
    IdentityError,
    KeySet,
    Reason,
    StatusAuthority,
    TrustStore,
    sign_jws,
)
from designpatterns_ref.identity.keys import b64url, b64url_decode, key_id
from tests.identity.world import DAY, T0, make_world, standard_claims


def _jwk(keys: KeySet, kid: str, public_of: str | None = None) -> dict[str, str]:
    raw = keys.jwks()["keys"][-1]["x"] if public_of is None else public_of
    return {"kty": "OKP", "crv": "Ed25519", "x": raw, "kid": kid}


def _squatter() -> KeySet:
    """A key held by other-id whose kid carries acme-id's name (KeySet writes what it is told)."""
    return KeySet("acme-id", seed=b"held by other-id")


def test_another_issuers_key_set_cannot_bring_a_kid_in_acmes_name() -> None:
    w = make_world()
    other = KeySet("other-id", seed=b"other")
    evil = _squatter()
    jwks = other.jwks()
    jwks["keys"].append(_jwk(evil, evil.active_kid))
    before = (len(w.trust), w.trust.status(evil.active_kid), w.trust.status(other.active_kid))
    with pytest.raises(IdentityError, match="other-id"):
        w.trust.load(jwks, issuer="other-id")
    assert (len(w.trust), w.trust.status(evil.active_kid), w.trust.status(other.active_kid)) == (
        before
    )
    forged = Claims(
        "acme-id", "x/0", "intruder", "acme", "dock-3", "admin", T0, T0, T0 + DAY, "L", 0
    )
    assert w.gate.verify(sign_jws(forged, evil)).reason is Reason.UNKNOWN_KEY


def test_another_issuer_cannot_replace_a_held_key_by_reusing_its_kid() -> None:
    w = make_world()
    token = w.issuer.sign_jws(standard_claims(w))
    evil = _squatter()
    hijack = {"keys": [_jwk(evil, w.keys.active_kid)]}  # acme's kid, other-id's key
    for issuer in ("acme-id", "other-id"):
        with pytest.raises(IdentityError, match="kid"):
            w.trust.load(copy.deepcopy(hijack), issuer=issuer)
    assert w.gate.verify(token).ok


def test_another_issuer_cannot_sign_a_status_list_in_acmes_name() -> None:
    w = make_world()
    claims = standard_claims(w)
    token = w.issuer.sign_jws(claims)
    w.authority.revoke(claims.status_index)
    w.cache.update(w.authority.publish())
    evil = _squatter()
    jwks = KeySet("other-id", seed=b"other").jwks()
    jwks["keys"].append(_jwk(evil, evil.active_kid))
    with pytest.raises(IdentityError):
        w.trust.load(jwks, issuer="other-id")
    w.clock.advance(1)
    all_clear = StatusAuthority(evil, "acme/status/1", clock=w.clock).publish()
    with pytest.raises(IdentityError, match="not trusted"):
        w.cache.update(all_clear)
    assert w.gate.verify(token).reason is Reason.REVOKED


_NAMES = st.sampled_from(["acme-id", "other-id", "acme", "acme-id#x", "a#b#c"])


@given(
    owner=_NAMES,
    named=_NAMES,
    loaded_as=_NAMES,
    seed=st.binary(min_size=1, max_size=8),
    fingerprint_of_x=st.booleans(),
)
def test_a_kid_is_taken_iff_it_is_the_loaders_issuer_and_the_fingerprint_of_x(
    owner: str, named: str, loaded_as: str, seed: bytes, fingerprint_of_x: bool
) -> None:
    keys = KeySet(owner, seed=seed)
    x = keys.jwks()["keys"][0]["x"]
    raw = b64url_decode(x)
    fingerprint = hashlib.sha256(raw if fingerprint_of_x else raw[::-1]).digest()[:6]
    kid = f"{named}#{b64url(fingerprint)}"
    trust = TrustStore()
    expected = named == loaded_as and fingerprint_of_x  # the oracle: RFC 8725 3.8's binding
    try:
        trust.load(
            {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid}]}, issuer=loaded_as
        )
    except IdentityError:
        assert not expected and len(trust) == 0
    else:
        assert expected and trust.status(kid) == "trusted" and len(trust) == 1


def test_a_key_the_issuer_withdraws_is_refused_once_the_gate_loads_the_new_set() -> None:
    w = make_world()
    leaked = w.keys.active_kid
    forged = w.issuer.sign_jws(standard_claims(w, "intruder"))  # signed with the leaked key
    w.keys.distrust(leaked)
    assert leaked not in w.keys.kids()
    w.trust.load(w.keys.jwks(), issuer="acme-id")  # the gate fetches the new key set
    assert w.trust.status(leaked) == "unknown"
    assert w.gate.verify(forged).reason is Reason.UNKNOWN_KEY
    w.cache.update(w.authority.publish())  # signed with the new key
    assert w.gate.verify(w.issuer.sign_jws(standard_claims(w, "w2"))).ok


def test_a_pruned_key_leaves_the_trust_store_and_other_issuers_keep_theirs() -> None:
    w = make_world()
    other = KeySet("other-id", seed=b"other")
    w.trust.load(other.jwks(), issuer="other-id")
    old = w.keys.active_kid
    w.issuer.sign_jws(standard_claims(w, valid_for=DAY))
    w.keys.rotate()
    assert w.keys.prune(T0 + 30 * DAY) == [old]
    w.trust.load(w.keys.jwks(), issuer="acme-id")
    assert w.trust.status(old) == "unknown"
    assert w.trust.status(w.keys.active_kid) == "trusted"
    assert w.trust.status(other.active_kid) == "trusted"
    assert len(w.trust) == 2


# The small-order encodings libsodium refuses (crypto_sign/ed25519/ref10/open.c), written out
# here as the oracle: y = 0, 1, 2707...022 (order 8), 5518...927 (order 8), p - 1, p, p + 1.
_P = 2**255 - 19
_BLOCKLIST = [
    bytes(32),
    (1).to_bytes(32, "little"),
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    (_P - 1).to_bytes(32, "little"),
    _P.to_bytes(32, "little"),
    (_P + 1).to_bytes(32, "little"),
]
WEAK = _BLOCKLIST + [bytes(b[:31]) + bytes([b[31] | 0x80]) for b in _BLOCKLIST]  # x negative
WEAK += [(_P + k).to_bytes(32, "little") for k in (2, 3, 18)]  # y >= p: not canonical


def _load_raw(raw: bytes) -> TrustStore:
    trust = TrustStore()
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": key_id("acme-id", raw)}
    trust.load({"keys": [jwk]}, issuer="acme-id")
    return trust


@pytest.mark.parametrize("raw", WEAK, ids=[r.hex()[:8] + r.hex()[-2:] for r in WEAK])
def test_a_key_of_small_order_or_not_canonical_is_refused(raw: bytes) -> None:
    with pytest.raises(IdentityError, match=r"small order|canonical"):
        _load_raw(raw)


def test_the_identity_key_would_verify_a_forgery_and_is_refused() -> None:
    """Why: with the identity point as key, R = identity and s = 0 verify any message."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    identity = (1).to_bytes(32, "little")
    Ed25519PublicKey.from_public_bytes(identity).verify(identity + bytes(32), b"any message")
    with pytest.raises(IdentityError):
        _load_raw(identity)


@given(seed=st.binary(min_size=1, max_size=16))
def test_every_honest_key_loads(seed: bytes) -> None:
    keys = KeySet("acme-id", seed=seed)
    trust = TrustStore.from_jwks(keys.jwks(), issuer="acme-id")
    assert trust.status(keys.active_kid) == "trusted"
