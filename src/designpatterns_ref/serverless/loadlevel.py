"""Load levelling and where it breaks: the 9 am burst through a queue to functions and 50+ EHRs.

Case study: Design a Healthcare Patient Operations Platform (Serverless)
(docs/case-studies/healthcare-serverless.md)

:func:`simulate` replays a :class:`Scenario` on the discrete-event :class:`Scheduler`: calls
arrive in a burst, go into a :class:`~designpatterns_ref.serverless.queue.Queue` (or straight to
the function, to compare), a poller hands visible messages to a
:class:`~designpatterns_ref.serverless.function.Function` up to its concurrency, and the handler
books into one of the EHRs through an :class:`~designpatterns_ref.serverless.breaker.EhrGate`
(concurrency cap and circuit breaker) and writes the booking to the clinic's partition (a per-
partition write rate, as DynamoDB's), all inside the
:class:`~designpatterns_ref.serverless.idempotency.Idempotency` layer: the handler claims the
call's record when it starts, the EHR books partway through its latency, and the record is
completed when the function returns. A duplicate or redelivery that arrives meanwhile meets the
in-progress record and comes back later; one that arrives after gets the stored answer. The EHR
does the work even when the function times out, if its booking point came before the cut-off:
that invocation never completes its record, so the redelivery, after the in-progress timeout,
books again (``timed_out_bookings``, the limit of the layer: only an idempotency key the EHR
honours would close it). The :class:`Report` gives queue age, throttles, retries, dead letters,
double bookings, and the first moment the design fails its promise (the oldest call waits
longer than ``queue_age_slo``, or calls are lost) with the likely cause. Cost: O(m log m) for m
deliveries.

>>> r = simulate(Scenario(calls=200, burst_seconds=20, seed=1))
>>> r.booked, r.double_bookings, r.fails_at is None
(200, 0, True)
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.serverless.base import ServerlessError, ServerlessTypeError
from designpatterns_ref.serverless.breaker import Breaker, EhrGate
from designpatterns_ref.serverless.function import Function, Outcome
from designpatterns_ref.serverless.idempotency import (
    COMPLETED,
    Idempotency,
    IdempotencyFenced,
    IdempotencyInProgress,
)
from designpatterns_ref.serverless.queue import Message, Queue
from designpatterns_ref.serverless.scheduler import Scheduler
from designpatterns_ref.serverless.table import KeyValueTable

__all__ = ["Report", "Sample", "Scenario", "simulate"]

_INTS = {"calls", "ehrs", "ehr_cap", "slow_ehrs", "concurrency", "max_receives", "clinics",
         "breaker_threshold", "seed"}  # fmt: skip
_BOOLS = {"use_queue", "use_gates"}


@dataclass(frozen=True)
class Scenario:
    """The platform and the morning: every number a knob (checked when made)."""

    calls: int = 10_000  # calls arriving in the burst
    burst_seconds: float = 120.0  # they arrive uniformly at random in this window from 9:00
    duplicate_share: float = 0.02  # calls the phone system sends twice (same payload)
    ehrs: int = 55  # EHR systems booked into, each equally likely
    ehr_latency: float = 0.8  # median seconds per booking call to an EHR
    slow_ehrs: int = 0  # the first this many EHRs answer after slow_latency
    slow_latency: float = 25.0
    ehr_cap: int = 8  # calls in flight per EHR (only with use_gates)
    breaker_threshold: int = 5
    breaker_cool_down: float = 30.0
    concurrency: int = 50  # the function's reserved concurrency
    cold_start: float = 0.6
    timeout: float = 10.0
    visibility_timeout: float = 30.0
    max_receives: int = 5  # then to the dead-letter queue
    clinics: int = 200
    hot_clinic_share: float = 0.0  # share of calls for clinic c0
    partition_writes_per_s: float = 1000.0  # writes per second one partition accepts
    queue_age_slo: float = 300.0  # promise: a call is booked within this many seconds
    use_queue: bool = True
    use_gates: bool = True
    seed: int = 9

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _BOOLS:
                if not isinstance(value, bool):
                    raise ServerlessTypeError(f"{f.name}={shown(value, 60)} must be a bool")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ServerlessTypeError(f"{f.name}={shown(value, 60)} must be a number")
            if f.name in _INTS and not isinstance(value, int):
                raise ServerlessTypeError(f"{f.name}={shown(value, 60)} must be an int")
            big = 10**6 if f.name != "seed" else 2**63
            if not (0 <= value <= big and math.isfinite(value)):
                raise ServerlessError(f"{f.name}={shown(value, 60)} must be finite, 0 to {big}")
        for name in ("calls", "ehrs", "ehr_cap", "concurrency", "max_receives", "clinics",
                     "breaker_threshold"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ServerlessError(f"{name}={shown(getattr(self, name))} must be at least 1")
        for name in ("duplicate_share", "hot_clinic_share"):
            if getattr(self, name) > 1:
                raise ServerlessError(
                    f"{name}={shown(getattr(self, name))} must be a share in [0, 1]"
                )
        for name in ("burst_seconds", "ehr_latency", "timeout", "partition_writes_per_s"):
            if getattr(self, name) <= 0:
                raise ServerlessError(f"{name}={shown(getattr(self, name))} must be > 0")
        if self.slow_ehrs > self.ehrs:
            raise ServerlessError(f"slow_ehrs={self.slow_ehrs} must be at most ehrs={self.ehrs}")
        if self.calls > 200_000:
            raise ServerlessError(f"calls={self.calls} must be at most 200000 (a simulation)")


@dataclass(frozen=True, slots=True)
class Sample:
    """The platform at one moment of simulated time."""

    t: float
    queue_depth: int
    oldest_age: float
    busy: int
    booked: int
    dead_lettered: int


@dataclass(frozen=True)
class Report:
    """What happened to the morning's calls."""

    scenario: Scenario
    booked: int
    lost: int  # calls never booked and in no queue (without a queue: throttled or failed)
    dead_lettered: int  # calls never booked, in the dead-letter queue (a human calls back)
    throttles: int  # function 429s (only without the queue: the poller never over-asks)
    capped: int  # refused by an EHR's concurrency cap
    short_circuited: int  # refused by an open breaker
    partition_throttles: int  # writes refused by a hot partition
    timeouts: int
    retries: int  # deliveries after the first
    cold_starts: int
    double_bookings: int  # calls booked more than once
    timed_out_bookings: int  # the EHR booked, the invocation timed out: never recorded
    in_progress_refusals: int  # deliveries that met another invocation's in-progress record
    max_queue_age: float
    wait_p50: float  # seconds from arrival to booking, over booked calls
    wait_p99: float
    finished_at: float
    fails_at: float | None  # the first moment the promise broke, or None
    failure: str  # why, in words ("" when it held)
    samples: list[Sample] = field(default_factory=list, repr=False)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def simulate(scenario: Scenario, *, sample_every: float = 5.0) -> Report:
    """Run the morning; deterministic for a given scenario (its ``seed``)."""
    if not isinstance(scenario, Scenario):
        raise ServerlessTypeError(f"scenario={shown(scenario, 60)} must be a Scenario")
    if isinstance(sample_every, bool) or not isinstance(sample_every, int | float):
        raise ServerlessTypeError(f"sample_every={shown(sample_every, 60)} must be seconds")
    if not (0.1 <= sample_every <= 3600 and math.isfinite(sample_every)):
        raise ServerlessError(f"sample_every={shown(sample_every)} must be 0.1 to 3600 seconds")
    return _Run(scenario, float(sample_every)).run()


