"""``dpref tour membership``: verify, explain every "no", invalidate on change, cap the offers.

Case study: Design a Membership Benefits & Verification Platform (docs/case-studies/membership-benefits.md)

Deterministic: a fixed sample directory and seeded simulations.
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from designpatterns_ref.membership.data import sample_directory
from designpatterns_ref.membership.engagement import RandomPolicy, ThompsonSampling, simulate
from designpatterns_ref.membership.verify import Verifier

__all__ = ["tour"]


def tour(out: Callable[[str], None]) -> None:
    """Walk through verification and engagement, printing each step with ``out``."""
    out("Membership benefits: members of nine organisations, each with rules as data.")
    directory, rules = sample_directory()
    verifier = Verifier(directory, rules)
    out(f"\n1. {len(rules)} organisations; northwind-union offers "
        f"{', '.join(sorted(rules['northwind-union'].benefits))}.")  # fmt: skip
    d = verifier.verify("m0001", "northwind-union", "lounge-access")
    out(f"   m0001 (gold, 30 months) -> lounge-access: eligible={d.eligible}")
    d = verifier.verify("m0002", "teachers-guild", "travel-discount")
    out("\n2. A 'no' lists every reason, not just the first:")
    out(f"   m0002 -> teachers-guild travel-discount: {list(d.reasons)}")
    d = verifier.verify("m0002", "northwind-union", "legal-advice")
    out(f"   m0002 -> northwind-union (not a member): {list(d.reasons)}")

    out("\n3. Answers are cached; a membership change drops them before it returns:")
    verifier.verify("m0001", "northwind-union", "lounge-access")
    out(f"   after a repeat: {verifier.stats.hits} hit(s), {verifier.stats.misses} misses")
    directory.update("m0001", "northwind-union", {"tier": "silver"})
    d = verifier.verify("m0001", "northwind-union", "lounge-access")
    out(f"   m0001 moves to silver -> lounge-access: eligible={d.eligible}, {list(d.reasons)}")

    out("\n4. Offers under a global cap (2 per 7 days across all organisations), 30 days:")
    kw: dict[str, Any] = {"members": 400, "days": 30, "window": 7, "seed": 3}
    for policy, cap in ((RandomPolicy(seed=1), None), (RandomPolicy(seed=1), 2),
                        (ThompsonSampling(seed=1), 2)):  # fmt: skip
        r = simulate(policy, cap=cap, **kw)
        out(f"   {r.policy:>8}, {'no cap' if cap is None else f'cap {cap}':>6}: "
            f"{r.sends:>5} sends, {r.engagements:>4} engagements ({r.rate:.1%} per send), "
            f"most in any 7 days {r.max_in_window}")  # fmt: skip
    out("   The cap sends a third as much for about as many engagements; Thompson sampling")
    out("   learns which benefits members take up and gets more from each send.")
