# %% [markdown]
# # Uber's Decision to Move from Postgres to MySQL
#
# In 2016 Uber wrote that PostgreSQL's storage design hurt them at their update rate: every
# update wrote a new row version and a new entry in *every* index, the write-ahead log (and so
# physical replication) carried all of it, and dead versions piled up until VACUUM. InnoDB
# (MySQL) updates rows in place in the primary key's B+tree, keeps old versions in an undo
# log, and its secondary indexes point at the primary key, so an update of an unindexed
# column touches no secondary index at all.
#
# `designpatterns_ref.storage` has one small engine of each kind behind one interface, both
# snapshot-isolated, both counting pages, index entries, WAL and undo bytes, and what a
# replica receives. Here we run the same workload on both and look at where Uber's argument
# comes from, and where PostgreSQL has moved on.

# %%
import designpatterns_ref as dp
from designpatterns_ref.storage import (
    ClusteredEngine,
    HeapEngine,
    Schema,
    SnapshotModel,
    WriteConflict,
    workload,
)
from designpatterns_ref.storage.plot import (
    plot_long_reader,
    plot_replication,
    plot_secondary_reads,
    plot_write_amplification,
)

# %% [markdown]
# ## One update, counted
#
# A `trips` table with three secondary indexes. We insert a row, then update its fare (an
# unindexed column) on the heap engine without HOT, with HOT, and on the clustered engine.

# %%
schema = Schema(
    {"id": int, "rider": int, "driver": int, "city": str, "fare": int},
    primary_key="id",
    indexes=["rider", "driver", "city"],
)
engines = {
    "heap, no HOT": HeapEngine(schema, hot=False, full_page_writes=False),
    "heap with HOT": HeapEngine(schema, fillfactor=90, full_page_writes=False),
    "clustered": ClusteredEngine(schema),
}
for name, db in engines.items():
    tx = db.begin()
    tx.insert({"id": 1, "rider": 7, "driver": 42, "city": "SF", "fare": 0})
    tx.commit()
    before = db.counters.copy()
    tx = db.begin()
    tx.update(1, {"fare": 1250})
    tx.commit()
    cost = db.counters - before
    print(f"{name:14} index entries {cost.index_entries_written}, pages written "
          f"{cost.pages_written}, WAL {cost.wal_bytes} B, undo {cost.undo_bytes} B")  # fmt: skip

# %% [markdown]
# Without HOT the heap writes the new version and one entry in each of the four indexes
# (the primary key's too): every index entry names a physical place, a ctid, and the new
# version has a new one. With HOT the new version stays on the same page, the old one points
# to it, and no index is touched. The clustered engine rewrites the row in place (one
# record of the primary tree) and copies the old fare into its undo log.
#
# ## Write amplification over 0 to 10 secondary indexes

# %%
amplification = workload.write_amplification(10, rows=150, updates=150)
print(" N  heap  HOT  clustered")
for row in amplification:
    print(f"{row['indexes']:2} {row['heap']:5.0f} {row['heap_hot']:4.0f} {row['clustered']:10.0f}")
fig = plot_write_amplification(amplification)
if path := dp.show(fig, "storage-write-amplification"):
    print("figure saved to", path)

# %% [markdown]
# ## What a replica receives
#
# PostgreSQL's streaming replication ships the WAL: every page change, index entries and
# full-page images included. Row-based (logical) replication, MySQL's binlog or PostgreSQL's
# logical replication since version 10, ships only the rows that changed.

# %%
volume = workload.replication_volume(3, rows=150, updates=150)
for row in volume:
    print(f"{row['engine']:10} {row['workload']:17} physical {row['physical']:6.0f} B, "
          f"logical {row['logical']:4.0f} B per update")  # fmt: skip
fig = plot_replication(volume)
if path := dp.show(fig, "storage-replication"):
    print("figure saved to", path)

# %% [markdown]
# ## The long-running transaction problem, on both sides
#
# A reader keeps its snapshot open while updates run. VACUUM may not remove versions the
# reader might still see; purge may not free the undo records it might still need. Both
# grow until the reader ends.

# %%
fig = plot_long_reader(workload.long_reader(rows=100, rounds=4, updates=100))
if path := dp.show(fig, "storage-long-reader"):
    print("figure saved to", path)

# %% [markdown]
# ## One lookup or two
#
# Through a secondary index the heap goes from the entry straight to the tuple's page; the
# clustered engine finds a primary key there and descends the primary tree again.

# %%
fig = plot_secondary_reads(workload.secondary_reads(rows=3000, lookups=100))
if path := dp.show(fig, "storage-secondary-reads"):
    print("figure saved to", path)

# %% [markdown]
# ## Snapshot isolation, first writer wins, and write skew
#
# Both engines give snapshot isolation: a concurrent write to the same row aborts the later
# writer. Two transactions that each read what the other writes both commit, though: write
# skew, which only serializable isolation prevents. The reference model agrees.

# %%
doctors = Schema({"id": int, "on_call": int}, primary_key="id")
for db in (HeapEngine(doctors), ClusteredEngine(doctors), SnapshotModel(doctors)):
    setup = db.begin()
    setup.insert({"id": 1, "on_call": 1})
    setup.insert({"id": 2, "on_call": 1})
    setup.commit()
    alice, bob = db.begin(), db.begin()
    if alice.get(2)["on_call"]:
        alice.update(1, {"on_call": 0})
    if bob.get(1)["on_call"]:
        bob.update(2, {"on_call": 0})
    alice.commit()
    bob.commit()
    print(type(db).__name__, "on call after both:", db.begin().scan("id"))

db = HeapEngine(doctors)
first, second = db.begin(), db.begin()
first.insert({"id": 1, "on_call": 1})
try:
    second.insert({"id": 1, "on_call": 0})
except WriteConflict as exc:
    print("second writer:", exc)

# %% [markdown]
# ## A crash between the log and the page
#
# Commits flush the log; pages reach the disk only at checkpoints. Killing the engine after
# the log write and before any page write loses nothing that committed.

# %%
db = HeapEngine(schema)
tx = db.begin()
tx.insert({"id": 1, "rider": 7, "driver": 42, "city": "SF", "fare": 900})
tx.commit()
db.checkpoint()
tx = db.begin()
tx.update(1, {"fare": 1100})
tx.commit()  # in the log, not in any page on disk
unfinished = db.begin()
unfinished.update(1, {"fare": 5})
recovered = HeapEngine.recover(db.crash())
print("after recovery:", recovered.begin().get(1))
