"""Snowflake refuses an injected clock's reading that is not a finite number of seconds with
ShortCodeError, before any ID is made: NaN and the infinities raised a bare ValueError or
OverflowError, a str or None a TypeError, and True passed for second 1."""

from __future__ import annotations

import math
from typing import Any

import pytest

from designpatterns_ref.shortcode import ShortCodeError, UrlShortener
from designpatterns_ref.shortcode.snowflake import Snowflake

BAD: list[Any] = [math.nan, math.inf, -math.inf, True, "1", None, 10**400, 1e306]
IDS = ["nan", "inf", "-inf", "True", "str", "None", "10**400", "1e306"]


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_snowflake_refuses_a_bad_clock_reading_and_changes_nothing(bad: Any) -> None:
    now: list[Any] = [1_780_000_000.0]
    gen = Snowflake(3, clock=lambda: now[0], sleep=lambda _: None)
    first = gen.next_id()
    before = dict((name, getattr(gen, name)) for name in ("_last", "_next", "_stop"))
    now[0] = bad
    for call in (gen.next_id, lambda: gen.next_ids(3)):
        with pytest.raises(ShortCodeError, match=r"clock\(\) returned"):
            call()
        assert {name: getattr(gen, name) for name in before} == before
    now[0] = 1_780_000_000.5
    assert gen.next_id() > first


@pytest.mark.parametrize("bad", BAD[:-1], ids=IDS[:-1])
def test_url_shortener_refuses_a_bad_clock_reading_and_changes_nothing(bad: Any) -> None:
    """shorten stored a NaN or True as the creation time (and NaN + ttl as an expiry that never
    comes); resolve let an expired link live on a NaN."""
    now: list[Any] = [1_780_000_000.0]
    links = UrlShortener(clock=lambda: now[0])
    code = links.shorten("https://example.com/a", ttl=60)
    before = list(links.links())
    now[0] = bad
    for call in (
        lambda: links.shorten("https://example.com/b"),
        lambda: links.shorten("https://example.com/c", alias="mine", ttl=60),
        lambda: links.resolve(code),
        links.purge_expired,
    ):
        with pytest.raises(ShortCodeError, match=r"clock\(\) returned"):
            call()
        assert list(links.links()) == before
