#!/usr/bin/env python3
"""Developer entry point: set up a local virtualenv and run the library's commands.

    python3 dev.py tour      install the library into .venv, then run the guided tour
    python3 dev.py test      install the dev extra into .venv, then run pytest (extra args pass on)
    python3 dev.py check     ruff, ruff format --check, mypy --strict, mkdocs build --strict
    python3 dev.py bench     install the bench extra, then pytest benchmarks/ --benchmark-only

Needs only Python 3.11+ with venv and pip. Installs are skipped when pyproject.toml has not
changed since the last one.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")

USAGE = __doc__ or ""


def run(*cmd: str | Path) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT)


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
    quiet = [] if os.environ.get("CI") else ["-q"]
    code = run(PY, "-m", "pip", "install", *quiet, "--upgrade", "pip")
    code = code or run(PY, "-m", "pip", "install", *quiet, "-e", target)
    if code:
        sys.exit(f"dev.py: installing {target} failed (exit {code})")
    stamp.touch()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"tour", "test", "check", "bench"}:
        print(USAGE, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "tour":
        ensure("")
        return run(PY, "-m", "designpatterns_ref", "tour", *rest)
    if command == "test":
        ensure("dev")
        return run(PY, "-m", "pytest", *rest)
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
