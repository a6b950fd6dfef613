"""Revocation: a W3C Bitstring Status List, signed and cached with a max age, and online checks.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

Every credential carries the index of one bit in its issuer's status list, a
:class:`~designpatterns_ref.identity.bitstring.BitstringStatusList`; the bit is 1 when the
credential is revoked.

:class:`StatusAuthority` is the issuer's side: it hands out indexes, flips bits, publishes the
list as a signed JWS (with ``iat`` and a ``ttl``) and answers *online* checks, which are always
current. Its state (the revocations and the next free index) is what an issuer must not lose:
:meth:`StatusAuthority.state` exports it and :meth:`StatusAuthority.from_state` rebuilds the
authority after a restart. A verifier's side is
:class:`~designpatterns_ref.identity.statuscache.StatusListCache` (also importable from here):
it keeps the latest signed list of each issuer it was given (an issuer's list never counts
for another issuer's credentials, never rolls back to an older one, and never undoes a
revocation) and says how old it is. The gate's policy is a **max age**: a list issued
``max_age`` seconds ago or earlier (or its own ``ttl``, if shorter) is stale and the verifier
refuses (or goes online). The age is counted from the list's signed ``iat``, never from when
the gate downloaded it, so a revoked credential is accepted offline for strictly less than
``max_age`` seconds after its revocation: any list that does not show the revocation was
issued before it.

Complexity: allocate, revoke and check are O(1); publishing is O(bits) (a copy, then GZIP).

>>> from designpatterns_ref.identity.keys import KeySet
>>> authority = StatusAuthority(KeySet("acme-id", seed=b"doc"), "acme-list-1")
>>> index = authority.allocate()
>>> authority.revoke(index)
>>> authority.check("acme-id", "acme-list-1", index)
True
"""  # noqa: E501

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Any

from designpatterns_ref.clock import check_reading
from designpatterns_ref.errors import shown
from designpatterns_ref.identity.base import (
    MAX_TIME,
    IdentityError,
    IdentityTypeError,
    check_index,
    check_name,
    check_seconds,
    read_clock,
)
from designpatterns_ref.identity.bitstring import MIN_BITS as MIN_BITS
from designpatterns_ref.identity.bitstring import BitstringStatusList as BitstringStatusList
from designpatterns_ref.identity.jws import _DUMP
from designpatterns_ref.identity.keys import KeySet, b64url
from designpatterns_ref.identity.statuscache import StatusListCache as StatusListCache

__all__ = ["StatusAuthority"]


def _check_list_id(list_id: object, size: int) -> str:
    """``list_id`` once ``"<list_id>/<index>"``, a credential's id, fits in 255 bytes for
    every index of a list of ``size`` bits."""
    check_name("list_id", list_id)
    assert isinstance(list_id, str)
    room = 255 - 1 - len(str(size - 1))
    used = len(list_id.encode("utf-8"))
    if used > room:
        raise IdentityError(
            f"list_id={shown(list_id, 80)} is {used} bytes of UTF-8; with size={size} at most"
            f" {room} fit: a credential's id is '<list_id>/<index>', at most 255 bytes, and an"
            f" index takes up to {len(str(size - 1))} digits"
        )
    return list_id


