"""An alias freed between the refused insert and the read of its holder is claimed again.

``shorten(url, alias=a)`` tries to insert ``a`` and, when it is taken, reads the link that
holds it to tell a retry from a clash. A delete can come in between; the alias is then free,
and the call must not answer ``AliasTaken`` on the strength of a link that no longer exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.shortcode import (
    AliasTaken,
    Insert,
    Link,
    MemoryStore,
    SQLiteStore,
    UrlShortener,
)

T0 = 1_700_000_000.0
OLD, NEW = "https://example.com/old", "https://example.com/new"


class PauseAfterRefusal:
    """A store that runs ``between`` (once) after an insert it refused, before the caller
    reads what holds the code."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.between: Callable[[], None] | None = None

    def insert(self, link: Link) -> Insert:
        result: Insert = self.inner.insert(link)
        between, self.between = self.between, None
        if result is not Insert.OK and between is not None:
            between()
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __len__(self) -> int:
        return len(self.inner)

    def __iter__(self) -> Iterator[Link]:
        return iter(self.inner)


@pytest.fixture(params=["memory", "sqlite"])
def paused(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UrlShortener]:
    inner = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "links.db")
    yield UrlShortener(PauseAfterRefusal(inner), clock=ManualClock(start=T0))
    inner.close()


@pytest.mark.parametrize("url", [OLD, NEW])
def test_an_alias_deleted_after_the_refused_insert_is_claimed(
    paused: UrlShortener, url: str
) -> None:
    """A retry of the request that holds the alias (same URL) and a request for another URL:
    the holder is gone by the time it is read, so neither is a clash."""
    assert paused.shorten(OLD, alias="promo") == "promo"
    paused.store.between = lambda: paused.delete("promo") and None  # type: ignore[attr-defined]
    assert paused.shorten(url, alias="promo") == "promo"
    assert [(link.code, link.url) for link in paused.links()] == [("promo", url)]


def test_an_alias_still_held_after_the_refused_insert_is_taken(paused: UrlShortener) -> None:
    assert paused.shorten(OLD, alias="promo") == "promo"

    def move() -> None:  # the alias is deleted and taken again by another URL
        paused.delete("promo")
        paused.shorten(OLD + "/moved", alias="promo")

    paused.store.between = move  # type: ignore[attr-defined]
    with pytest.raises(AliasTaken, match="another link"):
        paused.shorten(NEW, alias="promo")
    assert [(link.code, link.url) for link in paused.links()] == [("promo", OLD + "/moved")]
