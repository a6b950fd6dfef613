"""Property tests: a credential verifies iff it should; any flipped bit fails; revocation window."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.identity import GateVerifier, Reason
from tests.identity.world import DAY, T0, make_world, standard_claims

MAX_AGE = 3_600


@st.composite
def scenarios(draw):  # type: ignore[no-untyped-def]
    return {
        "form": draw(st.sampled_from(["jws", "compact"])),
        "key": draw(st.sampled_from(["trusted", "unknown", "withdrawn", "distrusted"])),
        "modified": draw(st.booleans()),
        "not_before": draw(st.integers(0, 2 * DAY)),
        "valid_for": draw(st.integers(1, 3 * DAY)),
        "revoked_at": draw(st.one_of(st.none(), st.integers(0, 4 * DAY))),
        "published_at": draw(st.integers(0, 4 * DAY)),
        "now": draw(st.integers(0, 5 * DAY)),
        "bit": draw(st.integers(0, 10**6)),
    }


def flip(token: str | bytes, bit: int) -> str | bytes:
    data = bytearray(token.encode("latin-1") if isinstance(token, str) else token)
    data[(bit // 8) % len(data)] ^= 1 << (bit % 8)
    return data.decode("latin-1") if isinstance(token, str) else bytes(data)


@settings(max_examples=150)
@given(scenarios())
def test_a_credential_verifies_iff_it_should(s) -> None:  # type: ignore[no-untyped-def]
    w = make_world(max_age=MAX_AGE)
    signer = make_world(seed=b"stranger") if s["key"] == "unknown" else w
    claims = standard_claims(signer, not_before=T0 + s["not_before"], valid_for=s["valid_for"])
    token = (
        signer.issuer.sign_jws(claims) if s["form"] == "jws" else signer.issuer.sign_compact(claims)
    )
    if s["key"] in ("withdrawn", "distrusted"):  # compromised: the issuer moves to a new key
        bad = w.keys.active_kid
        w.keys.distrust(bad)
        w.trust.load(w.keys.jwks(), issuer=w.keys.issuer)  # the gate fetches the new set
        if s["key"] == "distrusted":
            w.trust.distrust(bad)  # and is told of the compromise as well
    if s["modified"]:
        token = flip(token, s["bit"])
    events: list[tuple[int, int, str]] = []
    if s["revoked_at"] is not None and s["key"] != "unknown":
        events.append((s["revoked_at"], 0, "revoke"))  # in the same second: revoke first
    events.append((s["published_at"], 1, "publish"))
    for at, _, what in sorted(events):
        w.clock.set(T0 + at)
        if what == "revoke":
            w.authority.revoke(claims.status_index)
        else:
            w.cache.update(w.authority.publish())
    now = max(s["now"], s["published_at"], s["revoked_at"] or 0)
    w.clock.set(T0 + now)
    verdict = w.gate.verify(token)
    revoked_in_list = s["revoked_at"] is not None and s["revoked_at"] <= s["published_at"]
    expected = (
        s["key"] == "trusted"
        and not s["modified"]
        and s["not_before"] <= now < s["not_before"] + s["valid_for"]
        and now - s["published_at"] < MAX_AGE
        and not (revoked_in_list and s["key"] != "unknown")
    )
    assert verdict.ok is expected, f"{verdict.reason} {sorted(s.items())}"


def test_every_single_bit_flip_of_both_encodings_is_refused() -> None:
    w = make_world()
    claims = standard_claims(w)
    for token in (w.issuer.sign_jws(claims), w.issuer.sign_compact(claims)):
        assert w.gate.verify(token).ok
        for bit in range(len(token) * 8):
            verdict = w.gate.verify(flip(token, bit))
            assert not verdict.ok, (bit, verdict)


@settings(max_examples=60)
@given(
    max_age=st.integers(1, 2 * DAY),
    revoked_at=st.integers(0, DAY),
    publishes=st.lists(st.integers(0, 3 * DAY), min_size=1, max_size=6),
    checks=st.lists(st.integers(0, 4 * DAY), min_size=1, max_size=20),
)
def test_an_offline_gate_never_accepts_a_revoked_credential_max_age_after_revocation(
    max_age: int, revoked_at: int, publishes: list[int], checks: list[int]
) -> None:
    w = make_world(max_age=max_age)
    claims = standard_claims(w, valid_for=10 * DAY)
    token = w.issuer.sign_compact(claims)
    gate = GateVerifier(w.trust, w.cache, max_age=max_age, clock=w.clock)
    events = sorted(
        [(t, 0, "revoke") for t in [revoked_at]]
        + [(t, 1, "publish") for t in publishes]
        + [(t, 2, "check") for t in checks]
    )
    for at, _, what in events:
        w.clock.set(T0 + at)
        if what == "revoke":
            w.authority.revoke(claims.status_index)
        elif what == "publish":
            w.cache.update(w.authority.publish())
        else:
            verdict = gate.verify(token)
            if verdict.ok:
                assert at < revoked_at + max_age, (at, revoked_at, max_age)
            if at >= revoked_at + max_age:
                assert verdict.reason in (Reason.REVOKED, Reason.STALE_STATUS)


names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)


@settings(max_examples=100)
@given(
    worker=names,
    site=names,
    quals=st.dictionaries(names, st.integers(0, 2**32 - 1), max_size=3),
)
def test_the_written_out_payload_is_the_json_of_the_claims(worker, site, quals) -> None:  # type: ignore[no-untyped-def]
    import json

    from designpatterns_ref.identity import Claims, Qualification, claims_to_payload
    from designpatterns_ref.identity.jws import payload_json

    claims = Claims(
        "iss",
        "c/1",
        worker,
        'emp "quoted" \\ back',
        site,
        "role",
        0,
        0,
        10,
        "L",
        7,
        tuple(Qualification(n, e) for n, e in quals.items()),
    )
    assert payload_json(claims) == json.dumps(claims_to_payload(claims), separators=(",", ":"))
    w = make_world()
    token = w.issuer.sign_jws(w.issuer.issue(worker, "e", site, "r", valid_for=60))
    verdict = w.gate.verify(token)
    assert verdict.ok and verdict.claims is not None and verdict.claims.worker == worker