class StatusAuthority:
    """The issuer's status registry: allocates indexes, revokes, publishes, answers online.

    It may be shared between threads (a :class:`~designpatterns_ref.identity.online.StatusServer`
    publishes and answers from its own threads while the issuer revokes): :meth:`allocate`,
    :meth:`revoke` and :meth:`publish` hold one lock, so a list's ``seq`` orders it exactly as
    the bits it shows were taken, and a list ordered later never lacks a revocation an earlier
    one shows. :meth:`publish` holds it only to read the clock, take its ``seq`` and
    copy the bits; it compresses and signs the copy after letting go, so a revocation never
    waits for a large list to be compressed.
    """

    def __init__(
        self,
        keys: KeySet,
        list_id: str,
        *,
        size: int = MIN_BITS,
        ttl: float = 86_400.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        if clock is not None and not callable(clock):
            raise IdentityTypeError(f"clock={shown(clock, 80)} must be callable or None")
        if not isinstance(keys, KeySet):
            raise IdentityTypeError(f"keys={shown(keys, 80)} must be a KeySet")
        self.keys = keys
        self.ttl = check_seconds("ttl", ttl, allow_zero=False)
        self.statuses = BitstringStatusList(size)
        self.list_id = _check_list_id(list_id, size)
        self.clock: Callable[[], float] = clock if clock is not None else time.time
        self.next_index = 0
        self.revoked_at: dict[int, float] = {}
        self.published = 0  # how many lists were published: each list's ``seq``
        #: Names this authority's run: within one ``epoch``, ``seq`` orders its lists.
        self.epoch = secrets.token_urlsafe(9)
        self._lock = threading.Lock()

    def allocate(self) -> int:
        """The next free index for a new credential."""
        with self._lock:
            if self.next_index >= self.statuses.size:
                raise IdentityError(
                    f"status list {shown(self.list_id)} is full ({self.statuses.size})"
                )
            index = self.next_index
            self.next_index += 1
            return index

    def revoke(self, index: int) -> None:
        """Revoke the credential at ``index`` from now on (idempotent)."""
        check_index("index", index, self.next_index)
        with self._lock:
            if index not in self.revoked_at:
                at = read_clock(self.clock, "StatusAuthority.revoke")  # before anything changes
                self.statuses.set(index, True)
                self.revoked_at[index] = at

    def check(self, issuer: str, list_id: str, index: int) -> bool:
        """The online check: is the credential at ``index`` of ``issuer``'s ``list_id`` revoked
        right now? Another issuer's list is not this authority's to answer for, whatever its
        name."""
        if not isinstance(issuer, str) or issuer != self.keys.issuer:
            raise IdentityError(f"issuer={shown(issuer, 80)} is not {shown(self.keys.issuer)}")
        if not isinstance(list_id, str) or list_id != self.list_id:
            raise IdentityError(f"list_id={shown(list_id, 80)} is not {shown(self.list_id)}")
        return self.statuses.get(index)

    def state(self) -> dict[str, Any]:
        """Everything this authority must keep across a restart, as plain JSON values.

        **Persist it.** The bits and the index counter live only in this object: an authority
        made afresh after a restart would publish a list without the revocations (every gate
        would accept the revoked badges again, were it not that a gate's cache refuses a list
        that clears a bit) and hand out indexes from 0 again (new credentials sharing old ones'
        ids and bits). So write ``state()`` durably (``json.dump`` to a temporary file, then
        ``os.replace``) after every :meth:`revoke` and after every :meth:`allocate` (or issue)
        before the credential leaves the issuer, and rebuild with :meth:`from_state`. It holds
        ``issuer``, ``list_id``, ``size``, ``ttl``, ``next_index``, ``published`` (the last
        ``seq``) and ``revoked`` (``[index, revoked at]`` pairs, in index order); the bits are
        those indexes. Taken under the lock, so it is one consistent moment.

        >>> from designpatterns_ref.identity.keys import KeySet
        >>> keys = KeySet("acme-id", seed=b"doc")
        >>> before = StatusAuthority(keys, "L", clock=lambda: 1000.0)
        >>> before.revoke(before.allocate())
        >>> after = StatusAuthority.from_state(keys, before.state(), clock=lambda: 2000.0)
        >>> after.statuses.get(0), after.allocate(), after.revoked_at
        (True, 1, {0: 1000.0})
        """
        with self._lock:
            return {
                "issuer": self.keys.issuer,
                "list_id": self.list_id,
                "size": self.statuses.size,
                "ttl": self.ttl,
                "next_index": self.next_index,
                "published": self.published,
                "revoked": [[index, at] for index, at in sorted(self.revoked_at.items())],
            }

    @classmethod
    def from_state(
        cls,
        keys: KeySet,
        state: Mapping[str, Any],
        *,
        clock: Callable[[], float] | None = None,
    ) -> StatusAuthority:
        """The authority :meth:`state` described, signing with ``keys`` (the same issuer's).

        It is a new run: it draws a new ``epoch``, and its ``seq`` goes on from ``published``,
        so caches order its lists after the old run's by ``(iat, seq)``. Raises
        :class:`IdentityError` (naming the field) on a state that is not one: a missing or
        unknown field, another issuer's, an index at or past ``next_index``, twice revoked, a
        time that is not finite.
        """
        if not isinstance(state, Mapping):
            raise IdentityTypeError(f"state={shown(state, 80)} must be a mapping, from state()")
        if not isinstance(keys, KeySet):
            raise IdentityTypeError(f"keys={shown(keys, 80)} must be a KeySet")
        fields = {"issuer", "list_id", "size", "ttl", "next_index", "published", "revoked"}
        if set(state) != fields:
            raise IdentityError(
                f"state has the fields {shown(sorted(map(repr, state)), 120)}, not {sorted(fields)}"
            )
        if state["issuer"] != keys.issuer:
            raise IdentityError(
                f"state issuer={shown(state['issuer'], 80)} is not {shown(keys.issuer)}, the"
                " issuer of keys"
            )
        out = cls(keys, state["list_id"], size=state["size"], ttl=state["ttl"], clock=clock)
        next_index = check_index("state next_index", state["next_index"], out.statuses.size + 1)
        out.published = check_index("state published", state["published"], 2**63)
        revoked = state["revoked"]
        if not isinstance(revoked, list | tuple):
            raise IdentityTypeError(
                f"state revoked={shown(revoked, 80)} must be a list of [index, time] pairs"
            )
        for pair in revoked:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise IdentityError(f"state revoked holds {shown(pair, 80)}, not [index, time]")
            index = check_index("state revoked index", pair[0], next_index)
            if index in out.revoked_at:
                raise IdentityError(f"state revoked holds index {index} twice")
            check_reading(pair[1], IdentityError, "state revoked time")
            out.revoked_at[index] = pair[1]
            out.statuses.set(index, True)
        out.next_index = next_index
        return out

    def publish(self) -> str:
        """The current list as a signed status-list credential (a compact JWS).

        Its payload follows the W3C data model (``BitstringStatusListCredential`` whose subject
        is a ``BitstringStatusList`` with ``statusPurpose`` and ``encodedList``), plus ``iat``,
        ``ttl`` (milliseconds, as the specification counts it) and ``seq``, which grows by one
        with every publication, and ``epoch``, which names this authority's run (random, drawn
        once). A cache orders two lists of one epoch by ``seq`` alone, so a list published
        after another is taken after it whatever the clock read (one stepped back after running
        fast dates the newer list earlier), and a revocation shows at the next publication;
        lists of different epochs (an authority restarted) are ordered by ``(iat, seq)``.
        ``iat`` is always the clock's reading, never adjusted: the gate counts the list's age
        from it.
        The signing key stays in the issuer's published key set until ``iat + ttl``
        (:meth:`KeySet.prune <designpatterns_ref.identity.keys.KeySet.prune>` keeps it), and a
        gate counts the list fresh for at most its ``ttl`` (less if its own ``max_age`` is
        shorter), so a routine rotation and prune never leave a gate holding a fresh list whose
        key it can no longer get. The default ``ttl``, a day, is the gate's default
        ``max_age``: a gate may work offline that long on one list.
        """
        with self._lock:  # the time, the seq and the bits taken together (a copy: a memcpy)
            now = int(read_clock(self.clock, "StatusAuthority.publish"))
            if not 0 <= now <= MAX_TIME:  # a list no cache would take (its iat is not a time)
                raise IdentityError(
                    f"StatusAuthority.publish: clock() returned {now}, not a time in"
                    f" [0, {MAX_TIME}]"
                )
            self.published += 1
            seq = self.published
            snapshot = self.statuses.copy()
        encoded = snapshot.encode()  # O(bits): outside the lock, so revoke and allocate go on
        payload: dict[str, Any] = {
            "iss": self.keys.issuer,
            "iat": now,
            "seq": seq,
            "epoch": self.epoch,
            "ttl": int(self.ttl * 1000),
            "vc": {
                "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                "id": self.list_id,
                "credentialSubject": {
                    "type": "BitstringStatusList",
                    "statusPurpose": "revocation",
                    "encodedList": encoded,
                },
            },
        }
        kid = self.keys.active_kid  # read once: the header names the key that signs
        header = b64url(_DUMP({"alg": "EdDSA", "kid": kid, "typ": "JWT"}).encode())
        body = b64url(_DUMP(payload).encode())
        # The list is good for ``ttl``: its key stays published that long (KeySet.prune), and a
        # gate counts a list fresh for min(max_age, ttl), so a rotation never leaves a gate
        # holding a fresh list signed by a key it no longer has.
        expires = min(MAX_TIME, now + math.ceil(self.ttl))
        _, signature = self.keys.sign(f"{header}.{body}".encode("ascii"), expires=expires, kid=kid)
        return f"{header}.{body}.{b64url(signature)}"
