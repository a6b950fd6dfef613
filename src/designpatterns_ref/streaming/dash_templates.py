"""DASH segment URL templates: the identifiers a ``SegmentTemplate@media`` may hold, filled in.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

ISO/IEC 23009-1 (5.3.9.4.4) spells a segment's URL from a template: ``$RepresentationID$``
becomes the representation's ``@id``, ``$Number$`` the segment's number, ``$Bandwidth$`` the
representation's ``@bandwidth``, ``$$`` a single ``$``; ``$Number$`` and ``$Bandwidth$`` may
carry a format tag ``%0<width>d`` (zero-padded to ``width`` digits). :func:`template_parts`
splits a template into literal text and identifiers, and refuses what this reader cannot fill
in: ``$Time$`` (it needs a ``SegmentTimeline``), any other name between two ``$``, a ``$``
without its closing one, a format tag on ``$RepresentationID$``, and a width above
:data:`MAX_WIDTH`. :func:`fill` spells one URL from the parts, so no ``$`` identifier is ever
left in a URL.

Complexity: O(template length) to split, O(URL length) to fill.

>>> parts = template_parts("media", "$RepresentationID$/$Number%03d$-$$.m4s")
>>> fill(parts, "v", 7, 800000)
'v/007-$.m4s'
"""

from __future__ import annotations

import re

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import StreamingError

__all__ = ["MAX_WIDTH", "fill", "numbered", "template_parts"]

#: The widest format tag taken (``$Number%020d$``): 20 digits hold any 64-bit number.
MAX_WIDTH = 20
_IDENTIFIER = re.compile(r"(RepresentationID|Number|Bandwidth)(?:%0([0-9]+)d)?")
# A part is literal text (a str) or an identifier with its zero-padded width (0: none).
Part = str | tuple[str, int]


def template_parts(where: str, template: str) -> list[Part]:
    """``template`` as literal text and ``(identifier, width)`` pairs, or a StreamingError."""
    if not isinstance(where, str) or not isinstance(template, str):
        raise StreamingError(
            f"template_parts: where={shown(where, 40)} and template={shown(template, 60)} "
            "must be str"
        )
    parts: list[Part] = []
    i = 0
    while True:
        j = template.find("$", i)
        if j < 0:
            parts.append(template[i:])
            return parts
        parts.append(template[i:j])
        k = template.find("$", j + 1)
        if k < 0:
            raise StreamingError(
                f"{where}={shown(template, 60)}: the '$' at {j} is not closed (write '$$' for "
                "a '$' in the URL)"
            )
        name = template[j + 1 : k]
        if not name:
            parts.append("$")
        else:
            match = _IDENTIFIER.fullmatch(name)
            digits = (match.group(2) or "").lstrip("0") if match else ""
            # (no int() of more digits than MAX_WIDTH has: it could be past int()'s limit)
            width = int(digits or 0) if len(digits) <= len(str(MAX_WIDTH)) else MAX_WIDTH + 1
            if not match or (match.group(1) == "RepresentationID" and match.group(2)):
                raise StreamingError(
                    f"{where}={shown(template, 60)}: ${name}$ is not filled in by this reader "
                    "(it takes $RepresentationID$, $Number$ and $Bandwidth$, the last two with "
                    "an optional %0<width>d, and $$; not $Time$)"
                )
            if width > MAX_WIDTH:
                said = digits if len(digits) <= 12 else f"{digits[:12]}..."
                raise StreamingError(
                    f"{where}={shown(template, 60)}: ${shown(name, 40)[1:-1]}$ pads to {said} "
                    f"digits; at most MAX_WIDTH={MAX_WIDTH} are allowed"
                )
            parts.append((match.group(1), width))
        i = k + 1


def _check_parts(where: str, parts: object) -> list[Part]:
    """``parts`` if it is what :func:`template_parts` returns, else a StreamingError."""
    if not isinstance(parts, list) or not all(
        isinstance(p, str)
        or (
            isinstance(p, tuple)
            and len(p) == 2
            and p[0] in ("RepresentationID", "Number", "Bandwidth")
            and type(p[1]) is int
            and 0 <= p[1] <= MAX_WIDTH
        )
        for p in parts
    ):
        raise StreamingError(f"{where}: parts={shown(parts, 80)} must come from template_parts")
    return parts


def numbered(parts: list[Part]) -> bool:
    """Whether the template holds ``$Number$`` (so every segment gets its own URL)."""
    return any(isinstance(p, tuple) and p[0] == "Number" for p in _check_parts("numbered", parts))


def fill(parts: list[Part], representation: str, number: int, bandwidth_bps: int) -> str:
    """One segment's URL: every identifier of ``parts`` replaced by its value."""
    _check_parts("fill", parts)
    if not isinstance(representation, str):
        raise StreamingError(f"fill: representation={shown(representation, 60)} must be a str")
    for name, given in (("number", number), ("bandwidth_bps", bandwidth_bps)):
        if type(given) is not int or given < 0:
            raise StreamingError(f"fill: {name}={shown(given, 60)} must be an int >= 0")
    values: dict[str, object] = {
        "RepresentationID": representation,
        "Number": number,
        "Bandwidth": bandwidth_bps,
    }
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        else:
            value = values[part[0]]
            out.append(str(value).zfill(part[1]) if part[1] else str(value))
    return "".join(out)
