"""The last check's verdict, replayed without loading the checker when nothing it read changed.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

A check is a pure function of what it reads: the configuration file, every source file and
folder of the checked packages, and the recorded-violations file. After a cached check,
:func:`save` writes a small *verdict* beside the cache: the command's options, the bytes of the
configuration, the stamp ``(mtime_ns, size, inode, ctime_ns)`` of every file and the
modification time of every folder the check looked at (the same stat shortcut the file cache
trusts, and git's index before it), with the text the check printed and its exit status. On the
next run, :func:`replay` compares those stamps and, when every one matches, prints the stored
text and returns the stored status. A stamp within one timestamp tick at or before the time the
verdict was written is *racy* (the file or folder may have changed again within the same tick):
such a verdict is not replayed, and the full check runs. A stamp later than the write (a clock
ahead of this one) is not racy: an edit would set an earlier time, and so change the stamp.

The point is start-up cost. A re-run over an unchanged tree spends a few milliseconds on
``stat`` calls; the rest of a command-line check is starting Python and importing the checker
(``tomllib``, ``dataclasses``, ``argparse``, ``ast``...), which costs several times the check
itself. :func:`replay` imports only ``os``, ``sys``, ``marshal`` and ``binascii``, so ``python -m
designpatterns_ref.boundaries check PATH`` over an unchanged tree runs about as fast as Python
starts. Anything unusual falls back to the full check: other options (``--no-cache``,
``--verify-content``), an argument the parser would refuse (``--jobs=abc``: its error and exit
status 2 come from the parser), a configuration naming another cache file, a file that could
not be parsed, a damaged or foreign verdict file (one written by another release of the
library, whose rules may differ, counts as foreign). The verdict is sealed with a CRC-32 of its
bytes (checked before they are decoded), so a damaged file is never replayed: one changed byte
could otherwise print other text or turn a failing check's exit status into 0.

Trade-off: like the file cache, the verdict trusts stamps; ``--verify-content`` hashes every
file instead.

Complexity: one ``stat`` per file and folder of the checked packages, one small ``marshal``
load; no parsing, no graph.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "pyproject.toml").write_text("[tool.dpref.boundaries]\\n")
>>> replay(["check", str(d)]) is None  # nothing saved yet: run the full check
True
>>> save(["check", str(d)], {}, {}, None, "all clear\\n", 0)
>>> replay(["check", str(d)], out=open(os.devnull, "w"))
0
>>> _ = (d / "pyproject.toml").write_text("[tool.dpref.boundaries]\\ntodo = 'x.toml'\\n")
>>> replay(["check", str(d)]) is None  # the configuration changed
True
"""

from __future__ import annotations

import binascii
import marshal
import os
import sys

from designpatterns_ref.errors import shown


def racy(time_ns: int, written: int) -> bool:
    """Whether a file or folder stamped at ``time_ns`` cannot vouch for itself to something
    written at ``written``: stamped in the clock tick of the write (the file system floors both
    times to its tick, so "the same tick" is "equal"), an edit made in that tick just after the
    stamp was taken keeps the same stamp. An earlier stamp is safe (an edit would stamp a later
    tick), and so is a later one (a clock ahead of this one, ``touch -d``): an edit sets the
    time from the current, earlier clock, which changes the stamp."""
    return time_ns == written


TYPE_CHECKING = False  # typing is not imported: this module must load in a few milliseconds
if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["FORMAT", "LOCATION", "key_of", "read_bytes", "replay", "save"]

#: Bumped when the verdict's layout changes; a verdict of another format is ignored.
FORMAT = 4  # 4: modules no component holds pass their imports on

#: Where the verdict lives, relative to the configuration file's folder (beside the default
#: cache file; a configuration naming another cache keeps no verdict).
LOCATION = os.path.join(".dpref_cache", "boundaries.verdict")

#: report.FORMATS, spelled out so that a replay does not import the report module (tested equal).
_FORMATS = ("human", "json", "github")

