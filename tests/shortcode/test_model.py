"""Random sequences against short, obviously correct models: the service on every store
(including closing and reopening the SQLite file), and the counters on every backend.

The service model is a dict ``code -> (url, created_at, expires_at, clicks, canonical,
alias)`` with the rules of the module docstring of :mod:`designpatterns_ref.shortcode.service`
written out plainly; the counter model is one int.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.shortcode import (
    COUNTER_MAX,
    AliasTaken,
    Blocklist,
    CleanObfuscator,
    ClockMovedBackwards,
    CodeExpired,
    CodeNotFound,
    CollisionError,
    CounterAllocator,
    HashCodes,
    InvalidAlias,
    InvalidUrl,
    Layout,
    MemoryCounter,
    Obfuscator,
    RangeAllocator,
    RedisCounter,
    ShortCodeError,
    Snowflake,
    SpaceExhausted,
    SQLiteCounter,
    SQLiteStore,
    TupleCodes,
    UrlShortener,
    decode,
    decode_bytes,
    encode,
    encode_bytes,
)

T0 = 1_700_000_000.0
URLS = [f"https://example.com/{p}" for p in "abcd"]
# Generated codes are 3 characters wide, so some aliases are codes the counter will reach.
ALIASES = ["000", "001", "003", "promo", "Promo"]
NEVER = ["zzz", "nope", "00", "0000"]  # codes nobody is ever given
SETTINGS = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass(frozen=True)
class Row:
    url: str
    created_at: float
    expires_at: float | None
    clicks: int = 0
    canonical: bool = False
    alias: bool = False

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class ServiceModel(RuleBasedStateMachine):
    """``UrlShortener`` on one store against a dict of rows."""

    store_kind = "memory"
    one_code_per_url = True

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(start=T0)
        self.dir = tempfile.TemporaryDirectory()
        self.path = Path(self.dir.name) / "links.db"
        self.model: dict[str, Row] = {}
        self.issued: set[str] = set()  # every code ever handed out, deleted ones included
        self.links = self._open()

    def _open(self) -> UrlShortener:
        if self.store_kind == "memory":
            return UrlShortener(
                clock=self.clock,
                allocator=CounterAllocator(width=3),
                one_code_per_url=self.one_code_per_url,
            )
        counter = SQLiteCounter(self.path, "links")
        self.counter = counter
        return UrlShortener(
            self.path, clock=self.clock, allocator=RangeAllocator(counter, block=3, width=3)
        )

    def teardown(self) -> None:
        self.links.close()
        if self.store_kind == "sqlite":
            self.counter.close()
        self.dir.cleanup()

    def _canonical(self, url: str) -> str | None:
        return next((c for c, r in self.model.items() if r.canonical and r.url == url), None)

    @rule(url=st.sampled_from(URLS), ttl=st.one_of(st.none(), st.sampled_from([1, 10, 20])))
    def shorten(self, url: str, ttl: int | None) -> None:
        canonical = self.one_code_per_url and ttl is None
        held = self._canonical(url) if canonical else None
        code = self.links.shorten(url, ttl=ttl)
        if held is not None:
            assert code == held
            return
        assert code not in self.model and len(code) == 3
        now = self.clock()
        self.model[code] = Row(url, now, None if ttl is None else now + ttl, canonical=canonical)
        self.issued.add(code)

    @rule(
        url=st.sampled_from(URLS),
        alias=st.sampled_from(ALIASES),
        ttl=st.one_of(st.none(), st.sampled_from([10, 20])),
    )
    def alias(self, url: str, alias: str, ttl: int | None) -> None:
        now = self.clock()
        held = self.model.get(alias)
        if held is None:
            assert self.links.shorten(url, alias=alias, ttl=ttl) == alias
            self.model[alias] = Row(url, now, None if ttl is None else now + ttl, alias=True)
            self.issued.add(alias)
            return
        retry = (
            held.alias
            and held.url == url
            and not held.expired(now)
            and (
                (ttl is None and held.expires_at is None)
                or (
                    ttl is not None
                    and held.expires_at is not None
                    and held.created_at + ttl == held.expires_at
                )
            )
        )
        if retry:
            assert self.links.shorten(url, alias=alias, ttl=ttl) == alias
        else:
            with pytest.raises(AliasTaken):
                self.links.shorten(url, alias=alias, ttl=ttl)

    @rule(
        call=st.sampled_from(
            [
                ("ftp://example.com/x", None, InvalidUrl),
                ("https://exa mple.com", None, InvalidUrl),
                (URLS[0], "api", InvalidAlias),  # reserved
                (URLS[0], "API", InvalidAlias),
                (URLS[0], "ab", InvalidAlias),  # too short
                (URLS[0], "a/b/c", InvalidAlias),
            ]
        )
    )
    def refused(self, call: tuple[str, str | None, type[Exception]]) -> None:
        url, alias, error = call
        with pytest.raises(error):
            self.links.shorten(url, alias=alias)

    @rule(seconds=st.sampled_from([0, 1, 9, 10, 11, 50]))
    def wait(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule(data=st.data())
    def resolve(self, data: st.DataObject) -> None:
        code = data.draw(st.sampled_from(sorted(self.model) + sorted(self.issued) + NEVER))
        row = self.model.get(code)
        if row is None:
            with pytest.raises(CodeNotFound) as info:
                self.links.resolve(code)
            assert type(info.value) is CodeNotFound  # not CodeExpired: there is no link
        elif row.expired(self.clock()):
            with pytest.raises(CodeExpired):
                self.links.resolve(code)
        else:
            assert self.links.resolve(code) == row.url
            self.model[code] = replace(row, clicks=row.clicks + 1)

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        code = data.draw(st.sampled_from(sorted(self.model) + sorted(self.issued) + NEVER))
        assert self.links.delete(code) is (code in self.model)
        self.model.pop(code, None)

    @rule()
    def purge(self) -> None:
        now = self.clock()
        gone = [c for c, r in self.model.items() if r.expired(now)]
        assert self.links.purge_expired() == len(gone)
        for code in gone:
            del self.model[code]

    @precondition(lambda self: self.store_kind == "sqlite")
    @rule()
    def reopen(self) -> None:
        self.links.close()
        self.counter.close()
        self.links = self._open()

    @invariant()
    def store_matches_model(self) -> None:
        stored = {
            link.code: Row(
                link.url,
                link.created_at,
                link.expires_at,
                link.clicks,
                link.canonical,
                link.alias,
            )
            for link in self.links.links()
        }
        assert stored == self.model
        assert len(self.links) == len(self.model)
        for code, row in self.model.items():
            assert self.links.info(code).clicks == row.clicks


class SQLiteServiceModel(ServiceModel):
    store_kind = "sqlite"


class NewCodeEachTimeModel(ServiceModel):
    one_code_per_url = False


class HashCodesModel(ServiceModel):
    """The service with hash codes over a space of 8 (length 3 over "01"), which the aliases
    "000" and "001" share: collisions, re-salting and CollisionError are common."""

    def _open(self) -> UrlShortener:
        self.hashes = HashCodes(length=3, alphabet="01", max_attempts=3)
        return UrlShortener(clock=self.clock, allocator=self.hashes)

    @rule(url=st.sampled_from(URLS), ttl=st.one_of(st.none(), st.just(10)))
    def shorten(self, url: str, ttl: int | None) -> None:
        if ttl is not None:  # an expiring hash code would use up the URL's few salts
            with pytest.raises(ShortCodeError, match="HashCodes"):
                self.links.shorten(url, ttl=ttl)
            return
        held = self._canonical(url)
        free = [c for c in self.hashes.candidates(url) if c not in self.model]
        if held is None and not free:
            with pytest.raises(CollisionError):
                self.links.shorten(url)
            return
        code = self.links.shorten(url)
        if held is not None:
            assert code == held
            return
        assert code == free[0]
        self.model[code] = Row(url, self.clock(), None, canonical=True)
        self.issued.add(code)


TestServiceOnMemory = ServiceModel.TestCase
TestServiceOnMemory.settings = SETTINGS
TestServiceOnSQLite = SQLiteServiceModel.TestCase
TestServiceOnSQLite.settings = SETTINGS
TestServiceNewCodeEachTime = NewCodeEachTimeModel.TestCase
TestServiceNewCodeEachTime.settings = SETTINGS
TestServiceWithHashCodes = HashCodesModel.TestCase
TestServiceWithHashCodes.settings = SETTINGS


# -- counters --------------------------------------------------------------------------------

NEAR_MAX = COUNTER_MAX - 40


class CounterModel(RuleBasedStateMachine):
    """A counter (``reserve(n, limit)``) against one int, from 0 or from just below COUNTER_MAX."""

    def __init__(self, make: Callable[[int], tuple[Any, Callable[[], None]]]) -> None:
        super().__init__()
        self.make = make
        self.counter: Any = None
        self.value = 0
        self.close: Callable[[], None] = lambda: None

    def _ensure(self, start: int) -> None:
        if self.counter is None:
            self.counter, self.close = self.make(start)
            self.value = start

    @rule(start=st.sampled_from([0, NEAR_MAX]))
    def begin(self, start: int) -> None:
        self._ensure(start)

    @precondition(lambda self: self.counter is not None)
    @rule(
        n=st.one_of(st.integers(1, 30), st.just(COUNTER_MAX)),
        limit=st.one_of(
            st.none(),
            st.integers(0, 60),
            st.integers(NEAR_MAX - 5, COUNTER_MAX + 2),
        ),
    )
    def reserve(self, n: int, limit: int | None) -> None:
        first = self.value
        bound = None if limit is None or limit > COUNTER_MAX else limit
        if bound is not None and first >= bound:
            expected: int | None = None
        else:
            take = n if bound is None else min(n, bound - first)
            expected = None if first + take > COUNTER_MAX else take
        if expected is None:
            with pytest.raises(SpaceExhausted):
                self.counter.reserve(n, limit=limit)
        else:
            assert self.counter.reserve(n, limit=limit) == first
            self.value = first + expected

    @precondition(lambda self: self.counter is not None)
    @rule(n=st.sampled_from([0, -1, True, 1.0, COUNTER_MAX + 1]))
    def bad_n(self, n: object) -> None:
        with pytest.raises(ShortCodeError):
            self.counter.reserve(n)

    @precondition(lambda self: self.counter is not None)
    @invariant()
    def next_block_starts_at_the_model(self) -> None:
        # a one-number probe that changes nothing: limit=value is always refused
        with pytest.raises(SpaceExhausted):
            self.counter.reserve(1, limit=self.value)

    def teardown(self) -> None:
        self.close()


def _memory(start: int) -> tuple[Any, Callable[[], None]]:
    return MemoryCounter(start), lambda: None


def test_memory_counter_against_an_int() -> None:
    run_state_machine_as_test(lambda: CounterModel(_memory), settings=SETTINGS)


def test_sqlite_counter_against_an_int_across_reopening(tmp_path: Path) -> None:
    paths = iter(range(10**6))

    def make(start: int) -> tuple[Any, Callable[[], None]]:
        path = tmp_path / f"c{next(paths)}.db"
        SQLiteCounter(path, start=start).close()
        counter = SQLiteCounter(path)  # reopened: the start must have been kept
        return counter, counter.close

    run_state_machine_as_test(lambda: CounterModel(make), settings=SETTINGS)


def test_redis_counter_against_an_int(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = iter(range(10**6))

    def make(start: int) -> tuple[Any, Callable[[], None]]:
        key = f"model:{next(keys)}"
        if start:
            client.set(key, start)
        return RedisCounter(redis_url, key=key), lambda: None

    try:
        run_state_machine_as_test(lambda: CounterModel(make), settings=SETTINGS)
    finally:
        client.close()


def test_a_store_reopened_sees_what_was_written(tmp_path: Path) -> None:
    """The plain path form: the default allocator's counter lives in the same file."""
    path = tmp_path / "links.db"
    with UrlShortener(path) as links:
        first = links.shorten(URLS[0])
    store = SQLiteStore(path)
    try:
        assert [link.code for link in store] == [first]
    finally:
        store.close()
    with UrlShortener(path) as links:
        assert links.shorten(URLS[0]) == first
        assert links.shorten(URLS[1]) != first


