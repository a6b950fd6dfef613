"""A notification says what was accepted: its text is rendered when it is accepted, in every
locale of its template, so replacing a template changes only notifications accepted after.

Oracle: the bodies rendered by hand from the texts the template held at accept time.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications import (
    Notification,
    Pipeline,
    QuietHours,
    SimulatedProvider,
    SQLiteQueue,
)


def _pipeline(accepted: Any = None, quiet: QuietHours | None = None) -> tuple[Pipeline, list]:
    clock = ManualClock(1_780_000_000.0)  # 2026-05-28 20:26:40 UTC
    seen: list[tuple[str, str]] = []
    providers = {
        ch: SimulatedProvider(ch, clock=clock, phone=lambda tok, body: seen.append((tok, body)))
        for ch in ("apns", "fcm", "email")
    }
    p = Pipeline(clock=clock, providers=providers, accepted=accepted, quiet=quiet)
    p.register_user("ada", locale="en")
    p.register_user("zoe", locale="fr")
    p.register_user("kai", locale="de")  # no German text: English
    for u in ("ada", "zoe", "kai"):
        p.add_device(u, "fcm", f"t-{u}")
    return p, seen


def test_a_template_replaced_after_accept_does_not_change_the_accepted_notification(
    tmp_path: Any,
) -> None:
    p, seen = _pipeline(SQLiteQueue(str(tmp_path / "q.db")))
    p.templates.add("ship", "order {id} shipped")
    p.templates.add("ship", "commande {id} expédiée", locale="fr")
    n = Notification("k1", "ship", users=("ada", "zoe", "kai"), vars={"id": "7"},
                     channels=("fcm",))  # fmt: skip
    assert p.accept(n) is True
    # replaced, with a field k1 does not fill: rendering at delivery time failed the expand
    p.templates.add("ship", "order {id} left {warehouse}")
    p.templates.add("ship", "nouvelle commande", locale="fr")
    p.templates.add("ship", "Bestellung {id}", locale="de")
    p.run()
    assert sorted(seen) == [
        ("t-ada", "order 7 shipped"),
        ("t-kai", "order 7 shipped"),
        ("t-zoe", "commande 7 expédiée"),
    ]


def test_a_deferred_notification_keeps_the_text_it_was_accepted_with() -> None:
    p, seen = _pipeline(quiet=QuietHours("20:00", "07:00"))  # 20:26 UTC: quiet for everyone
    p.templates.add("news", "hello {who}")
    p.accept(Notification("k1", "news", users=("ada",), vars={"who": "Ada"}, channels=("fcm",)))
    p.step()  # deferred to 07:00
    p.templates.add("news", "goodbye {who}")
    p.run()
    assert seen == [("t-ada", "hello Ada")]


@settings(max_examples=30, deadline=None)
@given(
    before=st.dictionaries(st.sampled_from(["fr", "de"]), st.sampled_from(["A {x}", "B", "{x}"])),
    en=st.sampled_from(["en {x}", "EN"]),
    after=st.dictionaries(st.sampled_from(["en", "fr", "de"]), st.sampled_from(["C {y}", "D"])),
    x=st.sampled_from(["1", ""]),  # "{x}" with "" is an empty text, still the locale's
)
def test_bodies_are_those_of_the_texts_held_at_accept(
    before: dict[str, str], en: str, after: dict[str, str], x: str
) -> None:
    p, seen = _pipeline()
    p.templates.add("t", en)
    for loc, text in before.items():
        p.templates.add("t", text, locale=loc)
    texts = {"en": en, **before}  # the oracle: what the template held at accept
    p.accept(Notification("k", "t", users=("ada", "zoe", "kai"), vars={"x": x},
                          channels=("fcm",)))  # fmt: skip
    for loc, text in after.items():
        p.templates.add("t", text, locale=loc)
    p.run()
    locale = {"t-ada": "en", "t-zoe": "fr", "t-kai": "de"}
    expected = sorted((tok, texts.get(loc, texts["en"]).format(x=x)) for tok, loc in locale.items())
    assert sorted(seen) == expected
