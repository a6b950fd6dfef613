"""Shared types of the identity family: claims, qualifications, verdicts, reasons and errors.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

A worker credential is a set of :class:`Claims` (who, for which employer, on which site, in
which role, with which :class:`Qualification` s, valid from when to when, and where its
revocation bit lives) signed by an issuer key. Every check a verifier makes ends in a
:class:`Verdict`: accepted, or refused with one :class:`Reason` and a sentence saying why. Times
are whole seconds since the Unix epoch (the JWT ``NumericDate``), read from an injected clock.

Bad arguments raise :class:`IdentityError` (a ``ValueError``) or :class:`IdentityTypeError`
(also a ``TypeError``) naming the argument, the value and what is allowed; a refused call
changes nothing. A credential that fails verification is not an error: it is a refusing
:class:`Verdict`, because a gate must say *why* it said no.

Complexity: validation is O(size of the claims).

>>> q = Qualification("forklift", expires=1_000)
>>> q.valid_at(999), q.valid_at(1_000)
(True, False)
>>> Reason.REVOKED.value
'revoked'
"""  # noqa: E501

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

from designpatterns_ref.clock import check_reading
from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "MAX_TIME",
    "Claims",
    "IdentityError",
    "IdentityTypeError",
    "Qualification",
    "Reason",
    "Verdict",
    "check_index",
    "check_name",
    "check_seconds",
    "check_time",
    "claims_from_values",
    "read_clock",
]

#: The largest time a credential may carry: the last second a 32-bit unsigned field holds
#: (year 2106), so the compact binary form stores every time in four bytes.
MAX_TIME = 2**32 - 1


class IdentityError(DesignPatternsError, ValueError):
    """An argument of the identity family is invalid (the message names it and what is allowed)."""


class IdentityTypeError(IdentityError, TypeError):
    """An argument of the identity family has the wrong type."""


class Reason(Enum):
    """Why a verifier accepted or refused a credential."""

    OK = "ok"
    MALFORMED = "malformed"
    BAD_ALGORITHM = "bad algorithm"
    UNKNOWN_KEY = "unknown key"
    DISTRUSTED_KEY = "distrusted key"
    BAD_SIGNATURE = "bad signature"
    WRONG_ISSUER = "wrong issuer"
    NOT_YET_VALID = "not yet valid"
    ISSUED_IN_FUTURE = "issued in the future"
    EXPIRED = "expired"
    STATUS_UNAVAILABLE = "status unavailable"
    STALE_STATUS = "stale status list"
    REVOKED = "revoked"


class Verdict(NamedTuple):
    """The outcome of one verification: ``ok`` with the claims, or a reason and an explanation.

    A refusal carries the claims too once they are authentic (the signature verified and the
    issuer is the signing key's): refused for time or status, not for the token itself.

    A named tuple (immutable, cheap to make on the hot path); true when ``ok``.
    """

    ok: bool
    reason: Reason
    detail: str = ""
    claims: Claims | None = None

    def __bool__(self) -> bool:
        return self.ok


def check_name(field_name: str, value: object, *, max_bytes: int = 255) -> str:
    """``value`` as a non-empty string of at most ``max_bytes`` UTF-8 bytes, or an error."""
    if not isinstance(value, str):
        raise IdentityTypeError(
            f"{field_name}={shown(value, 80)} must be a str, not {type(value).__name__}"
        )
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise IdentityError(
            f"{field_name}={shown(value, 80)} is not valid text: it holds a lone surrogate"
        ) from None
    if not 1 <= size <= max_bytes:
        raise IdentityError(
            f"{field_name}={shown(value, 80)} must be 1 to {max_bytes} bytes of UTF-8, not {size}"
        )
    return value


