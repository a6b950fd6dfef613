"""Issuer keys with key ids, rotation and distrust, published as a JWKS; the verifier's trust store.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

An issuer signs with one *active* Ed25519 key at a time; every signature names its key id
(``kid``), so a verifier picks the right public key in one dictionary lookup. :meth:`KeySet.rotate`
makes a new key active and keeps the old ones *retired*: they sign nothing more, but stay in the
published key set (RFC 7517 JWKS, RFC 8037 ``OKP``/``Ed25519`` keys) until the last credential
they signed has expired and the last status list they signed is past its ``ttl``
(:meth:`KeySet.prune`), so rotation never breaks a worker's badge. A
compromised key is different: :meth:`KeySet.distrust` drops it from the key set at once, a
verifier refuses it as soon as it loads the new set (:meth:`TrustStore.load` replaces what it
held for that issuer), and :meth:`TrustStore.distrust` makes a verifier refuse it at once, even
before it fetches the new set, and for good.

The signing itself is the ``cryptography`` package's Ed25519 (the ``identity`` extra): nothing
here is hand-rolled cryptography. Keys made from a ``seed`` are deterministic, for tests and
tours only; production keys come from the operating system's randomness (no seed).

Complexity: signing and verifying are one Ed25519 operation; key lookup is O(1).

>>> keys = KeySet("acme-id", seed=b"doc")
>>> first = keys.active_kid
>>> second = keys.rotate()
>>> [k["kid"] for k in keys.jwks()["keys"]] == [first, second]
True
>>> trust = TrustStore.from_jwks(keys.jwks(), issuer="acme-id")
>>> trust.distrust(first)
>>> trust.status(first)
'distrusted'
"""  # noqa: E501

from __future__ import annotations

import binascii
import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from designpatterns_ref.errors import shown
from designpatterns_ref.identity.base import (
    IdentityError,
    IdentityTypeError,
    check_name,
    check_time,
)

__all__ = ["KeySet", "TrustStore", "b64url", "b64url_decode", "key_id"]


_URL_TO_STD = bytes.maketrans(b"-_", b"+/")
_STD_TO_URL = bytes.maketrans(b"+/", b"-_")
_INDEX = {
    c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}
