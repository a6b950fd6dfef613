"""Ints too long to print (over 4,300 digits) at entry points the fuzz registrations do not
reach: each call gets its family's error naming the argument with ``errors.shown``'s stand-in,
never the bare ``ValueError`` that ``repr`` raises for such an int."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from designpatterns_ref import benchkit
from designpatterns_ref.autocomplete import AutocompleteError
from designpatterns_ref.autocomplete import plot as autocomplete_plot
from designpatterns_ref.catalog import UnknownCaseStudy, case_study
from designpatterns_ref.collab import CollabError
from designpatterns_ref.collab import plot as collab_plot
from designpatterns_ref.feed import FeedError
from designpatterns_ref.feed import plot as feed_plot
from designpatterns_ref.feed.graphs import power_law
from designpatterns_ref.geo import GeoError
from designpatterns_ref.geo.geohash_int import from_int, redis_decode
from designpatterns_ref.messaging import MessagingError
from designpatterns_ref.messaging.gclab import percentile
from designpatterns_ref.notifications import NotificationError
from designpatterns_ref.notifications.pipeline import Pipeline
from designpatterns_ref.notifications.providers import default_providers
from designpatterns_ref.sharding import ShardingError
from designpatterns_ref.sharding.jump import JumpPlacement
from designpatterns_ref.sharding.schema import generate_blocks, run_schema_lesson
from designpatterns_ref.shortcode import ShortCodeError
from designpatterns_ref.shortcode import plot as shortcode_plot

HUGE = 10**5000

CASES: dict[str, tuple[Callable[[], object], type[Exception], str]] = {
    "benchkit.percentile(q)": (lambda: benchkit.percentile([1.0], HUGE), ValueError, "q="),
    "geohash_int.from_int(value)": (lambda: from_int(HUGE, 5), GeoError, "value="),
    "geohash_int.from_int([value])": (lambda: from_int([HUGE], 5), GeoError, "value="),
    "geohash_int.redis_decode(score)": (lambda: redis_decode(-HUGE), GeoError, "score="),
    "geohash_int.redis_decode([score])": (lambda: redis_decode([HUGE]), GeoError, "score="),
    "autocomplete.plot_trie(k)": (
        lambda: autocomplete_plot.plot_trie([("a", 1)], k=HUGE),
        AutocompleteError,
        "k must be",
    ),
    "feed.plot_fanout(threshold)": (
        lambda: feed_plot.plot_fanout(power_law(20, seed=1), threshold=HUGE),
        FeedError,
        "threshold must be",
    ),
    "shortcode.plot_birthday(trials)": (
        lambda: shortcode_plot.plot_birthday(trials=-HUGE),
        ShortCodeError,
        "trials must be",
    ),
    "collab.plot_items(points)": (
        lambda: collab_plot.plot_items([(0, 0, "a")], points=HUGE),
        CollabError,
        "points must be",
    ),
    "gclab.percentile(q)": (lambda: percentile([1], HUGE), MessagingError, "q="),
    "default_providers(seed)": (lambda: default_providers(seed=HUGE), NotificationError, "seed="),
    "Pipeline(caps={huge: 1})": (lambda: Pipeline(caps={HUGE: 1}), NotificationError, "channel="),
    "JumpPlacement.remove(name)": (
        lambda: JumpPlacement(["a", "b"]).remove(HUGE),  # type: ignore[arg-type]
        ShardingError,
        "shard=",
    ),
    "run_schema_lesson(engine)": (
        lambda: run_schema_lesson(generate_blocks(10, workspaces=2), engine=HUGE),  # type: ignore[arg-type]
        ShardingError,
        "engine=",
    ),
    "catalog.case_study(slug)": (
        lambda: case_study(HUGE),  # type: ignore[arg-type]
        UnknownCaseStudy,
        "unknown case study",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_huge_int_gets_the_family_error_naming_it(name: str) -> None:
    call, error, says = CASES[name]
    with pytest.raises(error, match=says) as caught:
        call()
    assert "digits>" in str(caught.value)  # the stand-in: the int itself cannot be printed
