"""Online resharding as Vitess does it: copy, replicate, verify, cut over; roll back at any step.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

Splitting shard ``-`` into ``-80`` and ``80-`` while the application keeps writing:

1. **Start**: note each source shard's change-log position, then create the target shards.
2. **Copy**: walk each source's rows in primary-key order, a chunk at a time, and upsert each row
   into the target whose key range holds its keyspace id. Writes continue on the source.
3. **Replicate**: replay the source's change log from the noted position onto the targets (row
   images, so replay is idempotent). Rows copied before a later change get the change; rows copied
   after it already hold it, and replaying it again is harmless.
4. **Verify**: per target, row count and an order-independent checksum of its rows, against the
   same over the source rows in its range.
5. **Cut over**: pause writes at the router (they wait, none fail), replay the last changes,
   verify, switch the router's serving shards to the targets, resume writes. The pause lasts one
   catch-up and one verification.

Progress (rows copied, log position applied, phase) is kept in each target's ``resharding``
table in the same transaction as the rows it describes, so a process that dies between any two
steps can :meth:`Resharding.resume` exactly where it was, or :meth:`Resharding.rollback`: before
cut-over by dropping the targets, after it by replaying the targets' own change logs back onto
the sources and switching back (Vitess's reverse replication).

Complexity: O(rows) to copy, O(changes) to replicate, O(rows) to verify; the write pause is
O(changes since the last catch-up + rows) for the final verification.

>>> import tempfile
>>> from designpatterns_ref.sharding.router import Router
>>> from designpatterns_ref.sharding.sql import SQLiteShards
>>> router = Router(SQLiteShards(tempfile.mkdtemp()), ["-"])
>>> for i in range(100):
...     _ = router.insert(i, f"customer-{i % 7}", i)
>>> job = Resharding(router, ["-"], ["-80", "80-"], chunk=30)
>>> job.run().ok, router.shards
(True, ('-80', '80-'))
>>> len(router.scan()[0])
100
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xxhash import xxh3_64_intdigest

from designpatterns_ref.sharding.base import ShardingError
from designpatterns_ref.sharding.keyspace import KeyRange, ShardMap
from designpatterns_ref.sharding.router import UPSERT, Router, apply_change

__all__ = ["Resharding", "Verification"]

_PHASES = ("copying", "copied", "cut_over", "rolled_back")


@dataclass(frozen=True, slots=True)
class Verification:
    """Per target shard: (source rows, target rows) counts and checksums; ``ok`` if all equal."""

    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    checksums: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(a == b for a, b in self.counts.values()) and all(
            a == b for a, b in self.checksums.values()
        )


def _digest(rows: list[tuple[int, str, int]]) -> tuple[int, int]:
    """Row count and an order-independent checksum (sum of row hashes mod 2**64)."""
    total = 0
    for row in rows:
        total = (total + xxh3_64_intdigest(repr(tuple(row)).encode())) & ((1 << 64) - 1)
    return len(rows), total


class Resharding:
    """Move ``router``'s ``source`` shards' rows onto ``target`` shards while writes continue."""

    def __init__(
        self, router: Router, source: list[str], target: list[str], *, chunk: int = 1000
    ) -> None:
        if not isinstance(router, Router):
            raise ShardingError(f"router={router!r} must be a Router")
        if not isinstance(chunk, int) or isinstance(chunk, bool) or not 1 <= chunk <= 1_000_000:
            raise ShardingError(f"chunk={chunk!r} must be an int in [1, 1,000,000]")
        src, dst = ShardMap(source), ShardMap(target)  # each must cover the whole space ...
        serving = set(router.shards)
        if not set(src.names) <= serving:
            raise ShardingError(
                f"source={source!r} must be serving shards; serving: {router.shards}"
            )
        if set(src.names) & set(dst.names):
            raise ShardingError("source and target must not share a shard")
        self.router = router
        self.source = src.names
        self.target = dst.names
        self.ranges: dict[str, KeyRange] = dict(zip(dst.names, dst.ranges, strict=True))
        self.chunk = chunk

    # --- progress, kept in the targets ---------------------------------------------------------

    def _state(self, target: str, source: str) -> tuple[int, int, str] | None:
        rows = self.router.db.query(
            target,
            "SELECT copied_id, applied_seq, phase FROM resharding WHERE source = ?",
            (source,),
        )
        return (int(rows[0][0]), int(rows[0][1]), str(rows[0][2])) if rows else None

    def phase(self) -> str:
        """``"new"``, ``"copying"``, ``"copied"``, ``"cut_over"`` or ``"rolled_back"``."""
        if self.router.shards == tuple(self.target):
            return "cut_over"
        phases = set()
        for target in self.target:
            for source in self.source:
                try:
                    state = self._state(target, source)
                except Exception:  # the target does not exist (yet, or any more)
                    return "new"
                phases.add("new" if state is None else state[2])
        return "new" if "new" in phases else "copying" if "copying" in phases else "copied"

    def start(self) -> None:
        """Note each source's log position, create the targets and record where copying starts."""
        if self.phase() != "new":
            raise ShardingError(f"resharding is already {self.phase()}: resume or roll back")
        positions = {s: self._log_position(s) for s in self.source}
        for target in self.target:
            self.router.db.create(target)
            with self.router.db.transaction(target) as run:
                for source, position in positions.items():
                    run(
                        "INSERT INTO resharding (source, copied_id, applied_seq, phase) "
                        "VALUES (?, ?, ?, 'copying')",
                        (source, -(1 << 63), position),
                    )

    def _log_position(self, shard: str) -> int:
        rows = self.router.db.query(shard, "SELECT coalesce(max(seq), 0) FROM changes")
        return int(rows[0][0])

    # --- copy and replicate --------------------------------------------------------------------

    def copy_chunk(self) -> bool:
        """Copy the next chunk of every source into each target; True once all is copied.

        Each (source, target) pair keeps its own cursor, committed with the rows it copied, so a
        crash between two targets' transactions loses nothing on resume.
        """
        done = True
        for source in self.source:
            for target, key_range in self.ranges.items():
                state = self._state(target, source)
                if state is None:
                    raise ShardingError("resharding was not started")
                rows = self.router.db.query(
                    source,
                    "SELECT id, customer, ksid, amount FROM orders "
                    "WHERE id > ? ORDER BY id LIMIT ?",
                    (state[0], self.chunk),
                )
                with self.router.db.transaction(target) as run:
                    run.many(UPSERT, [r for r in rows if int(r[2], 16) in key_range])
                    run(
                        "UPDATE resharding SET copied_id = ?, phase = ? WHERE source = ?",
                        (
                            rows[-1][0] if rows else state[0],
                            "copying" if len(rows) == self.chunk else "copied",
                            source,
                        ),
                    )
                done = done and len(rows) < self.chunk
        return done

    def catch_up(self) -> int:
        """Replay every source's change log past each target's position; return changes applied."""
        applied = 0
        for source in self.source:
            for target, key_range in self.ranges.items():
                state = self._state(target, source)
                if state is None:
                    raise ShardingError("resharding was not started")
                changes = self.router.db.query(
                    source,
                    "SELECT seq, op, id, customer, ksid, amount FROM changes WHERE seq > ? "
                    "ORDER BY seq",
                    (state[1],),
                )
                if not changes:
                    continue
                with self.router.db.transaction(target) as run:
                    for _, op, id, customer, ksid, amount in changes:
                        if int(ksid, 16) in key_range:
                            apply_change(run, op, id, customer, ksid, amount)
                            applied += 1
                    run(
                        "UPDATE resharding SET applied_seq = ? WHERE source = ?",
                        (changes[-1][0], source),
                    )
        return applied

    # --- verify and cut over -------------------------------------------------------------------

    def verify(self) -> Verification:
        """Counts and checksums of each target against the source rows in its range."""
        source_rows = [
            row
            for source in self.source
            for row in self.router.db.query(source, "SELECT id, customer, ksid, amount FROM orders")
        ]
        counts, sums = {}, {}
        for target, key_range in self.ranges.items():
            mine = [(i, c, a) for i, c, k, a in source_rows if int(k, 16) in key_range]
            theirs = self.router.db.query(target, "SELECT id, customer, amount FROM orders")
            (n1, s1), (n2, s2) = _digest(mine), _digest(theirs)
            counts[target], sums[target] = (n1, n2), (s1, s2)
        return Verification(counts, sums)

    def cut_over(self) -> Verification:
        """Pause writes, replay the rest, verify, switch the router to the targets, resume."""
        if self.phase() != "copied":
            raise ShardingError(f"cut_over needs every row copied first; phase is {self.phase()}")
        with self.router.gate.paused():
            self.catch_up()
            check = self.verify()
            if not check.ok:
                raise ShardingError(f"verification failed, nothing switched: {check}")
            kept = [s for s in self.router.shards if s not in self.source]
            self.router.map = ShardMap([*kept, *self.target])
        return check

    def run(self) -> Verification:
        """Start (or resume) and carry the resharding through to cut-over."""
        if self.phase() == "cut_over":
            return self.verify()
        if self.phase() == "new":
            self.start()
        while not self.copy_chunk():
            self.catch_up()
        self.catch_up()
        return self.cut_over()

    resume = run

    def rollback(self) -> None:
        """Undo: before cut-over drop the targets; after it, replay the targets' changes back."""
        phase = self.phase()
        if phase == "cut_over":
            with self.router.gate.paused():
                back = Resharding.__new__(Resharding)
                back.router, back.source, back.target = self.router, self.target, self.source
                back.ranges = dict(zip(self.source, ShardMap(self.source).ranges, strict=True))
                back.chunk = self.chunk
                self._replay_back(back)
                kept = [s for s in self.router.shards if s not in self.target]
                self.router.map = ShardMap([*kept, *self.source])
        for target in self.target:
            self.router.db.drop(target)

    def _replay_back(self, back: Resharding) -> None:
        """After cut-over, the targets' own change logs hold every write since: replay them."""
        for target in self.target:
            changes = self.router.db.query(
                target, "SELECT op, id, customer, ksid, amount FROM changes ORDER BY seq"
            )
            for source, key_range in back.ranges.items():
                with self.router.db.transaction(source, serial=True) as run:
                    for op, id, customer, ksid, amount in changes:
                        if int(ksid, 16) in key_range:
                            apply_change(run, op, id, customer, ksid, amount)
                            run(
                                "INSERT INTO changes (op, id, customer, ksid, amount) "
                                "VALUES (?, ?, ?, ?, ?)",
                                (op, id, customer, ksid, amount),
                            )