_PAD = (b"", b"", b"==", b"=")
_UNUSED_BITS = (0, 0, 0x0F, 0x03)  # low bits the last character must leave clear


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    encoded = binascii.b2a_base64(data, newline=False).translate(_STD_TO_URL)
    return encoded.rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of canonical unpadded base64url ``text``; raises ``ValueError`` on anything else.

    Canonical: only the 64 URL-safe characters, no padding, and the unused low bits of the last
    character clear, so no two texts decode to the same bytes (a lenient decoder skips stray
    characters and ignores those bits, and would accept a token with one bit flipped).

    >>> b64url_decode("QQ"), b64url(b"A")
    (b'A', 'QQ')
    >>> b64url_decode("QR")
    Traceback (most recent call last):
    ...
    ValueError: not canonical base64url
    """
    raw = text.encode("ascii")  # UnicodeEncodeError is a ValueError
    if b"+" in raw or b"/" in raw or b"=" in raw:
        raise ValueError("not unpadded base64url")
    rem = len(raw) % 4
    if rem == 1:
        raise ValueError("not unpadded base64url")
    try:
        data = binascii.a2b_base64(raw.translate(_URL_TO_STD) + _PAD[rem], strict_mode=True)
    except binascii.Error:
        raise ValueError("not unpadded base64url") from None
    if rem and _INDEX[raw[-1]] & _UNUSED_BITS[rem]:
        raise ValueError("not canonical base64url")
    return data


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


_P = 2**255 - 19  # the field prime of Curve25519
# The y coordinates of the eight points of small order (the curve's cofactor is 8): 0 and 1,
# p - 1, and the two y of the points of order 8. With either sign of x they are the small-order
# encodings libsodium refuses as public keys.
_Y8 = 2707385501144840649318225287225658788936804267575313519463743609750303402022
_SMALL_ORDER_Y = frozenset({0, 1, _P - 1, _Y8, _P - _Y8})


def _weak_public(raw: bytes) -> str | None:
    """Why the 32-byte Ed25519 public key ``raw`` is unfit to verify with, or None.

    A key of small order (the identity point, say) verifies a signature whose ``R`` is of small
    order and whose ``s`` is 0, over *any* message: a wildcard. ``cryptography`` (OpenSSL) takes
    such keys, so a trust store must refuse them itself. An encoding whose ``y`` is not below
    ``p`` is not canonical: a second name for a key (RFC 8032 section 5.1.3 refuses it).
    """
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)  # the top bit is the sign of x
    if y >= _P:
        return "is not a canonical encoding (y >= p)"
    if y in _SMALL_ORDER_Y:
        return "is a point of small order (it would verify forged signatures)"
    return None


def key_id(issuer: str, public: bytes) -> str:
    """The kid of the 32-byte Ed25519 public key ``public`` of ``issuer``: ``issuer#fingerprint``.

    The fingerprint is base64url of the first 6 bytes of the key's SHA-256, so the kid names
    both whose key it is and which key. :meth:`TrustStore.load` derives it again from every key
    it is given and refuses a kid that is not exactly this.

    >>> key_id("acme-id", bytes(32))
    'acme-id#Zmh6rfhi'
    """
    check_name("issuer", issuer)
    if not isinstance(public, bytes) or len(public) != 32:
        raise IdentityTypeError(f"public={shown(public, 80)} must be 32 bytes")
    return f"{issuer}#{b64url(hashlib.sha256(public).digest()[:6])}"


class KeySet:
    """An issuer's signing keys: one active, some retired, none distrusted. Not thread-safe."""

    def __init__(self, issuer: str, *, seed: bytes | None = None) -> None:
        check_name("issuer", issuer)
        if seed is not None and not isinstance(seed, bytes):  # a secret: never echoed
            raise IdentityTypeError(f"seed must be bytes or None, not {type(seed).__name__}")
        if seed == b"":
            raise IdentityError("seed must not be empty: pass None for a random key")
        self.issuer = issuer
        self._seed = seed
        self._private: dict[str, Ed25519PrivateKey] = {}
        self._last_expiry: dict[str, int] = {}
        self._counter = 0
        self.distrusted: set[str] = set()
        self.active_kid = self._new_key()

    def _new_key(self) -> str:
        self._counter += 1
        if self._seed is None:
            key = Ed25519PrivateKey.generate()
        else:
            secret = hashlib.sha256(self._seed + b"/" + str(self._counter).encode()).digest()
            key = Ed25519PrivateKey.from_private_bytes(secret)
        kid = key_id(self.issuer, _raw_public(key.public_key()))
        self._private[kid] = key
        self._last_expiry[kid] = 0
        return kid

    def rotate(self) -> str:
        """Make a new key active and return its kid; the old one is retired, not forgotten.

        The new key signs at once: a verifier refuses what it signs (``unknown key``) until it
        has loaded the new key set, so publish :meth:`jwks` to the verifiers before issuing
        with it.
        """
        self.active_kid = self._new_key()
        return self.active_kid

    def distrust(self, kid: str) -> None:
        """Withdraw a compromised key at once (it leaves the JWKS); the active one is replaced."""
        if not isinstance(kid, str) or kid not in self._private:
            raise IdentityError(f"kid={shown(kid, 80)} is not a key of {shown(self.issuer)}")
        if kid == self.active_kid:
            self.active_kid = self._new_key()
        del self._private[kid]
        del self._last_expiry[kid]
        self.distrusted.add(kid)

    def prune(self, now: int) -> list[str]:
        """Drop retired keys whose every credential has expired, and every status list is past
        its ``ttl``, by ``now``; return their kids."""
        check_time("now", now)
        gone = [
            kid for kid, last in self._last_expiry.items() if kid != self.active_kid and last <= now
        ]
        for kid in gone:
            del self._private[kid]
            del self._last_expiry[kid]
        return gone

    def sign(self, data: bytes, *, expires: int = 0, kid: str | None = None) -> tuple[str, bytes]:
        """Sign ``data`` with the active key: ``(kid, 64-byte signature)``.

        ``expires`` is the expiry of what is signed; the key stays published until then.

        ``kid``: the key the caller read from :attr:`active_kid` and wrote into ``data`` (a
        token's header names its key). The active key is read once, by the caller, so a
        :meth:`rotate` between writing the kid and signing cannot leave a token whose header
        names one key and whose signature is another's (every verifier would refuse it): the
        key it names signs it, retired or not. A kid no longer held (distrusted, or pruned)
        signs nothing and raises :class:`IdentityError`.
        """
        if not isinstance(data, bytes):
            raise IdentityTypeError(f"data={shown(data, 80)} must be bytes")
        check_time("expires", expires)
        if kid is None:
            kid = self.active_kid
        elif not isinstance(kid, str):
            raise IdentityTypeError(f"kid={shown(kid, 80)} must be a str or None")
        elif kid not in self._private:
            raise IdentityError(
                f"kid={shown(kid, 80)} is not a key of {shown(self.issuer)} any more:"
                " it was distrusted or pruned, and signs nothing"
            )
        if expires > self._last_expiry[kid]:
            self._last_expiry[kid] = expires
        return kid, self._private[kid].sign(data)

    def private_key(self, kid: str) -> Ed25519PrivateKey:
        """The private key ``kid`` (for interoperability tests and benchmarks)."""
        if not isinstance(kid, str) or kid not in self._private:
            raise IdentityError(f"kid={shown(kid, 80)} is not a key of {shown(self.issuer)}")
        return self._private[kid]

    def kids(self) -> list[str]:
        """The published key ids, oldest first."""
        return list(self._private)

    def jwks(self) -> dict[str, Any]:
        """The published key set: ``{"keys": [JWK, ...]}`` with the issuer's public keys."""
        return {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": b64url(_raw_public(key.public_key())),
                    "kid": kid,
                    "alg": "EdDSA",
                    "use": "sig",
                }
                for kid, key in self._private.items()
            ]
        }


