"""The gate's cache of signed status lists: verified, per issuer, never rolled back.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

:class:`StatusListCache` is a verifier's side of revocation: it keeps the latest signed list
(published by a :class:`~designpatterns_ref.identity.statuslist.StatusAuthority`) of each issuer
it was given, never lets an older list replace a newer one, never takes a list that undoes a
revocation, and remembers each list's signed ``iat`` and ``ttl``, from which the gate counts its
age.

Complexity: :meth:`StatusListCache.update` is O(bits) (GUNZIP, and a comparison with the held
list).

>>> from designpatterns_ref.identity.keys import KeySet, TrustStore
>>> from designpatterns_ref.identity.statuslist import StatusAuthority
>>> keys = KeySet("acme-id", seed=b"doc")
>>> authority = StatusAuthority(keys, "acme-list-1", clock=lambda: 1000.0)
>>> cache = StatusListCache(TrustStore.from_jwks(keys.jwks(), issuer="acme-id"),
...                         clock=lambda: 1000.0)
>>> cache.update(authority.publish())
'acme-list-1'
>>> cache.issued_at("acme-list-1")
1000
"""  # noqa: E501

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from designpatterns_ref.errors import shown
from designpatterns_ref.identity.base import (
    MAX_TIME,
    IdentityError,
    IdentityTypeError,
    check_name,
    check_seconds,
    read_clock,
)
from designpatterns_ref.identity.bitstring import BitstringStatusList
from designpatterns_ref.identity.jws import TokenFormatError, parse_header
from designpatterns_ref.identity.keys import TrustStore, b64url_decode

__all__ = ["EPOCHS_KEPT", "StatusListCache"]

#: How many of a list's epochs (runs of its authority) a cache remembers the highest seq of.
EPOCHS_KEPT = 16


