"""Generated membership data: nine organisations, their rules, and seeded members.

Case study: Design a Membership Benefits & Verification Platform (docs/case-studies/membership-benefits.md)

The case study's platform serves about nine partner organisations (unions, professional
bodies, a motoring club) and 100,000+ members, many in several organisations. There is no
public data set of real members, so :func:`generate` makes a seeded, plausible one: each member
joins one to three organisations, with a status (mostly active), a tier, months of membership,
an age, a country and whether dues are paid. :func:`default_rules` gives each organisation a
:class:`~designpatterns_ref.membership.rules.RuleSet` of three or four benefits.

Deterministic: the same ``seed`` gives the same directory.

>>> d, rules = generate(200, seed=1)
>>> len(rules), len(list(d.members()))
(9, 200)
"""  # noqa: E501

from __future__ import annotations

import random

from designpatterns_ref.errors import shown
from designpatterns_ref.membership.base import Fact, MembershipError, Rule
from designpatterns_ref.membership.directory import Directory
from designpatterns_ref.membership.rules import RuleSet

__all__ = ["ORGANISATIONS", "default_rules", "generate", "random_facts", "sample_directory"]

#: The nine organisations of the generated data.
ORGANISATIONS: tuple[str, ...] = (
    "northwind-union",
    "teachers-guild",
    "nurses-college",
    "motor-club",
    "engineers-institute",
    "retail-workers",
    "alumni-society",
    "sports-league",
    "arts-council",
)

_ACTIVE = Rule("status", "==", "active", "membership not active")
_PAID = Rule("dues_paid", "==", True, "dues not paid")
_ADULT = Rule("age", ">=", 18, "must be 18 or over")
_TIERS = ("standard", "silver", "gold")
_COUNTRIES = ("GB", "IE", "FR", "DE", "US")


def _benefits(i: int) -> dict[str, tuple[Rule, ...]]:
    """Benefits of the ``i``-th organisation: a shared catalogue, varied by index."""
    months = 3 + 3 * (i % 4)
    return {
        "legal-advice": (Rule("months", ">=", months, f"needs {months} months of membership"),),
        "travel-discount": (
            _ADULT,
            Rule(
                "country",
                "in",
                ("GB", "IE") if i % 2 else ("GB", "IE", "FR"),
                "not offered in your country",
            ),
        ),
        "lounge-access": (
            Rule("tier", "==", "gold", "gold tier only"),
            Rule("months", ">=", 12, "needs 12 months of membership"),
        ),
        **(
            {
                "training-credit": (
                    Rule("tier", "in", ("silver", "gold"), "silver or gold only"),
                    Rule("age", "<", 67, "under 67 only"),
                )
            }
            if i % 3 == 0
            else {}
        ),
    }


def default_rules() -> dict[str, RuleSet]:
    """Each organisation's rule set, version 1: active and paid up, then per-benefit rules."""
    return {
        org: RuleSet(org, 1, common=(_ACTIVE, _PAID), benefits=_benefits(i))
        for i, org in enumerate(ORGANISATIONS)
    }


def random_facts(rng: random.Random) -> dict[str, bool | int | str]:
    """One plausible membership record, drawn from ``rng`` (a :class:`random.Random`)."""
    if not isinstance(rng, random.Random):
        raise MembershipError(f"rng={shown(rng, 80)} must be a random.Random")
    return {
        "status": rng.choices(("active", "lapsed", "suspended"), (90, 8, 2))[0],
        "tier": rng.choices(_TIERS, (60, 28, 12))[0],
        "months": rng.randint(0, 120),
        "age": rng.randint(16, 85),
        "country": rng.choices(_COUNTRIES, (70, 10, 8, 7, 5))[0],
        "dues_paid": rng.random() < 0.93,
    }


def generate(n_members: int, seed: int = 0) -> tuple[Directory, dict[str, RuleSet]]:
    """A directory of ``n_members`` members (ids ``m0000``, ...) in 1-3 of the nine
    organisations each, and the organisations' rules."""
    if isinstance(n_members, bool) or not isinstance(n_members, int) or not 0 <= n_members <= 10**6:
        raise MembershipError(f"n_members={shown(n_members, 40)} must be an int from 0 to 10**6")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise MembershipError(f"seed={shown(seed, 40)} must be an int")
    rng = random.Random(seed)
    directory = Directory()
    width = max(4, len(str(max(n_members - 1, 0))))
    for n in range(n_members):
        member = f"m{n:0{width}d}"
        k = rng.choices((1, 2, 3), (55, 30, 15))[0]
        for org in rng.sample(ORGANISATIONS, k):
            directory.join(member, org, random_facts(rng))
    return directory, default_rules()


def sample_directory() -> tuple[Directory, dict[str, RuleSet]]:
    """A tiny fixed directory for examples: three members, one of them in two organisations."""
    d = Directory()
    ok: dict[str, Fact] = {"status": "active", "tier": "gold", "months": 30, "age": 41,
                           "country": "GB", "dues_paid": True}  # fmt: skip
    d.join("m0001", "northwind-union", ok)
    d.join("m0001", "motor-club", {**ok, "tier": "standard", "months": 2})
    d.join("m0002", "teachers-guild", {**ok, "status": "lapsed", "age": 17, "country": "US"})
    d.join("m0003", "nurses-college", {**ok, "tier": "silver"})
    return d, default_rules()
