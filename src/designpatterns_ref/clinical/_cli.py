"""Command-line commands of the clinical family: ``dpref news2`` and ``dpref serve news2``.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

``dpref news2 --rr 22 --spo2 93 --scale 2 --oxygen --sbp 112 --pulse 104 --acvpu A --temp 38.4``
scores one set of observations and prints the sub-scores, the total, the risk, the monitoring
frequency and the response (``--json`` for the API's JSON). Numbers are read as exact decimals,
so ``--temp 38.05`` is scored as 38.1 under the half-up policy. Invalid input prints every
problem and exits with status 2; nothing is scored. ``dpref serve news2 --port 8000`` runs the
HTTP API on loopback (FastAPI and uvicorn are imported only then).

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="dpref")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["news2", "--rr", "18", "--spo2", "96", "--sbp", "120",
...                           "--pulse", "70", "--acvpu", "a", "--temp", "37"])
>>> args.func(args)
NEWS2 (RCP 2017): total 0, risk low (zero score)
...
0
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

from designpatterns_ref.clinical.base import VitalsError
from designpatterns_ref.clinical.engine import assess
from designpatterns_ref.clinical.result import ScoreResult
from designpatterns_ref.clinical.rules import RULESETS
from designpatterns_ref.errors import shown

__all__ = ["cmd_news2", "cmd_serve", "register", "render"]

EXIT_INVALID = 2

_TITLES = {"news2": "NEWS2 (RCP 2017)", "news2012": "NEWS (RCP 2012)"}


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a number") from None


def _whole(text: str, low: int, high: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not {what} in {low}..{high}")
    return value


def _port(text: str) -> int:
    return _whole(text, 0, 65535, "a port")


def _body_bytes(text: str) -> int:
    # create_app's MAX_BODY_BYTES_LIMIT, not imported: the api module imports FastAPI
    return _whole(text, 1, 1 << 20, "a whole number of bytes")


def render(result: ScoreResult) -> str:
    """The result as a short report for a terminal."""
    title = _TITLES.get(result.ruleset, result.ruleset)
    if result.partial:
        head = (
            f"{title}: PARTIAL total {result.total} (no risk: {', '.join(result.missing)} missing)"
        )
    else:
        head = f"{title}: total {result.total}, risk {result.risk} ({result.threshold})"
    lines = [head]
    for name, points in result.subscores.items():
        shown = result.values.get("on_oxygen" if name == "air_or_oxygen" else name)
        if name == "air_or_oxygen":
            shown = "oxygen" if shown else "air"
        lines.append(f"  {name:<18} {shown!s:>8}  {points}")
    if result.red_score:
        lines.append("  a single parameter scored 3 (red score)")
    if not result.partial:
        lines.append(f"Monitoring: {result.monitoring}")
        lines.append("Response:")
        lines += [f"  - {line}" for line in result.response]
    lines += [f"Caution: {c}" for c in result.cautions]
    return "\n".join(lines)


def cmd_news2(args: argparse.Namespace) -> int:
    """Score the observations given on the command line."""
    ruleset = RULESETS[args.ruleset]
    raw: dict[str, Any] = {
        "respiration_rate": args.respiration_rate,
        "spo2": args.spo2,
        "on_oxygen": args.on_oxygen,
        "systolic_bp": args.systolic_bp,
        "pulse": args.pulse,
        "consciousness": args.consciousness,
        "temperature": args.temperature,
    }
    if "spo2_scale" in ruleset.input_names:
        raw["spo2_scale"] = args.spo2_scale
    elif args.spo2_scale not in (None, 1):
        print(f"dpref news2: --scale {args.spo2_scale}: {ruleset.title} has one SpO2 scale",
              file=sys.stderr)  # fmt: skip
        return EXIT_INVALID
    try:
        result = assess(ruleset, raw, partial=args.partial)
    except VitalsError as err:
        print(f"dpref news2: not scored, {len(err.problems)} problem(s):", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_INVALID
    print(json.dumps(result.as_dict(), indent=2) if args.json else render(result))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP API with uvicorn until interrupted."""
    try:
        import uvicorn

        from designpatterns_ref.clinical.api import create_app
    except ImportError as exc:
        print(f"dpref serve news2 needs the api extra ({exc.name} is missing): "
              "pip install 'designpatterns-ref[api]'", file=sys.stderr)  # fmt: skip
        return 1
    app = create_app(max_body_bytes=args.max_body_bytes)
    # No access log: a client could put vital signs in a query string. The app logs its own
    # line per request, with the status and the risk but never a value.
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


def _serve_parsers(subparsers: Any) -> Any:
    """The sub-commands of ``serve``, shared with any other family that serves an API."""
    serve = subparsers.choices.get("serve")
    if serve is None:
        serve = subparsers.add_parser("serve", help="run a family's HTTP API")
        serve.add_subparsers(dest="service", metavar="SERVICE", required=True)
    return next(a for a in serve._actions if isinstance(a, argparse._SubParsersAction))


def register(subparsers: Any) -> None:
    """Add ``news2`` and ``serve news2`` to the ``dpref`` command line."""
    p = subparsers.add_parser(
        "news2", help="score vital signs with NEWS2 (RCP 2017)",
        description="Score one set of vital signs. Missing parameters are an error unless "
        "--partial is given. Chronic confusion in an alert patient is A.",
    )  # fmt: skip
    p.add_argument(
        "--rr", "--respiration-rate", dest="respiration_rate", type=_decimal, help="breaths/min"
    )
    p.add_argument("--spo2", type=_decimal, help="oxygen saturation, percent")
    p.add_argument("--scale", dest="spo2_scale", type=int, default=None,
                   help="SpO2 scale: 1 (default), or 2 for a target of 88–92%%")  # fmt: skip
    air = p.add_mutually_exclusive_group()
    air.add_argument(
        "--oxygen", dest="on_oxygen", action="store_true", help="on supplemental oxygen"
    )
    air.add_argument("--air", dest="on_oxygen", action="store_false", help="on air (the default)")
    p.add_argument(
        "--sbp", "--systolic-bp", dest="systolic_bp", type=_decimal, help="systolic BP, mmHg"
    )
    p.add_argument("--pulse", "--hr", dest="pulse", type=_decimal, help="beats/min")
    p.add_argument("--acvpu", "--consciousness", dest="consciousness", help="A, C, V, P or U")
    p.add_argument("--temp", "--temperature", dest="temperature", type=_decimal, help="°C")
    p.add_argument("--partial", action="store_true", help="score what is given; no risk category")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--ruleset", choices=sorted(RULESETS), default="news2", help="default: news2")
    p.set_defaults(func=cmd_news2)

    s = _serve_parsers(subparsers).add_parser("news2", help="the NEWS2 HTTP API (FastAPI, uvicorn)")
    s.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (loopback only)")
    s.add_argument("--port", type=_port, default=8000, help="default: 8000")
    s.add_argument(
        "--max-body-bytes", type=_body_bytes, default=4096, help="1 to 1048576; default: 4096"
    )
    s.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    s.set_defaults(func=cmd_serve)
