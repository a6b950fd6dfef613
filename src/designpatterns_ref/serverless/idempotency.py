"""Idempotent handlers: one persistence record per payload hash, as in Powertools for AWS Lambda.

Case study: Design a Healthcare Patient Operations Platform (Serverless)
(docs/case-studies/healthcare-serverless.md)

Before the handler runs, :meth:`Idempotency.begin` writes an ``INPROGRESS`` record keyed by the
SHA-256 of the canonical JSON payload, with a conditional write that succeeds only when no
record exists, the record has expired, or an in-progress record outlived its in-progress
timeout (its invocation is presumed dead). Both times are strict, as in Powertools' condition
(``#expiry < :now``, ``#in_progress_expiry < :now_in_millis``): at the expiry instant itself
the record still holds. The winner's record carries a fresh random ``token``: it runs the
handler and :meth:`complete` stores ``COMPLETED`` with the response; a redelivered event finds
that record and gets the stored response back without running the side effect again; a
concurrent duplicate finds ``INPROGRESS`` and is refused with
:class:`IdempotencyInProgress` (retry later). A handler that raises has its record deleted
(:meth:`abandon`), so the event stays retryable.

Fencing: an invocation presumed dead may only be slow. Once another invocation has taken its
record over, the record carries the newer token, and the late invocation's complete and abandon
are conditional on its own token: :meth:`complete` raises :class:`IdempotencyFenced` and
:meth:`abandon` returns False, leaving the new owner's record as it is. :meth:`run` then hands
the late handler's response (or exception) to its own caller unrecorded and counts it in
``fenced``. (Powertools updates and deletes the record unconditionally; it relies on Lambda
killing the invocation when its in-progress expiry, the remaining time of the invocation, is
reached.) The side effect of such a late invocation has still happened twice: fencing keeps the
record consistent, it cannot undo an EHR call; an in-progress timeout longer than the
handler's own timeout avoids the overlap. Trade-off: two table writes per fresh invocation, one
read per duplicate; the window is ``expires_after``. A record's expiration is stored in the
table's TTL attribute (``KeyValueTable(ttl_attribute=)``), so the table's sweep deletes the
records whose window has passed, as DynamoDB's TTL deletes Powertools' records.

An in-progress record expires no sooner than its claim: its expiration is the later of
``expires_after`` and ``in_progress_timeout`` from the claim (a completed record's is
``expires_after`` from the completion). So both windows mean what they say for any pair: a
running invocation holds its claim for its whole in-progress timeout, a completed response is
replayed for ``expires_after``. With ``expires_after`` alone, a second invocation could claim
(and the TTL sweep delete) the record of one still running when ``in_progress_timeout`` is the
longer. Refusing that pair at construction would close the gap too, but it would refuse a
sound setting (a short replay window for a slow handler: duplicates sent together are caught,
late ones run again) and a load scenario whose function timeout is longer than its window.

>>> from designpatterns_ref.clock import ManualClock
>>> from designpatterns_ref.serverless.table import KeyValueTable
>>> clock = ManualClock()
>>> layer = Idempotency(KeyValueTable(clock=clock), expires_after=60, clock=clock)
>>> calls = []
>>> book = layer.wrap(lambda e: calls.append(e) or {"booking": len(calls)})
>>> book({"patient": "p1"}), book({"patient": "p1"}), len(calls)
({'booking': 1}, {'booking': 1}, 1)
>>> clock.advance(61); book({"patient": "p1"})
{'booking': 2}
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from designpatterns_ref.clock import Clock, read_seconds, system_clock
from designpatterns_ref.errors import shown
from designpatterns_ref.serverless.base import (
    ConditionFailed,
    ServerlessError,
    ServerlessTypeError,
    ServerlessUnavailable,
    check_name,
    check_payload,
    check_seconds,
)
from designpatterns_ref.serverless.table import KeyValueTable

__all__ = [
    "COMPLETED",
    "INPROGRESS",
    "Idempotency",
    "IdempotencyFenced",
    "IdempotencyInProgress",
    "Record",
]

INPROGRESS = "INPROGRESS"
COMPLETED = "COMPLETED"


class IdempotencyInProgress(ServerlessError):
    """Another invocation holds the record for this payload: retry later, do not run again."""


class IdempotencyFenced(ServerlessError):
    """The record is no longer this invocation's (taken over or gone): nothing was written."""


