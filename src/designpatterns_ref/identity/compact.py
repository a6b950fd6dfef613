"""The compact binary credential: the same signed claims in about 230 bytes, for a QR code.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

A gate scanner reads a badge's QR code, and a QR code's capacity falls fast with its size: the
JWS of :mod:`.jws` (about 585 characters of base64url text for a badge with two qualifications)
needs a QR code of version 16 (19 at error correction M) that cheap cameras misread. The compact form drops JSON and base64: a version byte, the kid, the three
times and the status index as big-endian 32-bit integers, each text claim as one length byte and
its UTF-8, each qualification as its name and a 32-bit expiry, then the 64-byte Ed25519
signature over all of it. For the QR code the bytes are written in Base45 (RFC 9285, what the EU
Digital COVID Certificate used): its 45 characters are exactly QR's alphanumeric set, which
packs 5.5 bits a character: the same badge is 231 bytes, 347 characters, a version 10 code (11
at error correction M).

The trade-off: no other library reads this form, so it is for our own gates; the JWS is the
interoperable one. Both carry the same claims and the same kind of signature, and the
verifier accepts both.

Complexity: O(size) to encode and decode.

>>> from designpatterns_ref.identity.keys import KeySet
>>> keys = KeySet("acme-id", seed=b"doc")
>>> claims = Claims("acme-id", "c1", "w1", "acme", "dock-3", "loader", 0, 0, 3600, "L1", 5)
>>> blob = sign_compact(claims, keys)
>>> len(blob), decode_compact(blob)[1] == claims
(135, True)
>>> b45decode(b45encode(b"QR!")) == b"QR!"
True
"""  # noqa: E501

from __future__ import annotations

import struct

from designpatterns_ref.errors import shown
from designpatterns_ref.identity.base import (
    Claims,
    IdentityError,
    IdentityTypeError,
    check_name,
    claims_from_values,
)
from designpatterns_ref.identity.jws import TokenFormatError
from designpatterns_ref.identity.keys import KeySet

__all__ = [
    "VERSION",
    "b45decode",
    "b45encode",
    "claims_to_bytes",
    "decode_compact",
    "sign_compact",
]

VERSION = 1
SIGNATURE_BYTES = 64
_U32 = struct.Struct(">I")
_TIMES = struct.Struct(">IIII")  # iat, nbf, exp, status index
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {c: i for i, c in enumerate(_ALPHABET)}


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    return bytes((len(raw),)) + raw


def claims_to_bytes(claims: Claims, kid: str) -> bytes:
    """The signed part of the compact form (everything but the signature)."""
    if not isinstance(claims, Claims):
        raise IdentityTypeError(f"claims={shown(claims, 80)} must be Claims")
    check_name("kid", kid)
    parts = [
        bytes((VERSION,)),
        _text(kid),
        _TIMES.pack(claims.issued_at, claims.not_before, claims.expires, claims.status_index),
        *(
            _text(v)
            for v in (
                claims.issuer,
                claims.credential_id,
                claims.worker,
                claims.employer,
                claims.site,
                claims.role,
                claims.status_list,
            )
        ),
        bytes((len(claims.qualifications),)),
    ]
    for q in claims.qualifications:
        parts.append(_text(q.name) + _U32.pack(q.expires))
    return b"".join(parts)


def sign_compact(claims: Claims, keys: KeySet) -> bytes:
    """``claims`` in the compact binary form, signed by the active key of ``keys``."""
    if not isinstance(keys, KeySet):
        raise IdentityTypeError(f"keys={shown(keys, 80)} must be a KeySet")
    kid = keys.active_kid  # read once: the body names the key that signs
    body = claims_to_bytes(claims, kid)
    _, signature = keys.sign(body, expires=claims.expires, kid=kid)
    return body + signature


