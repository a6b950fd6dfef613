"""Shared types of the boundaries family: an import, a violation, a report, and the errors.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

The checker reads source into :class:`Import` records (who imports what, at which line, in which
context), checks them against declared components and contracts, and returns a :class:`Report`
of :class:`Violation` records. Each violation has a stable :attr:`Violation.key` (the rule and
the modules, never the line), so a recorded list of known violations survives edits that only
move code around.

Complexity: plain data; every record is O(1) to build and compare.

>>> imp = Import("shop.orders", "shop.payments.api", 3, "module", "shop/orders.py", name="charge")
>>> imp.target
'shop.payments.api.charge'
>>> Violation("dependency", "shop.orders", "shop.payments.api", "shop/orders.py", 3,
...           "not allowed", "declare it").key
('dependency', 'shop.orders', 'shop.payments.api')
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "KINDS",
    "RULES",
    "BoundariesError",
    "ConfigError",
    "Import",
    "Problem",
    "Report",
    "Violation",
    "check_flag",
    "check_jobs",
    "check_path",
    "write_file",
]

#: The contexts an import is found in, from the most to the least binding.
#: ``module``: runs when the module is imported; ``conditional``: inside ``if``/``try``/``with``
#: or a loop at module level; ``function``: deferred until a function runs; ``type_checking``:
#: under ``if TYPE_CHECKING:``, never at run time; ``dynamic``: ``importlib.import_module`` or
#: ``__import__`` with a constant name.
KINDS: tuple[str, ...] = ("module", "conditional", "function", "type_checking", "dynamic")

#: The rules a violation can break.
RULES: tuple[str, ...] = ("dependency", "privacy", "layers", "independence", "cycle")


class BoundariesError(DesignPatternsError, ValueError):
    """Base class of the boundaries family's errors (bad arguments, unreadable input)."""


class ConfigError(BoundariesError):
    """The boundaries configuration is invalid; :attr:`key` names the offending setting."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


def check_path(value: object, name: str) -> str:
    """``value`` as a path string, or BoundariesError naming ``name``."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise BoundariesError(f"{name}={shown(value, 60)}: must be a non-empty path (str or Path)")
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise BoundariesError(f"{name}={shown(value, 60)}: holds a null byte or a lone surrogate")
    return value


def check_jobs(value: object) -> int | None:
    """``jobs``: None (one per CPU) or a whole number of processes from 1 to 64."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
        raise BoundariesError(f"jobs={shown(value, 60)}: must be None or a whole number in 1..64")
    return value


def check_flag(value: object, name: str) -> bool:
    """A keyword flag must be a real bool."""
    if not isinstance(value, bool):
        raise BoundariesError(f"{name}={shown(value, 60)}: must be True or False")
    return value


def write_file(path: Path, data: bytes, what: str) -> None:
    """Replace ``path`` with ``data`` whole, or raise BoundariesError and leave it as it was.

    The bytes go to a temporary file of its own beside ``path`` (a random name made with
    ``O_EXCL``: two writers, even two threads of one process, never share one), created under
    the umask like any file the user makes, then renamed over ``path``; on any failure the
    temporary file is removed and the error names ``what``, the path and the reason.

    The bytes reach the disk (``fsync``) before the rename, and the folder's new entry after
    it (not on Windows, which cannot open a folder): a crash leaves the old file or the new
    one, never an empty file under the name (a todo file emptied that way would turn every
    recorded violation into a new one and lose the reasons recorded).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    temporary = ""
    try:
        while not temporary:
            name = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
            with contextlib.suppress(FileExistsError):
                handle = os.open(name, flags, 0o666)
                temporary = str(name)
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
        temporary = ""  # renamed: nothing left to remove
        _sync_folder(path.parent)
    except OSError as exc:
        if temporary:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise BoundariesError(
            f"{what}={shown(str(path), 80)}: cannot be written: {exc.strerror}"
        ) from None


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (``fsync`` of the folder). Where a folder cannot be
    opened or synced (Windows; some file systems refuse), the rename is done all the same."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True, slots=True)
class Import:
    """One import found in source: ``importer`` imports the module ``imported`` at ``line``.

    ``name`` is set when the statement imports an attribute of the module (``from a import
    b`` where ``a.b`` is not a module); ``kind`` is one of :data:`KINDS`.
    """

    importer: str
    imported: str
    line: int
    kind: str
    path: str
    name: str | None = None

    @property
    def target(self) -> str:
        """The dotted name imported: the module, or the module and the attribute."""
        return self.imported if self.name is None else f"{self.imported}.{self.name}"


@dataclass(frozen=True, slots=True)
class Problem:
    """Something in the source the graph cannot represent (a relative import past the top, a
    module shadowed by a package of the same name, a file that does not parse)."""

    path: str
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule, with where it happens, what it means and how to fix it.

    ``importer`` and ``imported`` are modules for ``dependency``, ``privacy``, ``layers`` and
    ``independence``; for ``cycle`` they are the first two components of the cycle and
    ``chain`` lists the whole cycle. ``contract`` names the layers or independence contract.
    """

    rule: str
    importer: str
    imported: str
    path: str
    line: int
    message: str
    fix: str
    contract: str = ""
    chain: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Refuse a field of the wrong kind here, not later inside a todo file or a render."""
        if self.rule not in RULES:
            raise BoundariesError(f"rule={shown(self.rule, 60)}: must be one of {', '.join(RULES)}")
        for name in ("importer", "imported", "path", "message", "fix", "contract"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise BoundariesError(f"{name}={shown(value, 60)}: must be a str")
        if isinstance(self.line, bool) or not isinstance(self.line, int) or self.line < 0:
            raise BoundariesError(f"line={shown(self.line, 60)}: must be a whole number from 0")
        if not isinstance(self.chain, tuple) or not all(isinstance(m, str) for m in self.chain):
            raise BoundariesError(f"chain={shown(self.chain, 60)}: must be a tuple of module names")

    @property
    def key(self) -> tuple[str, ...]:
        """What identifies this violation across edits: the rule and the names, not the line."""
        base = (self.rule, self.importer, self.imported)
        return (*base, self.contract) if self.contract else base


@dataclass(slots=True)
class Report:
    """The result of a check: new, recorded and stale violations, and the graph's size."""

    modules: int
    imports: int
    statements: int
    violations: list[Violation] = field(default_factory=list)
    recorded: list[Violation] = field(default_factory=list)
    stale: list[tuple[str, ...]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    parsed: int = 0
    cached: int = 0

    @property
    def ok(self) -> bool:
        """True when there is no new violation (recorded ones do not fail a check)."""
        return not self.violations