class _Run:
    def __init__(self, sc: Scenario, sample_every: float) -> None:
        self.sc = sc
        self.rng = random.Random(sc.seed)
        self.s = Scheduler()
        self.dlq = Queue(self.s)
        self.queue = Queue(
            self.s,
            visibility_timeout=sc.visibility_timeout,
            max_receives=sc.max_receives,
            dead_letter=self.dlq,
        )
        self.fn = Function(
            self.s, self._handle, concurrency=sc.concurrency, cold_start=sc.cold_start,
            timeout=sc.timeout,
        )  # fmt: skip
        self.gates = [
            EhrGate(
                Breaker(self.s, threshold=sc.breaker_threshold, cool_down=sc.breaker_cool_down),
                cap=sc.ehr_cap,
            )
            for _ in range(sc.ehrs)
        ]
        # the in-progress window covers the invocation's whole life: cold start and timeout
        self.layer = Idempotency(
            KeyValueTable(clock=self.s), expires_after=86_400,
            in_progress_timeout=sc.timeout + sc.cold_start, key_fields=("call",), clock=self.s,
        )  # fmt: skip
        self.timed_out_bookings = self.in_progress_refusals = self.fenced = 0
        self.bookings: Counter[int] = Counter()
        self.arrived: dict[int, float] = {}
        self.waits: list[float] = []
        self.tokens: dict[int, tuple[float, float]] = {}
        self.entered: set[int] = set()
        self.receipts: dict[int, str] = {}
        self.lost = self.partition_throttles = 0
        self.lost_at: float | None = None
        self.samples: list[Sample] = []
        self.sample_every = sample_every

    # -- the morning ------------------------------------------------------------------------
    def run(self) -> Report:
        sc = self.sc
        for i in range(sc.calls):
            t = self.rng.uniform(0, sc.burst_seconds)
            ehr = self.rng.randrange(sc.ehrs)
            hot = self.rng.random() < sc.hot_clinic_share
            clinic = 0 if hot else self.rng.randrange(sc.clinics)
            event = {"call": i, "patient": f"p{i}", "ehr": ehr, "clinic": clinic}
            copies = 2 if self.rng.random() < sc.duplicate_share else 1
            for c in range(copies):
                self.s.at(t + 0.5 * c, self._arrival(event))
        self.s.at(0.0, self._sample)
        self.s.run()
        return self._report()

    def _arrival(self, event: dict[str, Any]) -> Callable[[], None]:
        return lambda: self._arrive(event)

    def _arrive(self, event: dict[str, Any]) -> None:
        self.arrived.setdefault(event["call"], self.s())
        if self.sc.use_queue:
            self.queue.send(event)
            self._dispatch()
        elif not self.fn.invoke(dict(event), self._done):  # each invocation its own event
            self._lose()

    def _lose(self) -> None:
        self.lost += 1
        if self.lost_at is None:
            self.lost_at = self.s()

    def _dispatch(self) -> None:
        """The event-source poller: take visible messages while instances are free."""
        while self.fn.busy < self.fn.concurrency:
            batch = self.queue.receive(1)
            if not batch:
                return
            msg: Message = batch[0]
            event = dict(msg.body)
            event["_receipt"] = msg.receipt
            self.fn.invoke(event, self._done)

    def _tick(self) -> None:
        """Messages whose visibility expired become deliverable: poll again."""
        self._dispatch()

    def _sample(self) -> None:
        self.samples.append(
            Sample(
                self.s(),
                len(self.queue),
                self.queue.oldest_age(),
                self.fn.busy,
                len(self.bookings),
                len(self.dlq),
            )
        )
        self._dispatch()
        if self.s.pending or len(self.queue):
            self.s.after(self.sample_every, self._sample)

    # -- the handler --------------------------------------------------------------------------
    def _handle(self, event: dict[str, Any]) -> float:
        """Start booking the call: claim, EHR gate, partition write; schedule the EHR's booking
        partway through its latency; return the simulated seconds the invocation takes."""
        sc = self.sc
        call, ehr = event["call"], event["ehr"]
        if not self._write_allowed(event["clinic"]):
            raise ServerlessError(f"partition CLINIC#{event['clinic']} throttled")
        key = event["_key"] = self.layer.key({"call": call})
        try:
            claim = self.layer._begin(key)  # the family's own layer: the key computed once
        except IdempotencyInProgress:
            self.in_progress_refusals += 1
            raise
        if claim.status == COMPLETED:
            return 0.0  # a duplicate: the stored answer, no EHR call
        if sc.use_gates:
            verdict = self.gates[ehr].enter()
            if verdict != "ok":
                self.layer._abandon(key, claim.token)
                raise ServerlessError(f"EHR {ehr} {verdict}")
            self.entered.add(id(event))
        event["_token"] = claim.token
        slow = ehr < sc.slow_ehrs
        median = sc.slow_latency if slow else sc.ehr_latency
        seconds = median * math.exp(self.rng.gauss(0.0, 0.25))
        booking_at = seconds * self.rng.uniform(0.1, 0.9)  # when the EHR commits the booking
        if booking_at <= sc.timeout:  # else the function hung up first: the EHR aborts
            timed_out = seconds > sc.timeout
            self.s.at(self.fn.started_at + booking_at, lambda: self._book(call, timed_out))
        return seconds

    def _book(self, call: int, timed_out: bool) -> None:
        self.bookings[call] += 1  # the side effect: a booking in the EHR
        self.timed_out_bookings += timed_out

    def _write_allowed(self, clinic: int) -> bool:
        rate = self.sc.partition_writes_per_s
        now = self.s()
        tokens, last = self.tokens.get(clinic, (rate, now))
        tokens = min(rate, tokens + (now - last) * rate)
        if tokens < 1:
            self.tokens[clinic] = (tokens, now)
            self.partition_throttles += 1
            return False
        self.tokens[clinic] = (tokens - 1, now)
        return True

    def _leave(self, event: dict[str, Any], ok: bool) -> None:
        if id(event) in self.entered:
            self.entered.discard(id(event))
            self.gates[event["ehr"]].leave(ok)

    def _done(self, outcome: Outcome) -> None:
        event = outcome.event
        self._leave(event, outcome.ok)
        if outcome.ok:
            call = event["call"]
            if "_token" in event:  # the invocation ran the booking: record its answer
                try:
                    self.layer._complete(event["_key"], {"booked": call}, event["_token"])
                except IdempotencyFenced:
                    self.fenced += 1
            if call in self.arrived and self.bookings[call]:
                self.waits.append(self.s() - self.arrived.pop(call))
            if self.sc.use_queue:
                self.queue.delete(event["_receipt"])
        elif not self.sc.use_queue:
            self._lose()
        elif self.sc.use_queue:
            # the message comes back when its visibility timeout ends
            self.s.after(self.sc.visibility_timeout, self._tick)
        self._dispatch()

    # -- the verdict ----------------------------------------------------------------------------
    def _report(self) -> Report:
        sc = self.sc
        fails_at: float | None = None
        failure = ""
        late = next((x for x in self.samples if x.oldest_age > sc.queue_age_slo), None)
        if late is not None:
            fails_at = late.t
            failure = f"the oldest call waited over {sc.queue_age_slo:.0f} s ({self._cause()})"
        if self.lost_at is not None and (fails_at is None or self.lost_at < fails_at):
            fails_at = self.lost_at
            failure = f"calls lost: no queue, the function refused or failed them ({self._cause()})"
        booked = set(self.bookings)
        # a dead letter is a failure only for a call never booked: a duplicate of a booked call
        # can reach the dead-letter queue too (each message's enqueued_at there: when it moved)
        moved = [m.enqueued_at for m in self.dlq.peek() if m.body["call"] not in booked]
        if moved:  # reported at the first sample that saw it, as the queue's age is
            first_dead = next((x.t for x in self.samples if x.t >= min(moved)), min(moved))
            if fails_at is None or first_dead < fails_at:
                fails_at = first_dead
                failure = f"calls dead-lettered, never booked ({self._cause()})"
        dead: set[int] = {m.body["call"] for m in self.dlq.peek()} - booked
        waiting = {m.body["call"] for m in self.queue.peek()} - booked - dead
        lost = sc.calls - len(booked) - len(dead) - len(waiting)
        capped = sum(g.capped for g in self.gates)
        short = sum(g.short_circuited for g in self.gates)
        return Report(
            scenario=sc,
            booked=len(self.bookings),
            lost=lost,
            dead_lettered=len(dead),
            throttles=self.fn.throttles,
            capped=capped,
            short_circuited=short,
            partition_throttles=self.partition_throttles,
            timeouts=self.fn.timeouts,
            retries=self.queue.redelivered,
            cold_starts=self.fn.cold_starts,
            double_bookings=sum(1 for n in self.bookings.values() if n > 1),
            timed_out_bookings=self.timed_out_bookings,
            in_progress_refusals=self.in_progress_refusals,
            max_queue_age=max((x.oldest_age for x in self.samples), default=0.0),
            wait_p50=_pct(self.waits, 0.5),
            wait_p99=_pct(self.waits, 0.99),
            finished_at=self.s(),
            fails_at=fails_at,
            failure=failure,
            samples=self.samples,
        )

    def _cause(self) -> str:
        causes = {
            "a hot partition throttling writes": self.partition_throttles,
            "slow EHRs timing out and holding instances": self.fn.timeouts * 5,
            "EHR caps and open breakers refusing calls": sum(
                g.capped + g.short_circuited for g in self.gates
            ),
            "function concurrency exhausted": self.fn.throttles,
        }
        name, count = max(causes.items(), key=lambda kv: kv[1])
        return name if count else "more calls than the functions can book in time"
