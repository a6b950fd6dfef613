"""Argument checks for the stores' own methods, the :class:`~designpatterns_ref.feed.FeedStore`
interface, applied to a store class by :func:`checked_store`.

Case study: Design a Social News Feed (Twitter / LinkedIn) (docs/case-studies/news-feed.md)

A strategy checks what a user hands it before it calls its store, but a store is public too:
users build one, fill it and read it directly (the module examples of ``MemoryStore`` do). So
each method of a store checks its arguments by name, the same way on every store: a user name
is a str UTF-8 can carry, a list of users is a list (or any iterable but a str) of them, a post
id is an int, a time is a finite number, a length is a whole number. A refused call raises
:class:`~designpatterns_ref.feed.FeedTypeError` (the wrong type) or
:class:`~designpatterns_ref.feed.FeedError` (the right type, a value out of range) naming the
argument, before the store has changed anything.

A list or tuple of users or ids is checked in place; any other iterable is read once, into a
list, and the method gets that list (a generator is not consumed twice).

Complexity: O(1) a scalar argument, O(n) a list of n users or ids (a C-level join or type
scan, then one test each only when that finds something wrong). The strategies, which check
what users hand them, call their store through :func:`unchecked`, so a strategy's call is
checked once: with the checks twice, a whole simulated mix on the memory store took about a
quarter longer.

>>> from designpatterns_ref.feed import MemoryStore
>>> MemoryStore().add_user(["ann"], 0.0)
Traceback (most recent call last):
...
designpatterns_ref.feed.base.FeedTypeError: user=['ann'] must be a user name (str)
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from designpatterns_ref.errors import shown
from designpatterns_ref.feed.base import (
    MAX_ID,
    MAX_KEY_LEN,
    FeedError,
    FeedStore,
    FeedTypeError,
    Post,
    _check_encodable,
    _check_user,
    _is_id,
    id_in_range,
)

__all__ = ["checked_store", "unchecked"]

T = TypeVar("T")


def _user(field: str, value: object) -> str:
    if type(value) is str and value.isascii():  # the common case, in two C calls
        return value
    return _check_user(field, value)  # the strategies' own check


def _users(field: str, value: object) -> Sequence[str]:
    if type(value) is list or type(value) is tuple:
        names: Sequence[Any] = value
    elif isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise FeedTypeError(f"{field}={shown(value, 80)} must be a list of user names (str)")
    else:
        names = value if isinstance(value, list | tuple) else list(value)
    try:
        if "".join(names).isascii():  # every name a str, none that UTF-8 cannot carry
            return names
    except TypeError:  # a name that is not a str: found below
        pass
    for name in names:
        _user(field[:-1], name)
    return names


def _text(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise FeedTypeError(f"{field}={shown(value, 80)} must be a str")
    _check_encodable(field, value)
    return value


def _name(field: str, value: object) -> str:
    value = _text(field, value)
    if not value:
        raise FeedError(f"{field}='' must not be empty")
    return value


def _key(field: str, value: object) -> str:
    value = _text(field, value)
    if len(value) > MAX_KEY_LEN:
        raise FeedError(f"{field}={shown(value[:80])} must be at most {MAX_KEY_LEN} characters")
    return value


def _time(field: str, value: object) -> float:
    if type(value) is float and -sys.float_info.max <= value <= sys.float_info.max:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FeedTypeError(f"{field}={shown(value, 80)} must be a number of seconds")
    if not -sys.float_info.max <= value <= sys.float_info.max:  # NaN, inf, 10**400
        raise FeedError(f"{field}={shown(value, 80)} must be finite")
    if float(value) != value:  # past 2**53 (some ints): as a float, a later time could equal it
        raise FeedError(
            f"{field}={shown(value, 80)} is an int a float cannot hold exactly; every store "
            "keeps times as floats, so a time must be a float or an int a float holds exactly "
            "(every int within +-2**53, and past it only some)"
        )
    return float(value)  # every store keeps a float (Redis has no other number)


def _flag(field: str, value: object) -> bool:
    if value is not True and value is not False:
        raise FeedTypeError(f"{field}={shown(value, 80)} must be True or False")
    return value


def _int(field: str, value: object) -> int:
    """Any int: a bound or an id looked up (an id no store can hold is simply absent)."""
    if type(value) is int:
        return value
    if not _is_id(value):
        raise FeedTypeError(f"{field}={shown(value, 80)} must be an int")
    return value  # type: ignore[return-value]


def _post_id(field: str, value: object) -> int:
    """An id a store can hold, in [-MAX_ID, MAX_ID)."""
    value = _int(field, value)
    if not id_in_range(value):
        raise FeedError(f"{field}=(an int outside [-2**63, 2**63)) is no post id")
    return value


def _ints(field: str, value: object) -> Sequence[int]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise FeedTypeError(f"{field}={shown(value, 80)} must be a list of post ids (int)")
    ids = value if isinstance(value, list | tuple) else list(value)
    if not set(map(type, ids)) <= _INT and not all(map(_is_id, ids)):
        raise FeedTypeError(f"{field}={shown(ids, 80)} must hold post ids (int) only")
    return ids


_INT = {int}


def _post_ids(field: str, value: object) -> Sequence[int]:
    ids = _ints(field, value)
    if not all(map(id_in_range, ids)):
        raise FeedError(f"{field} holds an int outside [-2**63, 2**63), which is no post id")
    return ids


def _count(field: str, value: object) -> int:
    if type(value) is int and 0 <= value < MAX_ID:
        return value
    if not _is_id(value):
        raise FeedTypeError(f"{field}={shown(value, 80)} must be an int")
    if not 0 <= value < MAX_ID:  # type: ignore[operator]
        raise FeedError(f"{field}={shown(value, 80)} must be from 0 to 2**63 - 1")
    return value  # type: ignore[return-value]


def _post(field: str, value: object) -> Post:
    if not isinstance(value, Post):
        raise FeedTypeError(f"{field}={shown(value, 80)} must be a Post")
    _post_id(f"{field}.id", value.id)
    _user(f"{field}.author", value.author)
    return value


#: The check of each argument, by its name in the FeedStore interface.
CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "user": _user,
    "follower": _user,
    "followee": _user,
    "author": _user,
    "users": _users,
    "authors": _users,
    "kind": _name,
    "strategy": _name,
    "body": _text,
    "key": _key,
    "now": _time,
    "at": _time,
    "on": _flag,
    "capped": _flag,
    "post_id": _int,
    "before": _int,
    "after": _int,
    "ids": _ints,
    "limit": _count,
    "max_len": _count,
    "post": _post,
}

#: Methods whose ids must be ids a store can hold (a lookup takes any int: absent).
STRICT_IDS: dict[str, dict[str, Callable[[str, Any], Any]]] = {
    "home_add": {"ids": _post_ids},
    "home_remove": {"ids": _post_ids},
    "clear_pending": {"post_id": _post_id},
}


def _wrap(method: Callable[..., T], checks: dict[str, Callable[[str, Any], Any]]) -> Any:
    """``method`` behind the checks of its arguments, with its own signature.

    The wrapper is written out for each method (one plain call per checked argument), not a
    loop over a dict of arguments: a store call is a fraction of a microsecond on memory, and a
    generic wrapper cost three times that.
    """
    signature = inspect.signature(method)
    params = list(signature.parameters.values())[1:]  # past self
    header = ", ".join(
        ("*, " if p.kind is p.KEYWORD_ONLY and p is _first_keyword(params) else "")
        + (p.name if p.default is p.empty else f"{p.name}={p.default!r}")
        for p in params
    )
    body = "".join(
        f"    {p.name} = _c_{p.name}({p.name!r}, {p.name})\n" for p in params if p.name in checks
    )
    call = ", ".join(
        p.name if p.kind is not p.KEYWORD_ONLY else f"{p.name}={p.name}" for p in params
    )
    source = f"def {method.__name__}(self, {header}):\n{body}    return _raw(self, {call})\n"
    namespace: dict[str, Any] = {f"_c_{name}": check for name, check in checks.items()}
    namespace["_raw"] = method
    exec(source, namespace)  # the source is built above from the method's own signature
    wrapper = functools.wraps(method)(namespace[method.__name__])
    # for unchecked(): the method behind the checks, and the wrapper it belongs to (a decorator
    # applied over this one copies both attributes, and must not be skipped)
    wrapper._unchecked = method  # type: ignore[attr-defined]
    wrapper._checks = wrapper  # type: ignore[attr-defined]
    return wrapper


def _first_keyword(params: list[inspect.Parameter]) -> inspect.Parameter | None:
    return next((p for p in params if p.kind is p.KEYWORD_ONLY), None)


def checked_store(cls: type[T]) -> type[T]:
    """Make every :class:`FeedStore` method of ``cls`` that takes arguments check them first."""
    for name in FeedStore.__dict__:
        if name.startswith("_") or name == "name":
            continue
        method = cls.__dict__.get(name)
        if method is None or len(inspect.signature(method).parameters) < 2:
            continue
        setattr(cls, name, _wrap(method, {**CHECKS, **STRICT_IDS.get(name, {})}))
    return cls


def _raw(cls: type, name: str) -> Any:
    """The method behind the checks of ``cls.name`` when the checks are its outermost layer,
    else None (the method as it is then runs, checks included)."""
    attr: Any = getattr(cls, name, None)
    if attr is None or getattr(attr, "_checks", None) is not attr:
        return None
    return getattr(attr, "_unchecked", None)


class _Unchecked:
    """A store's methods without their argument checks (see :func:`unchecked`)."""

    def __init__(self, store: FeedStore) -> None:
        self._store = store
        for name in FeedStore.__dict__:
            raw = _raw(type(store), name)
            if raw is not None:
                setattr(self, name, raw.__get__(store))

    def __getattr__(self, name: str) -> Any:  # every other attribute: the store's own
        return getattr(self._store, name)


def unchecked(store: FeedStore) -> FeedStore:
    """``store`` seen without the checks :func:`checked_store` added: for the strategies, which
    check every argument a user hands them before they call their store (the checks would run
    twice, about a quarter of a simulated mix on the memory store). A store class not made by
    :func:`checked_store` is returned as it is."""
    if not any(_raw(type(store), name) is not None for name in FeedStore.__dict__):
        return store
    return _Unchecked(store)
