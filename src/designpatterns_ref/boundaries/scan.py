"""Read each file's import statements with ``ast``, importing nothing.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

:func:`extract` parses one file and returns its imports as raw records, before any name is
resolved, so they can be cached by file content (the modules themselves are found by
:func:`~designpatterns_ref.boundaries.discovery.discover`).

Parse only what you must: the source is cut after the last top-level statement that can hold
an import (everything after the last occurrence of the bytes ``import``), and only that prefix
is parsed; a cut that lands inside a string or brackets makes the prefix fail to parse, and
then the whole file is parsed, so the records are always those of a full parse (one
difference: a syntax error after the last import goes unnoticed; this is not a compiler).
The shortcuts read the raw bytes, so a file whose coding cookie names a codec that spells
ASCII otherwise (``# coding: utf-7``, where ``+AGk-mport`` is ``import``) is parsed and
walked whole; a str is the decoded source, parsed as such (a cookie in it is ignored, as
``compile`` ignores it). Only statements are visited, never expressions: an ``import`` is
always a statement, so the walk skips the bulk of the tree. Expressions are walked only in
files whose text mentions ``import_module`` or ``__import__``, to find dynamic imports with a
constant name.

A raw record is ``(form, level, module, names, line, kind)``: ``form`` is ``"i"`` (``import
a.b``), ``"f"`` (``from .a import b, c``) or ``"d"`` (dynamic; ``names`` then holds the
``package=`` argument: a constant, ``"\\0package"`` for ``__package__``, ``"\\0name"`` for
``__name__``, or nothing).

Complexity: O(n) in the size of the file to parse; O(s) in its statements to walk.

>>> extract(b"import os\\nif TYPE_CHECKING:\\n    from . import base\\n")
[('i', 0, 'os', (), 1, 'module'), ('f', 1, '', ('base',), 3, 'type_checking')]
"""

from __future__ import annotations

import ast
import functools
import io
import itertools
import re
import tokenize
from bisect import bisect_left, bisect_right

from designpatterns_ref.boundaries.base import BoundariesError, check_path
from designpatterns_ref.errors import shown

__all__ = ["Raw", "Unparsable", "extract"]

Raw = tuple[str, int, str, tuple[str, ...], int, str]

_DYNAMIC = re.compile(rb"import_module|__import__")
_NEWLINE = re.compile(rb"\r\n|\r|\n")
_TOP_LINE = re.compile(rb"^[^\s#)\]}]", re.MULTILINE)
_RANK = {"module": 0, "conditional": 1, "function": 2, "type_checking": 3}


def _stricter(kind: str, context: str) -> str:
    return context if _RANK[context] > _RANK[kind] else kind


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_TRIES = (ast.Try, ast.TryStar)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_COMPOUND = frozenset(
    {ast.If, ast.ClassDef, ast.With, ast.AsyncWith, ast.Match, *_FUNCTIONS, *_TRIES, *_LOOPS}
)


def _walk_statements(body: list[ast.stmt], out: list[Raw]) -> None:
    stack: list[tuple[list[ast.stmt], str]] = [(body, "module")]
    while stack:
        statements, kind = stack.pop()
        for node in statements:
            t = type(node)
            if t is ast.Import:
                assert isinstance(node, ast.Import)
                out.extend(("i", 0, a.name, (), node.lineno, kind) for a in node.names)
            elif t is ast.ImportFrom:
                assert isinstance(node, ast.ImportFrom)
                names = tuple(a.name for a in node.names)
                out.append(("f", node.level, node.module or "", names, node.lineno, kind))
            elif t in _COMPOUND:
                _push(node, kind, stack)


