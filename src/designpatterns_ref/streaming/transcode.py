"""Transcoding as a job graph on a simulated worker pool: split, encode each rung, stitch, package.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

An upload becomes a ladder through a directed acyclic graph of tasks: ``split`` cuts the source
into chunks (a few seconds each, on keyframes); ``encode(chunk, rung)`` encodes one chunk at one
rung, all independent, so they run in parallel; ``stitch(rung)`` joins a rung's chunks once
all are encoded; ``package`` writes the manifests once every rung is stitched. A failed encode
(a worker lost, a crash) is retried, up to ``retries`` times.

:func:`schedule` simulates ``workers`` identical workers with an event queue: whenever a worker
is free it takes the ready task with the longest remaining critical path (list scheduling,
a standard heuristic for DAGs), so the wall-clock time shrinks as workers are added until the
graph's critical path (split, the slowest encode, its stitch, package) is all that is left.
Failures are drawn from a seeded generator: a failing attempt runs a random fraction of its
time, then the task is queued again.

Complexity: O(tasks log tasks) per schedule.

>>> g = job_graph(source_s=60, chunk_s=6, rungs=[(1080, 4.0), (360, 1.0)])
>>> one, many = schedule(g, workers=1), schedule(g, workers=64)
>>> round(one.makespan_s, 3) == round(g.total_work_s, 3), many.makespan_s == g.critical_path_s
(True, True)
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import (
    StreamingError,
    StreamingTypeError,
    check_int,
    check_list,
    check_number,
)

__all__ = ["JobGraph", "Schedule", "Task", "job_graph", "makespan_curve", "schedule"]


@dataclass(frozen=True)
class Task:
    """One node of the graph: a name, its duration in seconds, the tasks it waits for."""

    name: str
    seconds: float
    after: tuple[str, ...] = ()
    retryable: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise StreamingError(f"name={shown(self.name, 60)} must be a non-empty str")
        check_number("seconds", self.seconds, limit=1e12)
        if not isinstance(self.after, tuple) or not all(isinstance(a, str) for a in self.after):
            raise StreamingTypeError(f"after={shown(self.after, 60)} must be a tuple of task names")
        if not isinstance(self.retryable, bool):
            raise StreamingTypeError(f"retryable={shown(self.retryable, 60)} must be a bool")


@dataclass
class JobGraph:
    """Tasks by name, in a topological order."""

    tasks: dict[str, Task]

    def __post_init__(self) -> None:
        if not isinstance(self.tasks, dict) or not self.tasks:
            raise StreamingTypeError(f"tasks={shown(self.tasks, 60)} must be a non-empty dict")
        for name, task in self.tasks.items():
            if not isinstance(task, Task) or task.name != name:
                raise StreamingTypeError(
                    f"tasks[{shown(name, 40)}] must be the Task named {shown(name, 40)}"
                )
        for task in self.tasks.values():
            for dep in task.after:
                if dep not in self.tasks:
                    raise StreamingError(f"task {shown(task.name)} waits for unknown {shown(dep)}")
        self._order = self._topological()

    def _topological(self) -> list[str]:
        indeg = {n: len(t.after) for n, t in self.tasks.items()}
        users: dict[str, list[str]] = {n: [] for n in self.tasks}
        for n, t in self.tasks.items():
            for d in t.after:
                users[d].append(n)
        ready = [n for n, k in indeg.items() if k == 0]
        order = []
        while ready:
            n = ready.pop()
            order.append(n)
            for u in users[n]:
                indeg[u] -= 1
                if indeg[u] == 0:
                    ready.append(u)
        if len(order) != len(self.tasks):
            raise StreamingError("the task graph has a cycle")
        self.users = users
        return order

    @property
    def total_work_s(self) -> float:
        """Sum of all task durations (the time on one worker, without failures)."""
        return sum(t.seconds for t in self.tasks.values())

    def remaining_path(self) -> dict[str, float]:
        """For each task, the longest path from its start to the end of the graph."""
        rest: dict[str, float] = {}
        for n in reversed(self._order):
            rest[n] = self.tasks[n].seconds + max((rest[u] for u in self.users[n]), default=0.0)
        return rest

    @property
    def critical_path_s(self) -> float:
        """The longest chain of dependent tasks: no number of workers beats it."""
        return max(self.remaining_path().values())


def job_graph(
    source_s: float,
    chunk_s: float,
    rungs: Sequence[tuple[int, float]],
    *,
    split_s_per_min: float = 2.0,
    stitch_s_per_min: float = 1.0,
    package_s: float = 5.0,
) -> JobGraph:
    """The graph for a ``source_s`` video cut in ``chunk_s`` chunks, encoded to ``rungs``.

    Each rung is ``(height, seconds of encoding per second of video)``: 1080p with a slow preset
    may take several times real time, 240p a fraction of it.

    The chunks are counted exactly (``ceil(source_s / chunk_s)`` on the floats' exact values):
    every chunk is ``chunk_s`` long but the last, which holds the rest and is never empty. A
    rest shorter than a billionth of a chunk is a float's error, not video (``0.3 * 5`` is not
    quite 1.5): it joins the last chunk, so 1.5 s in 0.3 s chunks is 5 chunks, not 6.
    """
    source_s = check_number("source_s", source_s, strict=True, limit=1e7)
    chunk_s = check_number("chunk_s", chunk_s, strict=True, limit=1e7)
    pairs = check_list("rungs", rungs, min_len=1, max_len=100)
    for i, pair in enumerate(pairs):
        check_list(f"rungs[{i}]", pair, min_len=2, max_len=2)
    split_s_per_min = check_number("split_s_per_min", split_s_per_min, limit=1e6)
    stitch_s_per_min = check_number("stitch_s_per_min", stitch_s_per_min, limit=1e6)
    package_s = check_number("package_s", package_s, limit=1e9)
    if source_s / chunk_s * len(pairs) > 20_000:
        raise StreamingError("chunks x rungs must be at most 20,000 encode tasks")
    exact_source, exact_chunk = Fraction(source_s), Fraction(chunk_s)
    chunks = max(1, math.ceil(exact_source / exact_chunk - Fraction(1, 10**9)))
    last_s = float(exact_source - (chunks - 1) * exact_chunk)  # > 0: see the docstring
    tasks = [Task("split", split_s_per_min * source_s / 60)]
    stitches = []
    for height, speed in rungs:
        check_int("height", height, minimum=1, maximum=16384)
        speed = check_number("speed", speed, strict=True, limit=1e4)
        encodes = []
        for c in range(chunks):
            length = chunk_s if c < chunks - 1 else last_s
            name = f"encode {height}p #{c}"
            tasks.append(Task(name, length * speed, ("split",), retryable=True))
            encodes.append(name)
        stitch = f"stitch {height}p"
        tasks.append(Task(stitch, stitch_s_per_min * source_s / 60, tuple(encodes)))
        stitches.append(stitch)
    tasks.append(Task("package", package_s, tuple(stitches)))
    graph = {t.name: t for t in tasks}
    if len(graph) != len(tasks):
        raise StreamingError("rungs must have distinct heights")
    return JobGraph(graph)


@dataclass
class Schedule:
    """One simulated run: when each task ran, on which worker, and the failures."""

    workers: int
    makespan_s: float
    runs: list[tuple[str, int, float, float, bool]] = field(default_factory=list)
    failures: int = 0

    @property
    def utilisation(self) -> float:
        """Busy worker-seconds over workers x makespan."""
        busy = sum(end - start for _, _, start, end, _ in self.runs)
        return busy / (self.workers * self.makespan_s) if self.makespan_s else 0.0


def schedule(
    graph: JobGraph,
    workers: int,
    *,
    failure_rate: float = 0.0,
    retries: int = 3,
    seed: int = 1,
) -> Schedule:
    """Run ``graph`` on ``workers`` workers, longest remaining path first, retrying failures."""
    if not isinstance(graph, JobGraph):
        raise StreamingTypeError(f"graph={shown(graph)} must be a JobGraph")
    workers = check_int("workers", workers, minimum=1, maximum=100_000)
    failure_rate = check_number("failure_rate", failure_rate, limit=0.99)
    retries = check_int("retries", retries, maximum=1000)
    rng = random.Random(check_int("seed", seed, minimum=-(2**63), maximum=2**63))
    rest = graph.remaining_path()
    waiting = {n: len(t.after) for n, t in graph.tasks.items()}
    attempts = dict.fromkeys(graph.tasks, 0)
    ready = [(-rest[n], n) for n, k in waiting.items() if k == 0]
    heapq.heapify(ready)
    free = list(range(workers))
    heapq.heapify(free)
    running: list[tuple[float, int, str, float, bool]] = []  # (end, worker, task, start, ok)
    now, out, done = 0.0, Schedule(workers, 0.0), 0
    while done < len(graph.tasks):
        while ready and free:
            _, name = heapq.heappop(ready)
            worker = heapq.heappop(free)
            task = graph.tasks[name]
            attempts[name] += 1
            fails = task.retryable and attempts[name] <= retries and rng.random() < failure_rate
            length = task.seconds * (rng.random() if fails else 1.0)
            heapq.heappush(running, (now + length, worker, name, now, not fails))
        if not running:
            raise StreamingError("no task can run: the graph is blocked")
        end, worker, name, start, ok = heapq.heappop(running)
        now = end
        heapq.heappush(free, worker)
        out.runs.append((name, worker, start, end, ok))
        if not ok:
            out.failures += 1
            heapq.heappush(ready, (-rest[name], name))
            continue
        done += 1
        for user in graph.users[name]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, (-rest[user], user))
    out.makespan_s = now
    return out


def makespan_curve(
    graph: JobGraph, workers: Sequence[int], *, failure_rate: float = 0.0, seed: int = 1
) -> list[tuple[int, float]]:
    """Wall-clock time for each worker count."""
    workers = check_list("workers", workers, min_len=1, max_len=1000)
    return [
        (w, schedule(graph, w, failure_rate=failure_rate, seed=seed).makespan_s) for w in workers
    ]
