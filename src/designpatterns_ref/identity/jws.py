"""Compact JWS: a worker credential as an EdDSA-signed JWT any JOSE library can verify.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

RFC 7515 compact serialisation: ``base64url(header) . base64url(payload) . base64url(signature)``,
the header ``{"alg": "EdDSA", "kid": ..., "typ": "JWT"}`` (RFC 8037), the payload the claims as
JSON with the registered names (``iss``, ``sub``, ``jti``, ``iat``, ``nbf``, ``exp``) and the
case study's own (``emp``, ``site``, ``role``, ``quals``, ``status``). The interoperable form: a
credential signed here verifies with PyJWT (tested). It costs size: about 585 characters for a
badge with two qualifications, two and a half times the compact binary form (:mod:`.compact`).

Parsing trusts nothing: :func:`split_token` refuses anything but three base64url parts and a
header whose ``alg`` is exactly ``EdDSA`` (``none``, ``HS256`` and friends never reach a key);
:func:`claims_from_payload` refuses any payload that is not exactly the claims' shape.

Complexity: O(token length).

>>> from designpatterns_ref.identity.keys import KeySet
>>> keys = KeySet("acme-id", seed=b"doc")
>>> claims = Claims("acme-id", "c1", "w1", "acme", "dock-3", "loader", 0, 0, 3600, "L1", 5)
>>> token = sign_jws(claims, keys)
>>> header, payload, signing_input, signature = split_token(token)
>>> token.count("."), header.get("alg"), len(signature)
(2, 'EdDSA', 64)
>>> claims_from_payload(payload) == claims
True
"""  # noqa: E501

from __future__ import annotations

import json
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.identity.base import (
    Claims,
    IdentityError,
    IdentityTypeError,
    claims_from_values,
)
from designpatterns_ref.identity.keys import KeySet, b64url, b64url_decode

__all__ = [
    "ALGORITHM",
    "MAX_HEADER_PART",
    "TokenFormatError",
    "claims_from_payload",
    "claims_to_payload",
    "parse_header",
    "payload_json",
    "sign_jws",
    "split_token",
]

ALGORITHM = "EdDSA"
_DUMP = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode


class TokenFormatError(IdentityError):
    """A token is not a well-formed credential (a verifier turns it into a refusing verdict)."""

    def __init__(self, message: str, *, algorithm: bool = False) -> None:
        super().__init__(message)
        self.algorithm = algorithm


def claims_to_payload(claims: Claims) -> dict[str, Any]:
    """The JWT payload of ``claims``."""
    if not isinstance(claims, Claims):
        raise IdentityTypeError(f"claims={shown(claims, 80)} must be Claims")
    payload: dict[str, Any] = {
        "iss": claims.issuer,
        "jti": claims.credential_id,
        "sub": claims.worker,
        "emp": claims.employer,
        "site": claims.site,
        "role": claims.role,
        "iat": claims.issued_at,
        "nbf": claims.not_before,
        "exp": claims.expires,
        "status": {"list": claims.status_list, "idx": claims.status_index},
    }
    if claims.qualifications:
        payload["quals"] = [{"name": q.name, "exp": q.expires} for q in claims.qualifications]
    return payload


_KEYS = {"iss", "jti", "sub", "emp", "site", "role", "iat", "nbf", "exp", "status", "quals"}


def claims_from_payload(payload: object) -> Claims:
    """The claims of a JWT payload; raises ``ValueError`` unless it has exactly their shape."""
    if type(payload) is not dict or not payload.keys() <= _KEYS:
        raise TokenFormatError("payload is not an object of the credential's claims")
    status = payload.get("status")
    if type(status) is not dict or len(status) != 2:
        raise TokenFormatError("payload status must be {'list': ..., 'idx': ...}")
    quals = payload.get("quals", ())
    if type(quals) is not list and quals != ():
        raise TokenFormatError("payload quals must be a list of {'name': ..., 'exp': ...}")
    for q in quals:
        if type(q) is not dict or len(q) != 2:
            raise TokenFormatError("payload quals must be a list of {'name': ..., 'exp': ...}")
    try:
        return claims_from_values(
            (
                payload["iss"],
                payload["jti"],
                payload["sub"],
                payload["emp"],
                payload["site"],
                payload["role"],
                status["list"],
            ),
            (payload["iat"], payload["nbf"], payload["exp"], status["idx"]),
            [(q["name"], q["exp"]) for q in quals],
        )
    except KeyError as missing:
        raise TokenFormatError(f"payload lacks the claim {missing}") from None
    except ValueError as bad:  # IdentityError is a ValueError
        raise TokenFormatError(f"payload claim is invalid: {bad}") from None


