"""Issuers on several threads sharing one StatusAuthority never hand out one index twice."""

from __future__ import annotations

import threading

import pytest

from designpatterns_ref.identity import Claims, Issuer, KeySet, StatusAuthority

THREADS = 4
ISSUES = 3_000


@pytest.mark.usefixtures("busy_switching")
def test_issuers_sharing_an_authority_hand_out_distinct_indexes() -> None:
    keys = KeySet("acme-id", seed=b"threads")
    authority = StatusAuthority(keys, "L", clock=lambda: 1_000.0)
    issued: list[list[Claims]] = [[] for _ in range(THREADS)]
    start = threading.Barrier(THREADS)

    def work(mine: list[Claims]) -> None:
        issuer = Issuer(keys, authority, clock=lambda: 1_000.0)  # one Issuer per thread
        start.wait()
        for _ in range(ISSUES):
            mine.append(issuer.issue("w", "acme", "dock", "loader", valid_for=60))

    threads = [threading.Thread(target=work, args=(mine,)) for mine in issued]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [claims for mine in issued for claims in mine]
    indexes = [claims.status_index for claims in every]
    assert len(set(indexes)) == len(every) == THREADS * ISSUES
    assert sorted(indexes) == list(range(THREADS * ISSUES)) == list(range(authority.next_index))
    assert all(c.credential_id == f"L/{c.status_index}" for c in every)