#: The largest ``--jobs`` the parser accepts (base.check_jobs, tested equal).
_MAX_JOBS = 64


def _refuse(name: str, value: object, allowed: str) -> Exception:
    """The family's error, imported only when an argument is refused (not on the fast path)."""
    from designpatterns_ref.boundaries.base import BoundariesError

    return BoundariesError(f"{name}={shown(value, 60)}: {allowed}")


def _words(argv: object) -> list[str]:
    if not isinstance(argv, list | tuple) or not all(isinstance(w, str) for w in argv):
        raise _refuse("argv", argv, "must be a list of command-line words (str)")
    return list(argv)


def key_of(argv: list[str]) -> tuple[str, str, str, bool] | None:
    """``(config file, output format, cwd, use_todo)`` for a plain ``check`` command, else None.

    Only ``check PATH [--format F] [--no-todo] [--jobs N]`` can be replayed, with ``N`` a
    plain decimal from 1 to 64; any other argument (or a repeated one, or a value the parser
    would refuse) means the full command line parser must see it and report its error. The config
    file is named by its absolute path, so ``.`` and ``./`` give the same key.
    """
    words = _words(argv)
    if len(words) < 2 or words[0] != "check":
        return None
    path, fmt, use_todo = None, "human", True
    rest = words[1:]
    seen: set[str] = set()
    while rest:
        arg = rest.pop(0)
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg
        if name in seen:
            return None
        if arg == "--no-todo":
            use_todo = False
        elif arg.startswith("--format="):
            fmt = arg.removeprefix("--format=")
        elif arg == "--format" and rest:
            fmt = rest.pop(0)
        elif arg.startswith("--jobs=") or (arg == "--jobs" and rest):
            # How many processes parse changes nothing in the verdict, but only a value the
            # parser accepts may be replayed: anything else is its error to report (exit 2).
            jobs = arg.removeprefix("--jobs=") if arg.startswith("--jobs=") else rest.pop(0)
            if not (jobs.isascii() and jobs.isdigit() and 1 <= int(jobs) <= _MAX_JOBS):
                return None
        elif arg.startswith("-") or path is not None or not arg:
            return None
        else:
            path = arg
        seen.add(name if name.startswith("--") else "PATH")
    if path is None or fmt not in _FORMATS or "\x00" in path or ".." in path.split(os.sep):
        return None  # "..": a symlinked folder resolves it otherwise than the text does
    try:
        config = os.path.join(path, "pyproject.toml") if os.path.isdir(path) else path
        return os.path.abspath(config), fmt, os.getcwd(), use_todo
    except (OSError, ValueError):
        return None


