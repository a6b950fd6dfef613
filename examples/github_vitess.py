# %% [markdown]
# # GitHub's move to Vitess: placing keys, then resharding without stopping writes
#
# GitHub outgrew one MySQL cluster. The answer was to shard: split the rows over many databases
# by a key, behind a router (Vitess) so the application still sees one database, and to move data
# between shards while the site keeps writing. This notebook builds that in miniature:
#
# 1. where a key lives, under five placement schemes, and what each moves when a shard is added;
# 2. a keyspace of range-named shards behind a router that says when it had to scatter;
# 3. an online resharding from one shard to two while four writer threads keep writing, checked
#    against an unsharded copy that received the same writes.

# %%
import tempfile
import threading

import designpatterns_ref as dp
from designpatterns_ref.sharding import (
    ConsistentHashRing,
    JumpPlacement,
    MaglevPlacement,
    ModuloPlacement,
    RendezvousPlacement,
)
from designpatterns_ref.sharding.plot import (
    moved_fraction,
    plot_growth,
    plot_load,
    plot_lookup_cost,
)
from designpatterns_ref.sharding.resharding import Resharding
from designpatterns_ref.sharding.router import Router
from designpatterns_ref.sharding.sql import SQLiteShards

# %% [markdown]
# ## 1. Where a key lives
#
# Every scheme answers `shard_for(key)`. Modulo is the obvious one; the others are *consistent*:
# adding the eleventh shard should move only 1/11 of the keys, all of them to the new shard.

# %%
schemes = {
    "modulo": ModuloPlacement,
    "ring": ConsistentHashRing,
    "rendezvous": RendezvousPlacement,
    "jump": JumpPlacement,
    "maglev": lambda s: MaglevPlacement(s, table_size=4099),
}
for name, make in schemes.items():
    print(
        f"{name:11} moves {moved_fraction(make, 10, keys=20_000):6.1%} going from 10 to 11 shards"
    )

# %%
fig = plot_growth((2, 4, 8, 16), keys=5_000)
if path := dp.show(fig, "vitess-growth"):
    print(f"figure saved to {path}")

# %%
fig = plot_load(10, keys=20_000)
if path := dp.show(fig, "vitess-load"):
    print(f"figure saved to {path}")

# %% [markdown]
# What each lookup costs as the cluster grows: rendezvous scores every shard for every key, so
# its line climbs with the shard count; the others stay nearly flat.

# %%
fig = plot_lookup_cost((10, 100, 1000), keys=500)
if path := dp.show(fig, "vitess-lookup-cost"):
    print(f"figure saved to {path}")

# %% [markdown]
# ## 2. A keyspace behind a router
#
# Vitess shards a table by a *vindex*: the sharding column (here the customer) hashes to a
# 64-bit keyspace id, and each shard owns a range of ids, named by hex bounds (`-80`, `80-`).
# A query naming the customer goes to one shard; one that does not is scattered to all.

# %%
router = Router(SQLiteShards(tempfile.mkdtemp()), ["-"])
for i in range(2_000):
    router.insert(i, f"customer-{i % 97}", i * 10)
rows, route = router.by_customer("customer-5")
print(f"customer-5 has {len(rows)} orders, read from a {route.kind} shard {route.shards}")

# %% [markdown]
# ## 3. Resharding while writes continue
#
# Four threads keep writing (inserts, updates and deletes of their own orders) while the one
# shard `-` is split into `-80` and `80-`: copy in chunks, replay the change log, verify counts
# and checksums, then pause writes just long enough to cut over.

# %%
expected: dict[int, int | None] = {i: i * 10 for i in range(2_000)}
lock, stop = threading.Lock(), threading.Event()


def writer(t: int) -> None:
    n = 0
    while not stop.is_set():
        order = 100_000 * (t + 1) + n % 400
        if n % 5 == 4:
            router.delete(order, f"customer-{order % 97}")
            value = None
        else:
            value = n
            router.insert(order, f"customer-{order % 97}", value)
        with lock:
            expected[order] = value
        n += 1
    router.db.close()


threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
for thread in threads:
    thread.start()
check = Resharding(router, ["-"], ["-80", "80-"], chunk=250).run()
stop.set()
for thread in threads:
    thread.join()
print("verification (source rows, target rows):", check.counts, "ok:", check.ok)
print("serving shards now:", router.shards)

# %%
rows, route = router.scan()
reference = sorted((i, f"customer-{i % 97}", v) for i, v in expected.items() if v is not None)
print(f"{len(rows):,} rows on the new shards; equal to the unsharded copy: {rows == reference}")
