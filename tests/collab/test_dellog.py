"""The columnar delete log against the plain list of lists it replaced."""

from __future__ import annotations

from bisect import insort
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.collab.dellog import DeleteLog


def _reference_add(log: list[list[Any]], seq: int, lamport: int, tagent: str, tseq: int,
                   n: int, backwards: bool) -> None:  # fmt: skip
    """The log as it was: a sorted list of [seq, lamport, tagent, tseq, n, backwards]."""
    if log and log[-1][0] < seq:
        d = log[-1]
        if d[0] + d[4] == seq and d[1] + d[4] == lamport and d[2] == tagent:
            if not d[5] and not backwards and d[3] + d[4] == tseq:
                d[4] += n
                return
            if n == 1 and (d[5] or d[4] == 1) and tseq + 1 == d[3]:
                d[3], d[4], d[5] = tseq, d[4] + 1, True
                return
        log.append([seq, lamport, tagent, tseq, n, backwards and n > 1])
    else:
        insort(log, [seq, lamport, tagent, tseq, n, backwards and n > 1], key=lambda d: d[0])


ADDS = st.lists(
    st.tuples(
        st.integers(0, 30),  # seq: runs that continue each other, and out-of-order arrivals
        st.integers(0, 30),
        st.sampled_from(["a", "b"]),
        st.integers(0, 30),
        st.integers(1, 3),
        st.booleans(),
    ),
    max_size=40,
)


@given(adds=ADDS, typing=st.booleans())
def test_the_log_matches_the_list_it_replaced(adds: list[tuple[Any, ...]], typing: bool) -> None:
    if typing:  # mostly one delete after another: the extending paths
        adds = [(k, k, "a", 50 - k if back else k, 1, back) for k, (*_, back) in enumerate(adds)]
    log, reference = DeleteLog(), []
    for add in adds:
        log.add(*add)
        _reference_add(reference, *add)
    assert [list(e) for e in log.entries()] == reference
    assert len(log) == len(reference)
    assert list(log.copy().entries()) == list(log.entries())
    for seq in range(-1, 35):
        at = log.covering(seq)
        assert at == sum(d[0] <= seq for d in reference) - 1
        if at >= 0:
            assert log.end(at) == reference[at][0] + reference[at][4]


def _state(log: DeleteLog) -> tuple[Any, ...]:
    """Everything a log holds, the columns as written (not synced) and its last entry."""
    return (
        *(column.tolist() for column in log._columns()),
        log._agents,
        log._index,
        log._last,
        log._stale,
        list(log.entries()),
    )


@given(adds=ADDS, typing=st.booleans(), exported=st.booleans())
def test_a_log_built_at_once_is_the_log_built_one_add_at_a_time(
    adds: list[tuple[Any, ...]], typing: bool, exported: bool
) -> None:
    if typing:  # rows that continue each other: they merge, so the fast path must not be taken
        adds = [(k, k, "a", 50 - k if back else k, 1, back) for k, (*_, back) in enumerate(adds)]
    if exported:  # what a log sends: rows in order, none continuing the one before
        source = DeleteLog()
        for add in adds:
            source.add(*add)
        adds = list(source.entries())
    reference = DeleteLog()
    for add in adds:
        reference.add(*add)
    built = DeleteLog._of(list(adds))
    assert _state(built) == _state(reference)
    # and both go on the same way
    for log in (built, reference):
        log.add(60, 60, "b", 3, 2, False)
        log.add(62, 62, "b", 5, 1, False)
    assert _state(built) == _state(reference)
