"""Every verification outcome, both encodings, interop with PyJWT, and refused algorithms."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from designpatterns_ref.identity import (
    GateVerifier,
    IdentityError,
    Issuer,
    KeySet,
    Reason,
    StatusAuthority,
    StatusListCache,
    TrustStore,
    b45decode,
    b45encode,
    decode_compact,
)
from designpatterns_ref.identity.jws import MAX_HEADER_PART, TokenFormatError, split_token
from designpatterns_ref.identity.keys import b64url, b64url_decode
from tests.identity.world import DAY, T0, make_world, standard_claims


def _encode(world, claims, form):  # type: ignore[no-untyped-def]
    return world.issuer.sign_jws(claims) if form == "jws" else world.issuer.sign_compact(claims)


def _scenario(name: str, form: str):  # type: ignore[no-untyped-def]
    """Build the world for one named scenario; return (gate, token)."""
    w = make_world()
    claims = standard_claims(w)
    token = _encode(w, claims, form)
    gate = w.gate
    if name == "ok":
        pass
    elif name == "malformed":
        token = token[:-10] if form == "jws" else token[:40]
    elif name == "unknown key":
        stranger = make_world(seed=b"someone else")
        token = _encode(stranger, standard_claims(stranger), form)
    elif name == "distrusted key":
        w.trust.distrust(w.keys.active_kid)
    elif name == "bad signature":
        other = KeySet("acme-id", seed=b"tests")  # same kid, then a forged signature
        if form == "jws":
            head, body, _ = token.split(".")
            forged = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32).sign(b"x")
            token = f"{head}.{body}.{b64url(forged)}"
        else:
            token = token[:-64] + bytes(64)
        assert other.active_kid == w.keys.active_kid
    elif name == "wrong issuer":  # another trusted issuer signs a credential in acme's name
        other = KeySet("other-id", seed=b"other")
        w.trust.load(other.jwks(), issuer=other.issuer)
        forger = Issuer(
            other, StatusAuthority(other, "other/status/1", clock=w.clock), clock=w.clock
        )
        token = forger.sign_jws(claims) if form == "jws" else forger.sign_compact(claims)
    elif name == "not yet valid":
        claims = standard_claims(w, not_before=T0 + DAY)
        token = _encode(w, claims, form)
    elif name == "issued in the future":
        w.clock.set(T0 - 120, allow_backwards=True)
    elif name == "expired":
        w.clock.advance(30 * DAY)
        w.cache.update(w.authority.publish())
    elif name == "status unavailable":
        gate = GateVerifier(w.trust, StatusListCache(w.trust, clock=w.clock), clock=w.clock)
    elif name == "stale status list":
        w.clock.advance(3_601)
    elif name == "revoked":
        w.authority.revoke(claims.status_index)
        w.cache.update(w.authority.publish())
    else:  # pragma: no cover
        raise AssertionError(name)
    return gate, token


OUTCOMES = [r.value for r in Reason if r is not Reason.BAD_ALGORITHM]


@pytest.mark.parametrize("form", ["jws", "compact"])
@pytest.mark.parametrize("name", OUTCOMES)
def test_every_outcome_in_both_encodings(name: str, form: str) -> None:
    gate, token = _scenario(name, form)
    verdict = gate.verify(token)
    assert verdict.reason.value == name, verdict.detail
    assert verdict.ok is (name == "ok")
    assert verdict.detail
    # Authentic claims (signature verified, issuer the signing key's) come with the verdict.
    assert (verdict.claims is not None) is (name in AUTHENTIC), name


AUTHENTIC = {r.value for r in Reason} - {
    "malformed",
    "bad algorithm",
    "unknown key",
    "distrusted key",
    "bad signature",
    "wrong issuer",
}


@pytest.mark.parametrize("name", ["status unavailable", "stale status list", "revoked"])
def test_a_status_refusal_audits_the_authenticated_worker(name: str) -> None:
    w = make_world()
    token = w.issuer.sign_jws(standard_claims(w, "w7"))
    if name == "status unavailable":
        w.gate.statuses = StatusListCache(w.trust, clock=w.clock)
    elif name == "stale status list":
        w.clock.advance(3_601)
    else:
        w.authority.revoke(w.issuer.statuses.next_index - 1)
        w.cache.update(w.authority.publish())
    assert w.gate.verify(token).reason.value == name
    (entry,) = w.audit.entries
    assert entry["event"]["worker"] == "w7" and entry["event"]["issuer"] == "acme-id"


def test_the_boundaries_of_the_validity_window() -> None:
    w = make_world(max_age=10 * DAY)
    claims = standard_claims(w, not_before=T0 + 100, valid_for=1_000)
    token = w.issuer.sign_jws(claims)
    w.clock.set(T0 + 99)
    assert w.gate.verify(token).reason is Reason.NOT_YET_VALID
    w.clock.set(T0 + 100)
    assert w.gate.verify(token).ok
    w.clock.set(T0 + 1_099)
    assert w.gate.verify(token).ok
    w.clock.set(T0 + 1_100)
    assert w.gate.verify(token).reason is Reason.EXPIRED


def test_leeway_absorbs_clock_skew_and_no_more() -> None:
    w = make_world()
    token = w.issuer.sign_jws(standard_claims(w))
    skewed = GateVerifier(w.trust, w.cache, leeway=60, clock=lambda: T0 - 60)
    assert skewed.verify(token).ok
    behind = GateVerifier(w.trust, w.cache, leeway=60, clock=lambda: T0 - 61)
    assert behind.verify(token).reason is Reason.ISSUED_IN_FUTURE


def test_the_audit_log_records_every_decision() -> None:
    w = make_world()
    token = w.issuer.sign_jws(standard_claims(w))
    w.gate.verify(token)
    w.gate.verify("garbage")
    events = [e["event"] for e in w.audit.entries]
    assert [e["outcome"] for e in events] == ["ok", "malformed"]
    assert events[0]["worker"] == "w1" and events[1]["worker"] is None
    assert events[0]["issuer"] == "acme-id" and events[1]["issuer"] is None
    assert w.audit.verify().ok


def test_rotation_keeps_old_credentials_valid_and_distrust_ends_them() -> None:
    w = make_world()
    old = w.issuer.sign_jws(standard_claims(w))
    old_kid = w.keys.active_kid
    w.keys.rotate()
    new = w.issuer.sign_jws(standard_claims(w, "w2"))
    w.trust.load(w.keys.jwks(), issuer=w.keys.issuer)  # the gate fetches the new key set
    assert w.gate.verify(old).ok and w.gate.verify(new).ok
    assert w.keys.prune(T0) == []  # the old key signed credentials still valid
    w.trust.distrust(old_kid)
    assert w.gate.verify(old).reason is Reason.DISTRUSTED_KEY
    # The cached status list was signed by the distrusted key too: it counts for nothing now,
    # until a list signed by the new key arrives.
    assert w.gate.verify(new).reason is Reason.STATUS_UNAVAILABLE
    w.cache.update(w.authority.publish())
    assert w.gate.verify(new).ok
    w.trust.load(
        {"keys": make_jwks_with(w, old_kid)}, issuer=w.keys.issuer
    )  # a stale set cannot undo it
    assert w.gate.verify(old).reason is Reason.DISTRUSTED_KEY


def make_jwks_with(w, kid):  # type: ignore[no-untyped-def]
    pub = w.keys.private_key(kid).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return [{"kty": "OKP", "crv": "Ed25519", "x": b64url(pub), "kid": kid}]


def test_retired_keys_leave_the_key_set_once_their_credentials_expire() -> None:
    w = make_world()
    standard_claims(w)
    w.issuer.sign_jws(standard_claims(w))
    first = w.keys.active_kid
    w.keys.rotate()
    assert w.keys.prune(T0 + 30 * DAY - 1) == []
    assert w.keys.prune(T0 + 30 * DAY) == [first]
    assert first not in [k["kid"] for k in w.keys.jwks()["keys"]]


def test_a_compromised_issuer_key_leaves_the_jwks_at_once() -> None:
    w = make_world()
    bad = w.keys.active_kid
    w.keys.distrust(bad)
    assert w.keys.active_kid != bad
    assert bad not in [k["kid"] for k in w.keys.jwks()["keys"]]


def test_online_check_sees_a_revocation_the_cached_list_does_not() -> None:
    w = make_world()
    claims = standard_claims(w)
    token = w.issuer.sign_jws(claims)
    w.authority.revoke(claims.status_index)
    assert w.gate.verify(token).ok  # offline, the cached list predates the revocation
    online = GateVerifier(w.trust, w.cache, clock=w.clock, online=w.authority.check)
    verdict = online.verify(token)
    assert verdict.reason is Reason.REVOKED and "online" in verdict.detail

    def down(issuer: str, list_id: str, index: int) -> bool:
        raise OSError("no network at the gate")

    fallback = GateVerifier(w.trust, w.cache, clock=w.clock, online=down)
    assert fallback.verify(token).ok  # falls back to the cached list, within its max age


def _real_world():  # type: ignore[no-untyped-def]
    keys = KeySet("acme-id", seed=b"interop")
    authority = StatusAuthority(keys, "acme/status/1")
    issuer = Issuer(keys, authority)
    claims = issuer.issue("w1", "acme", "dock-3", "loader", valid_for=3_600)
    return keys, issuer, claims


def test_pyjwt_verifies_a_credential_we_issue() -> None:
    keys, issuer, claims = _real_world()
    token = issuer.sign_jws(claims)
    public = keys.private_key(keys.active_kid).public_key()
    decoded = jwt.decode(token, public, algorithms=["EdDSA"])
    assert decoded["sub"] == "w1" and decoded["jti"] == claims.credential_id
    assert jwt.get_unverified_header(token)["kid"] == keys.active_kid


def test_we_verify_a_credential_pyjwt_signs() -> None:
    keys, issuer, claims = _real_world()
    mine = issuer.sign_jws(claims)
    payload = json.loads(b64url_decode(mine.split(".")[1]))
    private = keys.private_key(keys.active_kid)
    theirs = jwt.encode(payload, private, algorithm="EdDSA", headers={"kid": keys.active_kid})
    trust = TrustStore.from_jwks(keys.jwks(), issuer=keys.issuer)
    cache = StatusListCache(trust)
    cache.update(issuer.statuses.publish())
    gate = GateVerifier(trust, cache)
    assert gate.verify(theirs).ok


def test_alg_none_is_refused() -> None:
    w = make_world()
    token = w.issuer.sign_jws(standard_claims(w))
    body = token.split(".")[1]
    header = b64url(json.dumps({"alg": "none", "kid": w.keys.active_kid}).encode())
    for forged in (f"{header}.{body}.", f"{header}.{body}"):
        verdict = w.gate.verify(forged)
        assert not verdict.ok
    assert w.gate.verify(f"{header}.{body}.").reason is Reason.BAD_ALGORITHM


def test_hs256_keyed_with_the_public_key_is_refused() -> None:
    """The classic confusion attack: HMAC 'signed' with the verifier's public key bytes."""
    w = make_world()
    token = w.issuer.sign_jws(standard_claims(w))
    payload = json.loads(b64url_decode(token.split(".")[1]))
    jwk = w.keys.jwks()["keys"][0]
    import hashlib
    import hmac

    header = b64url(json.dumps({"alg": "HS256", "kid": jwk["kid"], "typ": "JWT"}).encode())
    body = b64url(json.dumps(payload).encode())
    for secret in (b64url_decode(jwk["x"]), jwk["x"].encode(), json.dumps(jwk).encode()):
        mac = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        verdict = w.gate.verify(f"{header}.{body}.{b64url(mac)}")
        assert verdict.reason is Reason.BAD_ALGORITHM


