"""A provider refuses a body that is not valid UTF-8 the same way at every length."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications import NotificationError, SimulatedProvider


def _encodable(text: str) -> bool:
    """UTF-8 holds every code point but the surrogates, which only come in pairs in UTF-16."""
    return not any(0xD800 <= ord(char) <= 0xDFFF for char in text)


@settings(max_examples=60, deadline=None)
@given(
    channel=st.sampled_from(["apns", "fcm", "email"]),
    body=st.one_of(
        st.text(max_size=20),
        st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=3), st.integers(1, 3000)),
    ),
)
@example(channel="apns", body="\ud800")  # a lone surrogate: short and long
@example(channel="apns", body="\ud800" * 1100)
@example(channel="fcm", body="ok \udfff")
def test_a_body_with_a_lone_surrogate_is_refused_at_any_length(channel: str, body: str) -> None:
    p = SimulatedProvider(channel, rate=1000, clock=ManualClock(), seed=1)
    before = (p.sent, p._rng.getstate())
    if _encodable(body):
        outcome = p.attempt("tok", body)
        size = len(body.encode("utf-8"))
        assert outcome == ("too-large" if size > p.payload_limit else "ok")
    else:
        with pytest.raises(NotificationError, match="UTF-8"):
            p.attempt("tok", body)
        assert (p.sent, p._rng.getstate()) == before
