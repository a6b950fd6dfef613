"""An object store with S3's semantics: whole-object puts, ETags, conditional create, prefixes.

Case study: Design a Healthcare Patient Operations Platform (Serverless)
(docs/case-studies/healthcare-serverless.md)

Objects are immutable byte strings under keys; a put replaces the whole object and returns its
ETag (an MD5, as S3's for single-part uploads); ``if_none_match=True`` creates only when absent
(S3's ``If-None-Match: *``), so two writers of the same call recording cannot overwrite each
other. :meth:`list` returns keys under a prefix in order. Trade-off: no partial updates, no
rename; listing by prefix is the only index. O(log n) per put (sorted keys), O(k) per list.

>>> s = ObjectStore(); s.put("calls/2026/c1.json", b"{}")
'99914b932bd37a50b983c5e7c90ae93b'
>>> s.put("calls/2026/c1.json", b"[]", if_none_match=True)
Traceback (most recent call last):
...
designpatterns_ref.serverless.base.ConditionFailed: object 'calls/2026/c1.json' exists
>>> s.list("calls/"), s.get("calls/2026/c1.json")
(['calls/2026/c1.json'], b'{}')
"""

from __future__ import annotations

import bisect
import hashlib

from designpatterns_ref.errors import shown
from designpatterns_ref.serverless.base import (
    ConditionFailed,
    ServerlessError,
    ServerlessTypeError,
    check_name,
)

__all__ = ["ObjectStore"]

MAX_OBJECT = 5 * 1024 * 1024  # a small model of S3's single-put limit


class ObjectStore:
    """Keys to immutable bytes, with ETags and listing by prefix."""

    def __init__(self) -> None:
        self._objects: dict[str, tuple[bytes, str]] = {}
        self._keys: list[str] = []

    def put(self, key: str, data: bytes, *, if_none_match: bool = False) -> str:
        """Store ``data`` under ``key`` (whole); return the ETag."""
        check_name("key", key, max_len=1024)
        if not isinstance(data, bytes):
            raise ServerlessTypeError(f"data={shown(data, 60)} must be bytes")
        if len(data) > MAX_OBJECT:
            raise ServerlessError(f"data is {len(data)} bytes; at most {MAX_OBJECT} allowed")
        if not isinstance(if_none_match, bool):
            raise ServerlessTypeError(f"if_none_match={shown(if_none_match)} must be a bool")
        if if_none_match and key in self._objects:
            raise ConditionFailed(f"object {shown(key)} exists", None)
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if key not in self._objects:
            bisect.insort(self._keys, key)
        self._objects[key] = (data, etag)
        return etag

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; :class:`ServerlessError` (no such key) when absent."""
        check_name("key", key, max_len=1024)
        if key not in self._objects:
            raise ServerlessError(f"key={shown(key)}: no such key")
        return self._objects[key][0]

    def etag(self, key: str) -> str | None:
        """The ETag of ``key``, or None."""
        check_name("key", key, max_len=1024)
        found = self._objects.get(key)
        return None if found is None else found[1]

    def list(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix``, in order."""
        if not isinstance(prefix, str):
            raise ServerlessTypeError(f"prefix={shown(prefix)} must be a string")
        if len(prefix) > 1024:
            raise ServerlessError(f"prefix has {len(prefix)} characters; at most 1024")
        if prefix:
            check_name("prefix", prefix, max_len=1024)  # valid text, as every key is
        i = bisect.bisect_left(self._keys, prefix)
        out = []
        while i < len(self._keys) and self._keys[i].startswith(prefix):
            out.append(self._keys[i])
            i += 1
        return out

    def __len__(self) -> int:
        return len(self._objects)
