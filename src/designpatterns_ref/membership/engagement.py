"""Which benefit to show each member, under a global per-member cap: explore, exploit, no spam.

Case study: Design a Membership Benefits & Verification Platform (docs/case-studies/membership-benefits.md)

Each day a member may be sent one benefit offer, from any of their organisations, but never
more than ``cap`` offers in any ``window`` consecutive days *across all organisations*
(:class:`CapLedger`): nine partners each sending "only" weekly would otherwise flood a member
in several of them. Among the benefits the member is eligible for (asked of the
:class:`~designpatterns_ref.membership.verify.Verifier`), a policy picks one:
:class:`EpsilonGreedy` (the best observed engagement rate, a random one with probability
epsilon), :class:`ThompsonSampling` (a draw from each benefit's Beta posterior) or
:class:`RandomPolicy` (the baseline). :func:`simulate` plays it out against hidden engagement
rates that fall with fatigue (each recent send lowers the chance of the next engagement), and
counts engagements against sends.

Trade-off: a tighter cap sends less and loses a few engagements, but each send is worth more
(less fatigue); exploration costs engagements now to find the better benefit for later.

Complexity: O(k) per member-day for k eligible benefits; the ledger keeps each member's sends
(O(log n) per check when days come in order).

>>> report = simulate(ThompsonSampling(seed=1), members=150, days=20, cap=3, window=7, seed=2)
>>> report.max_in_window <= 3 and report.sends > 0
True
"""  # noqa: E501

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from designpatterns_ref.errors import shown
from designpatterns_ref.membership.base import MembershipError, check_name
from designpatterns_ref.membership.data import generate, random_facts
from designpatterns_ref.membership.verify import Verifier

__all__ = [
    "CapLedger",
    "EpsilonGreedy",
    "Policy",
    "RandomPolicy",
    "SimulationReport",
    "ThompsonSampling",
    "max_sends_in_window",
    "simulate",
]


def _int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MembershipError(f"{name}={shown(value, 40)} must be an int from {low} to {high}")
    return value


def _day(value: object) -> int:
    return _int("day", value, 0, 10**9)


def _options(options: object) -> Sequence[str]:
    if (
        not isinstance(options, list | tuple)
        or not options
        or not all(isinstance(o, str) for o in options)
    ):
        raise MembershipError(f"options={shown(options, 80)} must be a non-empty list of strings")
    return options


def _outcome(option: object, engaged: object) -> None:
    if not isinstance(option, str):
        raise MembershipError(f"option={shown(option, 80)} must be a string")
    if not isinstance(engaged, bool):
        raise MembershipError(f"engaged={shown(engaged, 40)} must be True or False")


