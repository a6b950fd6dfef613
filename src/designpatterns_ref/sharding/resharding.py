"""Online resharding as Vitess does it: copy, replicate, verify, cut over; roll back at any step.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

Splitting shard ``-`` into ``-80`` and ``80-`` while the application keeps writing (or any
contiguous part of the keyspace: ``source`` is one or more serving shards whose ranges meet,
``target`` shards covering exactly the same range; the other serving shards are not touched,
so ``-80`` can be split into ``-40`` and ``40-80`` while ``80-`` serves on):

1. **Start**: note each source shard's change-log position, then create the target shards,
   each *fenced* from the start (a ``from:<sources>`` row in its ``denied_writes``, written in
   the transaction that creates its tables): a router opened with the target list before the
   cut-over is refused reads and writes, so it neither reads a partial copy nor takes a write
   a rollback would drop with the targets (Vitess puts denied tables on the targets when the
   workflow is created and lifts them at ``SwitchTraffic``).
2. **Copy**: walk each source's rows in primary-key order (``(id, customer)``: an order is its
   customer's, so one key never lives on two shards and two sources merged into one target
   never collide), a chunk at a time, and upsert each row into the target whose key range
   holds its keyspace id. Writes continue on the source.
3. **Replicate**: replay the source's change log from the noted position onto the targets (row
   images, so replay is idempotent). Rows copied before a later change get the change; rows copied
   after it already hold it, and replaying it again is harmless.
4. **Verify**: per target, row count and an order-independent checksum of its rows (a
   multiset: every row counts, a duplicate too), against the same over the source rows in its
   range, taken as they are (not through the target's key), so a row the copy lost or
   overwrote shows.
5. **Cut over**: pause the router (writes and reads wait, none fail), fence each source (a row
   in its ``denied_writes`` table: from now on a router refuses writes *and reads* there,
   whatever process it runs in, so none serves rows the targets' new writes have made stale),
   replay the last changes, verify, write phase ``cut_over`` into every target's
   ``resharding`` rows (lifting its fence in the same transaction), switch the router's
   serving shards to the targets, resume. The pause lasts one catch-up and one verification.
   The fences bind routed queries only: the resharding's own reads and writes of a fenced
   shard (copy, catch-up, verify, the replay back of a rollback) go to the shard databases
   directly. A router opened with the target list *before* :meth:`Resharding.start` created a
   target (or after a crash in it) creates that target itself, as a new empty shard: no fence
   covers a shard that does not exist yet, so roll out the target list after the cut-over.

Progress (rows copied, log position applied, phase) is kept in each target's ``resharding``
table in the same transaction as the rows it describes, and :meth:`Resharding.phase` is read
from there (one target marked ``cut_over`` means the cut-over was decided; a target that exists
but cannot be read raises :class:`ShardingError`, never counts as not made yet). So a process that
dies between any two steps can :meth:`Resharding.resume` exactly where it was (after cut-over:
finish marking, switch the router; a router opened with the old shard list is refused writes
and reads by the fence until then), or :meth:`Resharding.rollback`: before cut-over by lifting
the sources' fence and dropping the (still fenced) targets; after it by fencing the targets
again, replaying their own change
logs (every write since the cut-over) back onto the sources, marking the targets
``rolled_back``, lifting the sources' fence, switching back and dropping the targets (Vitess's
reverse replication). Once a target is marked ``rolled_back`` only the rollback can be finished,
and finishing it marks every target before dropping any.

Complexity: O(rows) to copy, O(changes) to replicate, O(rows) to verify; the router's pause is
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
>>> Resharding(router, ["-80", "80-"], ["-40", "40-"]).start()  # the next split, started
>>> Router(router.db, ["-40", "40-"]).scan()  # a router given the new list too early
Traceback (most recent call last):
...
designpatterns_ref.sharding.base.ShardingError: shard '-40' takes no reads yet: ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from xxhash import xxh3_64_intdigest

from designpatterns_ref.errors import shown
from designpatterns_ref.sharding.base import ShardingError
from designpatterns_ref.sharding.keyspace import KeyRange, ShardMap, contiguous
from designpatterns_ref.sharding.router import NOT_CUT_OVER, UPSERT, Router, apply_change

__all__ = ["Resharding", "Verification"]

_PHASES = ("copying", "copied", "cut_over", "rolled_back")
_FENCE = "INSERT INTO denied_writes (moved_to) VALUES (?) ON CONFLICT DO NOTHING"


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
        self,
        router: Router,
        source: list[str],
        target: list[str],
        *,
        chunk: int = 1000,
        on_point: Callable[[str], object] | None = None,
    ) -> None:
        if not isinstance(router, Router):
            raise ShardingError(f"router={shown(router)} must be a Router")
        if not isinstance(chunk, int) or isinstance(chunk, bool) or not 1 <= chunk <= 1_000_000:
            raise ShardingError(f"chunk={shown(chunk)} must be an int in [1, 1,000,000]")
        if on_point is not None and not callable(on_point):
            raise ShardingError(f"on_point={shown(on_point, 80)} must be callable")
        src, covered = contiguous(source, "source")
        dst, dst_covered = contiguous(target, "target")
        if dst_covered != covered:
            raise ShardingError(
                f"target={shown(target)} covers {dst_covered.name!r}: it must cover exactly "
                f"what source={shown(source)} covers, {covered.name!r}"
            )
        if {r.name for r in src} & {r.name for r in dst}:
            raise ShardingError("source and target must not share a shard")
        self.router = router
        self.source = [r.name for r in src]
        self.target = [r.name for r in dst]
        self._source_ranges = dict(zip(self.source, src, strict=True))
        self.ranges: dict[str, KeyRange] = dict(zip(self.target, dst, strict=True))
        self.chunk = chunk
        #: Called with a name after every durable step (tests kill the process there).
        self.on_point = on_point
        serving = set(router.shards)
        if not set(self.source) <= serving and not (
            set(self.target) <= serving and self.phase() in ("cut_over", "rolled_back")
        ):
            raise ShardingError(
                f"source={shown(source)} must be serving shards; serving: {router.shards}"
            )

    def _point(self, name: str) -> None:
        if self.on_point is not None:
            self.on_point(name)

    # --- progress, kept in the targets ---------------------------------------------------------

    def _state(self, target: str, source: str) -> tuple[int, str, int, str] | None:
        """The copy cursor (last id and customer copied), log position and phase."""
        rows = self.router.db.query(
            target,
            "SELECT copied_id, copied_customer, applied_seq, phase FROM resharding "
            "WHERE source = ?",
            (source,),
        )
        if not rows:
            return None
        return int(rows[0][0]), str(rows[0][1]), int(rows[0][2]), str(rows[0][3])

    def phase(self) -> str:
        """``"new"``, ``"copying"``, ``"copied"``, ``"cut_over"`` or ``"rolled_back"``.

        Read from the targets' ``resharding`` rows, never from the router's memory: a target
        marked ``rolled_back`` (a rollback after cut-over under way) wins, then one marked
        ``cut_over`` (the cut-over was decided), then a missing target, table or row
        (``"new"``). Whether a target exists is asked of the file system or the server's
        catalog; a target that exists but cannot be read (the server refuses connections, the
        file is damaged) raises :class:`ShardingError`: it may hold acknowledged writes, so it
        is never taken for one that was not made yet.
        """
        phases = set()
        for target in self.target:
            for source in self.source:
                state = self._stored_state(target, source)
                phases.add("new" if state is None else state[3])
        for phase in ("rolled_back", "cut_over", "new", "copying"):
            if phase in phases:
                return phase
        return "copied"

    def _stored_state(self, target: str, source: str) -> tuple[int, str, int, str] | None:
        """:meth:`_state`, or None if the target, its table or its row does not exist."""
        db = self.router.db
        try:
            if not db.exists(target) or not db.has_table(target, "resharding"):
                return None
            return self._state(target, source)
        except Exception as exc:  # the driver's error, or ShardingError from opening the shard
            raise ShardingError(
                f"cannot read the resharding state of target {shown(target)} "
                f"({type(exc).__name__}: {exc}); nothing was changed: make the shard readable "
                "and retry"
            ) from None

    def start(self) -> None:
        """Note each source's log position, create the targets fenced and record where copying
        starts.

        Each target's tables come with its fence (``"from:<sources>"`` in ``denied_writes``) in
        one transaction, so no router opened with the target list is served a partial copy or
        acknowledged a write a rollback would drop; :meth:`_finish_cut_over` lifts it. A target
        a dead process already started keeps its own position and cursor.
        """
        if self.phase() != "new":
            raise ShardingError(f"resharding is already {self.phase()}: resume or roll back")
        positions = {s: self._log_position(s) for s in self.source}
        for target in self.target:
            self.router.db.create(target, fence=NOT_CUT_OVER + ",".join(self.source))
            with self.router.db.transaction(target) as run:
                for source, position in positions.items():
                    run(
                        "INSERT INTO resharding (source, copied_id, copied_customer, "
                        "applied_seq, phase) VALUES (?, ?, '', ?, 'copying') "
                        "ON CONFLICT (source) DO NOTHING",
                        (source, -(1 << 63), position),
                    )
            self._point(f"start:{target}")

    def _log_position(self, shard: str) -> int:
        rows = self.router.db.query(shard, "SELECT coalesce(max(seq), 0) FROM changes")
        return int(rows[0][0])

    # --- copy and replicate --------------------------------------------------------------------

    def _started(self, what: str) -> str:
        """The phase; refuse ``what`` with :class:`ShardingError` before :meth:`start` made
        every target (nothing is touched: opening a missing SQLite target would create it)."""
        phase = self.phase()
        if phase == "new":
            raise ShardingError(
                f"{what} before the resharding started: call start() (or run()) first; "
                f"targets {shown(list(self.target))} are not all made yet"
            )
        return phase

    def _copying(self, what: str) -> None:
        """Refuse ``what`` (a copy or a catch-up) before :meth:`start` or after the cut-over is
        decided: the targets then hold writes the sources never saw, and a step of the copy
        would write the phase back to "copied", so that a rollback would drop those writes
        instead of replaying them onto the sources."""
        phase = self._started(what)
        if phase in ("cut_over", "rolled_back"):
            raise ShardingError(
                f"{what} after the cut-over (phase {phase}): the copy is over; resume() or "
                "rollback() finishes the resharding"
            )

    def copy_chunk(self) -> bool:
        """Copy the next chunk of every source into each target; True once all is copied.

        Rows go in primary-key order, ``(id, customer)``. Each (source, target) pair keeps its own
        cursor (the last key copied), committed with the rows it copied, so a crash between two
        targets' transactions loses nothing on resume. Refused with
        :class:`ShardingError` once the cut-over is decided (see :meth:`_copying`).
        """
        self._copying("copy_chunk")
        done = True
        for source in self.source:
            for target, key_range in self.ranges.items():
                state = self._state(target, source)
                if state is None:
                    raise ShardingError("resharding was not started")
                rows = self.router.db.query(
                    source,
                    "SELECT id, customer, ksid, amount FROM orders "
                    "WHERE id > ? OR (id = ? AND customer > ?) ORDER BY id, customer LIMIT ?",
                    (state[0], state[0], state[1], self.chunk),
                )
                with self.router.db.transaction(target) as run:
                    run.many(UPSERT, [r for r in rows if int(r[2], 16) in key_range])
                    run(
                        "UPDATE resharding SET copied_id = ?, copied_customer = ?, phase = ? "
                        "WHERE source = ? AND phase IN ('copying', 'copied')",
                        (
                            *(rows[-1][:2] if rows else state[:2]),
                            "copying" if len(rows) == self.chunk else "copied",
                            source,
                        ),
                    )
                self._point(f"copy:{source}>{target}")
                done = done and len(rows) < self.chunk
        return done

    def catch_up(self) -> int:
        """Replay every source's change log past each target's position; return changes applied.
        Refused with :class:`ShardingError` once the cut-over is decided (see :meth:`_copying`).
        """
        self._copying("catch_up")
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
                    (state[2],),
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
                self._point(f"catch_up:{source}>{target}")
        return applied

    # --- verify and cut over -------------------------------------------------------------------

    def verify(self) -> Verification:
        """Counts and checksums of each target against the source rows in its range.

        Both sides are multisets of whole rows: every source row in the target's range counts,
        as read (never collected under a key, which would fold two rows into one the way a
        wrong key folds them on the target), so a row the copy lost or overwrote changes the
        count or the checksum. After cut-over the sources are fenced and the targets take the
        writes, so each target is compared with the source rows in its range with the target's
        own change log (every write since the cut-over, empty before it) replayed on top: a
        change replaces every row of its order ``(id, customer)``. Refused with
        :class:`ShardingError` before :meth:`start`.
        """
        self._started("verify")
        source_rows = [
            row
            for source in self.source
            for row in self.router.db.query(source, "SELECT id, customer, ksid, amount FROM orders")
        ]
        counts, sums = {}, {}
        for target, key_range in self.ranges.items():
            last: dict[tuple[int, str], tuple[str, int]] = {}  # the latest change of an order
            for op, id, customer, amount in self.router.db.query(
                target, "SELECT op, id, customer, amount FROM changes ORDER BY seq"
            ):
                last[(id, customer)] = (op, amount)
            mine = [
                (i, c, a)
                for i, c, k, a in source_rows
                if int(k, 16) in key_range and (i, c) not in last
            ]
            mine += [(i, c, a) for (i, c), (op, a) in last.items() if op != "delete"]
            theirs = self.router.db.query(target, "SELECT id, customer, amount FROM orders")
            (n1, s1), (n2, s2) = _digest(mine), _digest(theirs)
            counts[target], sums[target] = (n1, n2), (s1, s2)
        return Verification(counts, sums)

    def _fence(self, shards: list[str], moved_to: list[str]) -> None:
        """Fence ``shards``: routers refuse writes and reads there (ordered with their writers)."""
        for shard in shards:
            with self.router.db.transaction(shard, serial=True) as run:
                run(_FENCE, (",".join(moved_to),))
            self._point(f"fence:{shard}")

    def _unfence(self, shards: list[str], moved_to: list[str]) -> None:
        for shard in shards:
            with self.router.db.transaction(shard, serial=True) as run:
                run("DELETE FROM denied_writes WHERE moved_to = ?", (",".join(moved_to),))
            self._point(f"unfence:{shard}")

    def _switch(self, serving: list[str]) -> None:
        """Serve ``serving`` instead of this resharding's sources or targets."""
        moved = set(self.source) | set(self.target)
        kept = [s for s in self.router.shards if s not in moved]
        self.router.map = ShardMap([*kept, *serving])

    def cut_over(self) -> Verification:
        """Pause the router (writes and reads), fence the sources, replay the rest, verify,
        record the cut-over in every target, switch the router to the targets, resume.

        After a cut-over (this process's or a dead one's) it only finishes it: marks every
        target and switches the router (idempotent).
        """
        phase = self.phase()
        if phase == "cut_over":
            with self.router.gate.paused():
                self._finish_cut_over()
            return self.verify()
        if phase != "copied":
            raise ShardingError(f"cut_over needs every row copied first; phase is {phase}")
        with self.router.gate.paused():
            self._fence(self.source, self.target)
            self.catch_up()
            check = self.verify()
            if not check.ok:
                self._unfence(self.source, self.target)
                raise ShardingError(f"verification failed, nothing switched: {check}")
            self._finish_cut_over()
        return check

    def _finish_cut_over(self) -> None:
        """Mark every target ``cut_over``, lifting its fence (start()'s, or one an unfinished
        rollback left), switch.

        The sources are fenced already: the fence goes up before the first mark and comes down
        only after every target is marked ``rolled_back``.
        """
        for target in self.target:
            with self.router.db.transaction(target, serial=True) as run:
                run("UPDATE resharding SET phase = 'cut_over'")
                run("DELETE FROM denied_writes")
            self._point(f"cut_over:{target}")
        self._switch(self.target)
        self._point("switched")

    def run(self) -> Verification:
        """Start (or resume) and carry the resharding through to cut-over.

        After a cut-over it finishes it (see :meth:`cut_over`); after a rollback of a cut-over
        began it refuses with :class:`ShardingError`: only :meth:`rollback` can finish that.
        """
        phase = self.phase()
        if phase == "rolled_back":
            raise ShardingError(
                "a rollback after cut-over is under way (a target is marked rolled_back): "
                "call rollback() to finish it"
            )
        if phase == "cut_over":
            return self.cut_over()
        if phase == "new":
            self.start()
        while not self.copy_chunk():
            self.catch_up()
        self.catch_up()
        return self.cut_over()

    resume = run

    def rollback(self) -> None:
        """Undo: before cut-over lift the fence and drop the targets; after it, fence the
        targets, replay their changes back onto the sources, mark them ``rolled_back``, lift
        the sources' fence, switch back and drop the targets. Each step can be repeated.

        A rollback found under way (a target marked ``rolled_back``: the replay back is done)
        first marks every target still there ``rolled_back``, and only then lifts the fence
        and drops: a target is dropped only once none is left marked ``cut_over``, so a crash
        among the drops never leaves a lone ``cut_over`` mark that reads as a finished
        cut-over. It does not replay again: the sources may be serving new writes already.
        """
        phase = self.phase()
        with self.router.gate.paused():
            if phase == "cut_over":
                self._fence(self.target, self.source)
                self._replay_back()
            if phase in ("cut_over", "rolled_back"):
                for target in self.target:
                    if not self.router.db.exists(target):  # dropped: every mark was made
                        continue
                    with self.router.db.transaction(target, serial=True) as run:
                        run("UPDATE resharding SET phase = 'rolled_back'")
                    self._point(f"rolled_back:{target}")
            self._unfence(self.source, self.target)
            self._switch(self.source)
            self._point("switched_back")
        for target in self.target:
            self.router.db.drop(target)
            self._point(f"drop:{target}")

    def _replay_back(self) -> None:
        """After cut-over, the targets' own change logs hold every write since: replay them
        onto the sources (row images, so replaying again after a crash is harmless)."""
        back = self._source_ranges
        for target in self.target:
            changes = self.router.db.query(
                target, "SELECT op, id, customer, ksid, amount FROM changes ORDER BY seq"
            )
            for source, key_range in back.items():
                with self.router.db.transaction(source, serial=True) as run:
                    for op, id, customer, ksid, amount in changes:
                        if int(ksid, 16) in key_range:
                            apply_change(run, op, id, customer, ksid, amount)
                            run(
                                "INSERT INTO changes (op, id, customer, ksid, amount) "
                                "VALUES (?, ?, ?, ?, ?)",
                                (op, id, customer, ksid, amount),
                            )
                self._point(f"replay:{target}>{source}")
