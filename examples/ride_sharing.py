# %% [markdown]
# # Design a Ride-Sharing App (Uber / Lyft)
#
# Riders must be matched to the nearest free driver in real time while every driver's phone
# reports a new position every few seconds. This notebook tells the story with
# `designpatterns_ref.geo`: geohash cells, a live driver index whose nearest-driver answers are
# exact (equal to measuring every driver), a dispatcher that never gives one driver to two riders,
# surge pricing per cell, and the trip's state machine. Everything runs on a manual clock, so
# the story is the same every time.

# %%
import math
import random
import time

import designpatterns_ref as dp
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import (
    BruteForceIndex,
    Dispatcher,
    GeohashIndex,
    H3Index,
    HexSurgePricer,
    QuadTreeIndex,
    SurgePricer,
    TripStateMachine,
    cover_circle,
    encode,
    neighbors,
)
from designpatterns_ref.geo.geohash import cell_size_m
from designpatterns_ref.geo.plot import plot_search

# %% [markdown]
# ## 1. Geohash: a position as a short, prefix-ordered string
#
# Every character halves the cell twice or three times; a shared prefix means a shared cell.

# %%
lat, lon = 40.7580, -73.9855  # Times Square
for precision in (5, 6, 7):
    height, width = cell_size_m(precision, lat)
    code = encode(lat, lon, precision)
    print(f"precision {precision}: {code!r}, cell {height:.0f} m x {width:.0f} m")
print("neighbours of", encode(lat, lon, 6), "->", neighbors(encode(lat, lon, 6)))
print("a 400 m circle needs", cover_circle(lat, lon, 400.0))

# %% [markdown]
# ## 2. A city of drivers, and the exact nearest ones
#
# 10,000 drivers over a 30 x 30 km square. The geohash index scans rings of cells around the
# rider and stops only when no unsearched cell can hold anyone nearer than the 10th driver found,
# so its answer equals brute force, which we check.

# %%
clock = ManualClock()
rng = random.Random(2024)
half_lat = 15_000 / 111_195
half_lon = half_lat / math.cos(math.radians(lat))
index = GeohashIndex(clock=clock)
quadtree = QuadTreeIndex(clock=clock)
oracle = BruteForceIndex(clock=clock)
fleet = []  # (driver id, lat, lon), kept for section 6
for i in range(10_000):
    p = (lat + rng.uniform(-half_lat, half_lat), lon + rng.uniform(-half_lon, half_lon))
    fleet.append((f"driver{i:05d}", *p))
    for ix in (index, quadtree, oracle):
        ix.upsert(f"driver{i:05d}", *p)

riders = [
    (lat + rng.uniform(-half_lat, half_lat), lon + rng.uniform(-half_lon, half_lon))
    for _ in range(200)
]
timings = {}
for name, ix in [("geohash", index), ("quadtree", quadtree), ("brute force", oracle)]:
    asked = riders if ix is not oracle else riders[:10]  # brute force is slow: ten will do
    start = time.perf_counter()
    answers = [ix.nearest(a, b, 10) for a, b in asked]
    timings[name] = (time.perf_counter() - start) / len(asked) * 1e6
exact = all(index.nearest(a, b, 10) == oracle.nearest(a, b, 10) for a, b in riders[:20])
print("geohash index equals brute force on 20 riders:", exact)
for name, us in timings.items():
    print(f"  {name:12} {us:8.0f} µs per query (this machine, now)")

# %% [markdown]
# ## 3. Dispatch: one driver, one rider
#
# Read the nearest free driver and mark it busy under one lock, so two riders asking at the same
# moment never get the same driver.

# %%
dispatcher = Dispatcher(index)
first = dispatcher.request("rider-1", lat, lon)
second = dispatcher.request("rider-2", lat, lon)
print(first)
print(second)

# %% [markdown]
# ## 4. Drivers who go quiet
#
# A driver whose last fix is older than the TTL (60 s by default) is dropped: no rider is ever
# sent to a phone that lost signal.

# %%
print("drivers now:", len(index))
clock.advance(61.0)
print("after 61 s without updates:", len(index))

# %% [markdown]
# ## 5. Surge pricing per cell
#
# Demand over supply, smoothed with a half-life so prices do not flicker, capped at 3x.

