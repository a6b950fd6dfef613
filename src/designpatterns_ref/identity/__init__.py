"""Worker identity: signed credentials that verify offline, revoke in time, leave a trail.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

An issuer (:class:`Issuer`) signs a worker's :class:`Claims` with Ed25519 (the ``cryptography``
package, the ``identity`` extra) as a compact JWS that any JOSE library verifies
(:mod:`.jws`) or as a compact binary form small enough for a QR code (:mod:`.compact`). Keys
carry ids, rotate and can be distrusted (:class:`KeySet`, :class:`TrustStore`, a JWKS in
between). Revocation is a W3C Bitstring Status List (:mod:`.bitstring`), signed by the
issuer's authority (:mod:`.statuslist`) and cached at the gate with a max age
(:mod:`.statuscache`), or an online check over HTTP (:mod:`.online`). A site gate
(:class:`GateVerifier`) accepts or refuses with a :class:`Reason`, offline, and writes every
decision to a hash-chained :class:`AuditLog`.
:class:`ComplianceBook` answers who lacks which qualification where, and sweeps expiries.

This package imports ``cryptography``; ``import designpatterns_ref`` does not import it.

>>> keys = KeySet("acme-id", seed=b"doc")
>>> authority = StatusAuthority(keys, "acme-list-1", clock=lambda: 1_000.0)
>>> issuer = Issuer(keys, authority, clock=lambda: 1_000.0)
>>> token = issuer.sign_jws(issuer.issue("w1", "acme", "dock-3", "loader", valid_for=3600))
>>> trust = TrustStore.from_jwks(keys.jwks(), issuer="acme-id")
>>> cache = StatusListCache(trust, clock=lambda: 1_000.0)
>>> _ = cache.update(authority.publish())
>>> GateVerifier(trust, cache, clock=lambda: 1_000.0).verify(token).ok
True
"""  # noqa: E501

from __future__ import annotations

from designpatterns_ref.identity.audit import AuditCheck, AuditLog, read_log, verify_chain
from designpatterns_ref.identity.base import (
    Claims,
    IdentityError,
    IdentityTypeError,
    Qualification,
    Reason,
    Verdict,
)
from designpatterns_ref.identity.bitstring import MIN_BITS, BitstringStatusList
from designpatterns_ref.identity.compact import b45decode, b45encode, decode_compact, sign_compact
from designpatterns_ref.identity.compliance import ComplianceBook, Expiring, Gap, SweepReport
from designpatterns_ref.identity.issuer import Issuer
from designpatterns_ref.identity.jws import claims_from_payload, claims_to_payload, sign_jws
from designpatterns_ref.identity.keys import KeySet, TrustStore
from designpatterns_ref.identity.online import StatusServer, fetch_status_list, online_check
from designpatterns_ref.identity.statuscache import StatusListCache
from designpatterns_ref.identity.statuslist import StatusAuthority
from designpatterns_ref.identity.verifier import GateVerifier

__all__ = [
    "MIN_BITS",
    "AuditCheck",
    "AuditLog",
    "BitstringStatusList",
    "Claims",
    "ComplianceBook",
    "Expiring",
    "Gap",
    "GateVerifier",
    "IdentityError",
    "IdentityTypeError",
    "Issuer",
    "KeySet",
    "Qualification",
    "Reason",
    "StatusAuthority",
    "StatusListCache",
    "StatusServer",
    "SweepReport",
    "TrustStore",
    "Verdict",
    "b45decode",
    "b45encode",
    "claims_from_payload",
    "claims_to_payload",
    "decode_compact",
    "fetch_status_list",
    "online_check",
    "read_log",
    "sign_compact",
    "sign_jws",
    "verify_chain",
]
