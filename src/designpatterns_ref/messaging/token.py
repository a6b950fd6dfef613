"""HMAC-signed connection tokens: a user id and an expiry, checked on connect.

Case study: Design a Real-Time Chat App (WhatsApp / Messenger) (docs/case-studies/chat-app.md)

``<user hex>.<expiry seconds>.<HMAC-SHA256 hex>``: the gateway needs no session store, only the
shared secret, to know who a socket belongs to (stateless gateways, as in Slack's design). The
signature is compared in constant time (:func:`hmac.compare_digest`), after the token's form is
checked: ASCII only, lowercase hex where the format says hex, decimal digits for the expiry;
anything else is refused with :class:`TokenError` (a
:class:`~designpatterns_ref.messaging.base.MessagingError`, which the gateways answer with
close code 4001: they tell a refused token from other refusals by its class, not by its
message) before any signing or comparing. Trade-off: a token cannot be revoked before it
expires; keep expiries short.

>>> token = make_token(b"secret", "ann", expires=100.0)
>>> verify_token(b"secret", token, now=50.0)
'ann'
>>> verify_token(b"other", token, now=50.0)
Traceback (most recent call last):
...
designpatterns_ref.messaging.token.TokenError: token has a bad signature
"""

from __future__ import annotations

import hashlib
import hmac

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import MessagingError, MessagingTypeError, check_id

__all__ = ["TokenError", "make_token", "verify_token"]


class TokenError(MessagingError):
    """A connection token refused: malformed, badly signed, expired, or naming no valid user."""


def _secret(secret: object) -> bytes:
    if not isinstance(secret, bytes):
        raise MessagingTypeError(f"secret={shown(secret, 40)} must be bytes")
    if len(secret) < 4:
        raise MessagingError("secret must be at least 4 bytes")
    return secret


def _time(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MessagingTypeError(f"{name}={shown(value, 80)} must be a number of seconds")
    if not (0 <= value < 1e12):
        raise MessagingError(f"{name}={shown(value, 80)} must be a finite time within [0, 1e12)")
    return float(value)


def _hex(part: str) -> bool:
    """Whether ``part`` (already known to be ASCII) is non-empty lowercase hex digits."""
    return bool(part) and all(c in "0123456789abcdef" for c in part)


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()


def make_token(secret: bytes, user: str, *, expires: float) -> str:
    """A token saying ``user`` may connect until ``expires`` (seconds since the epoch)."""
    key, user, expires = _secret(secret), check_id("user", user), _time("expires", expires)
    payload = f"{user.encode().hex()}.{int(expires)}"
    return f"{payload}.{_sign(key, payload)}"


def verify_token(secret: bytes, token: object, *, now: float) -> str:
    """The user id of a valid, unexpired ``token``; :class:`TokenError` otherwise (and
    :class:`MessagingError` for a bad ``secret`` or ``now``, the caller's mistake)."""
    key, now = _secret(secret), _time("now", now)
    if not isinstance(token, str) or len(token) > 1024:
        raise TokenError("token must be a string of at most 1024 characters")
    parts = token.split(".")
    if not token.isascii() or len(parts) != 3:
        raise TokenError("token is malformed (ASCII user.expiry.signature expected)")
    user_hex, expiry, sig = parts
    if not (_hex(user_hex) and expiry.isdigit() and _hex(sig)):
        raise TokenError("token is malformed (hex user, digits expiry, hex signature expected)")
    if not hmac.compare_digest(_sign(key, f"{user_hex}.{expiry}"), sig):
        raise TokenError("token has a bad signature")
    if int(expiry) < now:
        raise TokenError("token has expired")
    try:
        return check_id("user", bytes.fromhex(user_hex).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("token names no valid user") from exc
