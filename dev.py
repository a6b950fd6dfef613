#!/usr/bin/env python3
"""Developer entry point: set up a local virtualenv and run the library's commands.

    python3 dev.py tour      install the library (with the identity extra its tour needs) into
                             .venv, then run the guided tour of every family
    python3 dev.py test      install the dev extra into .venv, then run pytest on every core
                             (pytest-xdist; extra args pass on, and -n 1 runs in one process)
    python3 dev.py check     ruff, ruff format --check, mypy --strict, mkdocs build --strict
    python3 dev.py bench     install the bench extra, then pytest benchmarks/ --benchmark-only

Needs only Python 3.11+ with venv and pip. Installs are skipped when pyproject.toml has not
changed since the last one.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")

USAGE = __doc__ or ""


#: The extras the guided tour of every family needs beyond the base install: the identity
#: tour signs credentials with ``cryptography``; every other tour runs on the base install
#: (``dpref tour`` skips, with a line naming the extra, a family whose packages are missing).
TOUR_EXTRAS = "identity"


def run(*cmd: str | Path) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT)


def env_flag(name: str) -> bool:
    """Whether the environment variable ``name`` is set to a true value (``1``, ``true``,
    ``yes``, any case): ``CI=false`` or ``CI=0`` is not set."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


def ensure(extras: str) -> None:
    """Create .venv and install the project with ``extras`` unless already done."""
    if sys.version_info < (3, 11):  # noqa: UP036 (runs before the venv exists)
        sys.exit(f"dev.py: Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"dev.py: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{extras or 'base'}-{digest}"
    if stamp.exists():
        return
    target = f".[{extras}]" if extras else "."
    print(f"dev.py: installing {target} into .venv (first run takes a minute)", flush=True)
    quiet = [] if env_flag("CI") else ["-q"]
    code = run(PY, "-m", "pip", "install", *quiet, "--upgrade", "pip")
    code = code or run(PY, "-m", "pip", "install", *quiet, "-e", target)
    if code:
        sys.exit(f"dev.py: installing {target} failed (exit {code})")
    stamp.touch()


#: Long options after which the tests stay in one process: the caller chose the workers, or
#: wants a debugger or the tests' own output (which need the terminal).
SERIAL = ("--numprocesses", "--pdb", "--trace", "--capture=no", "--capture=tee-sys")

#: pytest's short options that take a value (``pytest --help``): in a cluster of short flags
#: the rest of the cluster after one of them is its value (``-rs`` reports skips, ``-kslow``
#: selects by keyword), so a letter there is no flag.
TAKES_VALUE = frozenset("kmrWcopn")


def serial(args: list[str]) -> bool:
    """Whether ``args`` keep pytest in one process: ``-n``/``--numprocesses`` in any spelling
    (``-n 0``, ``-n0``, ``-vn0``), ``-p no:xdist`` (``-pno:xdist``), ``-s`` alone or in a cluster
    of short flags before any flag that takes a value (``-vs``, but not ``-rs``), ``--capture
    no`` or ``--capture tee-sys`` (either spelling), or one of :data:`SERIAL`."""
    for i, arg in enumerate(args):
        following = args[i + 1] if i + 1 < len(args) else ""
        if arg == "--":
            return False
        if arg.startswith("--"):
            if any(arg == flag or arg.startswith(flag + "=") for flag in SERIAL):
                return True
            if arg == "--capture" and following in ("no", "tee-sys"):
                return True
        elif arg.startswith("-"):
            for j, letter in enumerate(arg[1:], start=2):
                if letter in "sn":
                    return True
                if letter == "p" and (arg[j:] or following) == "no:xdist":
                    return True
                if letter in TAKES_VALUE or not letter.isalpha():
                    break
    return False


def addopts() -> list[str]:
    """The arguments in ``$PYTEST_ADDOPTS``, which pytest reads before the command line's."""
    text = os.environ.get("PYTEST_ADDOPTS", "")
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: pytest will say so; split on spaces meanwhile
        return text.split()


def parallel(args: list[str]) -> list[str]:
    """``-n CORES`` (one pytest-xdist worker per core this process may use, each test sent to
    the next free worker) unless ``args``, or ``$PYTEST_ADDOPTS`` before them, keep the tests
    in one process (:func:`serial`), there is one core, or the tests are to use servers of your
    own (``DPREF_REDIS_URL``, ``DPREF_PG_URL``: one server the workers would share, and the
    tests empty it as they go)."""
    getaffinity = getattr(os, "sched_getaffinity", None)
    cores = len(getaffinity(0)) if getaffinity else (os.cpu_count() or 1)
    own = any(os.environ.get(v) for v in ("DPREF_REDIS_URL", "DPREF_PG_URL"))
    if serial([*addopts(), *args]) or own or cores < 2:
        return []
    return ["-n", str(cores), "--dist", "worksteal"]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"tour", "test", "check", "bench"}:
        print(USAGE, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "tour":
        ensure(TOUR_EXTRAS)
        return run(PY, "-m", "designpatterns_ref", "tour", *rest)
    if command == "test":
        ensure("dev")
        return run(PY, "-m", "pytest", *parallel(rest), *rest)
    if command == "bench":
        ensure("dev,bench")
        return run(PY, "-m", "pytest", "benchmarks/", "--benchmark-only", *rest)
    ensure("dev")
    for cmd in (
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("mypy", "--strict", "src"),
        ("mkdocs", "build", "--strict", "--site-dir", str(VENV / "site")),
    ):
        code = run(BIN / cmd[0], *cmd[1:])
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