def _stamp(path: str) -> tuple[int, int, int, int]:
    """``(mtime_ns, size, inode, ctime_ns)`` of ``path`` (all -1 when it does not exist), as
    :func:`designpatterns_ref.boundaries.cache.stamp_of` (not imported here, to stay fast)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return (-1, -1, -1, -1)
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except (OSError, ValueError):
        return None


def _format() -> tuple[object, ...]:
    """What a stored file must have been written by: this layout, this Python (marshal's
    format) and this release of the library (the checker's rules: an upgrade may change the
    output for the same tree)."""
    return (FORMAT, sys.version_info[:2], sys.modules["designpatterns_ref"].__version__)


def _seal(payload: dict[str, object]) -> bytes:
    """``payload`` as marshal bytes behind their CRC-32 (4 bytes, big-endian)."""
    data = marshal.dumps(payload)
    return binascii.crc32(data).to_bytes(4, "big") + data


def _unseal(stored: bytes) -> object:
    """The payload :func:`_seal` wrote, or None when the bytes are damaged or foreign."""
    data = stored[4:]
    if len(stored) < 4 or binascii.crc32(data).to_bytes(4, "big") != stored[:4]:
        return None
    try:
        return marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None


def _location(config_file: str | os.PathLike[str]) -> str:
    return os.path.join(os.path.dirname(os.fspath(config_file)), LOCATION)


def replay(argv: list[str], out: TextIO | None = None) -> int | None:
    """Print the stored verdict of ``argv`` and return its exit status, if nothing changed.

    Returns None (print nothing) when the verdict is missing, foreign, for other options, or
    when any configuration, source, folder or todo stamp differs: the caller runs the check.
    """
    key = key_of(argv)
    if key is None:
        return None
    location = _location(key[0])
    stored = read_bytes(location)
    written = _stamp(location)[0]
    if stored is None or written < 0:
        return None
    verdict = _unseal(stored)
    if not isinstance(verdict, dict) or verdict.get("format") != _format():
        return None
    try:
        if verdict["key"] != key or verdict["config"] != read_bytes(key[0]):
            return None
        for folder, mtime in verdict["dirs"].items():
            if racy(mtime, written) or _stamp(folder)[0] != mtime:
                return None  # changed, or racy: stamped in the tick the verdict was written
        for file, stamp in verdict["files"].items():
            if racy(stamp[0], written) or racy(stamp[3], written) or _stamp(file) != tuple(stamp):
                return None
        text, status = verdict["output"], verdict["status"]
    except (KeyError, TypeError, AttributeError, ValueError, IndexError):
        return None
    if not isinstance(text, str) or type(status) is not int or status not in (0, 1):
        return None
    stream = out if out is not None else sys.stdout
    stream.write(text)
    return status


def save(
    argv: list[str],
    dirs: dict[str, int],
    files: dict[str, tuple[int, int, int, int]],
    todo_file: str | os.PathLike[str] | None,
    output: str,
    status: int,
    *,
    config_bytes: bytes | None = None,
) -> None:
    """Keep what a check printed, keyed on everything it read, for :func:`replay`.

    ``dirs`` maps every folder discovery listed to its ``mtime_ns``; ``files`` every source
    file to the stamp ``(mtime_ns, size, inode, ctime_ns)`` it had when it was read;
    ``config_bytes`` the configuration file (named by ``argv``) as it was loaded (read again
    when omitted). A failure to write is
    ignored: the verdict only saves time.
    """
    key = key_of(argv)
    if not isinstance(dirs, dict) or not all(
        isinstance(k, str) and type(v) is int for k, v in dirs.items()
    ):
        raise _refuse("dirs", dirs, "must map folder paths (str) to mtime_ns (int)")
    if not isinstance(files, dict) or not all(
        isinstance(k, str)
        and isinstance(v, tuple)
        and len(v) == 4
        and all(type(x) is int for x in v)
        for k, v in files.items()
    ):
        raise _refuse(
            "files", files, "must map file paths (str) to (mtime_ns, size, inode, ctime_ns) ints"
        )
    if todo_file is not None and not isinstance(todo_file, str | os.PathLike):
        raise _refuse("todo_file", todo_file, "must be a path or None")
    if not isinstance(output, str):
        raise _refuse("output", output, "must be the text the check printed (str)")
    if type(status) is not int or status not in (0, 1):
        raise _refuse("status", status, "must be the check's exit status, 0 or 1")
    if config_bytes is not None and not isinstance(config_bytes, bytes):
        raise _refuse("config_bytes", config_bytes, "must be bytes or None")
    if key is None:
        return
    config = config_bytes if config_bytes is not None else read_bytes(key[0])
    if config is None:
        return
    stamps = dict(files)
    if todo_file is not None:
        stamps[os.fspath(todo_file)] = _stamp(os.fspath(todo_file))
    payload = {
        "format": _format(),
        "key": key,
        "config": config,
        "dirs": dirs,
        "files": stamps,
        "output": output,
        "status": status,
    }
    target = _location(key[0])
    temporary = f"{target}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(temporary, "wb") as fh:
            fh.write(_seal(payload))
        os.replace(temporary, target)
    except (OSError, ValueError):
        try:  # noqa: SIM105 - contextlib stays unimported on the replay path
            os.unlink(temporary)
        except OSError:
            pass
