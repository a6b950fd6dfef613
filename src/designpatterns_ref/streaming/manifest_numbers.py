"""The numbers of HLS and DASH manifests, read and written exactly: integers, decimals, durations.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

Numbers are read as RFC 8216 spells them: integers are ASCII digits up to 2**64 - 1 (no "²" or
"٣", which ``str.isdigit`` would let through), durations ASCII digits with an optional fraction.
An MPD's durations are ``xs:duration`` text (``PT1M30S``): :func:`format_iso_duration` writes
the shortest decimal that :func:`parse_iso_duration` reads back as the same float, and a DASH
segment duration is written as a whole number of ticks of a decimal timescale (1.0004 s is
10004 ticks of 1/10000 s, never rounded to 1.0 s), within the 32-bit ``xs:unsignedInt`` the
MPD schema gives both. What cannot be written exactly is refused, never rounded. The writers
and parsers that use them are in :mod:`~designpatterns_ref.streaming.manifests` (HLS writers),
:mod:`~designpatterns_ref.streaming.playlists` (HLS parsers) and
:mod:`~designpatterns_ref.streaming.dash` (the MPD); the first also exports the two public
functions here.

Complexity: O(digits) a number.

>>> format_iso_duration(90.5), parse_iso_duration("PT1M30.5S")
('PT1M30.5S', 90.5)
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import StreamingError, StreamingTypeError, check_number

__all__ = ["format_iso_duration", "parse_iso_duration"]

# RFC 8216's decimal-integer (0 to 2**64 - 1) and decimal-floating-point: ASCII digits only.
# str.isdigit() and int() also take "²" or "٣", and int() refuses more than 4,300 digits.
_INTEGER = re.compile(r"[0-9]{1,20}")
_DECIMAL = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?")
_MAX_INTEGER = 2**64 - 1
_MAX_UNSIGNED_INT = 2**32 - 1  # xs:unsignedInt: SegmentTemplate@timescale and @duration
_MAX_DECIMALS = 20  # fraction digits of a written duration (every float >= 1e-4 fits)


def _integer(value: str | None, where: str) -> int:
    """``value`` as a decimal integer of ASCII digits up to 2**64 - 1, else StreamingError."""
    if value is None or _INTEGER.fullmatch(value) is None or int(value) > _MAX_INTEGER:
        raise StreamingError(
            f"{where}={shown(value, 60)} must be a decimal integer (ASCII digits, 0 to 2**64 - 1)"
        )
    return int(value)


def _exact_decimal(name: str, seconds: float) -> Decimal:
    """The shortest decimal that reads back as ``seconds``, if it has at most 20 decimals."""
    exact = Decimal(repr(float(seconds))).normalize()
    exponent = exact.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: checked by the caller
    if -exponent > _MAX_DECIMALS:
        raise StreamingError(
            f"{name}={shown(seconds)} cannot be written exactly with at most {_MAX_DECIMALS} "
            "decimals"
        )
    return exact


def format_iso_duration(seconds: float) -> str:
    """``PT#H#M#S`` (xs:duration) for a number of seconds, read back as the same float.

    The seconds are the shortest decimal that :func:`parse_iso_duration` reads back as
    ``seconds`` exactly; a value that needs more than 20 decimals (below 1e-4 s with every
    digit of a float) is refused rather than rounded.
    """
    seconds = check_number("seconds", seconds)
    if not 0 <= seconds < 1e9:
        raise StreamingError(f"seconds={shown(seconds)} must be in [0, 1e9)")
    h, rest = divmod(_exact_decimal("seconds", seconds), 3600)
    m, s = divmod(rest, 60)
    out = "PT"
    if h:
        out += f"{int(h)}H"
    if m:
        out += f"{int(m)}M"
    return out + f"{s.normalize():f}" + "S"


def parse_iso_duration(text: str) -> float:
    """Seconds in a ``PnDTnHnMnS`` duration (days, hours, minutes, seconds).

    A ``T`` must be followed by a time part (xs:duration: ``P1DT`` is not a duration). The sum
    is exact, then rounded once to the nearest float.
    """
    if not isinstance(text, str):
        raise StreamingTypeError(f"text={shown(text, 60)} must be a str")
    n = r"[0-9]{1,15}"  # ASCII digits; 15 keep every part exact and the total finite
    f = rf"(?:\.[0-9]{{1,{_MAX_DECIMALS}}})?"
    m = re.fullmatch(rf"P(?:({n})D)?(?:T(?=[0-9])(?:({n})H)?(?:({n})M)?(?:({n}{f})S)?)?", text)
    if m is None or text == "P":
        raise StreamingError(
            f"duration {shown(text, 60)} is not an ISO 8601 duration like PT1M30S "
            f"(ASCII digits, at most 15 a number and {_MAX_DECIMALS} decimals, a time part "
            "after T)"
        )
    d, h, mi, sec = (Fraction(g) if g else Fraction(0) for g in m.groups())
    return float(d * 86400 + h * 3600 + mi * 60 + sec)


def _ticks(segment_duration_s: float) -> tuple[int, int]:
    """``(ticks, timescale)`` with ``ticks / timescale`` exactly the shortest decimal of the
    segment duration (milliseconds when they suffice), both within xs:unsignedInt."""
    exact = _exact_decimal("segment_duration_s", segment_duration_s)
    exponent = exact.as_tuple().exponent
    assert isinstance(exponent, int)
    decimals = max(0, -exponent)
    for digits in (max(3, decimals), decimals):  # a millisecond timescale when it fits
        ticks = int(exact.scaleb(digits))
        if digits <= 9 and ticks <= _MAX_UNSIGNED_INT:
            return ticks, 10**digits
    raise StreamingError(
        f"segment_duration_s={shown(segment_duration_s)} cannot be written exactly in a "
        f"SegmentTemplate: it needs a whole number of ticks of 1/10**9 s or coarser, at most "
        f"{_MAX_UNSIGNED_INT} of them (xs:unsignedInt)"
    )
