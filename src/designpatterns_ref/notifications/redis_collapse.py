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

"Newest" is the order of acceptance, not of expansion: an item whose expansion failed (a
queue outage) is expanded again after newer ones, and must not take their place. Each accepted
item carries its accept order (:meth:`~.pipeline.Pipeline.accept` time and a sequence number,
kept on retry), and the pipeline writes an item's entries with :meth:`RedisCollapseKeys.record`:
one Lua script that sets a field only if the entry is not older than the one recorded (the
orders sit in the hash ``{prefix}:collapse:order``). It runs before the item's messages are
queued, so a message taken after a newer one of its key was queued is collapsed; the sender
reads a take's entries in one ``HMGET``. A message taken before the newer one was queued is
sent, as in one process. The hashes are never trimmed: one field per device and collapse key.
Plain assignment (``m[pair] = key``, :meth:`~RedisCollapseKeys.update`) writes regardless of
order and forgets the entry's order, so the next recorded entry replaces it.

Complexity: O(1) per entry; one round trip per expanded item and per take.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.notifications.base import NotificationError, check_name
from designpatterns_ref.notifications.redis_dedup import _TYPES, _client, _s, _unavailable

__all__ = ["RedisCollapseKeys"]

_CLIENT_METHODS = ("hget", "hmget", "hexists", "hkeys", "hlen", "pipeline", "register_script")

#: An accept order: (accept time in seconds, sequence number of the accepting pipeline).
Order = tuple[float, int]

# KEYS: the hash of keys, the hash of orders. ARGV: field, time, sequence, key; repeated.
# A field is set when it has no order or its order is not greater (the same item again
# rewrites its own entry); lexicographic on (time, sequence).
_RECORD = """
for i = 1, #ARGV, 4 do
  local f, t, n = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local old = redis.call('HGET', KEYS[2], f)
  local newer = true
  if old then
    local sp = string.find(old, ' ', 1, true)
    local ot, on = tonumber(string.sub(old, 1, sp - 1)), tonumber(string.sub(old, sp + 1))
    newer = t > ot or (t == ot and n >= on)
  end
  if newer then
    redis.call('HSET', KEYS[1], f, ARGV[i + 3])
    redis.call('HSET', KEYS[2], f, ARGV[i + 1] .. ' ' .. ARGV[i + 2])
  end
end
return 0
"""

# KEYS: the hash of keys, the hash of orders. ARGV: field, key; repeated. Sets each field and
# forgets its order. Both hashes are checked first: a MULTI would have set the keys and then
# failed on an orders hash of the wrong type (Redis does not roll a MULTI back).
_SET = (
    _TYPES
    + """
local e = wrong_type(1, 'hash')
if e then return e end
for i = 1, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('HDEL', KEYS[2], ARGV[i])
end
return 0
"""
)

# KEYS: the hash of keys, the hash of orders. ARGV: the field. Returns 1 if it was there.
_DELETE = (
    _TYPES
    + """
local e = wrong_type(1, 'hash')
if e then return e end
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return n
"""
)


def check_order(where: str, order: object) -> Order:
    """``order`` as an accept order: a (finite float seconds, int >= 0) pair."""
    if (
        isinstance(order, tuple | list)
        and len(order) == 2
        and isinstance(order[0], int | float)
        and not isinstance(order[0], bool)
        and -(2.0**53) <= order[0] <= 2.0**53  # a NaN compares False; an infinity is past
        and isinstance(order[1], int)
        and not isinstance(order[1], bool)
        and 0 <= order[1] < 2**53
    ):
        return float(order[0]), order[1]
    raise NotificationError(
        f"{where}: order={shown(order)} must be an (accept time, sequence number) pair"
    )


def newer_entries(
    where: str, entries: Mapping[tuple[str, str], tuple[Order, str]]
) -> Mapping[tuple[str, str], tuple[Order, str]]:
    """``entries`` checked as ``pair -> (order, key)``, or :class:`NotificationError`."""
    if not isinstance(entries, Mapping):
        raise NotificationError(
            f"{where}: entries={shown(entries)} must map (token, collapse_key) pairs to "
            "(order, key) pairs"
        )
    for pair, value in entries.items():
        if not isinstance(value, tuple) or len(value) != 2:
            raise NotificationError(
                f"{where}: entry {shown(pair)}={shown(value)} must be an (order, key) pair"
            )
        check_order(where, value[0])
        check_name(where, "key", value[1])
    return entries


