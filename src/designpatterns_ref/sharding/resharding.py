"""Online resharding as Vitess does it: copy, replicate, verify, cut over; roll back at any step.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

Splitting shard ``-`` into ``-80`` and ``80-`` while the application keeps writing (or any
contiguous part of the keyspace: ``source`` is one or more serving shards whose ranges meet,
``target`` shards covering exactly the same range; the other serving shards are not touched,
so ``-80`` can be split into ``-40`` and ``40-80`` while ``80-`` serves on):

1. **Start**: mark each source with a new job id (see :mod:`~designpatterns_ref.sharding.jobs`),
   note its change-log position, then create the target shards, each *fenced* from the start (a
   ``from:<sources>`` row in its ``denied_writes``, written with the job's progress rows in the
   transaction that creates its tables): a router opened with the target list before the
   cut-over is refused reads and writes, so it neither reads a partial copy nor takes a write a
   rollback would drop (Vitess puts denied tables on the targets when the workflow is created
   and lifts them at ``SwitchTraffic``). A target left by an earlier resharding (a retired
   shard: its rows moved on) is dropped and made again, empty; any other shard of that name is
   refused, as is a source that is fenced or the source of another resharding under way.
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
table, under the job id, in the same transaction as the rows it describes, and
:meth:`Resharding.phase` is read from there (shard names come back, as in split, merge back,
split again: a retired shard's old rows are never this job's; one target marked ``cut_over``
means the cut-over was decided; a target that exists but cannot be read raises
:class:`ShardingError`, never counts as not made yet). Before it writes anything, every step
builds the router's new shard map and checks that the router serves exactly this job's sources
(or, after the cut-over, its targets) for the range and that no later resharding moved its
shards on: a stale job is refused and changes nothing. So a process that dies between any two
steps can :meth:`Resharding.resume` exactly where it was (after cut-over: finish marking,
switch the router; a router opened with the old shard list is refused writes and reads by the
fence until then), or :meth:`Resharding.rollback`: before cut-over by lifting the sources'
fence and dropping the (still fenced) targets; after it by fencing the targets again,
replaying their own change logs (every write since the cut-over) back onto the sources,
marking the targets ``rolled_back``, lifting the sources' fence, switching back and dropping
the targets (Vitess's reverse replication). Once a target is marked ``rolled_back`` only the
rollback can be finished, and finishing it marks every target before dropping any.

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
from uuid import uuid4

from designpatterns_ref.errors import shown
from designpatterns_ref.sharding import jobs
from designpatterns_ref.sharding.base import ShardingError
from designpatterns_ref.sharding.keyspace import KeyRange, ShardMap, contiguous
from designpatterns_ref.sharding.router import NOT_CUT_OVER, UPSERT, Router, apply_change
from designpatterns_ref.sharding.verify import Verification, compare

__all__ = ["Resharding", "Verification"]

_FENCE = "INSERT INTO denied_writes (moved_to) VALUES (?) ON CONFLICT DO NOTHING"


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

    # --- progress, kept in the targets under this job's id ------------------------------------

    def _current(self) -> tuple[str | None, str]:
        """This job's id (None before :meth:`start` marked a source) and its phase."""
        job = jobs.job_of(self.router.db, self.source, self.target)
        if job is None:
            return None, "new"
        return job, jobs.job_phase(self.router.db, job, self.source, self.target)

    def phase(self) -> str:
        """``"new"``, ``"copying"``, ``"copied"``, ``"cut_over"`` or ``"rolled_back"``.

        Read from this job's rows in the targets, never from the router's memory nor from rows
        an earlier resharding left under the same shard names: a target marked ``rolled_back``
        (a rollback after cut-over under way) wins, then one marked ``cut_over`` (the cut-over
        was decided), then a missing target or row (``"new"``). Whether a target exists is
        asked of the file system or the server's catalog; a target that exists but cannot be
        read (the server refuses connections, the file is damaged) raises
        :class:`ShardingError`: it may hold acknowledged writes, so it is never taken for one
        that was not made yet.
        """
        return self._current()[1]

    def _state(self, job: str, target: str, source: str) -> jobs.State:
        state = jobs.job_rows(self.router.db, target, job).get(source)
        if state is None:
            raise ShardingError(f"resharding was not started on target {target!r}")
        return state

    def _new_map(self, serving: list[str], *, now: tuple[list[str], ...], what: str) -> ShardMap:
        """The router's map once it serves ``serving`` for this job's range, built before any
        write; refused unless the router now serves one of ``now`` there (the sources, or after
        the cut-over the targets: never shards a later resharding made)."""
        shards = set(self.router.shards)
        if not any(set(names) <= shards for names in now):
            wanted = " or ".join(shown(names) for names in now)
            raise ShardingError(
                f"{what} refused, nothing was changed: the router serves {self.router.shards}, "
                f"not {wanted} for this range (a later resharding moved these shards on)"
            )
        moved = set(self.source) | set(self.target)
        return ShardMap([*(s for s in self.router.shards if s not in moved), *serving])

    def start(self) -> None:
        """Mark the sources with a new job, note each source's log position, create the targets
        fenced and record where copying starts.

        Each target's tables come with its fence (``"from:<sources>"`` in ``denied_writes``)
        and this job's progress rows in one transaction, so no router opened with the target
        list is served a partial copy or acknowledged a write a rollback would drop;
        :meth:`_finish_cut_over` lifts it. A target a dead process already started keeps its
        own position and cursor. Refused, before anything is written, unless the router serves
        the sources, no source is fenced or the source of another resharding under way, and
        each target is new, empty, this job's, or retired (its rows moved on by a finished
        cut-over: it is dropped and made again, empty).
        """
        db = self.router.db
        job, phase = self._current()
        if phase != "new":
            raise ShardingError(f"resharding is already {phase}: resume or roll back")
        self._new_map(self.source, now=(self.source,), what="start")
        plan = jobs.plan_start(db, job, self.source, self.target)
        job = job or uuid4().hex
        for source in self.source:
            with db.transaction(source, serial=True) as run:
                run("DELETE FROM outgoing WHERE job <> ?", (job,))  # dead jobs only (above)
                run(
                    "INSERT INTO outgoing (job, targets) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (job, ",".join(self.target)),
                )
            self._point(f"mark:{source}")
        positions = {s: self._log_position(s) for s in self.source}
        rows = [
            (
                "INSERT INTO resharding (job, source, copied_id, copied_customer, applied_seq, "
                "phase) VALUES (?, ?, ?, '', ?, 'copying')",
                (job, source, -(1 << 63), position),
            )
            for source, position in positions.items()
        ]
        for target, how in plan.items():
            if how == "keep":
                continue
            if how == "remake":
                db.drop(target)
            db.create(target, fence=NOT_CUT_OVER + ",".join(self.source), rows=rows)
            self._point(f"start:{target}")

    def _log_position(self, shard: str) -> int:
        rows = self.router.db.query(shard, "SELECT coalesce(max(seq), 0) FROM changes")
        return int(rows[0][0])

    # --- copy and replicate --------------------------------------------------------------------

    def _started(self, what: str) -> tuple[str, str]:
        """The job and its phase; refuse ``what`` with :class:`ShardingError` before
        :meth:`start` made every target (nothing is touched: opening a missing SQLite target
        would create it)."""
        job, phase = self._current()
        if job is None or phase == "new":
            raise ShardingError(
                f"{what} before the resharding started: call start() (or run()) first; "
                f"targets {shown(list(self.target))} are not all made yet"
            )
        return job, phase

    def _copying(self, what: str) -> str:
        """Refuse ``what`` (a copy or a catch-up) before :meth:`start` or after the cut-over is
        decided: the targets then hold writes the sources never saw, and a step of the copy
        would write the phase back to "copied", so that a rollback would drop those writes
        instead of replaying them onto the sources."""
        job, phase = self._started(what)
        if phase in ("cut_over", "rolled_back"):
            raise ShardingError(
                f"{what} after the cut-over (phase {phase}): the copy is over; resume() or "
                "rollback() finishes the resharding"
            )
        return job

    def copy_chunk(self) -> bool:
        """Copy the next chunk of every source into each target; True once all is copied.

        Rows go in primary-key order, ``(id, customer)``. Each (source, target) pair keeps its own
        cursor (the last key copied), committed with the rows it copied, so a crash between two
        targets' transactions loses nothing on resume. Refused with
        :class:`ShardingError` once the cut-over is decided (see :meth:`_copying`).
        """
        job = self._copying("copy_chunk")
        done = True
        for source in self.source:
            for target, key_range in self.ranges.items():
                state = self._state(job, target, source)
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
                        "WHERE job = ? AND source = ? AND phase IN ('copying', 'copied')",
                        (
                            *(rows[-1][:2] if rows else state[:2]),
                            "copying" if len(rows) == self.chunk else "copied",
                            job,
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
        job = self._copying("catch_up")
        applied = 0
        for source in self.source:
            for target, key_range in self.ranges.items():
                state = self._state(job, target, source)
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
                        "UPDATE resharding SET applied_seq = ? WHERE job = ? AND source = ?",
                        (changes[-1][0], job, source),
                    )
                self._point(f"catch_up:{source}>{target}")
        return applied

    # --- verify and cut over -------------------------------------------------------------------

    def verify(self) -> Verification:
        """Counts and checksums of each target against the source rows in its range.

        See :func:`~designpatterns_ref.sharding.verify.compare`. Refused with
        :class:`ShardingError` before :meth:`start`.
        """
        self._started("verify")
        return compare(self.router.db, self.source, self.ranges)

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

    def cut_over(self) -> Verification:
        """Pause the router (writes and reads), fence the sources, replay the rest, verify,
        record the cut-over in every target, switch the router to the targets, resume.

        After a cut-over (this process's or a dead one's) it only finishes it: verifies, marks
        every target and switches the router (idempotent). It never switches when the
        verification fails, and it is refused before any write (see :meth:`rollback`) once a
        later resharding has moved the shards on.
        """
        job, phase = self._current()
        if job is None or phase not in ("copied", "cut_over"):
            raise ShardingError(f"cut_over needs every row copied first; phase is {phase}")
        with self.router.gate.paused():
            now = (self.source,) if phase == "copied" else (self.source, self.target)
            new_map = self._new_map(self.target, now=now, what="cut_over")
            jobs.check_owned(self.router.db, job, self.source, self.target, "cut_over")
            if phase == "copied":
                self._fence(self.source, self.target)
                self.catch_up()
            check = self.verify()
            if not check.ok:
                if phase == "copied":
                    self._unfence(self.source, self.target)
                raise ShardingError(f"verification failed, nothing switched: {check}")
            self._finish_cut_over(job, new_map)
        return check

    def _finish_cut_over(self, job: str, new_map: ShardMap) -> None:
        """Mark every target ``cut_over``, lifting its own fence (start()'s, or one an
        unfinished rollback left; never another job's), switch to ``new_map``.

        The sources are fenced already: the fence goes up before the first mark and comes down
        only after every target is marked ``rolled_back``.
        """
        for target in self.target:
            with self.router.db.transaction(target, serial=True) as run:
                run("UPDATE resharding SET phase = 'cut_over' WHERE job = ?", (job,))
                for fence in jobs.own_fences(self.source):
                    run("DELETE FROM denied_writes WHERE moved_to = ?", (fence,))
            self._point(f"cut_over:{target}")
        self.router.map = new_map
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
        the sources' fence, switch back and drop the targets; last, clear the job's mark on the
        sources. Each step can be repeated. Only targets holding this job's rows are dropped.

        A rollback found under way (a target marked ``rolled_back``: the replay back is done)
        first marks every target still there ``rolled_back``, and only then lifts the fence
        and drops: a target is dropped only once none is left marked ``cut_over``, so a crash
        among the drops never leaves a lone ``cut_over`` mark that reads as a finished
        cut-over. It does not replay again: the sources may be serving new writes already.
        Refused before any write (:meth:`_new_map`, :func:`.jobs.check_owned`) once a later
        resharding has moved the shards on.
        """
        job, phase = self._current()
        db = self.router.db
        with self.router.gate.paused():
            if phase in ("cut_over", "rolled_back"):
                new_map = self._new_map(
                    self.source, now=(self.source, self.target), what="rollback"
                )
                assert job is not None  # a phase past "new" was read from this job's rows
                jobs.check_owned(db, job, self.source, self.target, "rollback", phase)
            else:
                new_map = self._new_map(self.source, now=(self.source,), what="rollback")
            if job is None:  # never started (or finished rolling back): nothing to undo
                return
            if phase == "cut_over":
                self._fence(self.target, self.source)
                self._replay_back()
            if phase in ("cut_over", "rolled_back"):
                for target in self.target:
                    if not db.exists(target):  # dropped: every mark was made
                        continue
                    with db.transaction(target, serial=True) as run:
                        run("UPDATE resharding SET phase = 'rolled_back' WHERE job = ?", (job,))
                    self._point(f"rolled_back:{target}")
            self._unfence(self.source, self.target)
            self.router.map = new_map
            self._point("switched_back")
        for target in self.target:
            if jobs.job_rows(db, target, job):  # made by this job, not someone else's shard
                db.drop(target)
                self._point(f"drop:{target}")
        for source in self.source:
            with db.transaction(source, serial=True) as run:
                run("DELETE FROM outgoing WHERE job = ?", (job,))
            self._point(f"unmark:{source}")

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
