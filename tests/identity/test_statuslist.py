"""The Bitstring Status List: bit order, the encodedList format, a 1M round trip, the cache."""

from __future__ import annotations

import base64
import gzip
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.identity import (
    MIN_BITS,
    BitstringStatusList,
    IdentityError,
    KeySet,
    StatusAuthority,
    TrustStore,
)
from designpatterns_ref.identity.keys import b64url_decode
from tests.identity.world import T0, make_world


def test_bit_zero_is_the_left_most_bit_of_the_first_byte() -> None:
    sl = BitstringStatusList()
    sl.set(0)
    sl.set(9)
    assert sl.bits[0] == 0x80 and sl.bits[1] == 0x40
    assert sl.size == MIN_BITS == 16 * 1024 * 8


def test_encoded_list_is_multibase_base64url_of_gzip() -> None:
    sl = BitstringStatusList()
    sl.set(12_345)
    encoded = sl.encode()
    assert encoded[0] == "u" and "=" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert raw == bytes(sl.bits)


@settings(max_examples=60)
@given(st.sets(st.integers(0, MIN_BITS - 1), max_size=200), st.integers(0, MIN_BITS - 1))
def test_round_trip_equals_the_set_of_revoked_indexes(revoked: set[int], probe: int) -> None:
    sl = BitstringStatusList()
    for i in revoked:
        sl.set(i)
    back = BitstringStatusList.decode(sl.encode())
    assert back.count() == len(revoked)
    assert back.get(probe) is (probe in revoked)
    assert all(back.get(i) for i in revoked)


def test_one_million_entries_round_trip_at_one_percent_revoked() -> None:
    size = 1_000_000
    rng = random.Random(26)
    revoked = set(rng.sample(range(size), size // 100))
    sl = BitstringStatusList(size)
    for i in revoked:
        sl.set(i)
    encoded = sl.encode()
    back = BitstringStatusList.decode(encoded)
    assert back.size == size and back.bits == sl.bits
    found = {i for i in range(size) if back.bits[i >> 3] >> (7 - (i & 7)) & 1}
    assert found == revoked
    assert len(encoded) < 20_000  # about 14 KB gzipped, 18.7 K characters of base64url


def test_clearing_a_bit_unrevokes_it() -> None:
    sl = BitstringStatusList()
    sl.set(5)
    sl.set(5, False)
    assert not sl.get(5) and sl.count() == 0


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "x",
        "u",
        "u!!!",
        "u" + base64.urlsafe_b64encode(gzip.compress(b"\0" * 10, mtime=0)).decode().rstrip("="),
        "u" + base64.urlsafe_b64encode(b"not gzip").decode().rstrip("="),
    ],
)
def test_malformed_encoded_lists_are_refused(encoded: str) -> None:
    with pytest.raises(IdentityError):
        BitstringStatusList.decode(encoded)


def test_a_decompression_bomb_is_refused() -> None:
    bomb = gzip.compress(b"\0" * (2**27 // 8 + 1024), mtime=0)
    encoded = "u" + base64.urlsafe_b64encode(bomb).decode().rstrip("=")
    with pytest.raises(IdentityError, match="does not decode"):
        BitstringStatusList.decode(encoded)


def test_the_published_list_follows_the_w3c_data_model() -> None:
    w = make_world()
    payload = json.loads(b64url_decode(w.authority.publish().split(".")[1]))
    vc = payload["vc"]
    assert vc["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert vc["credentialSubject"]["type"] == "BitstringStatusList"
    assert vc["credentialSubject"]["statusPurpose"] == "revocation"
    assert payload["ttl"] == 300_000 and payload["iat"] == T0


def test_the_cache_refuses_forged_unknown_and_older_lists() -> None:
    w = make_world()
    fresh = w.authority.publish()
    w.clock.advance(10)
    newer = w.authority.publish()
    w.cache.update(newer)
    with pytest.raises(IdentityError, match="older"):
        w.cache.update(fresh)
    assert w.cache.issued_at("acme/status/1") == T0 + 10
    stranger = KeySet("acme-id", seed=b"x")
    foreign = StatusAuthority(stranger, "acme/status/1", clock=w.clock).publish()
    with pytest.raises(IdentityError, match="not trusted"):
        w.cache.update(foreign)
    head, body, sig = newer.split(".")
    with pytest.raises(IdentityError, match="signature"):
        w.cache.update(f"{head}.{body}.{sig[:-2]}AA")
    assert w.cache.issued_at("acme/status/1") == T0 + 10


def test_online_check_names_its_list() -> None:
    keys = KeySet("i", seed=b"s")
    authority = StatusAuthority(keys, "L", clock=lambda: 0.0)
    index = authority.allocate()
    authority.revoke(index)
    assert authority.check("L", index) is True
    with pytest.raises(IdentityError):
        authority.check("other", index)
    with pytest.raises(IdentityError):
        authority.revoke(index + 1)  # never allocated
    assert len(TrustStore.from_jwks(keys.jwks(), issuer=keys.issuer)) == 1
