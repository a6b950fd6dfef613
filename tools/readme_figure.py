"""Draw the figure the README's "In a notebook" section shows: docs/assets/readme-notebook.png.

    python tools/readme_figure.py [FOLDER]

It runs the README's snippet (two limiters, the same traffic, ``plot_decisions``) and saves the
figure small (well under 100 KB) with ``dp.show(..., directory=FOLDER)``, FOLDER defaulting to
``docs/assets``. Run it again when the snippet or the plot changes, and commit the PNG.
"""

from __future__ import annotations

import sys
from pathlib import Path

import designpatterns_ref as dp
from designpatterns_ref import ratelimit as rl

ROOT = Path(__file__).resolve().parents[1]


def readme_figure() -> object:
    """The README's snippet: what a token bucket and a fixed window admit from one burst."""
    arrivals = sorted(rl.poisson(6, 6.0, seed=1) + rl.boundary_burst(10, 1.0, window=3))
    limiters: dict[str, rl.RateLimiter] = {
        "TokenBucket": rl.TokenBucket(10, 1.0, 10, clock=dp.ManualClock()),
        "FixedWindow": rl.FixedWindow(10, 1.0, clock=dp.ManualClock()),
    }
    fig = rl.plot_decisions(limiters, arrivals, limit=10)
    fig.set_size_inches(7.5, 3.6)
    return fig


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else ROOT / "docs" / "assets"
    path = dp.show(readme_figure(), "readme-notebook", directory=folder)
    print(f"wrote {path} ({path.stat().st_size:,} bytes)" if path else "shown inline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
