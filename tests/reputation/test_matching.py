"""Matching equals brute force; the exploration slot is bounded; the grid index is exact."""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.reputation import (
    GridIndex,
    Matcher,
    Provider,
    Request,
    StarCounts,
    bayesian_average,
    haversine_m,
)

CENTRE = (52.37, 4.90)  # Amsterdam
SKILLS = ["garden", "tutor", "move", "clean"]


def _providers(n: int, seed: int) -> list[Provider]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        start = rng.choice([0.0, 8.0, 12.0])
        out.append(
            Provider(
                f"p{i:04d}",
                CENTRE[0] + rng.uniform(-0.05, 0.05),
                CENTRE[1] + rng.uniform(-0.08, 0.08),
                frozenset(rng.sample(SKILLS, rng.randint(1, 3))),
                ((start, start + rng.choice([4.0, 8.0, 24.0])),),
            )
        )
    return out


def _brute(providers, counts, request, matcher):  # type: ignore[no-untyped-def]
    out = []
    for p in providers:
        d = haversine_m(request.lat, request.lon, p.lat, p.lon)
        if (
            d <= request.max_distance_m
            and request.skill in p.skills
            and p.free(request.start, request.end)
        ):
            rep = bayesian_average(
                counts.get(p.provider_id, StarCounts()), prior_mean=4.0, prior_weight=5.0
            )
            score = 0.7 * (rep - 1) / 4 + 0.3 * (1 - d / request.max_distance_m)
            out.append((-score, p.provider_id))
    return [pid for _, pid in sorted(out)]


@settings(max_examples=60)
@given(
    seed=st.integers(0, 10_000),
    skill=st.sampled_from(SKILLS),
    start=st.sampled_from([0.0, 9.0, 13.0, 20.0]),
    radius=st.floats(100, 8_000),
)
def test_ranking_without_exploration_equals_brute_force(seed, skill, start, radius) -> None:  # type: ignore[no-untyped-def]
    providers = _providers(120, seed)
    rng = random.Random(seed)
    counts = {
        p.provider_id: StarCounts.of(rng.choices([1, 3, 4, 5], k=rng.randint(0, 12)))
        for p in providers
    }
    m = Matcher(explore_slots=0)
    for p in providers:
        m.add_provider(p)
        m.set_reputation(p.provider_id, counts[p.provider_id])
    request = Request(CENTRE[0], CENTRE[1], skill, start, start + 2.0, max_distance_m=radius)
    want = _brute(providers, counts, request, m)
    assert [x.provider_id for x in m.candidates(request)] == want
    assert [x.provider_id for x in m.match(request, k=5)] == want[:5]


def test_a_new_provider_gets_a_bounded_exploration_slot() -> None:
    m = Matcher(explore_slots=1, max_explorations=3)
    providers = _providers(60, 1)
    for p in providers:
        m.add_provider(p)
        m.set_reputation(p.provider_id, StarCounts.of([5] * 30))
    newcomer = Provider("newbie", CENTRE[0] + 0.04, CENTRE[1], frozenset(SKILLS), ((0.0, 48.0),))
    m.add_provider(newcomer)
    request = Request(CENTRE[0], CENTRE[1], "garden", 9.0, 10.0, max_distance_m=20_000)
    assert "newbie" not in [x.provider_id for x in m.candidates(request)[:5]]
    pages = [m.match(request, k=5) for _ in range(6)]
    shown = [[x.provider_id for x in page if x.explored] for page in pages]
    assert shown[:3] == [["newbie"]] * 3 and shown[3:] == [[]] * 3  # bounded: 3 showings
    assert all(len(page) == 5 and sum(x.explored for x in page) <= 1 for page in pages)
    assert m.explorations["newbie"] == 3


def test_a_newcomer_with_no_review_starts_at_the_prior() -> None:
    m = Matcher(prior_mean=4.0)
    m.add_provider(Provider("new", *CENTRE, frozenset({"tutor"}), ((0.0, 10.0),)))
    (only,) = m.candidates(Request(*CENTRE, "tutor", 1.0, 2.0))
    assert only.reputation == 4.0 and only.distance_m == 0.0


def _wrap_lon(lon: float) -> float:
    """A longitude folded back into [-180, 180] (a point just east of 180 is just west of -180)."""
    return lon - 360.0 if lon > 180.0 else lon + 360.0 if lon < -180.0 else lon


CENTRES = st.one_of(
    st.just(CENTRE),
    st.tuples(st.floats(-80, 80), st.floats(-180, 180)),
    st.tuples(
        st.floats(-80, 80),
        st.sampled_from([180.0, -180.0, 179.999, -179.999])
        | st.floats(179.5, 180)
        | st.floats(-180, -179.5),
    ),
)


