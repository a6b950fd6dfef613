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
            width = int(match.group(2)) if match and match.group(2) else 0
            if not match or (match.group(1) == "RepresentationID" and match.group(2)):
                raise StreamingError(
                    f"{where}={shown(template, 60)}: ${name}$ is not filled in by this reader "
                    "(it takes $RepresentationID$, $Number$ and $Bandwidth$, the last two with "
                    "an optional %0<width>d, and $$; not $Time$)"
                )
            if width > MAX_WIDTH:
                raise StreamingError(
                    f"{where}={shown(template, 60)}: ${name}$ pads to {width} digits; at most "
                    f"MAX_WIDTH={MAX_WIDTH} are allowed"
                )
            parts.append((match.group(1), width))
        i = k + 1


def numbered(parts: list[Part]) -> bool:
    """Whether the template holds ``$Number$`` (so every segment gets its own URL)."""
    return any(isinstance(p, tuple) and p[0] == "Number" for p in parts)


def fill(parts: list[Part], representation: str, number: int, bandwidth_bps: int) -> str:
    """One segment's URL: every identifier of ``parts`` replaced by its value."""
    values = {"RepresentationID": representation, "Number": number, "Bandwidth": bandwidth_bps}
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        else:
            value = values[part[0]]
            out.append(str(value).zfill(part[1]) if part[1] else str(value))
    return "".join(out)