@dataclass(frozen=True, slots=True)
class Record:
    """A persistence record: status, when it expires, the stored response once completed, and
    the token of the invocation that claimed it (its fencing token)."""

    key: str
    status: str
    expiration: float
    in_progress_expiry: float
    response: Any = None
    token: str = ""

    def expired(self, now: float) -> bool:
        """The record no longer protects its payload (Powertools' ``EXPIRED`` status): its
        expiration is before ``now`` (``#expiry < :now``; at the instant itself it holds)."""
        return self.expiration < check_seconds("now", now)

    def abandoned(self, now: float) -> bool:
        """An in-progress record whose invocation outlived its time limit (it crashed): its
        in-progress expiry is before ``now`` (``#in_progress_expiry < :now_in_millis``)."""
        return self.status == INPROGRESS and self.in_progress_expiry < check_seconds("now", now)


#: The attributes of a record item besides its expiration (stored in the table's TTL attribute).
#: The longest ``expires_after`` and ``in_progress_timeout`` (about 31,700 years): now plus
#: either stays within the 1e15 epoch seconds a table's TTL may hold.
_MAX_WINDOW = 1e12
_FIELDS = ("pk", "sk", "status", "in_progress_expiry", "response", "token")


def _record(item: dict[str, Any], ttl: str) -> Record:
    return Record(
        item["sk"],
        item["status"],
        item[ttl],
        item["in_progress_expiry"],
        item.get("response"),
        item.get("token", ""),
    )


def _check_token(token: object) -> str:
    if not isinstance(token, str):
        raise ServerlessTypeError(f"token={shown(token, 60)} must be the str token of a claim")
    if len(token) != 32 or token.strip("0123456789abcdef"):
        raise ServerlessError(f"token={shown(token, 60)} must be a claim's token: 32 hex digits")
    return token


def _owned(old: dict[str, Any] | None, token: str) -> bool:
    """The record is the in-progress claim of ``token``."""
    return old is not None and old["status"] == INPROGRESS and old.get("token") == token


