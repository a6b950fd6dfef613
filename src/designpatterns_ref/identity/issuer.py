"""The issuer: mints worker credentials, each with its own revocation bit, in both encodings.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

:meth:`Issuer.issue` fills in the claims (issued now, valid from ``not_before`` for
``valid_for`` seconds, qualifications with their own expiry, the next free index of the status
list), and :meth:`Issuer.sign_jws` / :meth:`Issuer.sign_compact` sign them with the active key.
Issuing is one Ed25519 signature plus a little encoding, so it runs within a few per cent of a
bare signature (see the benchmark table on the case-study page).

Complexity: O(size of the claims) plus one signature.

>>> from designpatterns_ref.identity.keys import KeySet
>>> from designpatterns_ref.identity.statuslist import StatusAuthority
>>> keys = KeySet("acme-id", seed=b"doc")
>>> issuer = Issuer(keys, StatusAuthority(keys, "acme-list-1", clock=lambda: 1000.0),
...                 clock=lambda: 1000.0)
>>> claims = issuer.issue("w1", "acme", "dock-3", "loader", valid_for=86_400,
...                       qualifications={"forklift": 50_000})
>>> claims.status_index, claims.expires, claims.qualification("forklift").expires
(0, 87400, 50000)
"""  # noqa: E501

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from designpatterns_ref.errors import shown
from designpatterns_ref.identity.base import (
    MAX_TIME,
    Claims,
    IdentityError,
    IdentityTypeError,
    Qualification,
    check_name,
    check_seconds,
    check_time,
    read_clock,
)
from designpatterns_ref.identity.compact import sign_compact
from designpatterns_ref.identity.jws import sign_jws
from designpatterns_ref.identity.keys import KeySet
from designpatterns_ref.identity.statuslist import StatusAuthority

__all__ = ["Issuer"]


class Issuer:
    """Mints and signs worker credentials for one issuer.

    :meth:`issue` keeps no state of its own: several threads may issue through Issuers that
    share one :class:`~designpatterns_ref.identity.statuslist.StatusAuthority` (or through one
    Issuer), since the authority hands out every status index under its lock, so no two
    credentials ever share an index or a ``credential_id``. Signing goes through the
    :class:`~designpatterns_ref.identity.keys.KeySet`, which is not thread-safe: sign from one
    thread, or give each thread its own issuer key set.
    """

    def __init__(
        self,
        keys: KeySet,
        statuses: StatusAuthority,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if clock is not None and not callable(clock):
            raise IdentityTypeError(f"clock={shown(clock, 80)} must be callable or None")
        if not isinstance(keys, KeySet):
            raise IdentityTypeError(f"keys={shown(keys, 80)} must be a KeySet")
        if not isinstance(statuses, StatusAuthority):
            raise IdentityTypeError(f"statuses={shown(statuses, 80)} must be a StatusAuthority")
        self.keys = keys
        self.statuses = statuses
        self.clock: Callable[[], float] = clock if clock is not None else time.time

    def issue(
        self,
        worker: str,
        employer: str,
        site: str,
        role: str,
        *,
        valid_for: float,
        qualifications: Mapping[str, int] | None = None,
        not_before: int | None = None,
    ) -> Claims:
        """New claims for ``worker``, with the next free revocation index.

        ``valid_for`` is in seconds, at least one: times are whole seconds, so the credential
        expires at ``not_before + valid_for`` rounded down. ``qualifications`` maps each
        qualification's name to its own expiry time, written as it is (a licence may end before
        the credential or outlive it); it counts only while the credential is valid too, as
        :class:`~designpatterns_ref.identity.compliance.ComplianceBook` reads it.
        """
        now = int(read_clock(self.clock, "Issuer.issue"))
        valid = check_seconds("valid_for", valid_for, allow_zero=False)
        start = now if not_before is None else check_time("not_before", not_before)
        if start + valid > MAX_TIME:
            raise IdentityError(f"valid_for={shown(valid_for, 40)} ends after {MAX_TIME}")
        expires = int(start + valid)
        if expires <= start:
            raise IdentityError(
                f"valid_for={shown(valid_for, 40)} must be at least 1 second: times are whole"
                " seconds, and the credential would expire as it starts"
            )
        if qualifications is None:
            qualifications = {}
        if not isinstance(qualifications, Mapping):
            raise IdentityTypeError(
                f"qualifications={shown(qualifications, 80)} must map names to expiry times"
            )
        quals = tuple(Qualification(name, exp) for name, exp in qualifications.items())
        for name in (worker, employer, site, role):
            check_name("claim", name)
        # Every input is checked: now take the index. allocate() hands it out under the
        # authority's lock, so Issuers sharing one authority never hand out the same one, and a
        # refused call above allocated nothing. Building the claims cannot fail any more (the
        # authority keeps list_id short enough that "list_id/index" is a valid credential id).
        index = self.statuses.allocate()
        return Claims(
            issuer=self.keys.issuer,
            credential_id=f"{self.statuses.list_id}/{index}",
            worker=worker,
            employer=employer,
            site=site,
            role=role,
            issued_at=now,
            not_before=start,
            expires=expires,
            status_list=self.statuses.list_id,
            status_index=index,
            qualifications=quals,
        )

    def sign_jws(self, claims: Claims) -> str:
        """``claims`` as a compact JWS (interoperable: PyJWT verifies it)."""
        if not isinstance(claims, Claims):
            raise IdentityTypeError(f"claims={shown(claims, 80)} must be Claims")
        return sign_jws(claims, self.keys)

    def sign_compact(self, claims: Claims) -> bytes:
        """``claims`` in the compact binary form, for a QR code."""
        if not isinstance(claims, Claims):
            raise IdentityTypeError(f"claims={shown(claims, 80)} must be Claims")
        return sign_compact(claims, self.keys)
