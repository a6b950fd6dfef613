"""Short codes and IDs: base62, keyed permutations, allocators, hashing, Snowflake, a shortener.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md), and the ID
half of Design a Photo Sharing App (Instagram-Style) (docs/case-studies/photo-sharing.md).

Every way to make a short code, what each costs and where each goes wrong:

* codecs: :mod:`.base62` (numbers and bytes to codes), :mod:`.obfuscate` (keyed
  permutations that hide the order of counter codes), :mod:`.tuples` (several numbers in one
  code) and :mod:`.blocklist` (obfuscated codes that never spell a listed word);
* allocators, all with ``candidates(url)``: :class:`CounterAllocator` (one shared counter),
  :class:`RangeAllocator` (blocks leased from a :class:`MemoryCounter`, :class:`SQLiteCounter`
  or :class:`RedisCounter`), :class:`HashCodes` (hash the URL, re-salt on collision), with the
  birthday bound in :mod:`.birthday`;
* :class:`Snowflake`: time-sortable 64-bit IDs from many workers;
* :class:`UrlShortener`: the service, over a :class:`MemoryStore` or :class:`SQLiteStore`.

>>> from designpatterns_ref import shortcode
>>> shortcode.encode(3_521_614_606_207)
'zzzzzzz'
>>> links = shortcode.UrlShortener()
>>> links.resolve(links.shorten("https://example.com"))
'https://example.com'
"""

from __future__ import annotations

from designpatterns_ref.shortcode.avoiding import AvoidingCodes
from designpatterns_ref.shortcode.base import (
    AliasTaken,
    ClockMovedBackwards,
    CodeAllocator,
    CodeExpired,
    CodeNotFound,
    CollisionError,
    Counter,
    InvalidAlias,
    InvalidUrl,
    ShortCodeError,
    ShortCodeUnavailable,
    SpaceExhausted,
)
from designpatterns_ref.shortcode.base62 import (
    ALPHABET,
    MAX_CODE_LENGTH,
    Alphabet,
    decode,
    decode_bytes,
    encode,
    encode_bytes,
)
from designpatterns_ref.shortcode.birthday import (
    codes_until_collision,
    collision_probability,
    expected_collisions,
)
from designpatterns_ref.shortcode.blocklist import (
    DEFAULT_WORDS,
    RULES,
    Blocklist,
    CleanObfuscator,
)
from designpatterns_ref.shortcode.counter import CounterAllocator, NumberCodes
from designpatterns_ref.shortcode.hashing import HASHES, HashCodes
from designpatterns_ref.shortcode.obfuscate import KeyedPermutation, Obfuscator
from designpatterns_ref.shortcode.ranges import (
    COUNTER_MAX,
    MemoryCounter,
    RangeAllocator,
    SQLiteCounter,
)
from designpatterns_ref.shortcode.redis import RedisCounter
from designpatterns_ref.shortcode.service import RESERVED_ALIASES, UrlShortener
from designpatterns_ref.shortcode.snowflake import (
    INSTAGRAM,
    INSTAGRAM_EPOCH_MS,
    MAX_BATCH,
    TWITTER,
    TWITTER_EPOCH_MS,
    Layout,
    Snowflake,
    SnowflakeParts,
    decompose,
)
from designpatterns_ref.shortcode.store import Insert, Link, LinkStore, MemoryStore, SQLiteStore
from designpatterns_ref.shortcode.tuples import MAX_TUPLE_WIDTH, TupleCodes

__all__ = [
    "ALPHABET",
    "COUNTER_MAX",
    "DEFAULT_WORDS",
    "HASHES",
    "INSTAGRAM",
    "INSTAGRAM_EPOCH_MS",
    "MAX_BATCH",
    "MAX_CODE_LENGTH",
    "MAX_TUPLE_WIDTH",
    "RESERVED_ALIASES",
    "RULES",
    "TWITTER",
    "TWITTER_EPOCH_MS",
    "AliasTaken",
    "Alphabet",
    "AvoidingCodes",
    "Blocklist",
    "CleanObfuscator",
    "ClockMovedBackwards",
    "CodeAllocator",
    "CodeExpired",
    "CodeNotFound",
    "CollisionError",
    "Counter",
    "CounterAllocator",
    "HashCodes",
    "Insert",
    "InvalidAlias",
    "InvalidUrl",
    "KeyedPermutation",
    "Layout",
    "Link",
    "LinkStore",
    "MemoryCounter",
    "MemoryStore",
    "NumberCodes",
    "Obfuscator",
    "RangeAllocator",
    "RedisCounter",
    "SQLiteCounter",
    "SQLiteStore",
    "ShortCodeError",
    "ShortCodeUnavailable",
    "Snowflake",
    "SnowflakeParts",
    "SpaceExhausted",
    "TupleCodes",
    "UrlShortener",
    "codes_until_collision",
    "collision_probability",
    "decode",
    "decode_bytes",
    "decompose",
    "encode",
    "encode_bytes",
    "expected_collisions",
]
