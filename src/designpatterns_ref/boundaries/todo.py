"""The recorded violations (packwerk's ``package_todo.yml``): adopt the rules gradually.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

A codebase adopting boundaries starts with many violations. :func:`write_todo` records the
current ones in a TOML file (``boundaries_todo.toml``), one entry per :attr:`Violation.key`
(the rule and the modules, never the line, so moving code does not invalidate it), with a
``where`` (``file:line``, relative to the todo file's folder, since the file is committed);
:func:`split` then sorts a check's violations into new ones (which fail CI) and recorded ones
(which do not), and lists the recorded entries that no longer occur. :func:`shrink` rewrites
the file without those stale entries and never adds one, so the list only ever gets shorter.

Complexity: O(v) for v violations, with set look-ups.

>>> v = Violation("dependency", "s.a", "s.b", "s/a.py", 3, "m", "f")
>>> new, recorded, stale = split([v], {("dependency", "s.a", "s.c")})
>>> (len(new), len(recorded), stale)
(1, 0, [('dependency', 's.a', 's.c')])
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path

from designpatterns_ref.boundaries.base import (
    RULES,
    BoundariesError,
    ConfigError,
    Violation,
    check_path,
    write_file,
)
from designpatterns_ref.errors import shown

__all__ = ["Unknown", "read_todo", "render_todo", "shrink", "split", "write_todo"]

#: Whether a recorded key may still occur unseen, because some file's imports are unknown
#: (:func:`designpatterns_ref.boundaries.run.check` builds one from the graph).
Unknown = Callable[[tuple[str, ...]], bool]

_HEADER = """\
# Recorded boundary violations: known debts that `dpref boundaries check` tolerates.
# A violation not listed here fails the check. Fix one, then run
# `dpref boundaries shrink PATH` to drop it from this file; never add entries by hand.
"""


def _violations(values: object) -> list[Violation]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise BoundariesError(f"violations={shown(values, 60)}: must be an iterable of Violation")
    items = list(values)
    for v in items:
        if not isinstance(v, Violation):
            raise BoundariesError(f"violations: {shown(v, 60)} is not a Violation")
    return items


def read_todo(path: str | Path) -> set[tuple[str, ...]]:
    """The recorded keys in ``path`` (an empty set when the file does not exist)."""
    return set(_read_entries(check_path(path, "path")))


def _read_entries(path: str) -> dict[tuple[str, ...], str]:
    """The recorded entries of ``path``: each key with its ``where`` ("" when missing)."""
    try:
        with open(path, "rb") as fh:
            document = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"is not valid TOML: {exc}") from None
    except UnicodeDecodeError:  # tomllib reads bytes as UTF-8: a binary file is not a todo list
        raise ConfigError(str(path), "is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read: {exc.strerror}") from None
    entries = document.get("violation", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: violation", "must be an array of tables")
    keys: dict[tuple[str, ...], str] = {}
    for i, entry in enumerate(entries):
        key = entry.get("key") if isinstance(entry, dict) else None
        if (
            not isinstance(key, list)
            or not key
            or key[0] not in RULES
            or not all(isinstance(k, str) for k in key)
        ):
            raise ConfigError(
                f"{path}: violation[{i}].key", f"must be [rule, names...], not {shown(key)}"
            )
        where = entry.get("where")
        keys.setdefault(tuple(key), where if isinstance(where, str) else "")
    return keys


def _is_chain(key: tuple[str, ...]) -> bool:
    """Whether ``key`` is a cycle as files written before cycles were keyed by import hold
    it: the whole chain of components, starting and ending with the same one
    (``["cycle", a, b, a]``)."""
    return key[0] == "cycle" and len(key) >= 4 and key[1] == key[-1]


def _groups(violations: list[Violation]) -> dict[str, str]:
    """Each component in a cycle, with a representative of its strongly connected group.

    The cycle violations are exactly the component edges inside a group, and a group is
    connected by its own edges, so the groups are the connected parts of those edges
    (union-find)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for v in violations:
        if v.key[0] == "cycle" and len(v.key) == 3:
            parent[find(v.key[1])] = find(v.key[2])
    return {x: find(x) for x in parent}


