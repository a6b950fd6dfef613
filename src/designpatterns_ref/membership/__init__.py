"""Membership benefits and verification: rules as data, a cached verifier, engagement caps.

Case study: Design a Membership Benefits & Verification Platform (docs/case-studies/membership-benefits.md)

- :mod:`~designpatterns_ref.membership.base`: facts, :class:`Rule`, :class:`Decision`, the error;
- :mod:`~designpatterns_ref.membership.rules`: per-organisation :class:`RuleSet` and
  :func:`evaluate` (every reason for a "no");
- :mod:`~designpatterns_ref.membership.directory`: the source of truth, with change events;
- :mod:`~designpatterns_ref.membership.verify`: :class:`Verifier`, cached, invalidated on change;
- :mod:`~designpatterns_ref.membership.data`: nine generated organisations and their members;
- :mod:`~designpatterns_ref.membership.engagement`: which benefit to show, under a global
  per-member cap, with epsilon-greedy or Thompson sampling, and a simulation;
- :mod:`~designpatterns_ref.membership.api`: ``POST /v1/verify`` on FastAPI with per-client
  API keys and rate limits (the ``api`` extra; imported only when asked for).
"""  # noqa: E501

from designpatterns_ref.membership.base import (
    FACTS,
    Decision,
    MembershipError,
    Rule,
)
from designpatterns_ref.membership.data import (
    ORGANISATIONS,
    default_rules,
    generate,
    sample_directory,
)
from designpatterns_ref.membership.directory import Directory
from designpatterns_ref.membership.rules import RuleSet, evaluate
from designpatterns_ref.membership.verify import CacheStats, Verifier

__all__ = [
    "FACTS",
    "ORGANISATIONS",
    "CacheStats",
    "Decision",
    "Directory",
    "MembershipError",
    "Rule",
    "RuleSet",
    "Verifier",
    "default_rules",
    "evaluate",
    "generate",
    "sample_directory",
]
