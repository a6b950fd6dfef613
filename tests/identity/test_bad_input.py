"""Bad input: the family's error, naming the argument, and nothing changed."""

from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.identity import (
    BitstringStatusList,
    Claims,
    ComplianceBook,
    GateVerifier,
    IdentityError,
    KeySet,
    Qualification,
    Reason,
    StatusListCache,
    TrustStore,
)
from designpatterns_ref.identity.base import claims_from_values
from designpatterns_ref.identity.keys import b64url_decode
from tests.identity.world import make_world, standard_claims

HOSTILE = [None, True, math.nan, math.inf, -1, 10**400, "", "\ud800", "x" * 300, [], b"x", 1.5]


def _state(world) -> object:  # type: ignore[no-untyped-def]
    return (
        world.authority.next_index,
        bytes(world.authority.statuses.bits),
        world.keys.kids(),
        world.keys.active_kid,
        {k: (v[0], bytes(v[1])) for k, v in world.cache.lists.items()},
        copy.deepcopy(world.audit.entries),
    )


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    "field", ["worker", "employer", "site", "role", "valid_for", "not_before", "qualifications"]
)
def test_issue_refuses_and_allocates_nothing(field: str, value: object) -> None:
    w = make_world()
    before = _state(w)
    args: dict[str, object] = {"worker": "w", "employer": "e", "site": "s", "role": "r"}
    kwargs: dict[str, object] = {"valid_for": 60}
    if field in args:
        args[field] = value
    else:
        kwargs[field] = value
    if field == "qualifications" and value is None:
        return  # None means "no qualifications"
    if field == "not_before" and value is None:
        return
    if field == "valid_for" and value == 1.5:
        return  # a valid duration
    with pytest.raises(IdentityError) as info:
        w.issuer.issue(*args.values(), **kwargs)  # type: ignore[arg-type]
    assert _state(w) == before
    assert "=" in str(info.value)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_gate_never_raises_on_a_hostile_token(value: object) -> None:
    w = make_world()
    verdict = w.gate.verify(value)
    assert not verdict.ok and verdict.reason in (Reason.MALFORMED, Reason.BAD_ALGORITHM)


def test_a_future_iat_is_refused_with_its_reason() -> None:
    w = make_world()
    token = w.issuer.sign_jws(standard_claims(w))
    w.clock.set(w.clock() - 1, allow_backwards=True)
    verdict = w.gate.verify(token)
    assert verdict.reason is Reason.ISSUED_IN_FUTURE and "issued at" in verdict.detail


@pytest.mark.parametrize("value", HOSTILE)
def test_status_list_and_cache_refuse_and_keep_their_state(value: object) -> None:
    w = make_world()
    sl = BitstringStatusList()
    with pytest.raises(IdentityError):
        sl.set(value)  # type: ignore[arg-type]
    assert sl.count() == 0
    before = _state(w)
    with pytest.raises(IdentityError):
        w.cache.update(value)  # type: ignore[arg-type]
    with pytest.raises(IdentityError):
        w.authority.revoke(value)  # type: ignore[arg-type]
    assert _state(w) == before