def _push(node: ast.stmt, kind: str, stack: list[tuple[list[ast.stmt], str]]) -> None:
    """Queue the bodies of a compound statement with the kind their imports have."""
    if isinstance(node, _FUNCTIONS):
        stack.append((node.body, _stricter(kind, "function")))
    elif isinstance(node, ast.ClassDef):
        stack.append((node.body, kind))
    elif isinstance(node, ast.If):
        test = "type_checking" if _is_type_checking(node.test) else "conditional"
        stack.append((node.body, _stricter(kind, test)))
        stack.append((node.orelse, _stricter(kind, "conditional")))
    elif isinstance(node, _TRIES):
        inner = _stricter(kind, "conditional")
        stack.append((node.body, inner))
        stack.extend((h.body, inner) for h in node.handlers)
        stack.append((node.orelse, inner))
        stack.append((node.finalbody, inner))
    elif isinstance(node, ast.With | ast.AsyncWith):
        stack.append((node.body, _stricter(kind, "conditional")))
    elif isinstance(node, _LOOPS):
        stack.append((node.body, _stricter(kind, "conditional")))
        stack.append((node.orelse, _stricter(kind, "conditional")))
    elif isinstance(node, ast.Match):
        stack.extend((case.body, _stricter(kind, "conditional")) for case in node.cases)


def _package_argument(node: ast.expr) -> tuple[str, ...] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, ast.Name) and node.id in ("__package__", "__name__"):
        return ("\0package" if node.id == "__package__" else "\0name",)
    return None


def _dynamic_lines(text: bytes) -> list[int]:
    """The line numbers (1-based, sorted) on which ``import_module`` or ``__import__`` occur,
    counted as Python counts them: a line ends at ``\\r\\n``, ``\\r`` or ``\\n``."""
    starts = [m.end() for m in _NEWLINE.finditer(text)]
    return sorted({bisect_right(starts, m.start()) + 1 for m in _DYNAMIC.finditer(text)})


def _touches(node: ast.AST, lines: list[int]) -> bool:
    """Whether ``node`` spans one of ``lines``. A function or class starts at its first
    decorator, not at its ``def`` or ``class`` line (``@import_module("x").hook``)."""
    start = getattr(node, "lineno", None)
    if start is None:
        return True
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        start = min(start, *(d.lineno for d in decorators))
    end = getattr(node, "end_lineno", None) or start
    i = bisect_left(lines, start)
    return i < len(lines) and lines[i] <= end


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    """The argument of ``call`` at ``position`` or named ``keyword`` (None when not given)."""
    if len(call.args) > position and not any(
        isinstance(a, ast.Starred) for a in call.args[: position + 1]
    ):
        return call.args[position]
    return next((kw.value for kw in call.keywords if kw.arg == keyword), None)


