"""Redis Cluster hash slots: CRC16 of the key (or of its ``{hash tag}``) modulo 16,384.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

Redis Cluster does not hash keys onto nodes directly. It hashes them onto 16,384 fixed slots,
``CRC16(key) mod 16384`` (the XMODEM variant of CRC16), and assigns ranges of slots to nodes; moving
a slot moves its keys, and the slot count never changes. If a key contains ``{...}`` with at
least one character between the first ``{`` and the next ``}``, only that part is hashed, so
``{user:7}:cart`` and ``{user:7}:orders`` share a slot and one Lua script or ``MULTI`` may touch
both: the reason this library's Redis keys carry hash tags. Checked against a real cluster's
``CLUSTER KEYSLOT`` in the tests.

:func:`crc16` is the readable table-driven CRC; :func:`keyslot` computes the same CRC with the
standard library's C ``binascii.crc_hqx`` (the same polynomial and initial value), about ten
times faster; a property test holds them equal.

Complexity: O(len(key)) per key.

>>> keyslot("foo"), keyslot("{user:7}:cart") == keyslot("{user:7}:orders")
(12182, True)
>>> hash_tag("{}x{y}")   # an empty tag hashes the whole key
'{}x{y}'
"""

from __future__ import annotations

from binascii import crc_hqx

from designpatterns_ref.errors import shown
from designpatterns_ref.sharding.base import Key, ShardingError, key_bytes

__all__ = ["SLOTS", "crc16", "hash_tag", "keyslot"]

SLOTS = 16384


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return table


_TABLE = _table()


def crc16(data: bytes) -> int:
    """CRC16-XMODEM (polynomial 0x1021, initial value 0), as Redis Cluster uses it.

    ``data`` is ``bytes`` or ``bytearray``; anything else (a str too: :func:`keyslot` takes
    text keys) raises :class:`ShardingError`.
    """
    if not isinstance(data, bytes | bytearray):
        raise ShardingError(
            f"crc16: data={shown(data, 60)} must be bytes or bytearray (keyslot takes str keys)"
        )
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


def _tag(data: bytes) -> bytes:
    start = data.find(b"{")
    if start >= 0:
        end = data.find(b"}", start + 1)
        if end > start + 1:
            return data[start + 1 : end]
    return data


def hash_tag(key: str) -> str:
    """The part of ``key`` Redis hashes: the first non-empty ``{tag}``, else the whole key."""
    if not isinstance(key, str):
        raise ShardingError(f"hash_tag: key={shown(key)} must be a str (keyslot takes bytes too)")
    return _tag(key_bytes(key)).decode()


def keyslot(key: Key) -> int:
    """The Redis Cluster slot of ``key``, in ``range(16384)``."""
    return crc_hqx(_tag(key_bytes(key)), 0) % SLOTS