def check_time(field_name: str, value: object) -> int:
    """``value`` as whole seconds since the epoch in [0, MAX_TIME], or an error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise IdentityTypeError(
            f"{field_name}={shown(value, 80)} must be an int of seconds since the epoch, "
            f"not {type(value).__name__}"
        )
    if not 0 <= value <= MAX_TIME:
        raise IdentityError(f"{field_name}={shown(value, 80)} must lie in [0, {MAX_TIME}]")
    return value


def read_clock(clock: Callable[[], object], who: str) -> int | float:
    """One reading of ``clock``: an int or a float (not a bool) that is a finite number of
    seconds, returned as it came; anything else raises :class:`IdentityError` naming ``who``.

    A broken time source fails closed: every time check compares with the reading, and a NaN
    makes every comparison false (a gate would accept an expired credential against a stale
    list), an infinity or an int beyond a float's range breaks ``int()`` and JSON, and
    ``True`` would be taken for second 1.
    """
    reading = clock()
    check_reading(reading, IdentityError, who)
    return reading  # type: ignore[return-value]  # an int stays an int


def check_seconds(field_name: str, value: object, *, allow_zero: bool = True) -> float:
    """``value`` as a finite, non-negative duration in seconds (positive unless allowed zero)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IdentityTypeError(
            f"{field_name}={shown(value, 80)} must be a number of seconds, not "
            f"{type(value).__name__}"
        )
    try:
        seconds = float(value)
    except OverflowError:
        raise IdentityError(f"{field_name}={shown(value, 80)} is too large") from None
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        allowed = "zero or more" if allow_zero else "more than zero"
        raise IdentityError(f"{field_name}={shown(value, 80)} must be finite and {allowed}")
    return seconds


