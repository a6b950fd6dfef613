"""Geohash neighbours: the eight cells around a code, without splitting its bits apart.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

Columns wrap across the antimeridian; rows stop at the poles, so a cell in the top or bottom row
has 5 neighbours and every other cell 8, in the order n, ne, e, se, s, sw, w, nw.

The bits are never split into a row and a column. In the code's byte layout (one character value
per byte) the longitude bits and the latitude bits each sit under a fixed mask, and a masked
("dilated") integer can be stepped in place: ``((v | ~mask) + lowest) & mask`` adds one column or
row, carrying across the gaps, and ``(v - lowest) & mask`` subtracts one; both wrap around, which
is what columns do at the antimeridian. Four such steps give the north and south rows and the east
and west columns; six multiplications by constants copy them into the eight slots of one integer,
which one ``to_bytes``, ``translate``, ``decode`` and ``split`` cut into the eight codes. Most
codes do not even need that: when all eight neighbours differ from the code only in its last two
characters (900 of every 1,024 cells), a table gives those characters and one ``join`` and one
``split`` make the codes.

The trade-off: the tail tables (about 1.6 MB with ``decode``'s pair tables) are built on the first
call (about 60 ms), so importing the module does not pay for them.

Complexity: O(1) per call, either path.

>>> neighbors("u4pru")
['u4r2h', 'u4r2j', 'u4prv', 'u4prt', 'u4prs', 'u4pre', 'u4prg', 'u4r25']
>>> neighbor("zzzzz", "e")  # across the antimeridian
'bpbpb'
"""

from __future__ import annotations

from designpatterns_ref.errors import shown
from designpatterns_ref.geo.base import GeoError
from designpatterns_ref.geo.geohash_codec import (
    _AXIS_BITS,
    _BITS,
    _MAXQ,
    _TO_ASCII,
    BASE32,
    DIRECTIONS,
    _bad_code,
    _code30,
    _parse,
)

__all__ = ["neighbor", "neighbors"]

# Geohash characters -> their 5-bit values; any other byte -> 255, whose top 3 bits give it away.
_TO_VALUE = bytes(BASE32.index(chr(c)) if chr(c) in BASE32 else 255 for c in range(256))
_NOT_VALUES = int.from_bytes(b"\xe0" * 12, "big")


def _dilated(n: int) -> tuple[int, int, int, int, int, int]:
    """For a code of ``n`` characters read as an integer of ``n`` bytes, one character value per
    byte (character i in byte n - 1 - i): the longitude mask, its complement and its lowest bit,
    then the same for latitude. Character i holds lon, lat, lon, lat, lon from its top bit when i
    is even (its first bit is stream bit 5i), and lat, lon, lat, lon, lat when i is odd."""
    lon = lat = 0
    for i in range(n):
        shift = 8 * (n - 1 - i)
        lon |= (0b10101 if i % 2 == 0 else 0b01010) << shift
        lat |= (0b01010 if i % 2 == 0 else 0b10101) << shift
    return lon, ~lon, lon & -lon, lat, ~lat, lat & -lat


def _slots(n: int, rows: tuple[int, ...]) -> tuple[int, ...]:
    """How :func:`neighbors` lays out its codes of ``n`` characters: one slot of n + 1 bytes per
    direction whose row step is in ``rows`` (in :data:`DIRECTIONS` order, the first slot highest),
    the code in the slot's top n bytes and a space (32) in its last byte. Returns six multipliers
    (for the north, same and south rows, then the same, east and west columns) that copy each
    value into the slots that use it, the spaces, and the total size in bytes."""
    steps = [step for step in DIRECTIONS.values() if step[0] in rows]
    weights = [0] * 6
    spaces = 0
    for j, (d_row, d_col) in enumerate(reversed(steps)):
        shift = 8 * (n + 1) * j
        weights[(1, 0, -1).index(d_row)] += 1 << (shift + 8)
        weights[3 + (0, 1, -1).index(d_col)] += 1 << (shift + 8)
        spaces |= 32 << shift
    return (*weights, spaces, len(steps) * (n + 1))


# Per precision: the masks, then the layouts for an inner row, the top row and the bottom row.
_NEIGHBOURS = [
    (*_dilated(n), (_slots(n, (1, 0, -1)), _slots(n, (0, -1)), _slots(n, (1, 0))))
    for n in range(13)
]


