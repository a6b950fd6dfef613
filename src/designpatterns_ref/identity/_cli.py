"""Command-line commands of the identity family: ``dpref audit verify FILE``.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

``dpref audit verify gate.log`` re-reads a JSON-lines audit log and checks every link of its
hash chain; ``--count N --head HASH`` also checks it against a head anchored elsewhere, which
catches a truncated tail. It prints the entry count and the head, or the first broken entry (a
verdict, on standard output; a file it cannot read is an error, on standard error), and exits
0 when the chain holds, 1 when it does not, 2 when the file cannot be read or an anchor is not
one (a negative count, a head that is not 64 lowercase hex digits).

>>> import argparse, tempfile, os
>>> from designpatterns_ref.identity.audit import AuditLog
>>> path = os.path.join(tempfile.mkdtemp(), "gate.log")
>>> log = AuditLog(path, clock=lambda: 1.0)
>>> _ = log.append({"outcome": "ok"})
>>> parser = argparse.ArgumentParser(prog="dpref")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["audit", "verify", path])
>>> args.func(args)
audit log ...gate.log: 1 entries, chain intact, head ...
0
"""  # noqa: E501

from __future__ import annotations

import argparse
import re
import sys

from designpatterns_ref.errors import shown
from designpatterns_ref.identity.audit import read_log, verify_chain
from designpatterns_ref.identity.base import IdentityError

__all__ = ["cmd_audit_verify", "register"]

EXIT_BROKEN = 1
EXIT_UNREADABLE = 2


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Check an audit log file's hash chain (and its anchored head, when given)."""
    try:
        entries = read_log(args.file)
    except IdentityError as bad:
        print(f"dpref audit verify: {bad}", file=sys.stderr)
        return EXIT_UNREADABLE
    check = verify_chain(entries, expected_count=args.count, expected_head=args.head)
    if check.ok:
        print(f"audit log {args.file}: {check.count} entries, chain intact, head {check.head}")
        return 0
    print(f"audit log {args.file}: BROKEN: {check.problem}")
    return EXIT_BROKEN


def _count(text: str) -> int:
    """An anchored entry count: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"{shown(text)} is not a whole number of entries (0 or more)"
        )
    return value


def _head(text: str) -> str:
    """An anchored head: a SHA-256 as AuditLog writes it, 64 lowercase hex digits."""
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise argparse.ArgumentTypeError(
            f"{shown(text)} is not a head: 64 lowercase hex digits, as AuditLog.head gives"
        )
    return text


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit verify`` to the ``dpref`` command line."""
    audit = subparsers.add_parser("audit", help="check a hash-chained audit log (identity)")
    actions = audit.add_subparsers(dest="audit_command", required=True)
    verify = actions.add_parser("verify", help="check every link, and the anchored head")
    verify.add_argument("file", help="a JSON-lines audit log written by AuditLog")
    verify.add_argument("--count", type=_count, default=None, help="the anchored entry count")
    verify.add_argument(
        "--head", type=_head, default=None, help="the anchored last hash (64 hex digits)"
    )
    verify.set_defaults(func=cmd_audit_verify)
