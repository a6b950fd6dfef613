"""Which resharding a shard belongs to: job identities, read back from the shards themselves.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

Shard names come back: ``-`` is split into ``-80`` and ``80-``, merged back into ``-``, split
again. A resharding that knew its shards only by name would take a retired shard's old progress
rows (or its old rows and change log) for its own. So each resharding
(:mod:`~designpatterns_ref.sharding.resharding`) gets a *job id* when it starts, recorded

- on each source, as a row ``(job, targets)`` in its ``outgoing`` table, before any target is
  made (a source has at most one job in progress);
- on each target, in every ``resharding`` progress row, in the transaction that creates the
  target's tables (so a target of the job never exists without them).

``Resharding(router, source, target)`` in a new process finds its job as the one the sources'
``outgoing`` rows name for exactly these targets, and reads its phase only from that job's rows.
A source dropped and made again (a merge into a retired name) has no such row: every job that
named it is over.

A shard is *retired* when a resharding moved its rows away and finished its cut-over: its
``outgoing`` row names a job, a fence holds that job's targets, and every target of that job is
marked ``cut_over`` and carries no fence of that job (a rollback of it has not begun). A start
may drop a retired target and make it again, empty: its rows live on elsewhere.

Complexity: O(shards of the job) small queries per question.
"""

from __future__ import annotations

from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.sharding.base import ShardingError
from designpatterns_ref.sharding.keyspace import KeyRange
from designpatterns_ref.sharding.router import NOT_CUT_OVER
from designpatterns_ref.sharding.sql import ShardDatabases

__all__ = [
    "State",
    "check_owned",
    "empty",
    "fences",
    "job_of",
    "job_phase",
    "job_rows",
    "live",
    "outgoing",
    "own_fences",
    "plan_start",
    "retired",
]

#: A target's progress on one source: last (id, customer) copied, log position applied, phase.
State = tuple[int, str, int, str]


def _read(db: ShardDatabases, shard: str, table: str, sql: str, params: Any = ()) -> list[Any]:
    """Rows of a query on ``table`` of ``shard``; [] if the shard or the table does not exist.

    Existence is asked of the file system or the server's catalog; a shard that exists but
    cannot be read raises :class:`ShardingError`: it may hold acknowledged writes, so it is
    never taken for one that was not made yet.
    """
    try:
        if not db.exists(shard) or not db.has_table(shard, table):
            return []
        return db.query(shard, sql, params)
    except Exception as exc:  # the driver's error, or ShardingError from opening the shard
        raise ShardingError(
            f"cannot read the resharding state of shard {shown(shard)} "
            f"({type(exc).__name__}: {exc}); nothing was changed: make the shard readable "
            "and retry"
        ) from None


def fences(db: ShardDatabases, shard: str) -> set[str]:
    """The shard's fence rows (``denied_writes``)."""
    return {str(r[0]) for r in _read(db, shard, "denied_writes", _FENCES)}


def outgoing(db: ShardDatabases, shard: str) -> dict[str, str]:
    """The jobs that moved or move this shard's rows: job id -> its targets joined by commas."""
    rows = _read(db, shard, "outgoing", "SELECT job, targets FROM outgoing")
    return {str(job): str(targets) for job, targets in rows}


def job_rows(db: ShardDatabases, target: str, job: str) -> dict[str, State]:
    """``job``'s progress rows on ``target``: source -> state ({} if it has none)."""
    rows = _read(
        db,
        target,
        "resharding",
        "SELECT source, copied_id, copied_customer, applied_seq, phase FROM resharding "
        "WHERE job = ?",
        (job,),
    )
    return {str(r[0]): (int(r[1]), str(r[2]), int(r[3]), str(r[4])) for r in rows}


def job_of(db: ShardDatabases, source: list[str], target: list[str]) -> str | None:
    """The job the sources' ``outgoing`` rows name for exactly ``target``, or None."""
    joined = ",".join(target)
    for shard in source:
        for job, targets in outgoing(db, shard).items():
            if targets == joined:
                return job
    return None


def job_phase(db: ShardDatabases, job: str, source: list[str], target: list[str]) -> str:
    """``"new"``, ``"copying"``, ``"copied"``, ``"cut_over"`` or ``"rolled_back"`` of ``job``.

    A target marked ``rolled_back`` (a rollback after cut-over under way) wins, then one marked
    ``cut_over`` (the cut-over was decided), then a missing target or row (``"new"``).
    """
    phases: set[str] = set()
    for shard in target:
        rows = job_rows(db, shard, job)
        phases.update(rows[s][3] if s in rows else "new" for s in source)
    for phase in ("rolled_back", "cut_over", "new", "copying"):
        if phase in phases:
            return phase
    return "copied"