class TrustStore:
    """A verifier's public keys by kid, each tied to its issuer, and the kids it refuses.

    **Whose key it is.** A key set is loaded *for an issuer* the verifier names
    (:meth:`load` with ``issuer=``: the issuer whose address the set was fetched from, never a
    name the set carries), and every kid in it must be exactly ``issuer#fingerprint`` of its
    own key (:func:`key_id`). The verifier takes a credential's issuer to be the issuer of the
    key that signed it, so without this binding one trusted issuer could publish a key under
    another's name and sign credentials and status lists as that issuer (RFC 8725, section 3.8:
    check that the key belongs to the issuer). A kid already held is never given another key.
    """

    def __init__(self) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._raw: dict[str, bytes] = {}  # kid -> the 32 key bytes, to spot a changed key
        self._distrusted: set[str] = set()

    @classmethod
    def from_jwks(cls, jwks: object, *, issuer: str) -> TrustStore:
        """A trust store holding the keys of ``issuer``'s JWKS (as :meth:`KeySet.jwks` publishes
        it)."""
        store = cls()
        store.load(jwks, issuer=issuer)
        return store

    def load(self, jwks: object, *, issuer: str) -> None:
        """Make ``jwks``, the key set ``issuer`` publishes now, that issuer's trusted keys.

        The set replaces what was held for ``issuer``: a key it no longer lists (withdrawn by
        :meth:`KeySet.distrust`, or retired and pruned) is dropped, and a credential it signed
        is refused from then on as an ``unknown key``. Other issuers' keys are untouched.
        Every kid must be ``issuer#fingerprint`` of its own key (:func:`key_id`), and a kid
        already held must come with the same key. A malformed set, or one with a key that is
        not ``issuer``'s, raises and changes nothing. Distrusted kids are skipped.

        A key set carries no version: an older copy of it, replayed, would bring a withdrawn
        key back. Fetch it from the issuer over an authenticated channel, and refuse a
        compromised kid with :meth:`distrust`, which no key set undoes.
        """
        check_name("issuer", issuer)
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise IdentityTypeError(f"jwks={shown(jwks, 80)} must be a dict with a 'keys' list")
        parsed: dict[str, bytes] = {}
        for jwk in jwks["keys"]:
            if not isinstance(jwk, dict):
                raise IdentityTypeError(f"jwk={shown(jwk, 80)} must be a dict")
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                raise IdentityError(f"jwk={shown(jwk, 80)} must be an OKP key on the Ed25519 curve")
            if jwk.get("alg", "EdDSA") != "EdDSA":
                raise IdentityError(f"jwk={shown(jwk, 80)} must be for alg EdDSA")
            kid = check_name("kid", jwk.get("kid"))
            x = jwk.get("x")
            try:
                raw = b64url_decode(x) if isinstance(x, str) else b""
            except ValueError:
                raw = b""
            if len(raw) != 32:
                raise IdentityError(f"jwk x={shown(x, 80)} must be 32 bytes of base64url")
            weak = _weak_public(raw)
            if weak is not None:
                raise IdentityError(f"jwk x={shown(x, 80)} {weak}")
            expected = key_id(issuer, raw)
            if kid != expected:
                raise IdentityError(
                    f"jwk kid={shown(kid, 80)} is not {shown(expected, 80)}: a key set of issuer "
                    f"{shown(issuer, 60)} holds only kids {shown(issuer, 60)}#<fingerprint of x>"
                )
            held = self._raw.get(kid, parsed.get(kid, raw))
            if held != raw:
                raise IdentityError(
                    f"jwk kid={shown(kid, 80)} comes with another key than the one held for it"
                )
            parsed[kid] = raw
        for kid in [k for k in self._keys if k.rpartition("#")[0] == issuer and k not in parsed]:
            del self._keys[kid]
            del self._raw[kid]
        for kid, raw in parsed.items():
            if kid not in self._distrusted and kid not in self._keys:
                self._keys[kid] = Ed25519PublicKey.from_public_bytes(raw)
                self._raw[kid] = raw

    def distrust(self, kid: str) -> None:
        """Refuse ``kid`` from now on, even if a key set still lists it."""
        check_name("kid", kid)
        self._distrusted.add(kid)
        self._keys.pop(kid, None)
        self._raw.pop(kid, None)

    def status(self, kid: str) -> str:
        """``"trusted"``, ``"distrusted"`` or ``"unknown"``."""
        if not isinstance(kid, str):
            raise IdentityTypeError(f"kid={shown(kid, 80)} must be a str")
        if kid in self._distrusted:
            return "distrusted"
        return "trusted" if kid in self._keys else "unknown"

    def get(self, kid: str) -> Ed25519PublicKey | None:
        """The trusted public key ``kid``, or None (unknown or distrusted)."""
        if not isinstance(kid, str):
            raise IdentityTypeError(f"kid={shown(kid, 80)} must be a str")
        return self._keys.get(kid)

    def __len__(self) -> int:
        return len(self._keys)
