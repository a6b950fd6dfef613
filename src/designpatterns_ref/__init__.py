"""designpatterns_ref: reference implementations of system-design case studies.

Each family of patterns lives in its own subpackage (``dp.ratelimit``, ``dp.shortcode``,
``dp.autocomplete``, ``dp.geo``, ``dp.feed``, ``dp.collab``, ``dp.clinical``). They are imported
lazily, on first attribute access, so ``import designpatterns_ref`` stays fast and pulls in no
optional dependency.

>>> import designpatterns_ref as dp
>>> dp.case_study("rate-limiter").title
'Design a Rate Limiter'
>>> len(dp.catalog())
25
"""

from __future__ import annotations

import importlib

from designpatterns_ref.catalog import CaseStudy, case_study, catalog
from designpatterns_ref.errors import shown

# typing is not imported at run time: a command-line tool built on one family (such as
# `python -m designpatterns_ref.boundaries`) pays for every import this package makes.
TYPE_CHECKING = False

__version__ = "0.1.0"

#: The family subpackages reachable as attributes of the top-level package.
FAMILIES: tuple[str, ...] = (
    "ratelimit",
    "shortcode",
    "autocomplete",
    "geo",
    "feed",
    "collab",
    "clinical",
    "sharding",
    "boundaries",
    "booking",
    "resilience",
    "identity",
    "reputation",
    "storage",
    "streaming",
    "serverless",
    "membership",
    "workflows",
    "capacity",
    "messaging",
    "notifications",
)

__all__ = [
    "FAMILIES",
    "CaseStudy",
    "Clock",
    "ManualClock",
    "__version__",
    "case_study",
    "catalog",
    "show",
]

#: Names loaded on first use, with the module that defines them.
_LAZY = {"Clock": "clock", "ManualClock": "clock", "show": "figures"}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from typing import Any

    from designpatterns_ref import (  # noqa: F401
        autocomplete,
        booking,
        boundaries,
        capacity,
        clinical,
        collab,
        feed,
        geo,
        identity,
        membership,
        messaging,
        notifications,
        ratelimit,
        reputation,
        resilience,
        serverless,
        sharding,
        shortcode,
        storage,
        streaming,
        workflows,
    )
    from designpatterns_ref.clock import Clock, ManualClock
    from designpatterns_ref.figures import show


def __getattr__(name: str) -> Any:
    """Import a family subpackage (``dp.ratelimit``) or a core name the first time it is used."""
    if name in FAMILIES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {shown(__name__)} has no attribute {shown(name)}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(FAMILIES))
