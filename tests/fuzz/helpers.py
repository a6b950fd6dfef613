"""Shortcuts for writing registrations (optional: an :class:`Entry` list is all the suite reads).

:func:`per_argument` makes one :class:`~tests.fuzz.spec.Entry` per argument of a call: every
other argument keeps a valid value, the one under test gets the hostile value.

>>> entries = per_argument("divmod", lambda _, a, b: divmod(a, b), {"a": 7, "b": 2})
>>> [e.name for e in entries]
['divmod(a=)', 'divmod(b=)']
>>> entries[1].call(None, 3)
(2, 1)
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from tests.fuzz.spec import Entry


def per_argument(
    name: str,
    call: Callable[..., object],
    valid: Mapping[str, Any],
    *,
    make: Callable[[], Any] | None = None,
    snapshot: Callable[[Any], object] | None = None,
    values: Sequence[Any] = (),
) -> list[Entry]:
    """One entry per key of ``valid``: ``call(obj, **valid)`` with that key's value hostile."""

    def entry(arg: str) -> Entry:
        def run(obj: Any, value: Any) -> object:
            return call(obj, **{**valid, arg: value})

        return Entry(f"{name}({arg}=)", call=run, make=make, snapshot=snapshot, values=values)

    return [entry(arg) for arg in valid]


@functools.cache
def scratch_dir() -> str:
    """A temporary folder for the whole run (files a hostile path may create land there)."""
    path = tempfile.mkdtemp(prefix="dpref-fuzz-")
    atexit.register(shutil.rmtree, path, True)
    return path


@contextlib.contextmanager
def in_scratch_dir() -> Iterator[None]:
    """Run the block with the scratch folder as the working directory."""
    with contextlib.chdir(scratch_dir()):
        yield


@contextlib.contextmanager
def all_digits() -> Iterator[None]:
    """Let ``str`` and ``json`` write ints of any length in the block (Python stops at 4,300
    digits): a registration that sends a hostile int as text must send all of its digits."""
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(previous)


def text_of(value: Any) -> str:
    """``str(value)``, with every digit of an int too long for ``str``.

    >>> len(text_of(10**5000)), text_of([1])
    (5001, '[1]')
    """
    with all_digits():
        return str(value)


def json_of(value: Any) -> str:
    """``value`` as JSON text (anything JSON cannot hold as its repr), every digit of a huge
    int included: what a hostile client could send. Lone surrogates are escapes (\\ud800),
    as JSON allows."""
    with all_digits():
        return json.dumps(value, default=repr)


@functools.cache
def redis_url() -> str:
    """A throwaway Redis server for the whole run, started on first use, stopped at exit."""
    from designpatterns_ref.testing import redis_server

    stack = contextlib.ExitStack()
    server = stack.enter_context(redis_server())
    atexit.register(stack.close)
    return server.url


def empty_redis_url() -> str:
    """:func:`redis_url`, its server emptied first: what a ``make`` builds its object on.

    The suite holds one made object at a time, so nothing else lives there. Left alone, the
    keys of every object made in the run (tens of thousands) pile up, and each snapshot that
    SCANs for one object's keys walks all of them: three times slower per call at 60,000 keys.
    """
    _admin().flushall()
    return redis_url()


@functools.cache
def _admin() -> Any:
    import redis

    return redis.Redis.from_url(redis_url())


def redis_keys(client: Any, pattern: str) -> object:
    """What a Redis-backed object holds, as a comparable dump of the keys matching ``pattern``."""
    return sorted((key, client.dump(key)) for key in client.scan_iter(match=pattern, count=1000))