def _around(code: str) -> list[str]:
    """:func:`neighbors` for any code: dilated steps on the byte layout (module docstring)."""
    if type(code) is not str or not 1 <= len(code) <= 12:
        raise _bad_code(code)
    try:
        v = int.from_bytes(code.encode("ascii").translate(_TO_VALUE), "big")
    except UnicodeEncodeError:
        raise _bad_code(code) from None
    if v & _NOT_VALUES:
        raise _bad_code(code)
    lon, lon_rest, lon_one, lat, lat_rest, lat_one, layouts = _NEIGHBOURS[len(code)]
    x, y = v & lon, v & lat
    east, west = ((v | lon_rest) + lon_one) & lon, (x - lon_one) & lon  # wrap around the world
    north, south = ((v | lat_rest) + lat_one) & lat, (y - lat_one) & lat
    layout = layouts[1 if y == lat else 2 if y == 0 else 0]  # the top or bottom row: 5 slots
    k_north, k_row, k_south, k_col, k_east, k_west, spaces, size = layout
    packed = (
        north * k_north + y * k_row + south * k_south + x * k_col + east * k_east + west * k_west
    )
    return (packed + spaces).to_bytes(size, "big").translate(_TO_ASCII).decode().split()


def _tails(prefix: str) -> dict[str, tuple[str, ...]]:
    """For codes as long as ``prefix`` plus two, or longer by a multiple of two: each last pair
    of characters whose eight neighbours all lie in the same 32 x 32 block (they differ from the
    code only in that pair) -> the parts ``neighbors`` joins with the rest of the code, a space
    after each neighbour's pair: ``("", "t1 ", ..., "t7 ", "t8")``.

    The block of a pair depends only on where the pair starts (an even or an odd bit), so one
    prefix away from the poles and the antimeridian stands for all codes of that parity."""
    table = {}
    for first in BASE32:
        for second in BASE32:
            around = _around(prefix + first + second)
            if all(c[: len(prefix)] == prefix for c in around):
                *tails, last = (c[len(prefix) :] for c in around)
                table[first + second] = ("", *(t + " " for t in tails), last)
    return table


#: By the parity of the code's length; built on the first call of :func:`neighbors` (about
#: 60 ms), so importing the module does not pay for it.
_TAILS: tuple[dict[str, tuple[str, ...]], ...] = ()


def _build_tails() -> tuple[dict[str, tuple[str, ...]], ...]:
    global _TAILS
    _TAILS = (_tails("s0"), _tails("s"))
    return _TAILS


def neighbors(code: str) -> list[str]:
    """The cells around ``code`` in the order n, ne, e, se, s, sw, w, nw.

    Columns wrap across the antimeridian; rows stop at the poles, so a cell in the top or bottom
    row has 5 neighbours, every other cell 8.

    The last two characters hold 5 bits of each axis, a 32 x 32 block; for 900 of its 1,024
    cells all eight neighbours lie in the block, so they share the rest of the code and a table
    gives their last two characters: one ``join`` and one ``split`` make the eight codes. Cells on
    the block's edge (and codes of one character) take the general path, dilated steps on the
    whole code (see the module docstring). O(1) either way.

    >>> neighbors("b")  # the top row: no cell north of it
    ['c', '9', '8', 'x', 'z']
    >>> len(neighbors("u")), len(neighbors("0"))
    (5, 5)
    """
    if type(code) is str and 2 <= len(code) <= 12:
        parts = (_TAILS or _build_tails())[len(code) & 1].get(code[-2:])
        rest = code[:-2]
        if parts is not None and not rest.strip(BASE32):  # left over: a non-geohash character
            return rest.join(parts).split()
    return _around(code)


def neighbor(code: str, direction: str) -> str | None:
    """The adjacent cell in ``direction`` (n, ne, e, se, s, sw, w, nw); None past a pole.

    >>> neighbor("ezs42", "e")
    'ezs43'
    >>> neighbor("zzzzz", "e")  # wraps across the antimeridian
    'bpbpb'
    >>> neighbor("zzzzz", "n") is None
    True
    """
    if not isinstance(direction, str) or direction not in DIRECTIONS:
        raise GeoError(f"direction={shown(direction)} must be one of {', '.join(DIRECTIONS)}")
    y, x, n = _parse(code)
    lat_bits, lon_bits = _AXIS_BITS[n]
    d_row, d_col = DIRECTIONS[direction]
    row = y + d_row * (1 << (_BITS - lat_bits))
    if not 0 <= row <= _MAXQ:
        return None
    col = (x + d_col * (1 << (_BITS - lon_bits))) & _MAXQ
    return _code30(row, col)[:n]
