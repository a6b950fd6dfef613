"""UTF-16 offsets against a plain reference: encode the prefix (lone surrogates passed through)
and count its code units, as a UTF-16 peer (JavaScript) counts them."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from designpatterns_ref.collab import CollabError, from_utf16, to_utf16

# ASCII, a BMP letter, astral characters and lone surrogates, high and low, so that generated
# strings put a lone high surrogate right before a lone low one (UTF-16 fuses those two units)
ALPHABET = st.sampled_from(["a", "é", "📊", "😀", "\ud83d", "\ude00", "\ud800", "\udfff"])
TEXTS = st.lists(ALPHABET, max_size=12).map("".join)


def units(text: str) -> int:
    """The reference: UTF-16 code units of ``text``, lone surrogates one unit each."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def reference_from(text: str, offset: int) -> int | None:
    """The code point position whose prefix is ``offset`` units long (None: inside a
    character Python holds as one code point, an astral one)."""
    for pos in range(len(text) + 1):
        if units(text[:pos]) == offset:
            return pos
    return None


@given(text=TEXTS)
@example(text="\ud83d\ude00")  # two lone surrogates that UTF-16 reads as one pair
@example(text="a\ud83d\ude00\ud83d")
@example(text="\ud83d\ude00😀")
def test_both_directions_match_the_reference(text: str) -> None:
    for pos in range(len(text) + 1):
        assert to_utf16(text, pos) == units(text[:pos])
        assert from_utf16(text, to_utf16(text, pos)) == pos  # the inverse agrees
    for offset in range(units(text) + 1):
        expected = reference_from(text, offset)
        if expected is None:
            with pytest.raises(CollabError, match="inside the surrogate pair"):
                from_utf16(text, offset)
        else:
            assert from_utf16(text, offset) == expected
            assert to_utf16(text, expected) == offset


def test_two_lone_surrogates_count_as_two_units() -> None:
    text = "\ud83d\ude00!"  # a JavaScript peer sees the same three units: 😀 and !
    assert [from_utf16(text, u) for u in range(4)] == [0, 1, 2, 3]
    assert [to_utf16(text, p) for p in range(4)] == [0, 1, 2, 3]