_ESCAPE = json.encoder.encode_basestring_ascii  # the C string escaper json.dumps uses
_HEADERS: dict[str, str] = {}  # kid -> base64url header: the same for every credential


def payload_json(claims: Claims) -> str:
    """``claims_to_payload(claims)`` as compact JSON, written out field by field.

    The same text ``json.dumps(claims_to_payload(claims), separators=(",", ":"))`` gives
    (tested), without building the dictionary first: issuing is one signature plus this, so
    it stays within a few microseconds of a bare signature.
    """
    e = _ESCAPE
    quals = ",".join(f'{{"name":{e(q.name)},"exp":{q.expires}}}' for q in claims.qualifications)
    return (
        f'{{"iss":{e(claims.issuer)},"jti":{e(claims.credential_id)},"sub":{e(claims.worker)},'
        f'"emp":{e(claims.employer)},"site":{e(claims.site)},"role":{e(claims.role)},'
        f'"iat":{claims.issued_at},"nbf":{claims.not_before},"exp":{claims.expires},'
        f'"status":{{"list":{e(claims.status_list)},"idx":{claims.status_index}}}'
        + (f',"quals":[{quals}]}}' if claims.qualifications else "}")
    )


def sign_jws(claims: Claims, keys: KeySet) -> str:
    """``claims`` as a compact JWS signed by the active key of ``keys``."""
    if not isinstance(keys, KeySet):
        raise IdentityTypeError(f"keys={shown(keys, 80)} must be a KeySet")
    if not isinstance(claims, Claims):
        raise IdentityTypeError(f"claims={shown(claims, 80)} must be Claims")
    kid = keys.active_kid
    header = _HEADERS.get(kid)
    if header is None:
        header = b64url(_DUMP({"alg": ALGORITHM, "kid": kid, "typ": "JWT"}).encode())
        if len(_HEADERS) < 1_024:
            _HEADERS[kid] = header
    signing_input = f"{header}.{b64url(payload_json(claims).encode())}"
    _, signature = keys.sign(signing_input.encode("ascii"), expires=claims.expires, kid=kid)
    return f"{signing_input}.{b64url(signature)}"


#: The longest header part parsed. The header is read before any signature is checked, so its
#: size bounds what an unauthenticated sender makes a gate do. A kid is at most 255 bytes of
#: UTF-8, at most 6 characters each once escaped as JSON: with the rest of the header about
#: 1,600 bytes, 2,100 characters of base64url; twice that leaves room for other writers.
MAX_HEADER_PART = 4_096


def parse_header(part: str) -> dict[str, Any]:
    """The JOSE header of one base64url part, refusing every algorithm but EdDSA.

    A part longer than :data:`MAX_HEADER_PART` characters, or JSON nested too deep for the
    parser (``[[[[...``, which raises ``RecursionError``), is a :class:`TokenFormatError` like
    any other malformed header.
    """
    if not isinstance(part, str):
        raise IdentityTypeError(f"part={shown(part, 80)} must be a str")
    if len(part) > MAX_HEADER_PART:
        raise TokenFormatError(
            f"header is {len(part)} characters; at most {MAX_HEADER_PART} are read"
        )
    try:
        header = json.loads(b64url_decode(part))
    except (ValueError, RecursionError):
        raise TokenFormatError("header is not base64url JSON") from None
    if not isinstance(header, dict):
        raise TokenFormatError("header is not a JSON object")
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise TokenFormatError(f"alg {shown(alg, 40)} is not {shown(ALGORITHM)}", algorithm=True)
    if not isinstance(header.get("kid"), str):
        raise TokenFormatError("header has no string kid")
    if set(header) - {"alg", "kid", "typ"} or header.get("typ", "JWT") != "JWT":
        raise TokenFormatError("header holds fields this verifier does not understand")
    return header


def split_token(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """``(header, payload, signing input, signature)`` of a compact JWS, unverified.

    For inspection and tests; the verifier parses lazily, the payload only after the signature.
    """
    if not isinstance(token, str):
        raise IdentityTypeError(f"token={shown(token, 80)} must be a str")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenFormatError("a compact JWS has exactly three parts")
    header = parse_header(parts[0])
    try:
        payload = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, RecursionError):
        raise TokenFormatError("payload or signature is not base64url JSON") from None
    return header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), signature