def _nested(depth: int, payload: str = "e30") -> str:
    """An unsigned token whose header is ``depth`` open brackets: no key needed to send it."""
    return f"{b64url(b'[' * depth)}.{payload}.{b64url(bytes(64))}"


# Header parts nested deeper than the JSON parser goes: within the length limit (the parser's
# RecursionError) and beyond it (refused before decoding).
DEEP = [_nested(1_500), _nested(100_000)]


@pytest.mark.parametrize(
    "token",
    ["", ".", "..", "a.b.c", "a.b.c.d", "\ud800.x.y", "x" * 100_000, "é.é.é", " . . ", *DEEP],
)
def test_malformed_tokens_are_refused_never_accepted(token: str) -> None:
    w = make_world()
    verdict = w.gate.verify(token)
    assert not verdict.ok and verdict.reason in (Reason.MALFORMED, Reason.BAD_ALGORITHM)


def test_qr_form_is_small_and_round_trips() -> None:
    w = make_world()
    claims = standard_claims(w)
    blob = w.issuer.sign_compact(claims)
    text = b45encode(blob)
    assert len(blob) < 200 and len(text) < 300
    assert b45decode(text) == blob
    assert decode_compact(blob)[1] == claims
    assert w.gate.verify(b45decode(text)).ok


def test_qrcode_renders_the_compact_form() -> None:
    import qrcode

    w = make_world()
    text = b45encode(w.issuer.sign_compact(standard_claims(w)))
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    assert code.version <= 10