def _chain_cover(
    violations: list[Violation], chains: Iterable[tuple[str, ...]]
) -> dict[tuple[str, ...], tuple[str, ...]]:
    """``{cycle violation key: the recorded chain that tolerates it}``.

    An earlier version recorded each strongly connected group of components once, as a
    shortest chain through it, and tolerated every import inside that group. So a chain stands
    for every ``(cycle, x, y)`` whose two components lie in one current group together with
    the chain's components (with at least two of them, should the cycle have been partly
    broken since). ``shrink`` rewrites it as those edges, after which an import that joins
    the cycle is new.
    """
    group = _groups(violations)
    by_group: dict[str, tuple[str, ...]] = {}
    for chain in sorted(chains):
        held: dict[str, int] = {}
        for c in set(chain[1:]):
            if c in group:
                held[group[c]] = held.get(group[c], 0) + 1
        for g, n in held.items():
            if n >= 2:
                by_group.setdefault(g, chain)
    cover: dict[tuple[str, ...], tuple[str, ...]] = {}
    for v in violations:
        if v.key[0] == "cycle" and len(v.key) == 3 and group[v.key[1]] in by_group:
            cover[v.key] = by_group[group[v.key[1]]]
    return cover


def _unknown(key: tuple[str, ...], unread: frozenset[str]) -> bool:
    """Whether ``key`` may still occur, unseen, because of files whose imports are unknown
    (``unread``: modules whose file could not be read or parsed). A dependency or privacy entry
    comes from its importer's own imports; a layers, independence or cycle entry from a chain
    of imports, which may pass through any module."""
    if not unread:
        return False
    return key[0] not in ("dependency", "privacy") or (len(key) > 1 and key[1] in unread)


def _predicate(unread: object, unknown: Unknown | None) -> Unknown:
    """``unknown`` when given (it knows the graph), else :func:`_unknown` over ``unread``."""
    names = _modules(unread)
    if unknown is None:
        return lambda key: _unknown(key, names)
    if not callable(unknown):
        raise BoundariesError(f"unknown={shown(unknown, 60)}: must be a function of a key")
    return unknown


def _modules(unread: object) -> frozenset[str]:
    if isinstance(unread, str) or not isinstance(unread, Iterable):
        raise BoundariesError(f"unread={shown(unread, 60)}: must be a set of module names")
    names = frozenset(unread)
    if not all(isinstance(m, str) for m in names):
        raise BoundariesError(f"unread={shown(unread, 60)}: must be a set of module names")
    return names


def _toml_string(text: str, what: str) -> str:
    """``text`` as a TOML basic string that reads back as ``text``.

    Only the quote, the backslash and control characters are escaped; everything else is
    written as itself (the file is UTF-8). JSON's escapes would not do: it writes a character
    outside the basic plane as a surrogate pair (``\\ud83d\\ude80``), which TOML refuses.
    """
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise BoundariesError(
            f"{what}={shown(text, 60)}: holds a lone surrogate (a file name that is not "
            "UTF-8), which the todo file cannot hold"
        )
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _where(path: str, base: Path | None) -> str:
    """``path`` relative to ``base`` (the todo file's folder), in ``/`` form; as given when
    there is no base or no relative path (another drive)."""
    if base is not None:
        with contextlib.suppress(ValueError):
            path = Path(os.path.relpath(path, base)).as_posix()
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in path)


def render_todo(violations: Iterable[Violation], base: Path | None = None) -> str:
    """The file's text for these violations: sorted, one ``[[violation]]`` table each.

    ``where`` names each file relative to ``base`` when given (the todo file's folder: the
    file is committed, so it must not hold one machine's absolute paths). Raises
    :class:`~.base.BoundariesError` for a key holding a lone surrogate (no UTF-8 text holds
    one); a ``where`` holding one is written with U+FFFD in its place.
    """
    if base is not None and not isinstance(base, Path):
        raise BoundariesError(f"base={shown(base, 60)}: must be a Path or None")
    by_key: dict[tuple[str, ...], str] = {}
    for v in _violations(violations):
        by_key.setdefault(v.key, f"{_where(v.path, base)}:{v.line}")
    return _render(by_key)