def _text_at(data: bytes, pos: int) -> tuple[str, int]:
    """The length-prefixed UTF-8 text at ``pos`` and the position after it."""
    if pos >= len(data):
        raise TokenFormatError("compact credential is truncated")
    end = pos + 1 + data[pos]
    if end > len(data):
        raise TokenFormatError("compact credential is truncated")
    try:
        return data[pos + 1 : end].decode("utf-8"), end
    except UnicodeDecodeError:
        raise TokenFormatError("compact credential holds invalid UTF-8") from None


def read_kid(blob: bytes) -> str:
    """The kid of a compact credential, read before anything is trusted."""
    if not isinstance(blob, bytes):
        raise IdentityTypeError(f"blob={shown(blob, 80)} must be bytes")
    if len(blob) < 2 + SIGNATURE_BYTES or blob[0] != VERSION:
        raise TokenFormatError(f"not a version {VERSION} compact credential")
    return _text_at(blob, 1)[0]


def decode_compact(blob: bytes) -> tuple[str, Claims, bytes, bytes]:
    """``(kid, claims, signed bytes, signature)`` of a compact credential, unverified."""
    if not isinstance(blob, bytes):
        raise IdentityTypeError(f"blob={shown(blob, 80)} must be bytes")
    if len(blob) < 2 + SIGNATURE_BYTES or blob[0] != VERSION:
        raise TokenFormatError(f"not a version {VERSION} compact credential")
    body, signature = blob[:-SIGNATURE_BYTES], blob[-SIGNATURE_BYTES:]
    kid, pos = _text_at(body, 1)
    if pos + _TIMES.size > len(body):
        raise TokenFormatError("compact credential is truncated")
    times = _TIMES.unpack_from(body, pos)
    pos += _TIMES.size
    texts = []
    for _ in range(7):
        text, pos = _text_at(body, pos)
        texts.append(text)
    if pos >= len(body):
        raise TokenFormatError("compact credential is truncated")
    count = body[pos]
    pos += 1
    quals = []
    for _ in range(count):
        name, pos = _text_at(body, pos)
        if pos + 4 > len(body):
            raise TokenFormatError("compact credential is truncated")
        quals.append((name, _U32.unpack_from(body, pos)[0]))
        pos += 4
    if pos != len(body):
        raise TokenFormatError("compact credential has trailing bytes")
    try:
        claims = claims_from_values(tuple(texts), times, quals)
    except IdentityError as bad:
        raise TokenFormatError(f"compact credential claim is invalid: {bad}") from None
    return kid, claims, body, signature


def b45encode(data: bytes) -> str:
    """Base45 (RFC 9285): two bytes become three characters of QR's alphanumeric set.

    >>> b45encode(b"AB")
    'BB8'
    """
    if not isinstance(data, bytes | bytearray):
        raise IdentityTypeError(f"data={shown(data, 80)} must be bytes")
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        c, n = n % 45, n // 45
        d, e = n % 45, n // 45
        out += (_ALPHABET[c], _ALPHABET[d], _ALPHABET[e])
    if len(data) % 2:
        n = data[-1]
        out += (_ALPHABET[n % 45], _ALPHABET[n // 45])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """The bytes of Base45 ``text``; raises :class:`IdentityError` on anything out of range."""
    if not isinstance(text, str):
        raise IdentityTypeError(f"text={shown(text, 80)} must be a str of Base45")
    if len(text) % 3 == 1:
        raise IdentityError("Base45 text length leaves one character over")
    try:
        values = [_VALUE[c] for c in text]
    except KeyError:
        raise IdentityError("not a Base45 character") from None
    out = bytearray()
    for i in range(0, len(values), 3):
        chunk = values[i : i + 3]
        n = sum(v * 45**k for k, v in enumerate(chunk))
        if len(chunk) == 3:
            if n > 0xFFFF:
                raise IdentityError("Base45 triple exceeds two bytes")
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise IdentityError("Base45 pair exceeds one byte")
            out.append(n)
    return bytes(out)
