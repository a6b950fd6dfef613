"""``python -m designpatterns_ref.boundaries check PATH``: the checker alone, for CI.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

The same commands as ``dpref boundaries ...``, without loading the other families' commands,
so a cached check starts as fast as Python allows. Exit status: 0 clean, 1 new violations,
2 bad configuration or arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from designpatterns_ref.boundaries._cli import register

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (``check|record|shrink PATH ...``) and run the command."""
    parser = argparse.ArgumentParser(prog="python -m designpatterns_ref.boundaries")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(["boundaries", *(sys.argv[1:] if argv is None else argv)])
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
