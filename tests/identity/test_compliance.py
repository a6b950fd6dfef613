"""The compliance query and the expiry sweep against brute force over the recorded claims."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.identity import Claims, ComplianceBook, Qualification
from tests.identity.world import make_world, standard_claims

QUALS = ["forklift", "first-aid", "working-at-height"]
SITES = ["dock", "yard"]


def _brute_gaps(claims: list[Claims], requirements, assignments, now):  # type: ignore[no-untyped-def]
    """The plain definition: a qualification is held at ``now`` when some credential valid at
    ``now`` (``not_before <= now < expires``) carries it unexpired."""
    out = []
    for site in sorted(requirements):
        for worker in sorted(assignments.get(site, ())):
            for qual in sorted(requirements[site]):
                windows = [
                    (c.not_before, min(q.expires, c.expires))
                    for c in claims
                    if c.worker == worker
                    for q in c.qualifications
                    if q.name == qual and min(q.expires, c.expires) > c.not_before
                ]
                if any(start <= now < until for start, until in windows):
                    continue
                ended = [until for _, until in windows if until <= now]
                coming = [start for start, _ in windows if start > now]
                later = min(coming) if coming else None
                if ended:
                    out.append((worker, site, qual, "expired", max(ended), later))
                elif coming:
                    out.append((worker, site, qual, "not_yet_valid", None, later))
                else:
                    out.append((worker, site, qual, "missing", None, None))
    return out


@st.composite
def books(draw):  # type: ignore[no-untyped-def]
    claims = []
    issued = {"acme-id": 0, "beta-id": 0}  # each issuer numbers its own: ids collide across
    for i in range(draw(st.integers(0, 8))):
        issuer = draw(st.sampled_from(sorted(issued)))
        issued[issuer] += 1
        worker = draw(st.sampled_from(["w1", "w2", "w3"]))
        nbf = draw(st.sampled_from([0, 0, 20, 50]))  # valid at once, or from later on
        exp = draw(st.integers(nbf + 1, 100))
        names = draw(st.lists(st.sampled_from(QUALS), unique=True, max_size=3))
        quals = tuple(Qualification(n, draw(st.integers(1, 120))) for n in names)
        cid = f"c{issued[issuer]}"
        claims.append(Claims(issuer, cid, worker, "e", "dock", "r", 0, nbf, exp, "L", i, quals))
    requirements = {
        s: set(draw(st.lists(st.sampled_from(QUALS), unique=True, max_size=2))) for s in SITES
    }
    assignments = {s: set(draw(st.lists(st.sampled_from(["w1", "w2", "w3"])))) for s in SITES}
    return claims, requirements, assignments


@settings(max_examples=80)
@given(books(), st.integers(0, 130))
def test_gaps_equal_brute_force(book, now: int) -> None:  # type: ignore[no-untyped-def]
    claims, requirements, assignments = book
    cb = ComplianceBook()
    for site, quals in requirements.items():
        for q in quals:
            cb.require(site, q)
    for site, workers in assignments.items():
        for w in workers:
            cb.assign(w, site)
    for c in claims:
        cb.record(c)
    got = [
        (g.worker, g.site, g.qualification, g.state, g.expired_at, g.valid_from)
        for g in cb.gaps(now)
    ]
    want = _brute_gaps(claims, {s: q for s, q in requirements.items() if q}, assignments, now)
    assert got == want


@settings(max_examples=60)
@given(books(), st.lists(st.integers(0, 130), min_size=1, max_size=5), st.integers(0, 50))
def test_sweeps_report_each_expiry_once_and_in_order(book, times, horizon) -> None:  # type: ignore[no-untyped-def]
    claims = book[0]
    cb = ComplianceBook()
    for c in claims:
        cb.record(c)
    everything = sorted(
        [(c.expires, c.worker, "credential", c.credential_id, c.issuer) for c in claims]
        + [
            (min(q.expires, c.expires), c.worker, q.name, c.credential_id, c.issuer)
            for c in claims
            for q in c.qualifications
        ]
    )
    seen = []
    last = None
    for now in sorted(times):
        report = cb.sweep(now, horizon=horizon)
        seen += [(e.expires, e.worker, e.what, e.credential_id, e.issuer) for e in report.expired]
        assert [e.expires for e in report.expired] == sorted(e.expires for e in report.expired)
        assert all(now < e.expires <= now + horizon for e in report.expiring)
        want_soon = [x for x in everything if now < x[0] <= now + horizon]
        assert [
            (e.expires, e.worker, e.what, e.credential_id, e.issuer) for e in report.expiring
        ] == want_soon
        last = now
    assert seen == [x for x in everything if x[0] <= last]


def test_a_credential_not_valid_yet_leaves_the_gap_open_until_it_is() -> None:
    later = Claims(
        "i", "c1", "w1", "e", "dock", "r", 0, 30, 90, "L", 0, (Qualification("forklift", 90),)
    )
    book = ComplianceBook()
    book.require("dock", "forklift")
    book.assign("w1", "dock")
    book.record(later)
    (gap,) = book.gaps(now=0)
    assert (gap.state, gap.valid_from, gap.expired_at) == ("not_yet_valid", 30, None)
    assert book.gaps(now=30) == []  # valid from not_before, inclusive, as at the gate
    assert [g.state for g in book.gaps(now=90)] == ["expired"]


@settings(max_examples=80)
@given(
    books(),
    st.lists(st.tuples(st.booleans(), st.integers(0, 130)), min_size=1, max_size=12),
)
def test_a_late_record_is_reported_by_the_next_sweep(book, steps) -> None:  # type: ignore[no-untyped-def]
    """Records and sweeps interleaved. The oracle: each expiry is reported as expired exactly
    once, by the first sweep made after it was recorded whose time is at or after it."""
    claims = list(book[0])
    cb = ComplianceBook()
    recorded: list[tuple[tuple[object, ...], int]] = []  # (expiry, step recorded at)
    reports: list[tuple[int, float, list[tuple[object, ...]]]] = []
    now = 0
    for step, (sweep, advance) in enumerate(steps):
        if sweep or not claims:
            now = max(now, advance)
            report = cb.sweep(now, horizon=0)
            got = [(e.expires, e.worker, e.what, e.credential_id, e.issuer) for e in report.expired]
            assert got == sorted(got)
            reports.append((step, now, got))
        else:
            c = claims.pop()
            cb.record(c)
            recorded += [((c.expires, c.worker, "credential", c.credential_id, c.issuer), step)]
            recorded += [
                ((min(q.expires, c.expires), c.worker, q.name, c.credential_id, c.issuer), step)
                for q in c.qualifications
            ]
    want: dict[int, list[tuple[object, ...]]] = {step: [] for step, _, _ in reports}
    for expiry, at in recorded:
        first = next((s for s, t, _ in reports if s > at and expiry[0] <= t), None)
        if first is not None:
            want[first].append(expiry)
    for step, _, got in reports:
        assert got == sorted(want[step]), step


def test_an_expiry_recorded_after_the_sweep_that_passed_it_is_reported() -> None:
    day = 86_400
    book = ComplianceBook()
    book.sweep(10 * day)
    late = Claims(
        "i", "c1", "w1", "e", "dock", "r", 0, 0, 100 * day, "L", 0,
        (Qualification("forklift", 5 * day),),
    )  # fmt: skip
    book.record(late)
    report = book.sweep(11 * day)
    assert [(e.what, e.expires) for e in report.expired] == [("forklift", 5 * day)]
    assert book.sweep(12 * day).expired == []  # once


def test_a_withdrawn_credential_no_longer_keeps_its_worker_compliant() -> None:
    """The gate refuses a revoked badge; once the compliance office withdraws it too, the
    worker shows a gap again, and an unassigned worker shows none."""
    w = make_world()
    book = ComplianceBook()
    book.require("dock-3", "forklift")
    book.assign("w1", "dock-3")
    claims = standard_claims(w)
    book.record(claims)
    now = int(w.clock())
    assert book.gaps(now) == []
    w.authority.revoke(claims.status_index)
    assert book.withdraw(claims.issuer, claims.credential_id) == claims
    assert [(g.worker, g.state) for g in book.gaps(now)] == [("w1", "missing")]
    assert all(e.credential_id != claims.credential_id for e in book.sweep(now).expiring)
    book.unassign("w1", "dock-3")
    assert book.gaps(now) == []