def _walk_dynamic(tree: ast.Module, lines: list[int] | None, out: list[Raw]) -> None:
    """Calls of ``import_module``/``__import__``, visiting only nodes spanning ``lines``
    (every node when None)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        children = ast.iter_child_nodes(node)
        stack.extend(c for c in children if lines is None or _touches(c, lines))
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in ("import_module", "__import__"):
            continue
        first = _argument(node, 0, "name")
        if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
            continue
        if not first.value:
            continue
        package: tuple[str, ...] | None = ()
        if name == "import_module":
            given = _argument(node, 1, "package")
            if given is not None and first.value.startswith("."):
                package = _package_argument(given)  # an absolute name ignores the package
        elif any(isinstance(a, ast.Starred) for a in node.args) or any(
            kw.arg is None for kw in node.keywords
        ):
            package = None  # arguments unpacked from a variable: the level is unknown
        else:
            level = _argument(node, 4, "level")
            if level is not None and not (
                isinstance(level, ast.Constant) and type(level.value) is int and level.value == 0
            ):
                package = None  # __import__ relative to its caller's globals: not followed
        if package is not None:
            out.append(("d", 0, first.value, package, node.lineno, "dynamic"))


def _cut(text: bytes) -> int:
    """Where the statements after the last mention of ``import`` start (len(text) if none).

    The cut is the first line after that mention starting in column 0 with code (not a comment,
    a closing bracket or a continued line). Everything before it is a sequence of whole
    top-level statements unless the cut falls inside a string or brackets, in which case the
    prefix does not parse and the caller parses the whole file instead.
    """
    last = text.rfind(b"import")
    start = text.find(b"\n", last)
    if start == -1:
        return len(text)
    match = _TOP_LINE.search(text, start + 1)
    while match is not None and _continues(text, match.start()):
        match = _TOP_LINE.search(text, match.end())
    return len(text) if match is None else match.start()


def _continues(text: bytes, start: int) -> bool:
    """Whether the text before ``start``, past its line endings, ends in a backslash (the
    line at ``start`` continues a statement). It looks back over those line endings only, so
    the candidates of one cut cost O(n) together, not a copy of the text before each."""
    i = start
    while i > 0 and text[i - 1] in b"\r\n":
        i -= 1
    return i > 0 and text[i - 1] == ord("\\")


def _parse_prefix(text: bytes, path: str, decoded: bool) -> ast.Module:
    """Parse only the statements up to the last import; the whole file if that fails.
    ``decoded``: ``text`` is the UTF-8 of a str, parsed as the str (no coding cookie applies)."""
    cut = _cut(text)
    if cut < len(text):
        try:
            return ast.parse(text[:cut].decode() if decoded else text[:cut], filename=path)
        except (SyntaxError, ValueError):
            pass
    return ast.parse(text.decode() if decoded else text, filename=path)


@functools.cache
def _spells_ascii(codec: str) -> bool:
    """Whether ``codec`` reads every ASCII byte as that character (UTF-8, latin-1, cp1252 and
    the like do; UTF-7 does not: ``+AGk-`` is an ``i``)."""
    ascii = bytes(range(128))
    try:
        return ascii.decode(codec) == ascii.decode("ascii")
    except (UnicodeDecodeError, LookupError):
        return False


def _ascii_compatible(text: bytes) -> bool:
    """Whether the bytes of ``text`` can be searched for ASCII words (``import``) and lines:
    true unless a coding cookie (PEP 263) in its first two lines names a codec that spells
    ASCII otherwise, or one that Python does not know (the parse then says so)."""
    ends = [m.end() for m in itertools.islice(_NEWLINE.finditer(text), 2)]
    if b"coding" not in (text[: ends[-1]] if len(ends) == 2 else text):
        return True
    try:
        codec, _ = tokenize.detect_encoding(io.BytesIO(text).readline)
    except SyntaxError:
        return False
    return _spells_ascii(codec)


class Unparsable(BoundariesError):
    """A source file that does not parse (a :class:`~.base.BoundariesError`), with the line
    the parser stopped at (0 when it does not tell)."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}: does not parse: {reason}" + (f" (line {line})" if line else ""))
        self.path = path
        self.line = line
        self.reason = f"does not parse: {reason}"
        self._args = (path, line, reason)

    def __reduce__(self) -> tuple[type[Unparsable], tuple[str, int, str]]:
        """Rebuilt from the three arguments (the message alone cannot rebuild it), so it
        crosses a process boundary: raised in a worker of a process pool, it reaches the
        caller as itself."""
        return (type(self), self._args)


def extract(source: bytes | str, path: str = "<source>") -> list[Raw]:
    """The raw import records of one file's source, in line order.

    Raises :class:`~.base.BoundariesError` when the source is not text, and :class:`Unparsable`
    (one) when it does not parse: a syntax error, a null byte, or nesting deeper than Python's
    parser goes (a generated expression of thousands of terms).
    """
    path = check_path(path, "path")
    out: list[Raw] = []
    decoded = isinstance(source, str)
    if isinstance(source, str):
        try:
            text = source.encode()
        except UnicodeEncodeError:
            raise BoundariesError(f"{path}: source holds a lone surrogate") from None
    elif isinstance(source, bytes):
        text = source
    else:
        raise BoundariesError(f"source={shown(source, 60)}: must be bytes or str")
    whole = not decoded and not _ascii_compatible(text)  # no shortcut reads such bytes
    if not whole and b"import" not in text:
        return out
    try:
        tree = ast.parse(text, filename=str(path)) if whole else _parse_prefix(
            text, str(path), decoded)  # fmt: skip
        _walk_statements(tree.body, out)
        if whole:
            _walk_dynamic(tree, None, out)
        elif b"import_module" in text or b"__import__" in text:
            _walk_dynamic(tree, _dynamic_lines(text), out)
    except SyntaxError as exc:
        raise Unparsable(path, exc.lineno or 0, exc.msg) from None
    except ValueError as exc:  # a null byte
        raise Unparsable(path, 0, str(exc)) from None
    except (RecursionError, MemoryError):  # nested deeper than the parser (or walker) goes
        raise Unparsable(path, 0, "nested too deeply to parse") from None
    out.sort(key=lambda r: r[4])
    return out
