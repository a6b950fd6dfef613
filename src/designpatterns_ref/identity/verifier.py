"""The gate verifier: accepts or refuses a credential offline, with a reason, and audits it.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

A site gate has no network it can count on. :class:`GateVerifier` holds what it needs locally:
a :class:`~designpatterns_ref.identity.keys.TrustStore` (the issuers' public keys, by kid) and a
:class:`~designpatterns_ref.identity.statuslist.StatusListCache` (the latest signed status lists).
:meth:`GateVerifier.verify` takes a compact JWS (``str``) or a compact binary credential
(``bytes``) and checks, in this order, stopping at the first failure:

1. the token is well formed, and its algorithm is exactly EdDSA (``malformed``, ``bad algorithm``);
2. its kid names a trusted key (``unknown key``, ``distrusted key``);
3. the Ed25519 signature verifies over the exact bytes received (``bad signature``);
4. its issuer is the issuer of the key that signed it: a kid is ``issuer#fingerprint``, and
   :meth:`TrustStore.load <designpatterns_ref.identity.keys.TrustStore.load>` takes a kid only
   from the key set of the issuer it names, and only with the fingerprint of its own key, so one
   trusted issuer cannot sign a credential in another's name (``wrong issuer``);
5. it is not issued in the future, is already valid and not yet expired, each within ``leeway``
   seconds of clock skew (``issued in the future``, ``not yet valid``, ``expired``);
6. its status bit is clear: read from a cached list issued less than ``max_age`` seconds ago,
   not later than ``leeway`` seconds ahead of the gate's clock, and signed by a key of the
   credential's own issuer that is still trusted (``status unavailable``, ``stale status
   list``, ``revoked``). A gate with a connection also asks ``online(issuer, list id,
   index)`` (the credential's own issuer, since two issuers may name their lists alike), but
   the online answer can only add a revocation or stand in for a list that is stale or
   missing: when the held list shows the bit set (however old it is: a revocation is never
   undone), the credential is revoked whatever the online answer says, so an unsigned answer
   (a man in the middle, a lagging replica) can never un-revoke a badge.

The policy's promise: a revoked credential is accepted offline for strictly less than
``max_age`` seconds after its revocation (the age is counted from the list's signed issue time).
A list is fresh for ``max_age`` or for its own signed ``ttl``, whichever is shorter: the
issuer keeps the list's signing key published for its ``ttl``
(:meth:`KeySet.prune <designpatterns_ref.identity.keys.KeySet.prune>`), so a gate never
holds a fresh list whose key a routine rotation has retired and pruned.
Nothing is trusted before the signature has verified, except the header's kid. A verdict
carries the claims (and the audit log records the credential, its issuer and its worker) once
they are authentic: the signature verified and the issuer is the signing key's, so from
``issued in the future`` on, refusals on status included. A ``wrong issuer`` verdict carries
none: those claims are another issuer's words about someone else's badge, not evidence of who
came to the gate. A gate sees the
same badges again and again, so the parse of a payload it has seen before is reused (a bounded
cache keyed by the exact text); the signature is verified on every scan regardless.

One gate, one verifier: it is not meant to be shared between threads (its caches and the audit
log it appends to have no lock).

What the gate does not check: whether the worker's qualifications are still valid, and whether
the credential's site and role are the ones this gate admits. Those are the caller's policy, on
``verdict.claims`` (``claims.qualification("forklift").valid_at(now)``, ``claims.site``).

Complexity: one Ed25519 verify plus O(token length) parsing; the status lookup is O(1).

>>> from designpatterns_ref.identity.issuer import Issuer
>>> from designpatterns_ref.identity.keys import KeySet, TrustStore
>>> from designpatterns_ref.identity.statuslist import StatusAuthority, StatusListCache
>>> now = [1_000.0]
>>> keys = KeySet("acme-id", seed=b"doc")
>>> authority = StatusAuthority(keys, "acme-list-1", clock=lambda: now[0])
>>> issuer = Issuer(keys, authority, clock=lambda: now[0])
>>> token = issuer.sign_jws(issuer.issue("w1", "acme", "dock-3", "loader", valid_for=3600))
>>> trust = TrustStore.from_jwks(keys.jwks(), issuer="acme-id")
>>> cache = StatusListCache(trust, clock=lambda: now[0])
>>> _ = cache.update(authority.publish())
>>> gate = GateVerifier(trust, cache, max_age=600, clock=lambda: now[0])
>>> gate.verify(token).reason.value
'ok'
>>> now[0] += 601
>>> gate.verify(token).reason.value
'stale status list'
"""  # noqa: E501

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature

