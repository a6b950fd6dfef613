"""identity benchmarks: issuing and verifying beside a bare Ed25519 and PyJWT; the status list.

Run ``pytest benchmarks/bench_identity.py --benchmark-only`` for figures (compare the ``verify``
group: bare Ed25519, our offline verification of both encodings, PyJWT's EdDSA decode), or
``--benchmark-disable`` for the quick correctness pass CI makes. The summary tables of
``dpref bench identity`` come from ``designpatterns_ref.identity._bench``.
"""

from __future__ import annotations

import random

import jwt
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.identity import BitstringStatusList
from designpatterns_ref.identity._bench import bench_steps, world

ISSUER, CLAIMS, GATE, KEYS = world()
JWS, BLOB = ISSUER.sign_jws(CLAIMS), ISSUER.sign_compact(CLAIMS)
PRIVATE = KEYS.private_key(KEYS.active_kid)
PUBLIC = PRIVATE.public_key()
SIGNING_INPUT = JWS.rsplit(".", 1)[0].encode("ascii")
SIGNATURE = PRIVATE.sign(SIGNING_INPUT)


@pytest.mark.benchmark(group="sign")
@pytest.mark.parametrize("what", ["bare Ed25519", "jws", "compact"])
def test_issue(benchmark: BenchmarkFixture, what: str) -> None:
    fn = {
        "bare Ed25519": lambda: PRIVATE.sign(SIGNING_INPUT),
        "jws": lambda: ISSUER.sign_jws(CLAIMS),
        "compact": lambda: ISSUER.sign_compact(CLAIMS),
    }[what]
    benchmark(fn)


@pytest.mark.benchmark(group="verify")
@pytest.mark.parametrize("what", ["bare Ed25519", "jws", "compact", "pyjwt"])
def test_verify(benchmark: BenchmarkFixture, what: str) -> None:
    assert GATE.verify(JWS).ok and GATE.verify(BLOB).ok
    assert jwt.decode(JWS, PUBLIC, algorithms=["EdDSA"])["sub"] == CLAIMS.worker
    fn = {
        "bare Ed25519": lambda: PUBLIC.verify(SIGNATURE, SIGNING_INPUT),
        "jws": lambda: GATE.verify(JWS),
        "compact": lambda: GATE.verify(BLOB),
        "pyjwt": lambda: jwt.decode(JWS, PUBLIC, algorithms=["EdDSA"]),
    }[what]
    benchmark(fn)


@pytest.fixture(scope="module")
def status_list(quick: bool) -> BitstringStatusList:
    n = 131_072 if quick else 1_000_000
    sl = BitstringStatusList(n)
    for i in random.Random(26).sample(range(n), n // 100):
        sl.set(i)
    return sl


@pytest.mark.benchmark(group="status list")
def test_status_list_encode(benchmark: BenchmarkFixture, status_list: BitstringStatusList) -> None:
    encoded = benchmark(status_list.encode)
    assert BitstringStatusList.decode(encoded).bits == status_list.bits
    benchmark.extra_info["encoded_chars"] = len(encoded)
    benchmark.extra_info["entries"] = status_list.size


@pytest.mark.benchmark(group="status list")
def test_status_list_decode(benchmark: BenchmarkFixture, status_list: BitstringStatusList) -> None:
    encoded = status_list.encode()
    back = benchmark(BitstringStatusList.decode, encoded)
    assert back.count() == status_list.count()


def test_bench_steps_quick() -> None:
    for _, step in bench_steps(True):
        tables = step()
        assert tables and tables[0].rows