def _seed(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MembershipError(f"seed={shown(value, 40)} must be an int")
    return value


class CapLedger:
    """At most ``cap`` sends per member in any ``window`` consecutive days (all organisations).

    Days may come in any order (a look-ahead :meth:`room` query, a late :meth:`record` for an
    earlier day): each member's send days are kept sorted, queries only read them, and a send
    on ``day`` is allowed when every window of ``window`` days that holds ``day`` stays under
    the cap. O(log n + k log n) per call for n sends and k of them within a window of ``day``.
    """

    def __init__(self, cap: int, window: int) -> None:
        self.cap = _int("cap", cap, 1, 1000)
        self.window = _int("window", window, 1, 3650)
        self._sent: dict[str, list[int]] = {}

    def _count(self, days: list[int], first: int, last: int) -> int:
        return bisect_right(days, last) - bisect_left(days, first)

    def room(self, member: str, day: int) -> bool:
        """Whether one more send to ``member`` on ``day`` keeps every window within the cap."""
        check_name("member", member)
        _day(day)
        days = self._sent.get(member)
        if not days:
            return True
        w = self.window
        # The count of a window [s, s + w - 1] only rises when its end reaches a send, so the
        # fullest window holding ``day`` starts at day - w + 1 or ends on a send in [day, ...].
        later = days[bisect_left(days, day) : bisect_right(days, day + w - 1)]
        starts = {day - w + 1, *(d - w + 1 for d in later)}
        return all(self._count(days, s, s + w - 1) < self.cap for s in starts)

    def record(self, member: str, day: int) -> None:
        """Count a send (call :meth:`room` first; a send over the cap is refused)."""
        if not self.room(member, day):
            raise MembershipError(f"member={shown(member)} is at the cap of {self.cap} per "
                                  f"{self.window} days on day {day}")  # fmt: skip
        insort(self._sent.setdefault(member, []), day)

    def recent(self, member: str, day: int) -> int:
        """Sends to ``member`` in the window ending on ``day`` (days after it not counted)."""
        check_name("member", member)
        _day(day)
        return self._count(self._sent.get(member, []), day - self.window + 1, day)


class Policy(Protocol):
    """Chooses one option (an "organisation/benefit" key) and learns from the outcome."""

    name: str

    def choose(self, options: Sequence[str]) -> str: ...

    def update(self, option: str, engaged: bool) -> None: ...


class RandomPolicy:
    """The baseline: a uniformly random eligible benefit."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(_seed(seed))

    def choose(self, options: Sequence[str]) -> str:
        options = _options(options)
        return options[self._rng.randrange(len(options))]

    def update(self, option: str, engaged: bool) -> None:
        _outcome(option, engaged)


class EpsilonGreedy:
    """The best observed engagement rate, or with probability ``epsilon`` a random option."""

    def __init__(self, epsilon: float = 0.1, seed: int = 0) -> None:
        if (
            isinstance(epsilon, bool)
            or not isinstance(epsilon, int | float)
            or not 0.0 <= epsilon <= 1.0
        ):
            raise MembershipError(f"epsilon={shown(epsilon, 40)} must be a number from 0 to 1")
        self.epsilon = float(epsilon)
        self.name = f"epsilon-greedy ({self.epsilon:g})"
        self._rng = random.Random(_seed(seed))
        self._shown: dict[str, int] = {}
        self._engaged: dict[str, int] = {}

    def choose(self, options: Sequence[str]) -> str:
        options = _options(options)
        if self._rng.random() < self.epsilon:
            return options[self._rng.randrange(len(options))]
        # Unseen options first (optimistic), then the best rate; ties by order given.
        shown, engaged = self._shown, self._engaged
        return max(
            options,
            key=lambda o: (True, 0.0) if o not in shown else (False, engaged[o] / shown[o]),
        )

    def update(self, option: str, engaged: bool) -> None:
        _outcome(option, engaged)
        self._shown[option] = self._shown.get(option, 0) + 1
        self._engaged[option] = self._engaged.get(option, 0) + int(engaged)


class ThompsonSampling:
    """A draw from each option's Beta(1 + engaged, 1 + not engaged); the largest wins."""

    name = "thompson"

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(_seed(seed))
        self._wins: dict[str, int] = {}
        self._losses: dict[str, int] = {}

    def choose(self, options: Sequence[str]) -> str:
        options = _options(options)
        beta = self._rng.betavariate
        w, lo = self._wins, self._losses
        return max(options, key=lambda o: beta(1 + w.get(o, 0), 1 + lo.get(o, 0)))

    def update(self, option: str, engaged: bool) -> None:
        _outcome(option, engaged)
        target = self._wins if engaged else self._losses
        target[option] = target.get(option, 0) + 1


@dataclass
class SimulationReport:
    """What a simulation did: sends and engagements per day, and every send."""

    policy: str
    cap: int
    window: int
    sends_per_day: list[int] = field(default_factory=list)
    engagements_per_day: list[int] = field(default_factory=list)
    log: list[tuple[str, int, str]] = field(default_factory=list)  # (member, day, option)
    verifications: int = 0
    cache_hits: int = 0

    @property
    def sends(self) -> int:
        return sum(self.sends_per_day)

    @property
    def engagements(self) -> int:
        return sum(self.engagements_per_day)

    @property
    def rate(self) -> float:
        """Engagements per send."""
        return self.engagements / self.sends if self.sends else 0.0

    @property
    def max_in_window(self) -> int:
        """The most sends any member got in any ``window`` consecutive days (from the log)."""
        return max_sends_in_window(self.log, self.window)


def max_sends_in_window(log: Sequence[tuple[str, int, str]], window: int) -> int:
    """The most sends to one member in ``window`` consecutive days, recounted from ``log``.

    ``log`` is a list or tuple of ``(member, day, option)`` sends (a :class:`SimulationReport`'s
    ``log``): two strings around a day, an int from 0 to 10**9; ``window`` is an int from 1 to
    3650, as for :class:`CapLedger`. Anything else is a :class:`MembershipError`.
    """
    _int("window", window, 1, 3650)
    if not isinstance(log, list | tuple):
        raise MembershipError(f"log={shown(log, 80)} must be a list of (member, day, option) sends")
    by_member: dict[str, list[int]] = {}
    for i, send in enumerate(log):
        if (
            not isinstance(send, tuple)
            or len(send) != 3
            or not isinstance(send[0], str)
            or not isinstance(send[2], str)
        ):
            raise MembershipError(
                f"log[{i}]={shown(send, 80)} must be a (member, day, option) tuple of str, int, str"
            )
        by_member.setdefault(send[0], []).append(_int(f"log[{i}] day", send[1], 0, 10**9))
    best = 0
    for days in by_member.values():
        days.sort()
        lo = 0
        for hi, d in enumerate(days):
            while days[lo] <= d - window:
                lo += 1
            best = max(best, hi - lo + 1)
    return best


def simulate(
    policy: Policy,
    *,
    members: int = 2000,
    days: int = 60,
    cap: int | None = 3,
    window: int = 7,
    fatigue: float = 0.75,
    churn: float = 0.01,
    seed: int = 0,
) -> SimulationReport:
    """Offer benefits for ``days`` days to ``members`` generated members under the cap.

    Each member-day with room under the cap (``cap=None``: no cap, one offer a day) gets one
    offer among the benefits the verifier says they are eligible for. The member engages with
    the benefit's hidden rate times ``fatigue`` to the power of their sends in the last
    ``window`` days. Each day a ``churn`` share of memberships changes facts through the
    directory, so the verifier's cache is invalidated as it would be in production. A policy
    that chooses anything but one of the options it was given is a :class:`MembershipError`.
    """
    _int("members", members, 1, 10**5)
    _int("days", days, 1, 3650)
    if isinstance(fatigue, bool) or not isinstance(fatigue, int | float) or not 0 < fatigue <= 1:
        raise MembershipError(f"fatigue={shown(fatigue, 40)} must be a number in (0, 1]")
    if isinstance(churn, bool) or not isinstance(churn, int | float) or not 0 <= churn <= 1:
        raise MembershipError(f"churn={shown(churn, 40)} must be a number from 0 to 1")
    _seed(seed)
    if not all(callable(getattr(policy, n, None)) for n in ("choose", "update")):
        raise MembershipError(f"policy={shown(policy, 80)} must have choose() and update()")
    if cap is not None:
        _int("cap", cap, 1, 1000)
    ledger = CapLedger(cap if cap is not None else 1, window)
    directory, rules = generate(members, seed)
    verifier = Verifier(directory, rules)
    rng = random.Random(seed + 1)
    rates = {
        f"{org}/{b}": rng.uniform(0.02, 0.3)
        for org, rs in sorted(rules.items())
        for b in sorted(rs.benefits)
    }
    ids = list(directory.members())
    report = SimulationReport(getattr(policy, "name", type(policy).__name__),
                              cap or 0, window)  # fmt: skip
    for day in range(days):
        for _ in range(int(churn * len(directory))):
            member = ids[rng.randrange(len(ids))]
            orgs = directory.organisations_of(member)
            if orgs:
                directory.update(member, orgs[rng.randrange(len(orgs))], random_facts(rng))
        sent = engaged = 0
        for member in ids:
            if cap is not None and not ledger.room(member, day):
                continue
            options = [
                f"{org}/{b}"
                for org in directory.organisations_of(member)
                for b in rules[org].benefits
                if verifier.verify(member, org, b).eligible
            ]
            if not options:
                continue
            choice = policy.choose(options)
            if not isinstance(choice, str) or choice not in options:
                raise MembershipError(
                    f"policy {shown(report.policy, 40)} chose {shown(choice, 80)}, not one of the "
                    f"options it was given: {shown(options, 120)}"
                )
            recent = ledger.recent(member, day)
            if cap is not None:
                ledger.record(member, day)
            else:
                ledger._sent.setdefault(member, []).append(day)  # days rise: stays sorted
            hit = rng.random() < rates[choice] * fatigue**recent
            policy.update(choice, hit)
            report.log.append((member, day, choice))
            sent += 1
            engaged += hit
        report.sends_per_day.append(sent)
        report.engagements_per_day.append(engaged)
    report.verifications = verifier.stats.hits + verifier.stats.misses
    report.cache_hits = verifier.stats.hits
    return report
