"""identity: credentials, keys, status lists, the gate verifier, the audit log, compliance.

The result records and the enum are in NOT_FUZZED. Not registered: the errors
``IdentityError`` and ``IdentityTypeError`` (what ``ERRORS`` names) and the constant
``MIN_BITS``, which are no entry points.
"""

from __future__ import annotations

import copy
from typing import Any

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.identity import (
    AuditLog,
    BitstringStatusList,
    Claims,
    ComplianceBook,
    GateVerifier,
    IdentityError,
    Issuer,
    KeySet,
    Qualification,
    StatusAuthority,
    StatusListCache,
    StatusServer,
    TrustStore,
    b45decode,
    b45encode,
    claims_from_payload,
    claims_to_payload,
    decode_compact,
    fetch_status_list,
    online_check,
    read_log,
    sign_compact,
    sign_jws,
    verify_chain,
)
from designpatterns_ref.identity.jws import split_token
from designpatterns_ref.identity.plot import (
    plot_badge_qr,
    plot_status_list_size,
    revocation_timeline,
)
from tests.fuzz.helpers import text_of
from tests.fuzz.spec import Entry

ERRORS = (IdentityError,)

#: Plain frozen containers that check nothing and have no method taking an argument, filled only
#: from values the calls that make them already checked (and those calls are registered).
NOT_FUZZED: dict[str, str] = {
    "Verdict": "the record GateVerifier.verify returns; no call takes one",
    "AuditCheck": "the record verify_chain returns; no call takes one",
    "Gap": "a record ComplianceBook.gaps returns; no call takes one",
    "Expiring": "a record ComplianceBook.sweep reports; no call takes one",
    "SweepReport": "the record ComplianceBook.sweep returns; no call takes one",
    "Reason": "an enum of why a verdict went as it did, only read from a Verdict",
}

T0 = 1_800_000_000
_KEYS = KeySet("acme-id", seed=b"fuzz")
_AUTHORITY = StatusAuthority(_KEYS, "L", clock=lambda: float(T0))
_ISSUER = Issuer(_KEYS, _AUTHORITY, clock=lambda: float(T0))
_CLAIMS = _ISSUER.issue("w1", "acme", "dock", "loader", valid_for=3_600)
_JWS = _ISSUER.sign_jws(_CLAIMS)
_LIST = _AUTHORITY.publish()
_QUAL = Qualification("forklift", T0 + 60)
_QCLAIMS = _ISSUER.issue("w2", "acme", "dock", "loader", valid_for=60, qualifications={"q": T0 + 9})
_CLAIM_ARGS: dict[str, Any] = {
    "issuer": "i",
    "credential_id": "c",
    "worker": "w",
    "employer": "e",
    "site": "s",
    "role": "r",
    "issued_at": 0,
    "not_before": 0,
    "expires": 10,
    "status_list": "L",
    "status_index": 0,
    "qualifications": (),
}
_ISSUE_ARGS: dict[str, Any] = {
    "worker": "w",
    "employer": "e",
    "site": "s",
    "role": "r",
    "valid_for": 60,
    "qualifications": None,
    "not_before": None,
}


def _keys() -> KeySet:
    return KeySet("acme-id", seed=b"fuzz")


def _authority() -> StatusAuthority:
    authority = StatusAuthority(_keys(), "L", clock=ManualClock(T0))
    authority.allocate()
    return authority


def _revoked_authority() -> StatusAuthority:
    authority = _authority()
    authority.revoke(0)
    return authority


def _state_with(name: str, value: Any) -> dict[str, Any]:
    """A saved authority state (index 0 allocated and revoked) with field ``name`` replaced."""
    state = _revoked_authority().state()
    state[name] = value
    return state


def _issuer() -> Issuer:
    keys = _keys()
    return Issuer(keys, StatusAuthority(keys, "L", clock=ManualClock(T0)), clock=ManualClock(T0))


def _trust() -> TrustStore:
    return TrustStore.from_jwks(_KEYS.jwks(), issuer="acme-id")


