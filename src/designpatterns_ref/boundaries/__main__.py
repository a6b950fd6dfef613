"""``python -m designpatterns_ref.boundaries check PATH``: the checker alone, for CI.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

The same commands as ``dpref boundaries ...``, without loading the other families' commands.
A plain ``check`` first tries to replay the last verdict (:mod:`.verdict`), which needs only
``os``, ``sys``, ``marshal`` and ``binascii``: over an unchanged tree the run costs about as
much as starting Python. Otherwise the full command line runs. Exit status: 0 clean, 1 new
violations, 2 bad configuration or arguments.
"""

from __future__ import annotations

import sys

from designpatterns_ref.boundaries.verdict import replay

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run ``check|record|shrink PATH ...`` (``argv`` defaults to the command line's words)."""
    words = sys.argv[1:] if argv is None else list(argv)
    status = replay(words)
    if status is not None:
        return status
    import argparse

    from designpatterns_ref.boundaries._cli import add_actions

    parser = argparse.ArgumentParser(
        prog="python -m designpatterns_ref.boundaries",
        description="Check module boundaries (components, layers, independence).",
    )
    add_actions(parser)
    args = parser.parse_args(words)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