def _render(entries: dict[tuple[str, ...], str]) -> str:
    """The file's text for ``{key: where}``, sorted by key."""
    lines = [_HEADER]
    for key in sorted(entries):
        lines.append("[[violation]]")
        lines.append("key = [" + ", ".join(_toml_string(k, "key") for k in key) + "]")
        lines.append(f"where = {_toml_string(entries[key], 'where')}")
        lines.append("")
    return "\n".join(lines)


def _write(path: Path, text: str) -> None:
    """Replace the todo file whole; BoundariesError (nothing written) when it cannot be."""
    write_file(path, text.encode("utf-8"), "todo")


def write_todo(
    path: str | Path,
    violations: Iterable[Violation],
    unread: Iterable[str] = frozenset(),
    *,
    unknown: Unknown | None = None,
) -> int:
    """Record ``violations`` in ``path`` (replacing it); returns the number of entries.

    An entry already in the file that the modules in ``unread`` (files that could not be read
    or parsed) may produce is kept as it was: their imports are unknown, and dropping it would
    fail the check once they parse again. ``unknown``, when given, tells which entries those
    files may produce more precisely than ``unread`` alone (it knows the graph).
    """
    target = Path(check_path(path, "path"))
    items = _violations(violations)
    maybe = _predicate(unread, unknown)
    entries = {v.key: f"{_where(v.path, target.parent)}:{v.line}" for v in reversed(items)}
    if unread or unknown is not None:
        for key, where in _read_entries(str(target)).items():
            if key not in entries and maybe(key):
                entries[key] = where
    _write(target, _render(entries))
    return len(entries)


def split(
    violations: Iterable[Violation],
    recorded: set[tuple[str, ...]],
    unread: Iterable[str] = frozenset(),
    *,
    unknown: Unknown | None = None,
) -> tuple[list[Violation], list[Violation], list[tuple[str, ...]]]:
    """``(new, recorded, stale)``: violations not in the file, those in it, and entries of the
    file that no violation matches any more.

    ``unread`` names the modules whose file could not be read or parsed: their imports are
    unknown, so an entry they may produce is not called stale (fixed) while they stay so.
    ``unknown``, when given, tells which entries those are from the graph, more precisely.

    A cycle recorded by an earlier version as its whole chain (``["cycle", a, b, a]``)
    tolerates every import inside the strongly connected group of its components, as that
    version did (see :func:`_chain_cover`); run ``shrink`` once after upgrading to pin those
    imports as edges.
    """
    if not isinstance(recorded, set | frozenset):
        raise BoundariesError(f"recorded={shown(recorded, 60)}: must be a set of keys")
    maybe = _predicate(unread, unknown)
    items = _violations(violations)
    cover = _chain_cover(items, (k for k in recorded if _is_chain(k)))
    new: list[Violation] = []
    known: list[Violation] = []
    seen: set[tuple[str, ...]] = set(cover.values())
    for v in items:
        (known if v.key in recorded or v.key in cover else new).append(v)
        seen.add(v.key)
    return new, known, sorted(k for k in recorded - seen if not maybe(k))


def shrink(
    path: str | Path,
    violations: Iterable[Violation],
    unread: Iterable[str] = frozenset(),
    *,
    unknown: Unknown | None = None,
) -> tuple[int, int]:
    """Drop the entries of ``path`` that no longer occur; never add one.

    Returns ``(kept, removed)``. A missing file stays missing. A cycle recorded by an earlier
    version as its whole chain is rewritten as the imports it tolerates, one entry each. An
    entry that the modules in ``unread`` (files that could not be read or parsed) may produce
    is kept as it was.
    """
    file = Path(check_path(path, "path"))
    entries = _read_entries(str(file))
    if not file.exists():
        return 0, 0
    items = _violations(violations)
    _, known, stale = split(items, set(entries), unread, unknown=unknown)
    kept = {v.key: f"{_where(v.path, file.parent)}:{v.line}" for v in known}
    # An earlier version's chain that tolerated some import is now written as those edges.
    replaced = set(_chain_cover(items, (k for k in entries if _is_chain(k))).values())
    for key in set(entries) - set(kept) - set(stale) - replaced:  # unseen, but maybe not fixed
        kept[key] = entries[key]
    _write(file, _render(kept))
    return len(kept), len(stale)