class Idempotency:
    """The layer: ``wrap(handler)`` runs the handler at most once per payload per window."""

    def __init__(
        self,
        table: KeyValueTable,
        *,
        expires_after: float = 3600.0,
        in_progress_timeout: float = 30.0,
        key_fields: Sequence[str] | None = None,
        namespace: str = "idempotency",
        clock: Clock = system_clock,
    ) -> None:
        if not isinstance(table, KeyValueTable):
            raise ServerlessTypeError(f"table={shown(table)} must be a KeyValueTable")
        if table.ttl_attribute in _FIELDS:
            raise ServerlessError(
                f"table's ttl_attribute={shown(table.ttl_attribute)} is a field of the "
                f"idempotency record ({', '.join(_FIELDS)}); give the table another"
            )
        # Bounded so that now + the window stays a TTL the table stores (at most 1e15 epoch
        # seconds): a larger window would be accepted here and then fail every call.
        self.expires_after = check_seconds(
            "expires_after", expires_after, positive=True, high=_MAX_WINDOW
        )
        self.in_progress_timeout = check_seconds(
            "in_progress_timeout", in_progress_timeout, positive=True, high=_MAX_WINDOW
        )
        if key_fields is not None:
            if isinstance(key_fields, str) or not isinstance(key_fields, list | tuple):
                raise ServerlessTypeError(f"key_fields={shown(key_fields)} must be a list of names")
            for f in key_fields:
                check_name("key_fields[]", f, max_len=128)
            if not key_fields:
                raise ServerlessError("key_fields=[] names no field; give None to hash it all")
        self.key_fields = None if key_fields is None else tuple(key_fields)
        self.namespace = check_name("namespace", namespace, max_len=128)
        if not callable(clock):
            raise ServerlessTypeError(f"clock={shown(clock)} must be callable")
        self.table = table
        self.clock = clock
        # The counters, exact across threads: each is changed only under this lock.
        self._counts_lock = threading.Lock()
        self._executions = 0
        self._hits = 0
        self._fenced = 0

    @property
    def executions(self) -> int:
        """Handler runs started by this layer (claims won)."""
        return self._executions

    @property
    def hits(self) -> int:
        """Duplicates answered with the stored response."""
        return self._hits

    @property
    def fenced(self) -> int:
        """Late invocations whose complete or abandon was refused (:meth:`run` only)."""
        return self._fenced

    def _count(self, name: str) -> None:
        """Add one to the counter ``name`` (``"_executions"``, ``"_hits"`` or ``"_fenced"``)."""
        with self._counts_lock:
            setattr(self, name, getattr(self, name) + 1)

    def key(self, event: dict[str, Any]) -> str:
        """The SHA-256 of the canonical JSON of the event (or of its ``key_fields``). An event
        that lacks a key field, or whose key fields are all null, has no key and is refused
        (Powertools' ``raise_on_no_idempotency_key``): it would share a record with every
        other such event."""
        if self.key_fields is None:
            text = check_payload("event", event)
        else:
            if not isinstance(event, dict):
                raise ServerlessTypeError(
                    f"event={shown(event, 60)} must be a dict (a JSON object)"
                )
            missing = [f for f in self.key_fields if f not in event]
            if missing:
                raise ServerlessError(f"event has no {shown(missing[0])}, a key field")
            if all(event[f] is None for f in self.key_fields):
                raise ServerlessError(
                    f"event's key fields {list(self.key_fields)} are all null: no idempotency "
                    "key (every such event would share one record)"
                )
            text = check_payload("event", {f: event[f] for f in self.key_fields})
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def record(self, event: dict[str, Any]) -> Record | None:
        """The persistence record of ``event``, or None."""
        item = self.table.get(self.namespace, self.key(event))
        return None if item is None else _record(item, self.table.ttl_attribute)

    def begin(self, event: dict[str, Any]) -> Record:
        """Claim ``event``. An ``INPROGRESS`` record is this caller's claim: run the handler,
        then :meth:`complete` or :meth:`abandon` with the record's ``token``. A ``COMPLETED``
        record holds the response to return instead. Raises :class:`IdempotencyInProgress` if
        another invocation holds it."""
        return self._begin(self.key(event))

    def _begin(self, key: str) -> Record:
        now = read_seconds(self.clock, ServerlessError, "Idempotency.begin")

        def free(old: dict[str, Any] | None) -> bool:
            if old is None:
                return True
            rec = _record(old, self.table.ttl_attribute)
            return rec.expired(now) or rec.abandoned(now)

        item = {
            "pk": self.namespace,
            "sk": key,
            "status": INPROGRESS,
            # An in-progress record lives at least as long as its claim (see the module's text)
            self.table.ttl_attribute: now + max(self.expires_after, self.in_progress_timeout),
            "in_progress_expiry": now + self.in_progress_timeout,
            "token": uuid.uuid4().hex,
        }
        try:
            self.table.put(item, condition=free)
        except ConditionFailed as exc:
            assert exc.existing is not None
            rec = _record(exc.existing, self.table.ttl_attribute)
            if rec.status == COMPLETED:
                self._count("_hits")
                return rec
            raise IdempotencyInProgress(
                f"event {key[:12]}... is in progress in another invocation until "
                f"t={rec.in_progress_expiry}; retry later"
            ) from None
        self._count("_executions")
        return _record(item, self.table.ttl_attribute)

    def complete(self, event: dict[str, Any], response: Any, *, token: str) -> Record:
        """Store the handler's ``response`` (JSON) for ``event``: duplicates now get it. Only
        the claim ``token`` still in the record may: else :class:`IdempotencyFenced`."""
        key = self.key(event)
        _check_token(token)
        check_payload("response", {"response": response})
        return self._complete(key, response, token)

    def _complete(self, key: str, response: Any, token: str) -> Record:
        now = read_seconds(self.clock, ServerlessError, "Idempotency.complete")
        item = {
            "pk": self.namespace,
            "sk": key,
            "status": COMPLETED,
            self.table.ttl_attribute: now + self.expires_after,
            "in_progress_expiry": now,
            "response": response,
            "token": token,
        }
        try:
            self.table.put(item, condition=lambda old: _owned(old, token))
        except ConditionFailed:
            raise IdempotencyFenced(
                f"event {key[:12]}... is no longer claimed by token {token[:12]}...: "
                "another invocation took it over, or it is gone; nothing stored"
            ) from None
        return _record(item, self.table.ttl_attribute)

    def abandon(self, event: dict[str, Any], *, token: str) -> bool:
        """Delete the in-progress record of a failed run, so a retry runs again. True when it
        was deleted; False when the record is not (any more) the claim ``token``: then it is
        left as it is."""
        key = self.key(event)
        _check_token(token)
        return self._abandon(key, token)

    def _abandon(self, key: str, token: str) -> bool:
        try:
            return self.table.delete(self.namespace, key, condition=lambda old: _owned(old, token))
        except ConditionFailed:
            return False

    def run(self, handler: Callable[[dict[str, Any]], Any], event: dict[str, Any]) -> Any:
        """Run ``handler(event)`` at most once per window; duplicates get the stored response.

        If the handler ran but its response cannot be stored (the table failed, or the response
        is not JSON or is over 256 KiB), the call raises :class:`ServerlessError`
        (:class:`ServerlessUnavailable` for a table failure) saying so, and the record stays
        ``INPROGRESS``, as Powertools raises ``IdempotencyPersistenceLayerError`` and leaves it:
        duplicates are refused until the in-progress timeout, after which the handler runs
        again (deleting the record instead would let an immediate retry repeat the side
        effect). Only a handler that raises has its record deleted."""
        if not callable(handler):
            raise ServerlessTypeError(f"handler={shown(handler)} must be callable")
        key = self.key(event)
        claim = self._begin(key)
        if claim.status == COMPLETED:
            return claim.response
        try:
            response = handler(event)
        except BaseException:
            if not self._abandon(key, claim.token):
                self._count("_fenced")  # taken over while we ran: the new owner's record stays
            raise
        try:  # from here on the side effect has happened: a failure keeps the claim
            check_payload("response", {"response": response})
            self._complete(key, response, claim.token)
        except IdempotencyFenced:
            self._count("_fenced")  # late: the response goes to this caller, the record stays
        except ServerlessError as exc:  # the side effect happened: keep the claim, say so
            kind = (
                ServerlessUnavailable if isinstance(exc, ServerlessUnavailable) else ServerlessError
            )
            raise kind(
                f"event {key[:12]}...: the handler ran but its response could not be stored "
                f"({exc}); the record stays INPROGRESS until t={claim.in_progress_expiry}: a "
                "duplicate before then is refused, one after runs the handler again"
            ) from exc
        return response

    def wrap(self, handler: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        """``handler`` made idempotent (the ``@idempotent`` decorator of Powertools)."""
        if not callable(handler):
            raise ServerlessTypeError(f"handler={shown(handler)} must be callable")

        def idempotent(event: dict[str, Any]) -> Any:
            return self.run(handler, event)

        return idempotent
