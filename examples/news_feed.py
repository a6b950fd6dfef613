# %% [markdown]
# # Design a Social News Feed: fan-out on write, on read, and hybrid
#
# A home timeline shows the newest posts of everyone you follow. There are two ways to build
# it. **Fan-out on write** (push) copies each new post's id into every follower's timeline,
# so reading is one range read; **fan-out on read** (pull) stores nothing extra and merges the
# followees' own posts when you read. Push makes reads cheap and celebrities ruinous: one post
# by an account with millions of followers is millions of writes. The **hybrid** Twitter
# described in 2012 pushes for ordinary authors and pulls the few celebrities at read time.
#
# This script runs all three on one seeded power-law graph and counts what each costs.

# %%
import designpatterns_ref as dp
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed import (
    FanoutOnRead,
    FanoutOnWrite,
    HybridFanout,
    Workload,
    power_law,
    simulate,
)
from designpatterns_ref.feed.plot import fanout_costs, plot_fanout

# %% [markdown]
# ## One interface, three strategies
#
# Every strategy answers `follow`, `unfollow`, `post`, `delete` and `timeline`; they differ
# only in where the work goes. Watch one celebrity post.

# %%
feeds = [
    FanoutOnWrite(clock=ManualClock()),
    FanoutOnRead(clock=ManualClock()),
    HybridFanout(threshold=100, inactive_after=None, clock=ManualClock()),
]
fans = [f"fan{i}" for i in range(1_000)]
for feed in feeds:
    feed.add_users(["star", *fans])
    for fan in fans:
        feed.follow(fan, "star")
    feed.post("star", body="tour dates announced")
    feed.timeline("fan7")
    print(
        f"{type(feed).__name__:13} post wrote {feed.stats.post_writes:5} timeline entries; "
        f"the read touched {feed.stats.load_reads} timeline(s)"
    )

# %% [markdown]
# ## A graph with celebrities
#
# `power_law` gives user `u{i}` popularity `(i + 1) ** -1`: follower counts follow Zipf's law,
# so a few accounts are followed by a large share of everyone.

# %%
graph = power_law(2_000, seed=11)
counts = graph.follower_counts()
ranked = counts.most_common()
print(f"{len(graph.users):,} users, {len(graph.edges):,} follows")
print("top five:", ranked[:5])
print("median followers:", sorted(counts.values())[len(counts) // 2])

# %% [markdown]
# ## The same Twitter-like mix on each strategy
#
# 300 posts and 50 reads per post. Popular accounts post more often (in proportion to the
# square root of their followers). The counted work matches the textbook formulas: push
# writes per post equal the author's followers, pull reads per load equal the reader's
# followees.

# %%
threshold = 50
work = Workload(posts=300, reads_per_post=50, active_share=0.5, seed=3)
reports = []
for feed in (
    FanoutOnWrite(clock=ManualClock()),
    FanoutOnRead(clock=ManualClock()),
    HybridFanout(threshold=threshold, inactive_after=4_000.0, clock=ManualClock()),
):
    report = simulate(feed, graph, work)
    reports.append(report)
    print(
        f"{report.strategy:13} writes/post {report.writes_per_post:6.1f} "
        f"(formula {report.formula_writes_per_post:6.1f}, worst {report.max_post_writes:5}) | "
        f"reads/load {report.reads_per_load:5.1f} (formula {report.formula_reads_per_load:5.1f}) "
        f"| entries stored {report.entries_stored:7,} | skipped idle {report.stats.skipped:,}"
    )

push, pull, hybrid = reports
assert push.writes_per_post == push.formula_writes_per_post
assert pull.reads_per_load == pull.formula_reads_per_load
assert hybrid.max_post_writes < threshold

# %% [markdown]
# ## Where the celebrity problem bites
#
# Left, the cost of one post by each author, as a function of the author's followers: push
# grows without bound, the hybrid stops at the threshold, pull writes nothing. Right, the cost
# of one timeline load against the reader's followees: pull reads every followee's posts, push
# reads one timeline, the hybrid one plus the celebrities the reader follows. `plot_fanout`
# counts both with the strategies' own counters (`feed.stats`).

# %%
fig = plot_fanout(graph, threshold=threshold)
if path := dp.show(fig, "news-feed-fanout"):
    print("figure saved to", path)

costs = fanout_costs(graph, threshold=threshold, authors=8)
print("followers :", [size for size, _ in costs["writes"]["push"]])
for kind, points in costs["writes"].items():
    print(f"{kind:10}:", [writes for _, writes in points])

# %% [markdown]
# ## Paging, deleting, and the same answer everywhere
#
# Pages are newest first; the last post of a page is the cursor for the next, so a page
# boundary never repeats or drops a post. Deleting a post removes it from every timeline.

# %%
feed = HybridFanout(threshold=2, inactive_after=None, max_len=3, clock=ManualClock())
feed.add_users(["ann", "bo", "cy"])
feed.follow("ann", "bo")
feed.follow("ann", "cy")
for i in range(8):
    feed.post("bo" if i % 2 else "cy", body=f"post {i}")
cursor, seen = None, []
while page := feed.timeline("ann", limit=3, before=cursor):
    seen.append([p.body for p in page])
    cursor = page[-1]
print("pages:", seen)
feed.delete(feed.timeline("ann", limit=1)[0])
print("after delete:", [p.body for p in feed.timeline("ann", limit=3)])

# %% [markdown]
# The same strategies run on Redis (`RedisStore`: sorted sets written in pipelines, trimmed on
# write); see the case-study page for the figures measured on both stores.