@settings(max_examples=80)
@given(
    CENTRES,
    st.lists(st.tuples(st.floats(-0.2, 0.2), st.floats(-0.2, 0.2)), max_size=60),
    st.floats(0, 30_000),
)
@example(centre=(-17.0, 179.999), offsets=[(0.0, 0.0), (0.0, 0.002)], radius=5_000.0)  # Fiji
@example(centre=(0.0, -180.0), offsets=[(0.0, 0.0), (0.0, -0.001)], radius=1_000.0)
def test_grid_within_equals_brute_force(centre, offsets, radius: float) -> None:  # type: ignore[no-untyped-def]
    index = GridIndex()
    points = {}
    for i, (a, b) in enumerate(offsets):
        p = (centre[0] + a, _wrap_lon(centre[1] + b))
        index.add(f"k{i}", *p)
        points[f"k{i}"] = p
    got = index.within(*centre, radius)
    want = sorted(
        (haversine_m(*centre, *p), k)
        for k, p in points.items()
        if haversine_m(*centre, *p) <= radius
    )
    assert got == want


POLAR_POINTS = st.tuples(
    st.sampled_from([1.0, -1.0]), st.floats(86.0, 90.0), st.floats(-180.0, 180.0)
).map(lambda t: (t[0] * t[1], t[2]))


@settings(max_examples=80, deadline=None)
@given(POLAR_POINTS, st.lists(POLAR_POINTS, max_size=40), st.floats(0, 200_000))
@example(centre=(89.9, -80.0), points=[(89.9, 100.0)], radius=30_000.0)  # across the pole
@example(centre=(89.5, 10.0), points=[(89.5, 5.0)], radius=5_000.0)  # the columns fan out
def test_grid_within_equals_brute_force_near_the_poles(centre, points, radius: float) -> None:  # type: ignore[no-untyped-def]
    """Near a pole a circle spans many more columns of cells than its width suggests, and
    one that reaches the pole spans them all: the index used to miss such points."""
    index = GridIndex()
    for i, p in enumerate(points):
        index.add(f"k{i}", *p)
    got = index.within(*centre, radius)
    want = sorted(
        (haversine_m(*centre, *p), f"k{i}")
        for i, p in enumerate(points)
        if haversine_m(*centre, *p) <= radius
    )
    assert got == want


def test_matching_reaches_across_the_antimeridian() -> None:
    m = Matcher()
    m.add_provider(Provider("p", -17.0, -179.999, frozenset({"x"}), ((0.0, 10.0),)))
    (only,) = m.match(Request(-17.0, 179.999, "x", 1.0, 2.0, 5_000.0))
    assert only.provider_id == "p" and 200 < only.distance_m < 230


def test_windows_must_cover_the_whole_slot() -> None:
    p = Provider("p", *CENTRE, frozenset({"x"}), ((8.0, 12.0), (14.0, 18.0)))
    assert p.free(8.0, 12.0) and p.free(15.0, 16.0)
    assert not p.free(11.0, 15.0) and not p.free(7.0, 9.0)


def test_the_exploration_slot_goes_to_a_newcomer_the_ranking_left_off_the_page() -> None:
    """A newcomer whose score already puts it on the page is not the one explored: the slot
    goes to a newcomer who would not have made the page on score."""
    m = Matcher(explore_slots=1, new_below=3)
    for pid, stars in (("a-est", [5] * 50), ("b-new", [5]), ("c-new", [1])):
        m.add_provider(Provider(pid, CENTRE[0], CENTRE[1], frozenset(SKILLS), ((0.0, 48.0),)))
        m.set_reputation(pid, StarCounts.of(stars))
    request = Request(CENTRE[0], CENTRE[1], "garden", 9.0, 10.0, max_distance_m=20_000)
    assert [x.provider_id for x in m.candidates(request)] == ["a-est", "b-new", "c-new"]
    page = m.match(request, k=2)
    assert [(x.provider_id, x.explored) for x in page] == [("a-est", False), ("c-new", True)]
    assert dict(m.explorations) == {"c-new": 1}