def test_jws_and_compact_carry_the_same_claims() -> None:
    w = make_world()
    claims = standard_claims(w)
    a = w.gate.verify(w.issuer.sign_jws(claims))
    b = w.gate.verify(w.issuer.sign_compact(claims))
    assert a.claims == b.claims == claims


def test_pyjwt_works_at_real_time() -> None:
    keys = KeySet("acme-id")
    issuer = Issuer(keys, StatusAuthority(keys, "l"), clock=time.time)
    token = issuer.sign_jws(issuer.issue("w", "e", "s", "r", valid_for=60))
    assert jwt.decode(token, keys.private_key(keys.active_kid).public_key(), algorithms=["EdDSA"])


@pytest.mark.parametrize("token", DEEP)
def test_a_deeply_nested_header_is_refused_audited_and_named_malformed(token: str) -> None:
    w = make_world()
    verdict = w.gate.verify(token)
    assert verdict.reason is Reason.MALFORMED
    assert [e["event"]["outcome"] for e in w.audit.entries] == ["malformed"]
    with pytest.raises(TokenFormatError):
        split_token(token)
    before = dict(w.cache.lists)
    with pytest.raises(IdentityError, match=r"malformed|header"):
        w.cache.update(token)
    assert w.cache.lists == before


def test_a_deeply_nested_signed_payload_is_malformed_not_a_crash() -> None:
    w = make_world()
    kid = w.keys.active_kid
    header = b64url(json.dumps({"alg": "EdDSA", "kid": kid, "typ": "JWT"}).encode())
    body = b64url(b"[" * 5_000)
    _, signature = w.keys.sign(f"{header}.{body}".encode())
    token = f"{header}.{body}.{b64url(signature)}"
    assert w.gate.verify(token).reason is Reason.MALFORMED
    with pytest.raises(TokenFormatError):
        split_token(token)
    with pytest.raises(IdentityError, match="malformed"):
        w.cache.update(token)


def test_the_longest_header_the_library_writes_is_read() -> None:
    issuer = "\x01" * 246  # 255 bytes of kid, 6 characters each once escaped as JSON
    keys = KeySet(issuer, seed=b"long")
    authority = StatusAuthority(keys, "L", clock=lambda: float(T0))
    issuer_ = Issuer(keys, authority, clock=lambda: float(T0))
    token = issuer_.sign_jws(issuer_.issue("w", "e", "s", "r", valid_for=60))
    assert len(token.split(".")[0]) <= MAX_HEADER_PART
    trust = TrustStore.from_jwks(keys.jwks(), issuer=issuer)
    cache = StatusListCache(trust, clock=lambda: float(T0))
    cache.update(authority.publish())
    assert GateVerifier(trust, cache, clock=lambda: float(T0)).verify(token).ok