class StatusListCache:
    """A verifier's cached status lists, one per (issuer, list id), each with its signed issue time.

    **Whose list it is.** A list counts for a credential only if the credential's own issuer
    signed it. The W3C Bitstring Status List v1.0 validate algorithm (section 3.2) has the
    verifier dereference the credential's ``statusListCredential`` URL and verify its proofs,
    and its note "Issuer validation is use case dependent" leaves to the verifier to make sure it
    trusts both the credential's issuer and the status list's issuer (they may differ, for a
    delegated status service). A gate trusts several issuers and fetches lists by name, not from
    a URL the credential controls, so this cache fixes the policy: a list's ``iss`` must be the
    issuer of the key that signed it (the kid is ``issuer#fingerprint``, and the trust store
    takes it only from that issuer's key set, see
    :class:`~designpatterns_ref.identity.keys.TrustStore`), lists are held per ``(iss, list id)``,
    and the gate reads the list held under the credential's own ``(issuer, status_list)``. So a
    trusted issuer can publish lists under any name without ever touching another issuer's.

    **No rollback.** Each list carries its signed ``iat`` (whole seconds), ``seq`` (a counter
    that grows with every publication) and ``epoch`` (the authority's run that counted it); a
    list is accepted only if it is later than the held one, or if it is byte for byte the held
    token (a harmless refresh). Of one epoch, the later list is the one with the higher ``seq``,
    whatever the dates say: the authority's clock may have been stepped back between the two,
    and the newer list, dated earlier, must still replace the older (else a revocation would
    wait until the clock passed the older list's date). Of two epochs, or without one (another
    writer's list), it is the later ``(iat, seq)``. An older list, even one published earlier in
    the same second, never replaces a newer one. And a list of an epoch seen before must come
    after every list of that epoch taken so far, whichever epoch is held now: the cache keeps
    the highest ``seq`` taken of each of the last :data:`EPOCHS_KEPT` epochs of a list, so a
    replayed list of an earlier run never comes back after a later run's list replaced it.

    **Not from the future.** The guard above would let one list dated ahead of time (an
    authority whose clock ran fast once, or an attacker holding a stolen key) block every honest
    list after it, and stay fresh for as long as it pretends. So a list whose ``iat`` is more
    than ``leeway`` seconds after the cache's own ``clock`` is refused, and each list is held
    with the kid that signed it: once that key is no longer trusted (distrusted, or gone from
    its issuer's key set), the list counts for nothing, neither for the gate nor against a
    newer list. (A thief may as well name the authority's epoch with a huge ``seq``: that list
    too stops counting with its key.)
    """

    def __init__(
        self,
        trust: TrustStore,
        *,
        clock: Callable[[], float] | None = None,
        leeway: float = 0.0,
    ) -> None:
        import time

        if not isinstance(trust, TrustStore):
            raise IdentityTypeError(f"trust={shown(trust, 80)} must be a TrustStore")
        if clock is not None and not callable(clock):
            raise IdentityTypeError(f"clock={shown(clock, 80)} must be callable or None")
        self.trust = trust
        self.clock: Callable[[], float] = clock if clock is not None else time.time
        self.leeway = check_seconds("leeway", leeway)
        #: (issuer, list id) -> (iat, bits, size, kid, ttl): what the gate reads; ``kid``
        #: signed it, and ``ttl`` is the list's own signed ttl in seconds (None if it has none).
        self.lists: dict[tuple[str, str], tuple[int, bytearray, int, str, float | None]] = {}
        # (issuer, list id) -> (iat, seq, SHA-256 of the token, epoch): the held list's version.
        # and its statusPurpose.
        self._versions: dict[tuple[str, str], tuple[int, int, bytes, str | None, object]] = {}
        # (issuer, list id) -> {epoch: {kid: (highest seq taken signed by kid, that token's
        # SHA-256)}}: the EPOCHS_KEPT epochs taken most recently, the least recent first. Kept
        # per key, so a list signed by a key later distrusted (a thief naming the epoch with a
        # huge seq) neither blocks honest lists nor erases what the honest ones reached.
        self._epochs: dict[tuple[str, str], dict[str, dict[str, tuple[int, bytes]]]] = {}

    def update(self, token: str) -> str:
        """Verify a published status list and cache it under its issuer; return its id.

        Refuses (raises :class:`IdentityError`, cache unchanged) a bad signature, an unknown
        key, an ``iss`` that is not the signing key's issuer, a malformed list, a list issued
        more than ``leeway`` seconds in the cache clock's future, or a list not later than the
        one already held for that issuer and id (a rollback: a lower ``seq`` of the same
        epoch, else an earlier ``(iat, seq)``), unless it is the very token held or the held
        one's signing key is no longer trusted; and a list of an epoch taken before whose
        ``seq`` is below the highest taken of that epoch under a key still trusted (or equal
        to it, but another token).
        """
        if not isinstance(token, str):
            raise IdentityTypeError(f"token={shown(token, 80)} must be a str (a compact JWS)")
        now = read_clock(self.clock, "StatusListCache.update")
        parts = token.split(".")
        if len(parts) != 3:
            raise IdentityError("status list token must have three parts")
        try:
            header = parse_header(parts[0])
            kid = header["kid"]
            key = self.trust.get(kid)
            if key is None:
                raise IdentityError(f"status list kid {shown(kid, 60)} is not trusted")
            key.verify(b64url_decode(parts[2]), f"{parts[0]}.{parts[1]}".encode("ascii"))
            payload = json.loads(b64url_decode(parts[1]))
            iss, iat, vc = payload["iss"], payload["iat"], payload["vc"]
            seq, epoch = payload.get("seq", 0), payload.get("epoch")
            ttl, subject = payload.get("ttl"), vc["credentialSubject"]
            list_id, encoded, purpose = (
                vc["id"],
                subject["encodedList"],
                subject.get("statusPurpose"),
            )
        except IdentityError:
            raise
        except RecursionError:
            raise IdentityError("status list token is malformed: nested too deep") from None
        except (TokenFormatError, ValueError, KeyError, TypeError, AttributeError) as bad:
            raise IdentityError(f"status list token is malformed: {bad}") from None
        except Exception as bad:  # cryptography's InvalidSignature
            raise IdentityError(f"status list signature does not verify ({shown(bad)})") from None
        check_name("status list iss", iss)
        signer = kid.rpartition("#")[0]
        if iss != signer:
            raise IdentityError(
                f"status list iss={shown(iss, 60)} is not {shown(signer, 60)},"
                f" the issuer of its signing key {shown(kid, 60)}"
            )
        if isinstance(iat, bool) or not isinstance(iat, int) or not 0 <= iat <= MAX_TIME:
            raise IdentityError(f"status list iat={shown(iat, 40)} is not a time")
        if iat > now + self.leeway:
            raise IdentityError(
                f"status list iat={iat} is {iat - now:.0f} s after this cache's clock; at most"
                f" leeway={self.leeway:g} s is allowed"
            )
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**63:
            raise IdentityError(f"status list seq={shown(seq, 40)} must be an int in [0, 2**63)")
        if epoch is not None:
            check_name("status list epoch", epoch, max_bytes=64)
        check_name("status list id", list_id)
        if not isinstance(encoded, str):
            raise IdentityError(f"encodedList={shown(encoded, 60)} must be a str")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0):
            raise IdentityError(f"status list ttl={shown(ttl, 40)} must be milliseconds, an int")
        statuses = BitstringStatusList.decode(encoded)
        where = (iss, list_id)
        digest = hashlib.sha256(token.encode("ascii")).digest()  # verified: all ASCII
        held = self._versions.get(where)
        if held is not None and self.trust.get(self.lists[where][3]) is None:
            held = None  # signed by a key no longer trusted: it holds nothing back
        if held is not None:
            one_run = epoch is not None and epoch == held[3]  # then seq alone orders them
            not_later = (seq <= held[1]) if one_run else ((iat, seq) <= held[:2])
            if not_later:
                if digest == held[2]:
                    return str(list_id)  # the very token held: nothing to do
                order = f"seq {seq} of the same epoch" if one_run else f"issued at {iat}, seq {seq}"
                raise IdentityError(
                    f"status list {shown(list_id)} of {shown(iss)} ({order}) is not later than"
                    f" the cached one (issued at {held[0]}, seq {held[1]}): an older list is"
                    " refused"
                )
        seen = self._epochs.setdefault(where, {})
        tops = seen.get(epoch, {}) if epoch is not None else {}
        trusted = [top for signer, top in tops.items() if self.trust.get(signer) is not None]
        if trusted:
            top_seq, top_digest = max(trusted)
            if seq < top_seq or (seq == top_seq and digest != top_digest):
                raise IdentityError(
                    f"status list {shown(list_id)} of {shown(iss)} (seq {seq} of epoch"
                    f" {shown(epoch, 40)}) is not later than seq {top_seq} of that epoch, taken"
                    " before: an older list is refused"
                )
        if held is not None and purpose == held[4] == "revocation":
            _refuse_an_undone_revocation(self.lists[where][1], statuses.bits, iss, list_id)
        self.lists[where] = (iat, statuses.bits, statuses.size, kid, _seconds(ttl))
        self._versions[where] = (iat, seq, digest, epoch, purpose)
        if epoch is not None:
            tops = seen.pop(epoch, tops)
            if seq >= tops.get(kid, (-1, b""))[0]:
                tops[kid] = (seq, digest)
            seen[epoch] = tops  # the epoch taken most recently last
            while len(seen) > EPOCHS_KEPT:
                del seen[next(iter(seen))]
        return str(list_id)

    def issued_at(self, list_id: str, *, issuer: str | None = None) -> int | None:
        """When the cached list ``list_id`` of ``issuer`` was issued, or None if none is cached.

        With ``issuer=None``: the latest issue time among the lists of that id, whoever issued
        them.
        """
        if not isinstance(list_id, str):
            raise IdentityTypeError(f"list_id={shown(list_id, 80)} must be a str")
        if issuer is not None and not isinstance(issuer, str):
            raise IdentityTypeError(f"issuer={shown(issuer, 80)} must be a str or None")
        times = [
            held[0]
            for (iss, lid), held in self.lists.items()
            if lid == list_id and (issuer is None or iss == issuer)
        ]
        return max(times) if times else None


def _seconds(ttl_ms: int | None) -> float | None:
    return None if ttl_ms is None else min(ttl_ms, 2**62) / 1000


def _refuse_an_undone_revocation(
    held: bytearray, new: bytearray, issuer: str, list_id: str
) -> None:
    """Raise :class:`IdentityError` if ``new`` clears a bit ``held`` sets: a revocation is
    never undone, so such a list comes from an authority that lost its state (restarted
    without it) or from a key used against the issuer, and the held list stays."""
    width = max(len(held), len(new))
    cleared = int.from_bytes(held.ljust(width, b"\0"), "big") & ~int.from_bytes(
        new.ljust(width, b"\0"), "big"
    )
    if cleared:
        first = width * 8 - cleared.bit_length()  # bit 0 is the most significant
        raise IdentityError(
            f"status list {shown(list_id)} of {shown(issuer)} clears the revocation of index"
            f" {first} (and {cleared.bit_count() - 1} more) that the cached list shows: a"
            " revocation is never undone, so the list is refused (its authority may have"
            " restarted without its saved state) and the cached one stays"
        )