# -- Snowflake -------------------------------------------------------------------------------


class StepClock:
    """Whole milliseconds, read as Unix seconds; ``sleep`` moves it forward (never back)."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000

    def sleep(self, seconds: float) -> None:
        self.ms += max(1, round(seconds * 1000))


SMALL = Layout(10, 2, 2)  # 1,024 ms of time, 4 workers, 4 IDs per millisecond
EPOCH = 1_700_000_000_000 - 1000  # the clock starts 1,000 ms after it: 23 ms of time left


class SnowflakeModel(RuleBasedStateMachine):
    """A Snowflake on a clock that jumps both ways against (last millisecond, sequence)."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = StepClock(EPOCH + 1000)
        self.worker = 3
        self.gen = Snowflake(
            self.worker, layout=SMALL, epoch_ms=EPOCH, clock=self.clock, sleep=self.clock.sleep
        )
        self.last = -1  # the model: the last ID's millisecond since the epoch and sequence
        self.seq = 0
        self.ids: list[int] = []

    def _expected(self) -> tuple[int, int] | type[Exception]:
        """The (millisecond, sequence) of the next ID, moving the clock as the waits do."""
        now = self.clock.ms - EPOCH
        if now < 0:
            return SpaceExhausted
        if now < self.last:
            if (self.last - now) / 1000 > 0.010:  # max_backwards
                return ClockMovedBackwards
            self.clock.ms += self.last - now  # slept until the clock caught up
            now = self.last
        if now == self.last:
            if self.seq < SMALL.max_sequence:
                return now, self.seq + 1
            self.clock.ms += 1  # the millisecond is used up: slept into the next
            now += 1
        if now > (1 << SMALL.time_bits) - 1:
            return SpaceExhausted
        return now, 0

    @rule(step=st.integers(-15, 6))
    def move_clock(self, step: int) -> None:
        self.clock.ms += step

    @rule()
    def before_the_epoch(self) -> None:
        self.clock.ms = EPOCH - 1

    @rule(count=st.integers(1, 6))
    def next_ids(self, count: int) -> None:
        # next_ids(count) is count next_id calls, or none of them when one would fail
        before = self.clock.ms, self.last, self.seq
        expected: list[tuple[int, int]] = []
        error: type[Exception] | None = None
        for _ in range(count):
            step = self._expected()
            if isinstance(step, type):
                error = step
                break
            expected.append(step)
            self.last, self.seq = step
        moved = self.clock.ms
        self.clock.ms = before[0]
        if error is not None:
            with pytest.raises(error):
                self.gen.next_ids(count)
            self.last, self.seq = before[1], before[2]
        else:
            ids = self.gen.next_ids(count)
            assert [self._parts(i) for i in ids] == expected
            self.ids += ids
        assert self.clock.ms == moved

    @rule()
    def next_id(self) -> None:
        step = self._expected()
        moved = self.clock.ms
        if isinstance(step, type):
            with pytest.raises(step):
                self.gen.next_id()
            return
        id_ = self.gen.next_id()
        assert self._parts(id_) == step
        assert self.clock.ms == moved
        self.last, self.seq = step
        self.ids.append(id_)

    def _parts(self, id_: int) -> tuple[int, int]:
        parts = self.gen.decompose(id_)
        assert parts.worker == self.worker
        return parts.timestamp_ms - EPOCH, parts.sequence

    @invariant()
    def strictly_increasing(self) -> None:
        assert all(a < b for a, b in itertools.pairwise(self.ids))