def check_index(field_name: str, value: object, size: int) -> int:
    """``value`` as an int in [0, size), or an error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise IdentityTypeError(
            f"{field_name}={shown(value, 80)} must be an int, not {type(value).__name__}"
        )
    if not 0 <= value < size:
        raise IdentityError(f"{field_name}={shown(value, 80)} must lie in [0, {size})")
    return value


@dataclass(frozen=True, slots=True)
class Qualification:
    """A qualification a worker holds (a forklift licence), with its own expiry time."""

    name: str
    expires: int

    def __post_init__(self) -> None:
        check_name("name", self.name)
        check_time("expires", self.expires)

    def valid_at(self, now: float) -> bool:
        """True while ``now`` is before the expiry (the expiry second itself is expired).

        ``now`` is a number of seconds: any int (compared exactly) or a finite float.
        """
        if isinstance(now, bool) or not isinstance(now, int | float):
            raise IdentityTypeError(f"now={shown(now, 80)} must be a number of seconds")
        if isinstance(now, float) and not math.isfinite(now):
            raise IdentityError(f"now={shown(now, 80)} must be finite")
        return now < self.expires


@dataclass(frozen=True, slots=True)
class Claims:
    """What a worker credential asserts.

    ``issuer`` signs it; ``credential_id`` names it; ``worker``, ``employer``, ``site`` and
    ``role`` say who may do what where; it is valid from ``not_before`` (inclusive) to
    ``expires`` (exclusive); ``issued_at`` must not be in the verifier's future; its revocation
    bit is bit ``status_index`` of the issuer's status list ``status_list``.
    """

    issuer: str
    credential_id: str
    worker: str
    employer: str
    site: str
    role: str
    issued_at: int
    not_before: int
    expires: int
    status_list: str
    status_index: int
    qualifications: tuple[Qualification, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("issuer", "credential_id", "worker", "employer", "site", "role"):
            check_name(name, getattr(self, name))
        check_name("status_list", self.status_list)
        for name in ("issued_at", "not_before", "expires"):
            check_time(name, getattr(self, name))
        check_time("status_index", self.status_index)
        if not self.not_before < self.expires:
            raise IdentityError(
                f"not_before={self.not_before} must be before expires={self.expires}"
            )
        if not isinstance(self.qualifications, tuple) or not all(
            isinstance(q, Qualification) for q in self.qualifications
        ):
            raise IdentityTypeError(
                f"qualifications={shown(self.qualifications, 80)} must be a tuple of Qualification"
            )
        if len(self.qualifications) > 255:
            raise IdentityError(
                f"qualifications holds {len(self.qualifications)}; at most 255 are allowed"
            )
        names = [q.name for q in self.qualifications]
        if len(set(names)) != len(names):
            raise IdentityError(f"qualifications={shown(names, 80)} names one qualification twice")

    def qualification(self, name: str) -> Qualification | None:
        """The qualification called ``name``, or None."""
        if not isinstance(name, str):
            raise IdentityTypeError(
                f"name={shown(name, 80)} must be a str, not {type(name).__name__}"
            )
        for q in self.qualifications:
            if q.name == name:
                return q
        return None


def _fits(text: str) -> bool:
    """Whether ``text`` is 1 to 255 bytes of UTF-8 (no lone surrogate), as :func:`check_name`
    requires."""
    if text.isascii():
        return 0 < len(text) <= 255
    if len(text) > 255:
        return False
    try:
        return len(text.encode("utf-8")) <= 255
    except UnicodeEncodeError:  # a lone surrogate
        return False


_new = object.__new__
_set = object.__setattr__


def claims_from_values(
    texts: tuple[object, ...],
    times: tuple[object, ...],
    quals: Sequence[tuple[object, object]],
) -> Claims:
    """Claims from decoded values, checked with plain type tests: the verifier's hot path.

    ``texts`` holds issuer, credential id, worker, employer, site, role and status list;
    ``times`` holds issued-at, not-before, expires and the status index. The checks are the
    constructor's (a token signed by another library was never checked by ours), at a third of
    the cost: ASCII text, the common case, is measured in characters, anything else encoded.
    Raises :class:`IdentityError` on any mismatch.
    """
    for value in texts:
        if type(value) is not str or not _fits(value):
            raise IdentityError(
                f"claim {shown(value, 40)} must be a str of 1 to 255 bytes of UTF-8"
            )
    iat, nbf, exp, index = times
    if not (
        type(iat) is int
        and type(nbf) is int
        and type(exp) is int
        and type(index) is int
        and 0 <= iat <= MAX_TIME
        and 0 <= nbf < exp <= MAX_TIME
        and 0 <= index <= MAX_TIME
    ):
        raise IdentityError(
            f"claims iat={shown(iat, 20)}, nbf={shown(nbf, 20)}, exp={shown(exp, 20)}, "
            f"index={shown(index, 20)} "
            f"must be ints in [0, {MAX_TIME}] with nbf before exp"
        )
    qualifications = []
    for name, expires in quals:
        if type(name) is not str or not _fits(name):
            raise IdentityError(
                f"qualification {shown(name, 40)} must be a str of 1 to 255 bytes of UTF-8"
            )
        if type(expires) is not int or not 0 <= expires <= MAX_TIME:
            raise IdentityError(f"qualification expiry {shown(expires, 40)} is not a time")
        q = _new(Qualification)
        _set(q, "name", name)
        _set(q, "expires", expires)
        qualifications.append(q)
    if len(qualifications) > 1 and len({q.name for q in qualifications}) != len(qualifications):
        raise IdentityError("qualifications name one qualification twice")
    if len(qualifications) > 255:
        raise IdentityError("qualifications hold more than 255")
    claims = _new(Claims)
    _set(claims, "issuer", texts[0])
    _set(claims, "credential_id", texts[1])
    _set(claims, "worker", texts[2])
    _set(claims, "employer", texts[3])
    _set(claims, "site", texts[4])
    _set(claims, "role", texts[5])
    _set(claims, "status_list", texts[6])
    _set(claims, "issued_at", iat)
    _set(claims, "not_before", nbf)
    _set(claims, "expires", exp)
    _set(claims, "status_index", index)
    _set(claims, "qualifications", tuple(qualifications))
    return claims