# %%
pricer = SurgePricer(half_life=60.0, cap=3.0, clock=clock)
cell = encode(lat, lon, 6)
for minute, (demand, supply) in enumerate([(20, 20), (60, 20), (60, 20), (60, 15), (25, 25)]):
    clock.advance(60.0)
    price = pricer.update(cell, demand=demand, supply=supply)
    print(f"minute {minute + 1}: {demand} riders / {supply} drivers -> x{price:.1f}")

# %% [markdown]
# ## 6. Uber's grid: the same city on H3 hexagons
#
# `H3Index` buckets drivers by H3 hexagon (resolution 9, about 0.1 km² a cell) behind the same
# `nearest` / `within` calls, and is exact too: it searches cells best-first by their distance
# from the rider. `from_drivers` builds an index of a whole fleet in a few passes (both grids have
# it). Hexagons have nearly equal areas and six neighbours at one distance, which is why Uber
# prices surge per hexagon and can blend a price evenly with the ring around it; geohash codes
# are prefix-ordered strings a database range-scans. Same city, both grids:

# %%
start = time.perf_counter()
hexes = H3Index.from_drivers(fleet, 9, clock=clock)
squares = GeohashIndex.from_drivers(fleet, 7, clock=clock)
print(f"both indexes of {len(fleet):,} drivers built in {time.perf_counter() - start:.2f} s")
same = all(hexes.nearest(a, b, 10) == squares.nearest(a, b, 10) for a, b in riders[:50])
print("H3 and geohash agree on 50 riders:", same)
for name, ix in [("H3, resolution 9", hexes), ("geohash, precision 7", squares)]:
    start = time.perf_counter()
    for a, b in riders:
        ix.nearest(a, b, 10)
    print(f"  {name:20} {(time.perf_counter() - start) / len(riders) * 1e6:6.0f} µs per query")

surge = HexSurgePricer(8, half_life=60.0, clock=clock)
crowd = [(lat + rng.gauss(0, 0.008), lon + rng.gauss(0, 0.01)) for _ in range(200)]
free = [(a, b) for _, a, b in fleet[:3_000]]
for _ in range(3):  # three minutes of a crowd leaving the shows around Times Square
    clock.advance(60.0)
    surge.observe(crowd, free)
print("walking east from Times Square: the hexagon's own price, and blended with its ring")
for km in (0.0, 0.75, 1.5, 2.25, 3.0):
    here = (lat, lon + km / (111.195 * math.cos(math.radians(lat))))
    cell = surge.cell(*here)
    own, blended = surge.multiplier(cell), surge.blended_multiplier(cell)
    print(f"  {km:4.2f} km  {cell}  x{own:.1f}  blended x{blended:.1f}")

# %% [markdown]
# ## 7. The trip
#
# Every transition is checked against the table of allowed moves and kept with its time.

# %%
assert first is not None
trip = TripStateMachine("trip-1", clock=clock)
trip.match(first.driver_id)
clock.advance(200.0)
trip.arrive()
clock.advance(45.0)
trip.start()
clock.advance(1200.0)
trip.complete()
dispatcher.release(first.driver_id)
for t in trip.history:
    print(f"{t.at - trip.history[0].at:7.0f} s  {t.to.value:16} {t.note}")

# %% [markdown]
# ## 8. A picture of one search
#
# 300 drivers around Times Square and the five nearest to a rider: the shaded squares are the
# geohash cells the rings scanned before the bound proved no unscanned cell could hold anyone
# nearer. `plot_search` returns a matplotlib figure; `dp.show` displays it inline in a notebook
# and saves it as a PNG from a script (printing the path).

# %%
small = GeohashIndex(clock=ManualClock())
for i in range(300):
    small.upsert(f"d{i}", lat + rng.uniform(-0.01, 0.01), lon + rng.uniform(-0.013, 0.013))
trace = small.trace(lat, lon, 5)
print(f"searched {len(trace.cells)} cells in {trace.rings + 1} rings for 5 drivers")
fig = plot_search(small, lat, lon, k=5)
if path := dp.show(fig, "ride-sharing-search"):
    print("figure saved to", path)