TestSnowflakeModel = SnowflakeModel.TestCase
TestSnowflakeModel.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


# -- codecs: a decoder accepts exactly the codes its encoder issues ----------------------------

CHARS = "0aB1c"


def _decoders() -> list[tuple[str, Callable[[str], object], Callable[[Any], str]]]:
    words = Blocklist(["aa", "b1"])
    ob = Obfuscator("k", width=3, alphabet=CHARS)
    clean = CleanObfuscator(ob, words)
    codes = []
    for name, tc in [
        ("tuples", TupleCodes((5, 7), alphabet=CHARS)),
        ("tuples/key", TupleCodes((5, 7), key="k", alphabet=CHARS)),
        ("tuples/key/blocklist", TupleCodes((5, 7), key="k", alphabet=CHARS, blocklist=words)),
        (
            "tuples/sqids",
            TupleCodes((3, 3, 3), alphabet=CHARS, blocklist=Blocklist(["aa1"], rule="sqids")),
        ),
    ]:
        codes.append((name, tc.decode, tc.encode))
    codes += [
        ("base62/width", lambda c: decode(c, 3, CHARS), lambda n: encode(n, 3, CHARS)),
        ("base62", lambda c: decode(c, None, CHARS), lambda n: encode(n, None, CHARS)),
        ("bytes", lambda c: decode_bytes(c, CHARS), lambda b: encode_bytes(b, CHARS)),
        ("obfuscator", ob.decode, ob.encode),
        ("clean", clean.decode, clean.encode),
    ]
    return codes


