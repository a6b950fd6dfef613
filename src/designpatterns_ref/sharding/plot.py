"""Pictures of placement: keys moved on growth and load imbalance, per scheme.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

:func:`plot_growth` grows a cluster one shard at a time under each scheme and draws the fraction
of keys that moved at each step beside the ideal ``1 / (n + 1)``; modulo placement's line sits near
1, the consistent schemes' on the ideal. :func:`plot_load` draws each scheme's busiest shard over
the mean (1.0 is perfect balance). :func:`plot_schema` draws Notion's lesson: ms per query for
each storage layout of the block properties, from
:func:`~designpatterns_ref.sharding.schema.run_schema_lesson`. Each returns a matplotlib Figure
(imported lazily, the ``plot`` extra) and takes an optional ``ax``.

Complexity: O(schemes * steps * keys) placements.

>>> from designpatterns_ref.sharding.plot import moved_fraction
>>> from designpatterns_ref.sharding import JumpPlacement
>>> 0.05 < moved_fraction(JumpPlacement, 10, keys=2000) < 0.15
True
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.figures import new_figure
from designpatterns_ref.sharding.base import Placement, ShardingError
from designpatterns_ref.sharding.jump import JumpPlacement
from designpatterns_ref.sharding.maglev import MaglevPlacement
from designpatterns_ref.sharding.modulo import ModuloPlacement
from designpatterns_ref.sharding.rendezvous import RendezvousPlacement
from designpatterns_ref.sharding.ring import ConsistentHashRing

__all__ = [
    "DEFAULT_SCHEMES",
    "MAX_KEYS",
    "MAX_SHARDS",
    "imbalance",
    "moved_fraction",
    "plot_growth",
    "plot_load",
    "plot_lookup_cost",
    "plot_schema",
    "tour_figures",
]

Make = Callable[[list[str]], Placement]

DEFAULT_SCHEMES: dict[str, Make] = {
    "modulo": ModuloPlacement,
    "ring (160 vnodes)": ConsistentHashRing,
    "rendezvous": RendezvousPlacement,
    "jump": JumpPlacement,
    # Maglev wants a table over 100 entries a shard; 4,099 keeps small fleets quick to build
    "maglev": lambda shards: MaglevPlacement(
        shards, table_size=4099 if len(shards) <= 40 else 65537
    ),
}


MAX_SHARDS = 100_000
"""The most shards a placement measure or plot takes."""

MAX_KEYS = 1_000_000
"""The most keys a placement measure or plot hashes (a million keeps a call to seconds)."""


def _count(name: str, value: object, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
        raise ShardingError(f"{name}={shown(value)} must be an int in [1, {high:,}]")
    return value


def _sizes(sizes: object) -> list[int]:
    if not isinstance(sizes, Sequence) or isinstance(sizes, str | bytes) or not sizes:
        raise ShardingError(f"sizes={shown(sizes, 80)} must be a non-empty list of shard counts")
    return [_count("sizes[...]", n, MAX_SHARDS) for n in sizes]


def _schemes(schemes: object) -> dict[str, Make]:
    if schemes is None:
        return DEFAULT_SCHEMES
    if (
        not isinstance(schemes, dict)
        or not schemes
        or not all(isinstance(k, str) and callable(m) for k, m in schemes.items())
    ):
        raise ShardingError(
            f"schemes={shown(schemes, 80)} must be a non-empty dict of label -> placement maker"
        )
    return schemes


def moved_fraction(make: Make, n: int, *, keys: int = 20_000) -> float:
    """The fraction of ``keys`` keys that change shard going from ``n`` to ``n + 1`` shards.

    ``n`` and ``keys`` are ints from 1 (to :data:`MAX_SHARDS`, :data:`MAX_KEYS`); anything
    else raises :class:`ShardingError`, as do the functions that plot it."""
    _count("n", n, MAX_SHARDS)
    _count("keys", keys, MAX_KEYS)
    if not callable(make):
        raise ShardingError(f"make={shown(make, 80)} must make a placement from shard names")
    before = make([f"s{i}" for i in range(n)])
    after = make([f"s{i}" for i in range(n + 1)])
    names = [f"k{i}" for i in range(keys)]
    return sum(before.shard_for(k) != after.shard_for(k) for k in names) / keys


def imbalance(make: Make, n: int, *, keys: int = 20_000) -> float:
    """The busiest of ``n`` shards' key count over the mean (arguments: see moved_fraction)."""
    _count("n", n, MAX_SHARDS)
    _count("keys", keys, MAX_KEYS)
    if not callable(make):
        raise ShardingError(f"make={shown(make, 80)} must make a placement from shard names")
    placement = make([f"s{i}" for i in range(n)])
    load = Counter(placement.shard_for(f"k{i}") for i in range(keys))
    return max(load.values()) / (keys / n)