@settings(max_examples=60, deadline=None)
@given(
    reviews=st.lists(st.lists(st.integers(1, 5), max_size=4), min_size=1, max_size=9),
    k=st.integers(1, 6),
    slots=st.integers(0, 3),
)
@example(reviews=[[5, 5]] * 4 + [[]], k=3, slots=2)  # a spare slot: the ranking fills it first
def test_an_explored_provider_is_never_one_the_ranking_would_show(
    reviews: list[list[int]], k: int, slots: int
) -> None:
    m = Matcher(explore_slots=slots, new_below=2)
    for i, stars in enumerate(reviews):
        pid = f"p{i}"
        m.add_provider(Provider(pid, CENTRE[0], CENTRE[1], frozenset(SKILLS), ((0.0, 48.0),)))
        m.set_reputation(pid, StarCounts.of(stars))
    request = Request(CENTRE[0], CENTRE[1], "garden", 9.0, 10.0, max_distance_m=20_000)
    ranked = [x.provider_id for x in m.candidates(request)]
    page = m.match(request, k=k)
    assert len(page) == min(k, len(ranked)) and len({x.provider_id for x in page}) == len(page)
    explored = [x.provider_id for x in page if x.explored]
    assert len(explored) <= min(slots, k)
    assert not set(explored) & set(ranked[:k])
    assert all(len(reviews[int(pid[1:])]) < 2 for pid in explored)  # only newcomers
    merit = [x.provider_id for x in page if not x.explored]
    assert merit == [pid for pid in ranked if pid in set(merit)]  # in ranking order
    assert merit[: k - min(slots, k)] == ranked[: k - min(slots, k)][: len(merit)]
    assert merit == ranked[: len(merit)]  # the best on merit, none skipped
    assert all(x.explored for x in page[len(merit) :])  # exploration in the last slots only


def test_an_unused_exploration_slot_goes_back_to_the_ranking_before_the_explored_one() -> None:
    """Two slots, one newcomer: the spare slot is the next on merit, shown above the newcomer
    (it used to be shown below it, out of order)."""
    m = Matcher(explore_slots=2)
    for i, stars in enumerate([5, 5, 5, 5, 5, 4, 4]):
        m.add_provider(Provider(f"p{i}", 51.5, -0.12 + i * 0.001, frozenset({"g"}), ((0.0, 9.0),)))
        m.set_reputation(f"p{i}", StarCounts.of([stars] * 50))
    m.add_provider(Provider("newbie", 51.5, -0.12, frozenset({"g"}), ((0.0, 9.0),)))
    m.set_reputation("newbie", StarCounts.of([1, 1]))
    page = m.match(Request(51.5, -0.12, "g", 1.0, 2.0), k=5)
    assert [(x.provider_id, x.explored) for x in page] == [
        ("p0", False), ("p1", False), ("p2", False), ("p3", False), ("newbie", True)
    ]  # fmt: skip


@pytest.mark.usefixtures("busy_switching")
def test_queries_while_providers_move_and_explorations_stay_bounded_across_threads() -> None:
    """A thread moving providers about while others match: no query fails, the index ends
    equal to brute force, and no newcomer is explored more than max_explorations times."""
    import threading
    from collections import Counter
    from collections.abc import Callable

    m = Matcher(explore_slots=1, max_explorations=3, new_below=1)
    rng = random.Random(1)

    def place(i: int, r: random.Random) -> Provider:
        lat, lon = 52.0 + r.uniform(-0.05, 0.05), 4.9 + r.uniform(-0.08, 0.08)
        return Provider(f"p{i}", lat, lon, frozenset({"g"}), ((0.0, 100.0),))

    for i in range(1_000):
        m.add_provider(place(i, rng))
        if i % 50:
            m.set_reputation(f"p{i}", StarCounts.of([4, 5]))  # every 50th is new
    request = Request(52.0, 4.9, "g", 1.0, 2.0, max_distance_m=20_000)
    errors: list[BaseException] = []
    done = threading.Event()

    def move() -> None:
        r, i = random.Random(2), 0
        while not done.is_set():
            m.add_provider(place(i % 1_000, r))
            i += 1

    showings: list[str] = []

    def query() -> None:
        for _ in range(40):
            showings.extend(x.provider_id for x in m.match(request, k=10) if x.explored)

    def guarded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except BaseException as err:  # reported by the test, not lost in the thread
                errors.append(err)

        return run

    mover = threading.Thread(target=guarded(move))
    queries = [threading.Thread(target=guarded(query)) for _ in range(3)]
    mover.start()
    for t in queries:
        t.start()
    for t in queries:
        t.join()
    done.set()
    mover.join()
    assert errors == []
    shown = Counter(showings)
    assert shown and max(shown.values()) <= 3
    assert shown == {k: n for k, n in m.explorations.items() if n}  # no showing uncounted
    points = m.index.points
    assert m.index.within(52.0, 4.9, 5_000) == sorted(
        (haversine_m(52.0, 4.9, *p), k) for k, p in points.items()
        if haversine_m(52.0, 4.9, *p) <= 5_000
    )  # fmt: skip
    assert {k for cell in m.index.cells.values() for k in cell} == set(points)


def test_moving_and_removing_points_leaves_no_empty_cells() -> None:
    """A provider that moves across town used to leave an empty cell behind at every step."""
    index = GridIndex()
    for i in range(500):
        index.add("walker", 52.0 + i * 0.02, 4.9)
    assert len(index.points) == 1 and len(index.cells) == 1
    assert index.remove("walker") and not index.cells