@pytest.mark.parametrize("value", HOSTILE)
def test_key_management_refuses(value: object) -> None:
    w = make_world()
    before = _state(w)
    with pytest.raises(IdentityError):
        w.keys.distrust(value)  # type: ignore[arg-type]
    with pytest.raises(IdentityError):
        w.trust.load(value, issuer="acme-id")
    with pytest.raises(IdentityError):
        TrustStore.from_jwks(
            {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": value}]}, issuer="k"
        )
    assert _state(w) == before and len(w.trust) == 1


def test_a_jwk_of_another_kind_is_refused() -> None:
    for jwk in (
        {"kty": "RSA", "kid": "k", "n": "x", "e": "AQAB"},
        {"kty": "OKP", "crv": "X25519", "kid": "k", "x": "A" * 43},
        {"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "A" * 43, "alg": "HS256"},
        {"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "AAAA"},
    ):
        with pytest.raises(IdentityError):
            TrustStore.from_jwks({"keys": [jwk]}, issuer="k")


@pytest.mark.parametrize("value", HOSTILE)
def test_constructors_name_the_argument(value: object) -> None:
    w = make_world()
    for build in (
        lambda: GateVerifier(w.trust, w.cache, max_age=value),  # type: ignore[arg-type]
        lambda: GateVerifier(w.trust, w.cache, gate=value),  # type: ignore[arg-type]
        lambda: StatusListCache(value),  # type: ignore[arg-type]
        lambda: Qualification("q", value),  # type: ignore[arg-type]
    ):
        if value in (1.5,) and build is not None:
            continue
        with pytest.raises(IdentityError):
            build()


def test_claims_must_hold_a_window() -> None:
    with pytest.raises(IdentityError, match="not_before=10 must be before expires=10"):
        Claims("i", "c", "w", "e", "s", "r", 0, 10, 10, "L", 0)
    with pytest.raises(IdentityError, match="twice"):
        Claims("i", "c", "w", "e", "s", "r", 0, 0, 10, "L", 0, (Qualification("q", 1),) * 2)


@pytest.mark.parametrize("value", [None, True, math.nan, math.inf, 10**400, "3", []])
def test_compliance_refuses_and_keeps_its_state(value: object) -> None:
    w = make_world()
    book = ComplianceBook()
    book.record(standard_claims(w))
    before = (dict(book.holdings), list(book.expiries), book.last_sweep)
    with pytest.raises(IdentityError):
        book.gaps(value)  # type: ignore[arg-type]
    with pytest.raises(IdentityError):
        book.sweep(value)  # type: ignore[arg-type]
    with pytest.raises(IdentityError):
        book.record(value)  # type: ignore[arg-type]
    assert (dict(book.holdings), list(book.expiries), book.last_sweep) == before


@pytest.mark.parametrize("value", [None, True, math.nan, math.inf, -math.inf, "3", b"x", []])
def test_qualification_valid_at_refuses_what_is_not_a_time(value: object) -> None:
    q = Qualification("forklift", 1_000)
    with pytest.raises(IdentityError, match="now="):
        q.valid_at(value)  # type: ignore[arg-type]
    assert q == Qualification("forklift", 1_000)


def test_qualification_valid_at_compares_any_whole_number_exactly() -> None:
    q = Qualification("forklift", 1_000)
    assert q.valid_at(-(10**400)) and not q.valid_at(10**400) and q.valid_at(999.5)


@pytest.mark.parametrize("value", [None, True, 3, b"forklift", ["forklift"]])
def test_claims_qualification_refuses_a_name_that_is_not_a_str(value: object) -> None:
    claims = standard_claims(make_world())
    with pytest.raises(IdentityError, match="name="):
        claims.qualification(value)  # type: ignore[arg-type]
    assert claims.qualification("forklift") is not None


TEXTS = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="é€😀a", min_size=60, max_size=260),
    st.sampled_from(["", "a" * 255, "a" * 256, "é" * 127, "é" * 128, "\ud800", "a\udfff"]),
)


@given(text=TEXTS, where=st.integers(0, 7))
def test_the_verifiers_claims_take_exactly_what_the_constructor_takes(
    text: str, where: int
) -> None:
    """The oracle is the Claims constructor: a text claim is 1 to 255 bytes of UTF-8."""
    texts: list[object] = ["i", "c", "w", "e", "s", "r", "L"]
    quals: list[tuple[object, object]] = [("q", 10)]
    if where < 7:
        texts[where] = text
    else:
        quals[0] = (text, 10)
    try:
        Claims(*texts[:6], 0, 0, 10, texts[6], 0, (Qualification(*quals[0]),))  # type: ignore[arg-type]
        expected = True
    except IdentityError:
        expected = False
    try:
        claims_from_values(tuple(texts), (0, 0, 10, 0), quals)
        got = True
    except IdentityError:
        got = False
    assert got is expected


def test_a_peer_signed_token_with_an_overlong_claim_is_malformed() -> None:
    import jwt

    w = make_world()
    token = w.issuer.sign_jws(standard_claims(w))
    payload = json.loads(b64url_decode(token.split(".")[1]))
    payload["sub"] = "é" * 200  # 200 characters, 400 bytes of UTF-8
    private = w.keys.private_key(w.keys.active_kid)
    theirs = jwt.encode(payload, private, algorithm="EdDSA", headers={"kid": w.keys.active_kid})
    assert w.gate.verify(theirs).reason is Reason.MALFORMED


@pytest.mark.parametrize("valid_for", [0.5, 0.999, 1e-9])
def test_a_validity_under_one_second_names_valid_for(valid_for: float) -> None:
    w = make_world()
    before = _state(w)
    with pytest.raises(IdentityError, match="valid_for"):
        w.issuer.issue("w", "e", "s", "r", valid_for=valid_for)
    assert _state(w) == before
    assert w.issuer.issue("w", "e", "s", "r", valid_for=1).expires == int(w.clock()) + 1


@pytest.mark.parametrize("seed", ["hunter2-secret", bytearray(b"hunter2-secret"), [7, 7, 7]])
def test_a_seed_of_the_wrong_type_is_refused_without_echoing_it(seed: object) -> None:
    with pytest.raises(IdentityError, match="seed") as info:
        KeySet("acme-id", seed=seed)  # type: ignore[arg-type]
    assert "hunter2" not in str(info.value) and "7, 7" not in str(info.value)


def test_an_empty_seed_is_refused() -> None:
    with pytest.raises(IdentityError, match="seed"):
        KeySet("acme-id", seed=b"")