def plot_growth(
    sizes: Sequence[int] = (2, 4, 8, 16, 32),
    *,
    schemes: dict[str, Make] | None = None,
    keys: int = 10_000,
    ax: Any = None,
) -> Any:
    """Keys moved going from n to n + 1 shards, per scheme, beside the ideal 1 / (n + 1)."""
    sizes, chosen = _sizes(sizes), _schemes(schemes)
    _count("keys", keys, MAX_KEYS)
    fig, ax = new_figure(ax)
    for label, make in chosen.items():
        ax.plot(sizes, [moved_fraction(make, n, keys=keys) for n in sizes], marker="o", label=label)
    ax.plot(sizes, [1 / (n + 1) for n in sizes], "k--", label="ideal 1/(n+1)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("shards before growth (n)")
    ax.set_ylabel("fraction of keys moved")
    ax.set_title("Adding one shard: what moves")
    ax.legend(fontsize="small")
    return fig


def plot_load(
    n: int = 10, *, schemes: dict[str, Make] | None = None, keys: int = 20_000, ax: Any = None
) -> Any:
    """Each scheme's busiest shard over the mean load, as bars (1.0 is perfect balance)."""
    _count("n", n, MAX_SHARDS)
    _count("keys", keys, MAX_KEYS)
    chosen = _schemes(schemes)
    fig, ax = new_figure(ax)
    values = [imbalance(make, n, keys=keys) for make in chosen.values()]
    ax.bar(list(chosen), values, color="tab:blue")
    ax.axhline(1.0, color="k", linestyle="--", linewidth=1)
    ax.set_ylabel("max load / mean load")
    ax.set_xlabel("scheme")
    ax.set_title(f"{keys:,} keys on {n} shards")
    ax.tick_params(axis="x", labelrotation=20)
    return fig


def plot_lookup_cost(
    sizes: Sequence[int] = (10, 100, 1000),
    *,
    schemes: dict[str, Make] | None = None,
    keys: int = 1_000,
    ax: Any = None,
) -> Any:
    """Measured µs per lookup against the number of shards, per scheme (log-log).

    Rendezvous climbs linearly with the shard count; the ring, jump hash and Maglev stay nearly
    flat. Times are medians of three passes on this machine, so the picture shows shapes, not
    exact figures.
    """
    from designpatterns_ref.benchkit import time_per_item

    sizes, chosen = _sizes(sizes), _schemes(schemes)
    _count("keys", keys, MAX_KEYS)
    fig, ax = new_figure(ax)
    names = [f"k{i}" for i in range(keys)]
    for label, make in chosen.items():
        costs = []
        for n in sizes:
            placement = make([f"s{i}" for i in range(n)])
            costs.append(time_per_item(placement.shard_for, names, 3) * 1e6)
        ax.plot(sizes, costs, marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("shards")
    ax.set_ylabel("µs per lookup (log)")
    ax.set_title("Lookup cost as the cluster grows")
    ax.legend(fontsize="small")
    return fig


def plot_schema(results: Sequence[Any], *, ax: Any = None) -> Any:
    """Grouped bars: ms per query (page, done, due) for each layout in ``results`` (a list of
    :class:`~designpatterns_ref.sharding.schema.SchemaResult`, as ``run_schema_lesson`` returns)."""
    from designpatterns_ref.sharding.schema import SchemaResult

    if not isinstance(results, list | tuple) or not results:
        raise ShardingError(
            f"results={shown(results, 80)} must be a non-empty list of SchemaResult; pass "
            "run_schema_lesson(...)'s list"
        )
    for result in results:
        if not isinstance(result, SchemaResult):
            raise ShardingError(f"results holds {shown(result, 80)}: each must be a SchemaResult")
    fig, ax = new_figure(ax)
    queries = list(results[0].ms)
    width = 0.8 / len(results)
    for i, result in enumerate(results):
        xs = [q + i * width for q in range(len(queries))]
        ax.bar(
            xs,
            [max(result.ms[q], 1e-3) for q in queries],
            width,
            label=f"{result.engine} {result.layout}",
        )
    ax.set_xticks([q + 0.4 - width / 2 for q in range(len(queries))], queries)
    ax.set_yscale("log")
    ax.set_xlabel("query a workspace page makes")
    ax.set_ylabel("ms per query (log)")
    ax.set_title("Block properties: JSON against typed columns")
    ax.legend(fontsize="small")
    return fig


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    from designpatterns_ref.sharding.schema import generate_blocks, run_schema_lesson

    return {
        "growth": plot_growth((2, 4, 8, 16), keys=5_000),
        "load": plot_load(10, keys=10_000),
        "schema": plot_schema(run_schema_lesson(generate_blocks(5_000, seed=1), repeat=3)),
    }