def _cache() -> StatusListCache:
    cache = StatusListCache(_trust(), clock=lambda: float(T0))
    cache.update(_LIST)
    return cache


def _gate(**kw: Any) -> GateVerifier:
    args: dict[str, Any] = {"clock": lambda: float(T0)}
    args.update(kw)
    trust = _trust()
    cache = StatusListCache(trust, clock=lambda: float(T0))
    cache.update(_LIST)
    return GateVerifier(trust, cache, **args)


def _book() -> ComplianceBook:
    book = ComplianceBook()
    book.require("dock", "forklift")
    book.assign("w1", "dock")
    book.record(_CLAIMS)
    return book


def _bits(sl: BitstringStatusList) -> bytes:
    return bytes(sl.bits)


def _authority_state(a: StatusAuthority) -> object:
    return (bytes(a.statuses.bits), a.next_index, dict(a.revoked_at))


def _cache_state(c: StatusListCache) -> object:
    return {k: (v[0], bytes(v[1]), v[2]) for k, v in c.lists.items()}


def _log() -> AuditLog:
    log = AuditLog(clock=lambda: 1.0)
    log.append({"outcome": "ok"})
    return log


ENTRIES = [
    Entry("KeySet(issuer)", call=lambda _, v: KeySet(v)),
    Entry("KeySet(seed)", call=lambda _, v: KeySet("i", seed=v)),
    Entry("KeySet.distrust", call=lambda k, v: k.distrust(v), make=_keys),
    Entry("KeySet.prune", call=lambda k, v: k.prune(v), make=_keys),
    Entry("KeySet.private_key", call=lambda k, v: k.private_key(v), make=_keys),
    Entry("KeySet.sign(data)", call=lambda k, v: k.sign(v), make=_keys),
    Entry("KeySet.sign(expires)", call=lambda k, v: k.sign(b"x", expires=v), make=_keys),
    Entry("TrustStore.from_jwks", call=lambda _, v: TrustStore.from_jwks(v, issuer="acme-id")),
    Entry("TrustStore.load(issuer)", call=lambda t, v: t.load(_KEYS.jwks(), issuer=v), make=_trust),
    Entry("TrustStore.load", call=lambda t, v: t.load(v, issuer="acme-id"), make=_trust),
    Entry(
        "TrustStore.load(keys list)",
        call=lambda t, v: t.load({"keys": [v]}, issuer="acme-id"),
        make=_trust,
    ),
    Entry(
        "TrustStore.load(x)",
        call=lambda t, v: t.load(
            {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": v}]}, issuer="k"
        ),
        make=_trust,
    ),
    Entry("TrustStore.distrust", call=lambda t, v: t.distrust(v), make=_trust),
    Entry("TrustStore.status", call=lambda t, v: t.status(v), make=_trust),
    Entry("TrustStore.get", call=lambda t, v: t.get(v), make=_trust),
    Entry("BitstringStatusList(size)", call=lambda _, v: BitstringStatusList(v)),
    Entry("BitstringStatusList.get", call=lambda s, v: s.get(v), make=BitstringStatusList),
    Entry(
        "BitstringStatusList.set(index)",
        call=lambda s, v: s.set(v),
        make=BitstringStatusList,
        snapshot=_bits,
    ),
    Entry(
        "BitstringStatusList.set(value)",
        call=lambda s, v: s.set(0, v),
        make=BitstringStatusList,
        snapshot=_bits,
    ),
    Entry("BitstringStatusList.decode", call=lambda _, v: BitstringStatusList.decode(v)),
    Entry("StatusAuthority(keys)", call=lambda _, v: StatusAuthority(v, "L")),
    Entry("StatusAuthority(list_id)", call=lambda _, v: StatusAuthority(_KEYS, v)),
    Entry("StatusAuthority(size)", call=lambda _, v: StatusAuthority(_KEYS, "L", size=v)),
    Entry("StatusAuthority(ttl)", call=lambda _, v: StatusAuthority(_KEYS, "L", ttl=v)),
    Entry("StatusAuthority(clock)", call=lambda _, v: StatusAuthority(_KEYS, "L", clock=v)),
    Entry(
        "StatusAuthority.revoke",
        call=lambda a, v: a.revoke(v),
        make=_authority,
        snapshot=_authority_state,
    ),
    Entry("StatusAuthority.check(issuer)", call=lambda a, v: a.check(v, "L", 0), make=_authority),
    Entry(
        "StatusAuthority.check(list_id)",
        call=lambda a, v: a.check("acme-id", v, 0),
        make=_authority,
    ),
    Entry(
        "StatusAuthority.check(index)",
        call=lambda a, v: a.check("acme-id", "L", v),
        make=_authority,
    ),
    Entry(
        "StatusAuthority.from_state(state)",
        call=lambda _, v: StatusAuthority.from_state(_keys(), v),
    ),
    Entry(
        "StatusAuthority.from_state(keys)",
        call=lambda _, v: StatusAuthority.from_state(v, _revoked_authority().state()),
    ),
    Entry(
        "StatusAuthority.from_state(clock)",
        call=lambda _, v: StatusAuthority.from_state(_keys(), _AUTHORITY.state(), clock=v),
    ),
    *[
        Entry(
            f"StatusAuthority.from_state(state[{name!r}])",
            call=lambda _, v, name=name: StatusAuthority.from_state(_keys(), _state_with(name, v)),
        )
        for name in ("issuer", "list_id", "size", "ttl", "next_index", "published", "revoked")
    ],
    Entry(
        "StatusAuthority.from_state(state['revoked'][0])",
        call=lambda _, v: StatusAuthority.from_state(_keys(), _state_with("revoked", [v])),
    ),
    Entry(
        "StatusAuthority.from_state(state['revoked'][0] index)",
        call=lambda _, v: StatusAuthority.from_state(_keys(), _state_with("revoked", [[v, 1.0]])),
    ),
    Entry(
        "StatusAuthority.from_state(state['revoked'][0] time)",
        call=lambda _, v: StatusAuthority.from_state(_keys(), _state_with("revoked", [[0, v]])),
    ),
    Entry("StatusListCache(trust)", call=lambda _, v: StatusListCache(v)),
    Entry("StatusListCache(clock)", call=lambda _, v: StatusListCache(_trust(), clock=v)),
    Entry("StatusListCache(leeway)", call=lambda _, v: StatusListCache(_trust(), leeway=v)),
    Entry(
        "StatusListCache.update",
        call=lambda c, v: c.update(v),
        make=_cache,
        snapshot=_cache_state,
    ),
    Entry(
        "StatusListCache.update(forged body)",
        call=lambda c, v: c.update(f"{_LIST.split('.')[0]}.{text_of(v)}.{_LIST.split('.')[2]}"),
        make=_cache,
        snapshot=_cache_state,
    ),
    Entry("StatusListCache.issued_at", call=lambda c, v: c.issued_at(v), make=_cache),
    Entry("Qualification(name)", call=lambda _, v: Qualification(v, 10)),
    Entry("Qualification(expires)", call=lambda _, v: Qualification("q", v)),
    Entry("Qualification.valid_at", call=lambda q, v: q.valid_at(v), make=lambda: _QUAL),
    Entry("Claims.qualification", call=lambda c, v: c.qualification(v), make=lambda: _QCLAIMS),
    *(
        Entry(f"Claims({field})", call=lambda _, v, f=field: Claims(**{**_CLAIM_ARGS, f: v}))
        for field in _CLAIM_ARGS
    ),
    Entry("Issuer(keys)", call=lambda _, v: Issuer(v, _AUTHORITY)),
    Entry("Issuer(statuses)", call=lambda _, v: Issuer(_KEYS, v)),
    Entry("Issuer(clock)", call=lambda _, v: Issuer(_KEYS, _AUTHORITY, clock=v)),
    *(
        Entry(
            f"Issuer.issue({field})",
            call=lambda i, v, f=field: i.issue(**{**_ISSUE_ARGS, f: v}),
            make=_issuer,
            snapshot=lambda i: (i.statuses.next_index, i.keys.active_kid),
        )
        for field in _ISSUE_ARGS
    ),
    Entry(
        "Issuer.issue(qualification expiry)",
        call=lambda i, v: i.issue(**{**_ISSUE_ARGS, "qualifications": {"q": v}}),
        make=_issuer,
        snapshot=lambda i: i.statuses.next_index,
    ),
    Entry("Issuer.sign_jws", call=lambda i, v: i.sign_jws(v), make=_issuer),
    Entry("Issuer.sign_compact", call=lambda i, v: i.sign_compact(v), make=_issuer),
    Entry("sign_jws(claims)", call=lambda _, v: sign_jws(v, _keys())),
    Entry("sign_jws(keys)", call=lambda _, v: sign_jws(_CLAIMS, v)),
    Entry("sign_compact(claims)", call=lambda _, v: sign_compact(v, _keys())),
    Entry("sign_compact(keys)", call=lambda _, v: sign_compact(_CLAIMS, v)),
    Entry("claims_to_payload", call=lambda _, v: claims_to_payload(v)),
    Entry("claims_from_payload", call=lambda _, v: claims_from_payload(v)),
    Entry(
        "claims_from_payload(field)",
        call=lambda _, v: claims_from_payload({**claims_to_payload(_CLAIMS), "sub": v}),
    ),
    Entry("split_token", call=lambda _, v: split_token(v)),
    Entry("decode_compact", call=lambda _, v: decode_compact(v)),
    Entry("b45encode", call=lambda _, v: b45encode(v)),
    Entry("b45decode", call=lambda _, v: b45decode(v)),
    Entry("GateVerifier(trust)", call=lambda _, v: GateVerifier(v, _cache())),
    Entry("GateVerifier(statuses)", call=lambda _, v: GateVerifier(_trust(), v)),
    *(
        Entry(f"GateVerifier({name})", call=lambda _, v, n=name: _gate(**{n: v}))
        for name in ("max_age", "leeway", "online", "audit", "gate", "clock")
    ),
    Entry("GateVerifier.verify", call=lambda g, v: g.verify(v), make=_gate),
    Entry(
        "GateVerifier.verify(payload)",
        call=lambda g, v: g.verify(f"{_JWS}{text_of(v)}"),
        make=_gate,
    ),
    Entry("AuditLog(path)", call=lambda _, v: AuditLog(v)),
    Entry("AuditLog(clock)", call=lambda _, v: AuditLog(clock=v)),
    Entry("AuditLog.append", call=lambda log, v: log.append(v), make=_log),
    Entry("AuditLog.append(value)", call=lambda log, v: log.append({"v": v}), make=_log),
    Entry("verify_chain", call=lambda _, v: verify_chain(v)),
    Entry("verify_chain(entry)", call=lambda _, v: verify_chain([v])),
    Entry("verify_chain(expected_count)", call=lambda _, v: verify_chain([], expected_count=v)),
    Entry("verify_chain(expected_head)", call=lambda _, v: verify_chain([], expected_head=v)),
    Entry("read_log", call=lambda _, v: read_log(v)),
    Entry("ComplianceBook.require(site)", call=lambda b, v: b.require(v, "q"), make=_book),
    Entry("ComplianceBook.require(qualification)", call=lambda b, v: b.require("s", v), make=_book),
    Entry("ComplianceBook.assign(worker)", call=lambda b, v: b.assign(v, "s"), make=_book),
    Entry("ComplianceBook.assign(site)", call=lambda b, v: b.assign("w", v), make=_book),
    Entry("ComplianceBook.record", call=lambda b, v: b.record(v), make=_book),
    Entry("ComplianceBook.unassign(worker)", call=lambda b, v: b.unassign(v, "s"), make=_book),
    Entry("ComplianceBook.unassign(site)", call=lambda b, v: b.unassign("w", v), make=_book),
    Entry(
        "ComplianceBook.withdraw(issuer)",
        call=lambda b, v: b.withdraw(v, _CLAIMS.credential_id),
        make=_book,
    ),
    Entry(
        "ComplianceBook.withdraw(credential_id)",
        call=lambda b, v: b.withdraw(_CLAIMS.issuer, v),
        make=_book,
    ),
    Entry("ComplianceBook.gaps(now)", call=lambda b, v: b.gaps(v), make=_book),
    Entry("ComplianceBook.gaps(site)", call=lambda b, v: b.gaps(0, site=v), make=_book),
    Entry("ComplianceBook.sweep(now)", call=lambda b, v: b.sweep(v), make=_book),
    Entry("ComplianceBook.sweep(horizon)", call=lambda b, v: b.sweep(0, horizon=v), make=_book),
]


def _reading(value: Any) -> Any:
    """A clock that returns ``value``: every reader must refuse what is not a finite time."""
    return lambda: value


ENTRIES += [
    Entry(
        "GateVerifier.verify(clock reading)",
        call=lambda _, v: _gate(clock=_reading(v)).verify(_JWS),
    ),
    Entry(
        "Issuer.issue(clock reading)",
        call=lambda _, v: Issuer(_keys(), _authority(), clock=_reading(v)).issue(**_ISSUE_ARGS),
    ),
    Entry(
        "StatusAuthority.publish(clock reading)",
        call=lambda _, v: StatusAuthority(_KEYS, "L", clock=_reading(v)).publish(),
    ),
    Entry(
        "StatusAuthority.revoke(clock reading)",
        call=lambda a, v: (setattr(a, "clock", _reading(v)), a.revoke(0)),
        make=_authority,
        snapshot=_authority_state,
    ),
    Entry(
        "AuditLog.append(clock reading)",
        call=lambda log, v: (setattr(log, "clock", _reading(v)), log.append({"outcome": "ok"})),
        make=_log,
        snapshot=lambda log: (copy.deepcopy(log.entries), log.head),
    ),
]

ENTRIES += [
    Entry("online_check(base_url)", call=lambda _, v: online_check(v, issuer="acme-id")),
    Entry("online_check(issuer)", call=lambda _, v: online_check("http://127.0.0.1:9", issuer=v)),
    Entry(
        "online_check(timeout)",
        call=lambda _, v: online_check("http://127.0.0.1:9", issuer="acme-id", timeout=v),
    ),
    Entry("fetch_status_list(timeout)", call=lambda _, v: fetch_status_list("x", timeout=v)),
    Entry("StatusServer(authority)", call=lambda _, v: StatusServer(v)),
    Entry("StatusServer(host)", call=lambda _, v: StatusServer(_AUTHORITY, host=v)),
    Entry("StatusServer(port)", call=lambda _, v: StatusServer(_AUTHORITY, port=v)),
]

ENTRIES += [
    Entry(
        "plot.revocation_timeline(max_age)",
        call=lambda _, v: revocation_timeline(
            max_age=v, publish_every=600, revoked_at=100, horizon=1_200
        ),
    ),
    Entry(
        "plot.revocation_timeline(step)",
        call=lambda _, v: revocation_timeline(
            max_age=60, publish_every=600, revoked_at=100, horizon=1_200, step=v
        ),
    ),
    Entry(
        "plot.plot_status_list_size(entries)", call=lambda _, v: plot_status_list_size(entries=v)
    ),
    Entry(
        "plot.plot_status_list_size(fractions)",
        call=lambda _, v: plot_status_list_size(entries=8, fractions=(v,)),
    ),
    Entry("plot.plot_badge_qr(blob)", call=lambda _, v: plot_badge_qr(v)),
    Entry(
        "plot.plot_badge_qr(error_correction)",
        call=lambda _, v: plot_badge_qr(b"x", error_correction=v),
    ),
]