def own_fences(source: list[str]) -> set[str]:
    """The fences a job puts on its targets: start()'s and a rollback's."""
    return {NOT_CUT_OVER + ",".join(source), ",".join(source)}


def live(db: ShardDatabases, job: str, targets: str) -> bool:
    """Whether ``job`` made any of its targets (it is under way, or its cut-over stands)."""
    return any(job_rows(db, shard, job) for shard in targets.split(","))


def _finished(db: ShardDatabases, job: str, targets: str) -> bool:
    """Every target of ``job`` is marked ``cut_over`` and carries no fence of ``job``, or was
    made again by a later job (asked only of a shard ``job`` fenced: its targets were all made
    before that fence, and a rollback lifts it before it drops any)."""
    for shard in targets.split(","):
        rows = job_rows(db, shard, job)
        if not rows:
            continue  # moved on: made again (or dropped to be made again) by a later job
        if any(state[3] != "cut_over" for state in rows.values()):
            return False
        source = sorted(rows, key=lambda name: KeyRange.parse(name).start)
        if fences(db, shard) & own_fences(source):
            return False
    return True


def retired(db: ShardDatabases, shard: str) -> bool:
    """A resharding moved the shard's rows away and finished its cut-over (see above)."""
    fenced = fences(db, shard)
    return any(
        targets in fenced and _finished(db, job, targets)
        for job, targets in outgoing(db, shard).items()
    )


def empty(db: ShardDatabases, shard: str) -> bool:
    """No rows, no change log, no fence, no resharding rows (as a router makes a new shard)."""
    return not any(
        _read(db, shard, table, f"SELECT 1 FROM {table} LIMIT 1")
        for table in ("orders", "changes", "denied_writes", "resharding", "outgoing")
    )


# --- the checks a step makes before it writes anything ----------------------------------------


def plan_start(
    db: ShardDatabases, job: str | None, source: list[str], target: list[str]
) -> dict[str, str]:
    """What a start does with each target: ``"make"`` (new, or empty as a router makes it),
    ``"keep"`` (``job`` made it already), ``"remake"`` (retired: drop it and make it again).

    Refused with :class:`ShardingError` if a source is fenced or the source of another job
    under way, or a target is another job's and not retired.
    """
    for shard in source:
        other = {j: t for j, t in outgoing(db, shard).items() if j != job}
        if fences(db, shard) or any(live(db, j, t) for j, t in other.items()):
            raise ShardingError(
                f"start refused, nothing was changed: source {shard!r} is fenced or the "
                f"source of another resharding (to {sorted(other.values())}): resume or "
                "roll that one back first"
            )
    plan = {}
    for shard in target:
        if not db.exists(shard) or empty(db, shard):
            plan[shard] = "make"
        elif job is not None and job_rows(db, shard, job):
            plan[shard] = "keep"
        elif retired(db, shard):
            plan[shard] = "remake"
        else:
            raise ShardingError(
                f"start refused, nothing was changed: target {shard!r} exists and holds "
                "rows or a fence of another resharding, and is not retired: roll that "
                "resharding back or finish it, or drop the shard first"
            )
    return plan


def check_owned(
    db: ShardDatabases, job: str, source: list[str], target: list[str], what: str, phase: str = ""
) -> None:
    """Refuse ``what`` unless every source still names ``job`` and every target holds its
    rows, carries no fence but the job's and is no other live job's source: else a later
    resharding moved the shards on, and finishing or undoing this one would lose its writes.

    In phase ``"rolled_back"`` a target may be gone (dropped), or made again empty by a router
    given the target list.
    """
    for shard in source:
        if job not in outgoing(db, shard):
            raise ShardingError(
                f"{what} refused, nothing was changed: source {shard!r} is no longer this "
                "resharding's (a later resharding made it again)"
            )
    for shard in target:
        if not job_rows(db, shard, job):
            if phase == "rolled_back" and (not db.exists(shard) or empty(db, shard)):
                continue
            raise ShardingError(
                f"{what} refused, nothing was changed: target {shard!r} holds no rows of "
                "this resharding (a later resharding made it again)"
            )
        other = fences(db, shard) - own_fences(source)
        later = [t for j, t in outgoing(db, shard).items() if live(db, j, t)]
        if other or later:
            raise ShardingError(
                f"{what} refused, nothing was changed: target {shard!r} was moved on to "
                f"{sorted(other) or later} by a later resharding"
            )


_FENCES = "SELECT moved_to FROM denied_writes"