@pytest.mark.parametrize("name, decode_, encode_", _decoders(), ids=lambda v: str(v)[:20])
@settings(max_examples=300, deadline=None)
@given(code=st.text(alphabet=CHARS + "Ab?", max_size=5))
def test_a_decoder_accepts_exactly_the_codes_issued(
    name: str, decode_: Callable[[str], object], encode_: Callable[[Any], str], code: str
) -> None:
    try:
        value = decode_(code)
    except ShortCodeError:
        return
    if name == "base62":  # without a width, "00c" is read as "c" (its width is its length)
        assert encode_(value).rjust(len(code), CHARS[0]) == code
    else:
        assert encode_(value) == code


# -- leased ranges: two app servers on one counter, against a model of their leases ----------


class LeaseModel(RuleBasedStateMachine):
    """Two RangeAllocators sharing a counter over a 9-code space; a server may crash (a fresh
    allocator), losing the rest of its lease: a gap, never a reuse."""

    SPACE = 9  # width 2 over "abc"

    def __init__(self, make: Callable[[], tuple[Any, Callable[[], None]]]) -> None:
        super().__init__()
        self.counter, self.close = make()
        self.servers = [self._server(), self._server()]
        self.leases = [(0, 0), (0, 0)]  # the model: each server's [next, end)
        self.value = 0  # and the counter's
        self.issued: set[str] = set()

    def _server(self) -> RangeAllocator:
        return RangeAllocator(self.counter, block=2, width=2, alphabet="abc")

    @rule(i=st.sampled_from([0, 1]))
    def allocate(self, i: int) -> None:
        first, end = self.leases[i]
        if first >= end:
            if self.value >= self.SPACE:
                with pytest.raises(SpaceExhausted):
                    self.servers[i].allocate()
                return
            first, end = self.value, min(self.value + 2, self.SPACE)
            self.value = end
        code = self.servers[i].allocate()
        assert code == encode(first, 2, "abc")
        assert code not in self.issued
        self.issued.add(code)
        self.leases[i] = (first + 1, end)
        assert self.servers[i].remaining() == end - first - 1

    @rule(i=st.sampled_from([0, 1]))
    def crash(self, i: int) -> None:
        self.servers[i] = self._server()
        self.leases[i] = (0, 0)

    def teardown(self) -> None:
        self.close()


LEASE_SETTINGS = settings(max_examples=25, stateful_step_count=25, deadline=None)


def test_leases_on_a_memory_counter() -> None:
    run_state_machine_as_test(
        lambda: LeaseModel(lambda: (MemoryCounter(), lambda: None)), settings=LEASE_SETTINGS
    )


def test_leases_on_a_sqlite_counter(tmp_path: Path) -> None:
    paths = iter(range(10**6))

    def make() -> tuple[Any, Callable[[], None]]:
        counter = SQLiteCounter(tmp_path / f"l{next(paths)}.db")
        return counter, counter.close

    run_state_machine_as_test(lambda: LeaseModel(make), settings=LEASE_SETTINGS)


def test_leases_on_a_redis_counter(redis_url: str) -> None:
    keys = iter(range(10**6))
    run_state_machine_as_test(
        lambda: LeaseModel(lambda: (RedisCounter(redis_url, key=f"l{next(keys)}"), lambda: None)),
        settings=LEASE_SETTINGS,
    )
