# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Photo sharing, part one: IDs (Instagram-style)
#
# Every photo, comment and like needs a primary key, minted on many database shards at
# once, with no central counter, and sortable by time so "newest first" is an index scan.
# Instagram's answer (2011), like Twitter's Snowflake before it, packs three numbers into
# 64 bits: milliseconds since an epoch, the shard (or worker), and a sequence within the
# millisecond. This notebook builds those IDs with `designpatterns_ref.shortcode.Snowflake`,
# breaks them with a misbehaving clock, and shows where they run out. The feed half of the
# case study lives in `designpatterns_ref.feed`.

# %%
import itertools
import threading
from datetime import UTC, datetime

import designpatterns_ref as dp
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.shortcode import (
    INSTAGRAM,
    INSTAGRAM_EPOCH_MS,
    TWITTER,
    ClockMovedBackwards,
    Layout,
    Snowflake,
    encode,
)
from designpatterns_ref.shortcode.plot import plot_snowflake_ids

# %% [markdown]
# ## The layouts

# %%
for name, layout in (("Twitter", TWITTER), ("Instagram", INSTAGRAM)):
    print(
        f"{name:9}: {layout.time_bits} time / {layout.worker_bits} worker / "
        f"{layout.sequence_bits} sequence bits -> {layout.max_worker + 1:,} workers, "
        f"{layout.ids_per_ms:,} IDs per ms each, {layout.years:.0f} years"
    )

# %% [markdown]
# ## Minting on several shards
#
# Each shard owns its number, so shards never talk, and IDs from all of them still sort by
# time. A `ManualClock` makes the story reproducible.

# %%
clock = ManualClock(start=1_700_000_000.0)
shards = {
    s: Snowflake(
        worker=s, layout=INSTAGRAM, epoch_ms=INSTAGRAM_EPOCH_MS, clock=clock, sleep=clock.advance
    )
    for s in (5, 1341, 8000)
}
minted = []
for _ in range(3):
    for shard, gen in shards.items():
        minted.append((gen.next_id(), shard))
    clock.advance(0.002)
for photo_id, _shard in sorted(minted)[:6]:
    ms, shard, seq = shards[5].decompose(photo_id)
    when = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    print(f"{photo_id}  shard {shard:>4}  seq {seq}  {when}  code {encode(photo_id)}")

# %% [markdown]
# Twelve milliseconds of minting on the three shards, busier some milliseconds than others:
# sorted as plain integers, the IDs climb with time whatever shard made them.

# %%
for step in range(12):
    for gen in list(shards.values())[: 1 + step % 3]:
        minted.append((gen.next_id(), 0))
    clock.advance(0.001)
fig = plot_snowflake_ids([i for i, _ in minted], layout=INSTAGRAM, epoch_ms=INSTAGRAM_EPOCH_MS)
if path := dp.show(fig, "photo-ids-by-time"):
    print("figure saved to", path)

# %% [markdown]
# The ID itself tells which shard holds the row (no lookup table), and its base62 form is
# the kind of short code that appears in a photo's URL.
#
# ## Running out of sequence numbers
#
# With 10 sequence bits a shard mints 1,024 IDs per millisecond. The 1,025th waits for the
# next millisecond (here the injected `sleep` moves the manual clock).

# %%
gen = shards[5]
burst = [gen.next_id() for _ in range(1030)]
parts = [gen.decompose(i) for i in burst]
print("distinct milliseconds:", sorted({p.timestamp_ms for p in parts})[:3])
print("sequences around the wrap:", [p.sequence for p in parts[1022:1027]])
print("strictly increasing:", all(a < b for a, b in itertools.pairwise(burst)))

# %% [markdown]
# ## A clock that goes backwards
#
# NTP corrections and VM migrations can step the wall clock back. Minting then could repeat
# or reorder IDs. The generator waits out a small step (up to `max_backwards`) and refuses
# a large one.

# %%
clock = ManualClock(start=1_700_000_000.0)
gen = Snowflake(worker=7, clock=clock, sleep=clock.advance, max_backwards=0.050)
last = gen.next_id()
clock.set(clock() - 0.020, allow_backwards=True)
print("20 ms back, waited out:", gen.next_id() > last)
clock.set(clock() - 2.0, allow_backwards=True)
try:
    gen.next_id()
except ClockMovedBackwards as exc:
    print("2 s back, refused:", exc)

# %% [markdown]
# ## Threads
#
# One generator shared by eight threads still hands out strictly increasing, unique IDs: a
# lock guards the last timestamp and the sequence.

# %%
shared = Snowflake(worker=3)
out: list[list[int]] = [[] for _ in range(8)]


def work(bucket: list[int]) -> None:
    for _ in range(2000):
        bucket.append(shared.next_id())


threads = [threading.Thread(target=work, args=(b,)) for b in out]
for t in threads:
    t.start()
for t in threads:
    t.join()
every = [i for b in out for i in b]
print(len(every), "IDs,", len(set(every)), "distinct; each thread's IDs rise:",
      all(b == sorted(b) for b in out))  # fmt: skip

# %% [markdown]
# ## Where the time bits run out
#
# A layout's time field lasts `2**time_bits` milliseconds after its epoch: 41 bits is about
# 69.7 years. A generator refuses to mint past it rather than wrap around.

# %%
for name, layout, epoch in (
    ("Twitter", TWITTER, 1_288_834_974_657),
    ("Instagram", INSTAGRAM, INSTAGRAM_EPOCH_MS),
    ("toy, 30 time bits", Layout(30, 10, 12), INSTAGRAM_EPOCH_MS),
):
    end = datetime.fromtimestamp((epoch + (1 << layout.time_bits)) / 1000, tz=UTC)
    print(f"{name:18} runs out on {end:%Y-%m-%d}")
