"""Limits written as people write them: ``"10/second; 1000/hour"`` to limiter specs.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

The notation is the one the ``limits`` package (and Flask-Limiter, SlowAPI) documents: each
limit is ``AMOUNT/UNIT``, ``AMOUNT per UNIT`` or ``AMOUNT/MULTIPLE UNITS`` (``"100/5
minutes"``), the unit one of second, minute, hour, day, month (30 days) or year (360 days as
``limits`` counts it: twelve of its months), in any letter case, with an optional plural
``s``; several limits are separated by ``,``, ``;`` or ``|``, and whitespace may stand
around every part. The deliberate differences: an amount or a multiple of 0 is refused (a
limit of nothing is a mistake, and ``limits`` reads ``"10/0 seconds"`` as one second), so is
a number above 2**53 (the most a limiter counts exactly), and so is a ``:`` before a
separator (a quirk of ``limits``' pattern lets ``"1/second:;2/minute"`` through). Units are
spelled in ASCII letters, any case, as there.

:func:`parse_limits` reads the text into :class:`LimitSpec` values, refusing anything else
with :class:`LimitSyntaxError`, which names the text, the position and what was expected
there: it never guesses. :func:`limiter_from_text` turns the specs into one all-or-nothing
limiter (:func:`~designpatterns_ref.ratelimit.composite.all_of`) with the algorithm of your
choice; the Redis and SQLite backends have their own ``limiter_from_text``.

Complexity: one pass over the text, O(len(text)).

Examples:
    >>> parse_limits("10/second; 1000 per hour")  # doctest: +NORMALIZE_WHITESPACE
    [LimitSpec(amount=10, multiples=1, unit='second'),
     LimitSpec(amount=1000, multiples=1, unit='hour')]
    >>> spec = parse_limit("100/5 minutes")
    >>> str(spec), spec.per
    ('100/5 minutes', 300.0)
    >>> parse_limits("10/secnd")
    Traceback (most recent call last):
    ...
    designpatterns_ref.ratelimit.notation.LimitSyntaxError: parse_limits: text='10/secnd' ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from designpatterns_ref.clock import Clock
from designpatterns_ref.errors import shown
from designpatterns_ref.ratelimit.base import MAX_COUNT, RateLimitError, check_count
from designpatterns_ref.ratelimit.composite import AllOf
from designpatterns_ref.ratelimit.fixed_window import FixedWindow
from designpatterns_ref.ratelimit.gcra import GCRA
from designpatterns_ref.ratelimit.leaky_bucket import LeakyBucket
from designpatterns_ref.ratelimit.leaky_queue import LeakyBucketQueue
from designpatterns_ref.ratelimit.memory import MemoryLimiter
from designpatterns_ref.ratelimit.sliding_counter import SlidingWindowCounter
from designpatterns_ref.ratelimit.sliding_log import SlidingWindowLog
from designpatterns_ref.ratelimit.token_bucket import TokenBucket

__all__ = [
    "ALGORITHMS",
    "UNITS",
    "LimitSpec",
    "LimitSyntaxError",
    "distinct_limits",
    "limiter_from_text",
    "parse_limit",
    "parse_limits",
    "resolve_algorithm",
]

#: Seconds in each unit, as ``limits`` counts them (a month is 30 days, a year 12 months).
UNITS: dict[str, int] = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86_400,
    "month": 30 * 86_400,
    "year": 12 * 30 * 86_400,
}

#: The characters that separate two limits.
SEPARATORS = ",;|"

#: The algorithms :func:`limiter_from_text` builds, by name.
ALGORITHMS: dict[str, type[MemoryLimiter]] = {
    "token_bucket": TokenBucket,
    "gcra": GCRA,
    "leaky_bucket": LeakyBucket,
    "leaky_queue": LeakyBucketQueue,
    "fixed_window": FixedWindow,
    "sliding_log": SlidingWindowLog,
    "sliding_counter": SlidingWindowCounter,
}

_GRAMMAR = (
    'write each limit as "AMOUNT/UNIT", "AMOUNT per UNIT" or "AMOUNT/MULTIPLE UNITS" '
    '(e.g. "10/second", "5 per minute", "100/5 minutes"), several separated by ",", ";" or "|"'
)
_UNIT_NAMES = "second, minute, hour, day, month or year (a plural 's' is allowed)"


class LimitSyntaxError(RateLimitError):
    """Text that is not a list of limits: ``text``, the ``position`` where reading stopped
    (0-based) and what was ``expected`` there."""

    def __init__(self, owner: str, text: str, position: int, expected: str) -> None:
        self.owner, self.text, self.position, self.expected = owner, text, position, expected
        found = repr(text[position : position + 12]) if position < len(text) else "the end"
        shown = repr(text) if len(text) <= 80 else f"{text[:60]!r}... ({len(text)} characters)"
        super().__init__(
            f"{owner}: text={shown} cannot be read at position {position} (found {found}): "
            f"expected {expected}; {_GRAMMAR}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.owner, self.text, self.position, self.expected))


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """One limit: at most ``amount`` units per ``multiples`` of ``unit``.

    ``str(spec)`` writes it back in the notation (``"10/second"``, ``"100/5 minutes"``), and
    :func:`parse_limit` reads that back to an equal spec. Built by hand, it checks its fields
    as the parser does (RateLimitError naming the field).
    """

    amount: int
    multiples: int
    unit: str

    def __post_init__(self) -> None:
        for field in ("amount", "multiples"):
            check_count("LimitSpec", field, getattr(self, field))
        if not (isinstance(self.unit, str) and self.unit in UNITS):
            raise RateLimitError(
                f"LimitSpec: unit={shown(self.unit, 80)} must be one of {', '.join(UNITS)}"
            )

    @property
    def per(self) -> float:
        """The window, or the time the amount is spread over, in seconds."""
        return float(self.multiples * UNITS[self.unit])

    def __str__(self) -> str:
        if self.multiples == 1:
            return f"{self.amount}/{self.unit}"
        return f"{self.amount}/{self.multiples} {self.unit}s"


def _is_space(char: str) -> bool:
    return char.isspace()


class _Reader:
    """A cursor over the text, with the one error every refusal raises."""

    def __init__(self, owner: str, text: str) -> None:
        self.owner, self.text, self.pos = owner, text, 0

    def fail(self, expected: str, at: int | None = None) -> LimitSyntaxError:
        return LimitSyntaxError(self.owner, self.text, self.pos if at is None else at, expected)

    def skip_space(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and _is_space(text[pos]):
            pos += 1
        self.pos = pos

    def digits(self) -> str:
        text, start = self.text, self.pos
        pos = start
        while pos < len(text) and "0" <= text[pos] <= "9":
            pos += 1
        self.pos = pos
        return text[start:pos]

    def number(self, what: str, digits: str, at: int) -> int:
        significant = digits.lstrip("0")
        # more than 20 digits is past 2**53 either way (and int() of a huge string is slow)
        value = int(significant or "0") if len(significant) <= 20 else MAX_COUNT + 1
        if not 1 <= value <= MAX_COUNT:
            raise self.fail(f"{what} from 1 to {MAX_COUNT} (found {digits[:24]})", at)
        return value

    def unit(self) -> str:
        text, pos = self.text, self.pos
        for name in UNITS:
            word = text[pos : pos + len(name)]
            if word.isascii() and word.lower() == name:
                pos += len(name)
                if text[pos : pos + 1] in ("s", "S"):
                    pos += 1
                self.pos = pos
                return name
        raise self.fail(f"a unit: {_UNIT_NAMES}")

    def limit(self) -> LimitSpec:
        self.skip_space()
        start = self.pos
        amount = self.digits()
        if not amount:
            raise self.fail("an amount (digits 0-9)")
        count = self.number("an amount", amount, start)
        self.skip_space()
        if self.text[self.pos : self.pos + 1] == "/":
            self.pos += 1
        elif (word := self.text[self.pos : self.pos + 3]).isascii() and word.lower() == "per":
            self.pos += 3
        else:
            raise self.fail("'/' or 'per' after the amount")
        self.skip_space()
        start = self.pos
        multiples = self.digits()
        times = self.number("a multiple", multiples, start) if multiples else 1
        self.skip_space()
        return LimitSpec(count, times, self.unit())


def parse_limits(text: str) -> list[LimitSpec]:
    """The limits written in ``text`` (at least one), in order.

    Raises :class:`LimitSyntaxError` (a :class:`RateLimitError`) naming the position and what
    was expected there, or :class:`RateLimitError` when ``text`` is not a string.

    Examples:
        >>> [str(s) for s in parse_limits(" 5 PER Minute | 2/3 days ")]
        ['5/minute', '2/3 days']
    """
    return _parse("parse_limits", text)


def parse_limit(text: str) -> LimitSpec:
    """The one limit written in ``text`` (:func:`parse_limits` for exactly one).

    >>> parse_limit("1 per 2 hours").per
    7200.0
    """
    specs = _parse("parse_limit", text, single=True)
    return specs[0]


def distinct_limits(specs: list[LimitSpec]) -> list[LimitSpec]:
    """``specs`` with each limit once (the first of equal ones kept, in order): a limit
    written twice is one limit, and on Redis and SQLite two equal parts would share one name.
    What every ``limiter_from_text`` enforces.

    Examples:
        >>> text = "60/minute; 60 per 1 minute; 1/second"
        >>> [str(s) for s in distinct_limits(parse_limits(text))]
        ['60/minute', '1/second']
    """
    if not isinstance(specs, list) or not all(isinstance(s, LimitSpec) for s in specs):
        raise RateLimitError(
            f"distinct_limits: specs={shown(specs, 80)} must be a list of LimitSpec "
            "(what parse_limits returns)"
        )
    return list(dict.fromkeys(specs))


def _parse(owner: str, text: object, single: bool = False) -> list[LimitSpec]:
    if not isinstance(text, str):
        raise RateLimitError(f"{owner}: text={shown(text, 80)} must be a str such as '10/second'")
    reader = _Reader(owner, text)
    specs = [reader.limit()]
    while True:
        reader.skip_space()
        if reader.pos == len(text):
            return specs
        if text[reader.pos] in SEPARATORS and not single:
            reader.pos += 1
            specs.append(reader.limit())
            continue
        raise reader.fail("the end of the text" if single else "',', ';' or '|', or the end")


def resolve_algorithm(owner: str, algorithm: object) -> str:
    """The name in :data:`ALGORITHMS` of ``algorithm`` (a name or one of those classes)."""
    if isinstance(algorithm, str) and algorithm in ALGORITHMS:
        return algorithm
    for name, cls in ALGORITHMS.items():
        if algorithm is cls:
            return name
    raise RateLimitError(
        f"{owner}: algorithm={shown(algorithm, 80)} must be one of {', '.join(ALGORITHMS)} "
        "(or its class)"
    )


def spec_args(name: str, spec: LimitSpec) -> tuple[Any, ...]:
    """The positional arguments of algorithm ``name`` for ``spec``: the bucket-shaped ones take
    ``(rate, per, burst)`` with a burst of the whole amount, the windows ``(rate, per)``."""
    if name in ("token_bucket", "gcra", "leaky_bucket", "leaky_queue"):
        return (spec.amount, spec.per, spec.amount)
    return (spec.amount, spec.per)


def limiter_from_text(text: str, algorithm: str | type, *, clock: Clock | None = None) -> AllOf:
    """One all-or-nothing limiter enforcing every limit in ``text`` with ``algorithm``.

    ``algorithm`` is a name in :data:`ALGORITHMS` or one of those classes. A window algorithm
    (``"fixed_window"``, ``"sliding_log"``, ``"sliding_counter"``) admits ``amount`` per window
    of the spec's length; a bucket-shaped one (``"token_bucket"``, ``"gcra"``,
    ``"leaky_bucket"``, ``"leaky_queue"``) refills ``amount`` per window with bursts up to
    ``amount``. The parts share ``clock`` (default :func:`time.monotonic`) and are in
    ``.limiters``, in the order of the text; a limit written twice is one part
    (:func:`distinct_limits`).

    Examples:
        >>> from designpatterns_ref.clock import ManualClock
        >>> limiter = limiter_from_text("2/second; 3/minute", "sliding_log", clock=ManualClock())
        >>> [bool(limiter.allow("k")) for _ in range(3)]
        [True, True, False]
    """
    name = resolve_algorithm("limiter_from_text", algorithm)
    specs = distinct_limits(_parse("limiter_from_text", text))
    cls: Any = ALGORITHMS[name]
    return AllOf(*[cls(*spec_args(name, spec), clock=clock) for spec in specs])
