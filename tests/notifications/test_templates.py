"""Templates: the fields a template needs are those of the texts it holds now."""

from __future__ import annotations

import string

from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications import Notification, Pipeline, Templates

FIELDS = ["name", "city", "id"]
text = st.lists(
    st.one_of(st.sampled_from(["Hi ", "x", " to "]), st.sampled_from(FIELDS).map("{{{}}}".format)),
    min_size=1,
    max_size=4,
).map("".join)
adds = st.lists(st.tuples(st.sampled_from(["en", "de", "fr"]), text), min_size=1, max_size=8)


def oracle(texts: dict[str, str]) -> set[str]:
    """Every field any held text names (parsed afresh: the brute force)."""
    return {f for t in texts.values() for _, f, _, _ in string.Formatter().parse(t) if f}


@settings(max_examples=60, deadline=None)
@given(adds=adds)
@example(adds=[("en", "Hello {name}"), ("en", "Hello there")])  # an awkward case
@example(adds=[("en", "{id}"), ("de", "{city}"), ("de", "x")])
def test_fields_follow_the_texts_held_now(adds: list[tuple[str, str]]) -> None:
    t = Templates()
    held: dict[str, str] = {}
    for locale, body in [("en", adds[0][1]), *adds]:
        t.add("hi", body, locale=locale)
        held[locale] = body
        assert t.fields("hi") == oracle(held)
        assert t.missing("hi", {}) == oracle(held)
    for locale in held:  # every text renders with exactly the fields asked for
        t.render("hi", dict.fromkeys(t.fields("hi"), "v"), locale)


def test_accept_takes_a_notification_once_a_replaced_text_dropped_its_field() -> None:
    p = Pipeline(clock=ManualClock(1_780_000_000.0))
    p.templates.add("hi", "Hello {name}")
    p.templates.add("hi", "Hello there")
    p.register_user("ada")
    p.add_device("ada", "fcm", "tok")
    assert p.accept(Notification("k1", "hi", users=("ada",), channels=("fcm",)))
    p.run()
    assert p.counts["delivered"] == 1