from designpatterns_ref.errors import shown
from designpatterns_ref.identity.audit import AuditLog
from designpatterns_ref.identity.base import (
    Claims,
    IdentityTypeError,
    Reason,
    Verdict,
    check_name,
    check_seconds,
    read_clock,
)
from designpatterns_ref.identity.compact import decode_compact
from designpatterns_ref.identity.jws import TokenFormatError, claims_from_payload, parse_header
from designpatterns_ref.identity.keys import TrustStore, b64url_decode
from designpatterns_ref.identity.statuscache import StatusListCache

__all__ = ["GateVerifier"]

_HEADER_CACHE_LIMIT = 256
_PARSE_CACHE_LIMIT = 4_096
_loads = json.JSONDecoder().decode  # str in: no encoding detection on the hot path


class GateVerifier:
    """Offline verification at a site gate with a cached key set and status lists."""

    def __init__(
        self,
        trust: TrustStore,
        statuses: StatusListCache,
        *,
        max_age: float = 86_400.0,
        leeway: float = 0.0,
        online: Callable[[str, str, int], bool] | None = None,
        audit: AuditLog | None = None,
        gate: str = "gate",
        clock: Callable[[], float] | None = None,
    ) -> None:
        if clock is not None and not callable(clock):
            raise IdentityTypeError(f"clock={shown(clock, 80)} must be callable or None")
        if not isinstance(trust, TrustStore):
            raise IdentityTypeError(f"trust={shown(trust, 80)} must be a TrustStore")
        if not isinstance(statuses, StatusListCache):
            raise IdentityTypeError(f"statuses={shown(statuses, 80)} must be a StatusListCache")
        if online is not None and not callable(online):
            raise IdentityTypeError(f"online={shown(online, 80)} must be callable or None")
        if audit is not None and not isinstance(audit, AuditLog):
            raise IdentityTypeError(f"audit={shown(audit, 80)} must be an AuditLog or None")
        self.max_age = check_seconds("max_age", max_age)
        self.leeway = check_seconds("leeway", leeway)
        self.gate = check_name("gate", gate)
        self.trust = trust
        self.statuses = statuses
        self.online = online
        self.audit = audit
        self.clock: Callable[[], float] = clock if clock is not None else time.time
        self._kids: dict[str, str] = {}  # header part -> kid, for headers already accepted
        # Payloads already parsed (a worker passes the same gate several times a day). The
        # signature is still verified on every scan, over the exact bytes received; only the
        # deterministic parse of identical text is reused. Bounded: cleared when full.
        self._parsed: dict[str, Claims] = {}
        self._parsed_compact: dict[bytes, tuple[str, Claims]] = {}

    def verify(self, token: object) -> Verdict:
        """Accept or refuse ``token`` (a compact JWS ``str`` or compact ``bytes``), saying why.

        Reads the clock once, first: a reading that is not a finite number of seconds (NaN,
        an infinity, a bool, an int beyond a float's range, not a number) raises
        :class:`IdentityError` before anything is checked, cached or audited, so a broken time
        source accepts nothing (every time comparison with NaN is false: it would refuse
        nothing either).
        """
        now = read_clock(self.clock, "GateVerifier.verify")
        verdict = self._verify(token, now)
        if self.audit is not None:
            claims = verdict.claims
            self.audit.append(
                {
                    "gate": self.gate,
                    "outcome": verdict.reason.value,
                    "issuer": None if claims is None else claims.issuer,
                    "credential": None if claims is None else claims.credential_id,
                    "worker": None if claims is None else claims.worker,
                }
            )
        return verdict

    def _remember(self, payload_part: str, claims: Claims) -> None:
        if len(self._parsed) >= _PARSE_CACHE_LIMIT:
            self._parsed.clear()
        self._parsed[payload_part] = claims

    def _remember_compact(self, body: bytes, parsed: tuple[str, Claims]) -> None:
        if len(self._parsed_compact) >= _PARSE_CACHE_LIMIT:
            self._parsed_compact.clear()
        self._parsed_compact[body] = parsed

    def _kid_of(self, header_part: str) -> str:
        kid = self._kids.get(header_part)
        if kid is None:
            kid = parse_header(header_part)["kid"]
            assert isinstance(kid, str)
            if len(self._kids) < _HEADER_CACHE_LIMIT:
                self._kids[header_part] = kid
        return kid

    def _verify(self, token: object, now: float) -> Verdict:
        try:
            if type(token) is str:
                signing_input, _, signature_part = token.rpartition(".")
                header_part, dot, payload_part = signing_input.partition(".")
                if not dot or "." in payload_part:
                    return Verdict(False, Reason.MALFORMED, "a compact JWS has three parts")
                kid = self._kid_of(header_part)
                key = self.trust.get(kid)
                if key is None:
                    return self._key_refusal(kid)
                signature = b64url_decode(signature_part)
                if len(signature) != 64:
                    return Verdict(False, Reason.MALFORMED, "an Ed25519 signature is 64 bytes")
                try:
                    key.verify(signature, signing_input.encode("ascii"))
                except InvalidSignature:
                    return Verdict(False, Reason.BAD_SIGNATURE, f"signature fails for key {kid}")
                claims = self._parsed.get(payload_part)
                if claims is None:
                    claims = claims_from_payload(_loads(b64url_decode(payload_part).decode()))
                    self._remember(payload_part, claims)
            elif type(token) is bytes:
                body, signature = token[:-64], token[-64:]
                known = self._parsed_compact.get(body)
                if known is None:
                    kid, claims, body, signature = decode_compact(token)
                    self._remember_compact(body, (kid, claims))
                else:
                    kid, claims = known
                key = self.trust.get(kid)
                if key is None:
                    return self._key_refusal(kid)
                try:
                    key.verify(signature, body)
                except InvalidSignature:
                    return Verdict(False, Reason.BAD_SIGNATURE, f"signature fails for key {kid}")
            else:
                return Verdict(
                    False, Reason.MALFORMED, f"a token is str or bytes, not {type(token).__name__}"
                )
        except TokenFormatError as bad:
            reason = Reason.BAD_ALGORITHM if bad.algorithm else Reason.MALFORMED
            return Verdict(False, reason, str(bad))
        except (ValueError, UnicodeError) as bad:
            return Verdict(False, Reason.MALFORMED, f"not a well-formed token: {bad}")
        except RecursionError:  # JSON nested deeper than the parser goes
            return Verdict(False, Reason.MALFORMED, "not a well-formed token: nested too deep")
        signer = kid.rpartition("#")[0]
        if claims.issuer != signer:
            return Verdict(
                False,
                Reason.WRONG_ISSUER,
                f"issuer {claims.issuer!r:.60} is not {signer!r:.60}, the issuer of the signing "
                f"key {kid!r:.60}",
            )
        return self._check_claims(claims, now)

    def _key_refusal(self, kid: str) -> Verdict:
        if self.trust.status(kid) == "distrusted":
            return Verdict(False, Reason.DISTRUSTED_KEY, f"key {kid!r:.60} is distrusted")
        return Verdict(False, Reason.UNKNOWN_KEY, f"key {kid!r:.60} is not in the trust store")

    def _check_claims(self, claims: Claims, now: float) -> Verdict:
        leeway = self.leeway
        if claims.issued_at > now + leeway:
            return Verdict(
                False,
                Reason.ISSUED_IN_FUTURE,
                f"issued at {claims.issued_at}, now is {now:.0f}",
                claims,
            )
        if now + leeway < claims.not_before:
            return Verdict(
                False,
                Reason.NOT_YET_VALID,
                f"valid from {claims.not_before}, now is {now:.0f}",
                claims,
            )
        if now - leeway >= claims.expires:
            return Verdict(
                False, Reason.EXPIRED, f"expired at {claims.expires}, now is {now:.0f}", claims
            )
        return self._check_status(claims, now)

    def _check_status(self, claims: Claims, now: float) -> Verdict:
        if self.online is None:
            return self._check_cached_list(claims, now)
        if self._held_list_shows_revoked(claims, now):  # final: no answer online undoes it
            return Verdict(False, Reason.REVOKED, "revoked (status list)", claims)
        try:
            revoked: Any = self.online(claims.issuer, claims.status_list, claims.status_index)
        except Exception:  # unreachable, garbled, another issuer's: no answer
            revoked = None  # fall back to the cached list
        if revoked is True:
            return Verdict(False, Reason.REVOKED, "revoked (online check)", claims)
        if revoked is False:
            return Verdict(True, Reason.OK, "valid (online check)", claims)
        return self._check_cached_list(claims, now)

    def _held_list_shows_revoked(self, claims: Claims, now: float) -> bool:
        """Whether the held list of the credential's issuer, signed by a key still trusted and
        not dated ahead of the gate, shows the credential revoked, however old the list is: a
        revocation is never undone, so an old list that shows one is still right about it."""
        held = self.statuses.lists.get((claims.issuer, claims.status_list))
        if held is None:
            return False
        issued, bits, size, signer, _ = held
        index = claims.status_index
        return (
            self.trust.get(signer) is not None
            and issued <= now + self.leeway
            and index < size
            and bool(bits[index >> 3] >> (7 - (index & 7)) & 1)
        )

    def _check_cached_list(self, claims: Claims, now: float) -> Verdict:
        index = claims.status_index
        # The list of that name signed by the credential's own issuer, never another's.
        held = self.statuses.lists.get((claims.issuer, claims.status_list))
        if held is None:
            return Verdict(
                False,
                Reason.STATUS_UNAVAILABLE,
                f"no status list {claims.status_list!r} of {claims.issuer!r} cached",
                claims,
            )
        issued, bits, size, signer, ttl = held
        if self.trust.get(signer) is None:
            return Verdict(
                False,
                Reason.STATUS_UNAVAILABLE,
                f"status list {claims.status_list!r} of {claims.issuer!r} was signed by key"
                f" {signer!r:.60}, no longer trusted",
                claims,
            )
        if issued > now + self.leeway:
            return Verdict(
                False,
                Reason.STATUS_UNAVAILABLE,
                f"status list issued {issued - now:.0f} s after this gate's clock",
                claims,
            )
        # Fresh for [iat, iat + limit): the gate's max_age, or the list's own signed ttl when
        # shorter (the issuer keeps the list's signing key published only that long).
        limit = self.max_age if ttl is None else min(self.max_age, ttl)
        if now - issued >= limit:
            return Verdict(
                False,
                Reason.STALE_STATUS,
                f"status list issued {now - issued:.0f} s ago; policy allows {limit:.0f} s",
                claims,
            )
        if index >= size:
            return Verdict(
                False,
                Reason.STATUS_UNAVAILABLE,
                f"status index {index} is beyond the list",
                claims,
            )
        if bits[index >> 3] >> (7 - (index & 7)) & 1:
            return Verdict(False, Reason.REVOKED, "revoked (status list)", claims)
        return Verdict(True, Reason.OK, "valid", claims)