def record_in_dict(
    latest: MutableMapping[tuple[str, str], str],
    orders: dict[tuple[str, str], Order],
    entries: Mapping[tuple[str, str], tuple[Order, str]],
) -> None:
    """The in-process form of :meth:`RedisCollapseKeys.record`: set ``latest[pair]`` to
    ``key`` unless ``orders`` holds a greater order for ``pair``."""
    for pair, (order, key) in entries.items():
        old = orders.get(pair)
        if old is None or pair not in latest or order >= old:
            latest[pair] = key
            orders[pair] = order


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
        if not isinstance(redis, str) and not all(
            callable(getattr(redis, m, None)) for m in _CLIENT_METHODS
        ):
            raise NotificationError(
                f"RedisCollapseKeys: redis={shown(redis)} must be a Redis URL or a client "
                f"(with {', '.join(_CLIENT_METHODS)})"
            )
        try:
            self.r = _client(redis)
        except ValueError as exc:  # not a redis://, rediss:// or unix:// URL
            raise NotificationError(f"RedisCollapseKeys: redis={shown(redis)}: {exc}") from None
        self.prefix = prefix
        self.key = f"{prefix}:collapse"
        self.orders = f"{prefix}:collapse:order"
        self._record = self.r.register_script(_RECORD)
        self._set = self.r.register_script(_SET)
        self._delete = self.r.register_script(_DELETE)

    def _field(self, pair: object) -> str:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise NotificationError(
                f"RedisCollapseKeys: key={shown(pair)} must be a (token, collapse_key) pair"
            )
        token = check_name("RedisCollapseKeys", "token", pair[0])
        return f"{token}|{check_name('RedisCollapseKeys', 'collapse_key', pair[1])}"

    def _lookup(self, pair: object) -> str | None:
        """A valid pair's field, or None for anything that cannot be a key (as a dict answers
        ``in`` and ``get`` for a key it cannot hold)."""
        try:
            return self._field(pair)
        except NotificationError:
            return None

    def __getitem__(self, pair: tuple[str, str]) -> str:
        field = self._lookup(pair)
        if field is None:
            raise KeyError(pair)
        with _unavailable("RedisCollapseKeys.get", self.prefix):
            value = self.r.hget(self.key, field)
        if value is None:
            raise KeyError(pair)
        return _s(value)

    def __contains__(self, pair: object) -> bool:
        field = self._lookup(pair)
        if field is None:
            return False
        with _unavailable("RedisCollapseKeys.contains", self.prefix):
            return bool(self.r.hexists(self.key, field))

    def get_many(self, pairs: Sequence[tuple[str, str]]) -> list[str | None]:
        """The newest key of each pair (None where there is none), in one ``HMGET``."""
        if isinstance(pairs, str) or not isinstance(pairs, Iterable):
            raise NotificationError(
                f"RedisCollapseKeys.get_many: pairs={shown(pairs)} must be (token, collapse_key) "
                "pairs"
            )
        fields = [self._field(p) for p in pairs]
        if not fields:
            return []
        with _unavailable("RedisCollapseKeys.get_many", self.prefix):
            values = self.r.hmget(self.key, fields)
        return [None if v is None else _s(v) for v in values]

    def record(self, entries: Mapping[tuple[str, str], tuple[Order, str]]) -> None:
        """Set each ``pair -> (order, key)`` unless the pair holds an entry of a greater accept
        order; one script call (all checked before any is written; run whole or not at all)."""
        entries = newer_entries("RedisCollapseKeys.record", entries)
        args: list[Any] = []
        for pair, (order, key) in entries.items():
            t, n = check_order("RedisCollapseKeys.record", order)
            args += [self._field(pair), repr(t), str(n), key]
        if args:
            with _unavailable("RedisCollapseKeys.record", self.prefix):
                self._record(keys=[self.key, self.orders], args=args)

    def __setitem__(self, pair: tuple[str, str], key: str) -> None:
        self.update([(pair, key)])

    def update(self, other: Any = (), /, **kwargs: str) -> None:
        """Set several entries in one script call (all checked before any is written, and a
        key of the wrong type refused before any write), regardless of accept order (their
        orders are forgotten)."""
        if kwargs:
            raise NotificationError("RedisCollapseKeys.update: keys are (token, collapse_key)")
        if isinstance(other, Mapping):
            items: Iterable[Any] = other.items()
        elif isinstance(other, str | bytes) or not isinstance(other, Iterable):
            raise NotificationError(
                f"RedisCollapseKeys.update: other={shown(other)} must be a mapping or "
                "((token, collapse_key), key) pairs"
            )
        else:
            items = other
        mapping: dict[str, str] = {}
        for entry in items:
            if not isinstance(entry, tuple | list) or len(entry) != 2:
                raise NotificationError(
                    f"RedisCollapseKeys.update: entry={shown(entry)} must be a "
                    "((token, collapse_key), key) pair"
                )
            pair, key = entry
            mapping[self._field(pair)] = check_name("RedisCollapseKeys", "key", key)
        if mapping:
            with _unavailable("RedisCollapseKeys.update", self.prefix):
                args = [v for field, key in mapping.items() for v in (field, key)]
                self._set(keys=[self.key, self.orders], args=args)

    def __delitem__(self, pair: tuple[str, str]) -> None:
        field = self._lookup(pair)
        if field is None:
            raise KeyError(pair)
        with _unavailable("RedisCollapseKeys.delete", self.prefix):
            removed = self._delete(keys=[self.key, self.orders], args=[field])
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
