"""``dpref tour reputation``: honest scores with few reviews, tokens, rings, a newcomer's chance."""

from __future__ import annotations

import random
from collections.abc import Callable

from designpatterns_ref.reputation.base import ReputationError, StarCounts
from designpatterns_ref.reputation.market import generate_marketplace
from designpatterns_ref.reputation.matching import Matcher, Provider, Request
from designpatterns_ref.reputation.ranking import RULES, ranks_by_rule, scorer
from designpatterns_ref.reputation.reviews import ReviewBook
from designpatterns_ref.reputation.rings import RingDetector, precision_recall

__all__ = ["tour"]


def tour(out: Callable[[str], None]) -> None:
    """Print the gig-marketplace story, deterministically, in about a second."""
    providers = {
        "Ana (one 5-star review)": StarCounts.of([5]),
        "Bo (60 reviews, 4.7)": StarCounts.of([5] * 45 + [4] * 12 + [3] * 3),
        "Cy (40 reviews, 5s and 1s)": StarCounts.of([5] * 32 + [1] * 8),
        "Di (new, no review)": StarCounts(),
    }
    out("Four providers, ranked under each rule (1 = top):")
    table = ranks_by_rule(providers)
    out("  " + " " * 28 + "  ".join(f"{r:>6}" for r in RULES))
    for name in providers:
        out(f"  {name:28}" + "  ".join(f"{table[name][r]:>6}" for r in RULES))
    out("  The plain mean puts one lucky review on top; the Bayesian average and both lower")
    out("  bounds put the proven provider first and the lucky one below the polarised one.")
    stars = scorer("stars")
    out(
        f"  Evan Miller's star bound: Bo {stars(providers['Bo (60 reviews, 4.7)']):.2f}, "
        f"Ana {stars(providers['Ana (one 5-star review)']):.2f}, "
        f"Di {stars(providers['Di (new, no review)']):.2f}."
    )

    book = ReviewBook(rng=random.Random(1))
    client_token, _ = book.complete_job("job-17", client="household-9", provider="Bo")
    book.review(client_token, stars=5)
    out("\nReviews need a completed job: household-9 reviews Bo once for job-17.")
    try:
        book.review(client_token, stars=5)
    except ReputationError as refused:
        out(f"  A second review with the same token: refused ({refused}).")

    market = generate_marketplace(seed=7)
    detector = RingDetector()
    flagged = detector.flagged_accounts(market.reviews)
    precision, recall = precision_recall(flagged, market.ring_members)
    out(
        f"\nA generated town: {len(market.reviews):,} reviews, {len(market.planted)} planted "
        f"review rings, {len(market.neighbours)} close-knit honest groups."
    )
    out(
        f"  The ring detector flags {len(flagged)} accounts: precision {precision:.2f}, "
        f"recall {recall:.2f}."
    )
    out("  Its false alarms are honest neighbours who keep hiring each other; its misses are")
    out("  rings that hid among enough outside jobs.")

    matcher = Matcher(explore_slots=1, max_explorations=2)
    rng = random.Random(4)
    for i in range(30):
        pid = f"gardener-{i:02d}"
        matcher.add_provider(
            Provider(
                pid,
                52.37 + rng.uniform(-0.02, 0.02),
                4.90 + rng.uniform(-0.03, 0.03),
                frozenset({"garden"}),
                ((8.0, 18.0),),
            )
        )
        matcher.set_reputation(pid, StarCounts.of(rng.choices([5, 4, 3], k=rng.randint(5, 40))))
    matcher.add_provider(Provider("newcomer", 52.385, 4.93, frozenset({"garden"}), ((8.0, 18.0),)))
    request = Request(52.37, 4.90, "garden", 9.0, 12.0, max_distance_m=4_000)
    out("\nA household asks for a gardener within 4 km on Saturday 9:00-12:00.")
    for attempt in range(3):
        page = matcher.match(request, k=5)
        names = ", ".join(m.provider_id + (" (exploring)" if m.explored else "") for m in page)
        out(f"  page {attempt + 1}: {names}")
    out("  The newcomer starts at the prior (4.0) and gets one exploration slot, twice at most;")
    out("  after that it must earn its place with reviews.")
