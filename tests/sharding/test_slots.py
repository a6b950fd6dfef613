"""Redis Cluster hash slots, checked against a real cluster's CLUSTER KEYSLOT."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.sharding import crc16, hash_tag, keyslot


def test_crc16_check_value() -> None:
    assert crc16(b"123456789") == 0x31C3  # the XMODEM check value Redis's cluster spec quotes


@given(st.binary(max_size=40))
def test_keyslot_uses_the_same_crc_as_the_readable_one(data: bytes) -> None:
    from designpatterns_ref.sharding.slots import _tag

    assert keyslot(data) == crc16(_tag(data)) % 16384


def test_hash_tags() -> None:
    assert hash_tag("{user1000}.following") == "user1000"
    assert hash_tag("foo{}{bar}") == "foo{}{bar}"  # empty first tag: the whole key
    assert hash_tag("foo{{bar}}zap") == "{bar"
    assert hash_tag("foo{bar}{zap}") == "bar"
    assert keyslot("{user1000}.following") == keyslot("{user1000}.followers")


# the client only reads (CLUSTER KEYSLOT), so sharing it across examples is safe
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.sampled_from("ab{}:x1é"), max_size=12))
def test_keyslot_equals_the_real_cluster(redis_cluster_client: Any, key: str) -> None:
    node = redis_cluster_client.get_default_node()
    assert keyslot(key) == redis_cluster_client.execute_command(
        "CLUSTER", "KEYSLOT", key, target_nodes=node
    )
