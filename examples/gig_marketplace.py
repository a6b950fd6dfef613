# %% [markdown]
# # Design a Free Local Gig Marketplace
#
# A zero-fee marketplace where students, refugees and households find each other: no payments,
# so trust comes from reviews alone. This notebook tells the story with
# `designpatterns_ref.reputation`: scores that do not lie with small numbers, reviews that need
# a completed job, a detector for review rings measured on a generated town with planted rings,
# and matching by distance, skill and availability that gives newcomers a fair, bounded chance.

# %%
import random

import designpatterns_ref as dp
from designpatterns_ref.reputation import (
    RULES,
    Matcher,
    Provider,
    ReputationError,
    Request,
    ReviewBook,
    RingDetector,
    StarCounts,
    generate_marketplace,
    precision_recall,
    ranks_by_rule,
    scorer,
)
from designpatterns_ref.reputation.plot import plot_ring_tradeoff, plot_scores_vs_reviews

# %% [markdown]
# ## 1. Four providers, four rules
#
# The plain mean, the Bayesian average (IMDb's weighted rating), the Wilson lower bound for
# thumbs and Evan Miller's Bayesian bound for stars.

# %%
providers = {
    "Ana: one 5-star review": StarCounts.of([5]),
    "Bo: 60 reviews, mostly 5": StarCounts.of([5] * 45 + [4] * 12 + [3] * 3),
    "Cy: 40 reviews, 5s and 1s": StarCounts.of([5] * 32 + [1] * 8),
    "Di: new": StarCounts(),
}
table = ranks_by_rule(providers)
print(f"{'':28}" + "".join(f"{rule:>8}" for rule in RULES))
for name in providers:
    print(f"{name:28}" + "".join(f"{table[name][rule]:>8}" for rule in RULES))
for rule in RULES:
    score = scorer(rule)
    print(rule, {name.split(":")[0]: round(score(c), 3) for name, c in providers.items()})

# %%
fig = plot_scores_vs_reviews(reviews=60)
path = dp.show(fig, "scores-vs-reviews")
if path is not None:
    print("figure written to", path)

# %% [markdown]
# ## 2. Reviews only after a completed job

# %%
book = ReviewBook(rng=random.Random(1))
client_token, provider_token = book.complete_job("job-17", client="household-9", provider="bo")
book.review(client_token, stars=5)
book.review(provider_token, stars=4)
try:
    book.review(client_token, stars=1)
except ReputationError as refused:
    print("refused:", refused)
print("bo:", book.stats("bo").counts, "household-9:", book.stats("household-9").counts)

# %% [markdown]
# ## 3. Review rings in a generated town
#
# 2,000 accounts, 10,000 honest jobs, 20 planted rings trading five-star reviews, and 20 honest
# groups of neighbours who keep hiring each other (the hard negatives).

# %%
market = generate_marketplace(seed=7)
flagged = RingDetector().flagged_accounts(market.reviews)
precision, recall = precision_recall(flagged, market.ring_members)
print(
    f"{len(market.reviews):,} reviews; flagged {len(flagged)}; "
    f"precision {precision:.2f}, recall {recall:.2f}"
)

# %%
fig = plot_ring_tradeoff(market)
path = dp.show(fig, "ring-tradeoff")
if path is not None:
    print("figure written to", path)

# %% [markdown]
# ## 4. Matching, and a newcomer's first chance

# %%
rng = random.Random(4)
matcher = Matcher(explore_slots=1, max_explorations=2)
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
for page in range(3):
    print(page + 1, [m.provider_id + ("*" if m.explored else "") for m in matcher.match(request)])
