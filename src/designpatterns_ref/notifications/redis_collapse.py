"""Collapse keys shared between processes: the newest key of each (device, collapse key) in Redis.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

A notification with a ``collapse_key`` replaces an older undelivered one on the same device:
the :class:`~.pipeline.Pipeline` that expands it records its key as the newest of
``(token, collapse_key)``, and the :class:`~.send.Sender` drops (``"collapsed"``) a message whose
key is no longer the newest. In one process that record is a dict. When the sends run in worker
processes (:mod:`~designpatterns_ref.notifications.worker`), the record must be where they can
read it: :class:`RedisCollapseKeys` is that mapping, one Redis hash ``{prefix}:collapse`` with
the field ``token|collapse_key`` (a name never holds ``|``). Give the producing pipeline
``latest=RedisCollapseKeys(url, name)`` and the workers ``--name name``: they read the same hash.

The pipeline writes each expanded item's entries in one ``HSET`` before its messages are
queued, so a message taken after a newer one of its key was queued is collapsed; the sender
reads a take's entries in one ``HMGET``. A message taken before the newer one was queued is
sent, as in one process. The hash is never trimmed: one field per device and collapse key.

Complexity: O(1) per entry; one round trip per expanded item and per take.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.notifications.base import NotificationError, check_name
from designpatterns_ref.notifications.redis_dedup import _client, _s, _unavailable

__all__ = ["RedisCollapseKeys"]


class RedisCollapseKeys(MutableMapping[tuple[str, str], str]):
    """``(token, collapse_key) -> newest notification key``, in the Redis hash
    ``{prefix}:collapse``. ``redis`` is a URL or a client; a server that fails raises
    :class:`~designpatterns_ref.notifications.QueueUnavailable`, changing nothing."""

    def __init__(self, redis: Any, prefix: str) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise NotificationError(f"RedisCollapseKeys: prefix={shown(prefix)} must be a name")
        try:
            prefix.encode("utf-8")
        except UnicodeEncodeError:
            raise NotificationError(
                f"RedisCollapseKeys: prefix={shown(prefix)} is not valid UTF-8"
            ) from None
        self.r = _client(redis)
        self.prefix = prefix
        self.key = f"{prefix}:collapse"

    def _field(self, pair: object) -> str:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise NotificationError(
                f"RedisCollapseKeys: key={shown(pair)} must be a (token, collapse_key) pair"
            )
        token = check_name("RedisCollapseKeys", "token", pair[0])
        return f"{token}|{check_name('RedisCollapseKeys', 'collapse_key', pair[1])}"

    def __getitem__(self, pair: tuple[str, str]) -> str:
        field = self._field(pair)
        with _unavailable("RedisCollapseKeys.get", self.prefix):
            value = self.r.hget(self.key, field)
        if value is None:
            raise KeyError(pair)
        return _s(value)

    def get_many(self, pairs: Sequence[tuple[str, str]]) -> list[str | None]:
        """The newest key of each pair (None where there is none), in one ``HMGET``."""
        fields = [self._field(p) for p in pairs]
        if not fields:
            return []
        with _unavailable("RedisCollapseKeys.get_many", self.prefix):
            values = self.r.hmget(self.key, fields)
        return [None if v is None else _s(v) for v in values]

    def __setitem__(self, pair: tuple[str, str], key: str) -> None:
        self.update({pair: key})

    def update(self, other: Any = (), /, **kwargs: str) -> None:
        """Set several entries in one ``HSET`` (all checked before any is written)."""
        if kwargs:
            raise NotificationError("RedisCollapseKeys.update: keys are (token, collapse_key)")
        items: Iterable[tuple[Any, Any]] = other.items() if isinstance(other, Mapping) else other
        mapping = {
            self._field(pair): check_name("RedisCollapseKeys", "key", key) for pair, key in items
        }
        if mapping:
            with _unavailable("RedisCollapseKeys.update", self.prefix):
                self.r.hset(self.key, mapping=mapping)

    def __delitem__(self, pair: tuple[str, str]) -> None:
        field = self._field(pair)
        with _unavailable("RedisCollapseKeys.delete", self.prefix):
            removed = self.r.hdel(self.key, field)
        if not removed:
            raise KeyError(pair)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        with _unavailable("RedisCollapseKeys.iter", self.prefix):
            fields = [_s(f) for f in self.r.hkeys(self.key)]
        for field in fields:
            token, ck = field.split("|", 1)
            yield token, ck

    def __len__(self) -> int:
        with _unavailable("RedisCollapseKeys.len", self.prefix):
            return int(self.r.hlen(self.key))
