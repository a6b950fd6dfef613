"""The case-study catalog: every system-design case study the library teaches.

Each :class:`CaseStudy` names its slug, title, the one-line problem, the decision at its heart,
the concept it teaches, the family and modules that implement it, whether it is built yet
(``status``), its docs page and its primary sources (the company's own engineering write-up or
the paper, where one exists).

The entries live in three modules of this package (``_classic``, ``_engineering``,
``_platforms``), read on first use.

>>> from designpatterns_ref.catalog import case_study, catalog
>>> case_study("news-feed").family
'feed'
>>> sum(1 for c in catalog() if c.slug.startswith("design")) == 0
True
>>> case_study("rate-limitr")
Traceback (most recent call last):
...
designpatterns_ref.catalog.UnknownCaseStudy: unknown case study 'rate-limitr'; ...
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from designpatterns_ref.errors import NotFound

__all__ = [
    "FAMILY_USES",
    "CaseStudy",
    "Source",
    "Status",
    "UnknownCaseStudy",
    "case_study",
    "catalog",
    "family_uses",
]

TYPE_CHECKING = False  # typing stays unimported: `import designpatterns_ref` loads this module
if TYPE_CHECKING:
    from typing import Literal

    Status = Literal["implemented", "planned"]
else:
    Status = str  # at run time only a name: "implemented" or "planned"


class UnknownCaseStudy(NotFound, KeyError):
    """No case study has that slug; the message lists the close matches."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class Source:
    """A primary source: an engineering write-up, a paper or a standard."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class CaseStudy:
    """One case study: what problem it poses, what it decides, and where the code is."""

    slug: str
    title: str
    problem: str
    decision: str
    concept: str
    family: str
    modules: tuple[str, ...] = ()
    status: Status = "planned"
    sources: tuple[Source, ...] = ()

    @property
    def docs_page(self) -> str:
        """The case study's page, relative to the repository root."""
        return f"docs/case-studies/{self.slug}.md"


_P = "designpatterns_ref."


def _mods(family: str, names: list[str]) -> tuple[str, ...]:
    """The family's package, then its modules ``names``, as importable names."""
    return (_P + family, *(f"{_P}{family}.{name}" for name in names))


#: The families a family uses, through their public packages only (``from
#: designpatterns_ref.geo import GeohashIndex``, never a private module). Everything else is
#: independent: the package tests and the boundaries contract in ``pyproject.toml`` enforce it.
FAMILY_USES: dict[str, tuple[str, ...]] = {
    "booking": ("geo",),  # search by distance through the ride-sharing family's geohash index
    "notifications": ("ratelimit",),  # frequency caps and provider rate limits are its limiters
}


def family_uses(family: str) -> tuple[str, ...]:
    """The families ``family`` may use (by their public packages), often none.

    >>> family_uses("booking"), family_uses("geo")
    (('geo',), ())
    """
    return FAMILY_USES.get(family, ())


@functools.cache
def _studies() -> tuple[tuple[CaseStudy, ...], dict[str, CaseStudy]]:
    """The whole catalog and its index by slug, built on first use from the three parts."""
    from designpatterns_ref.catalog import _classic, _engineering, _platforms

    studies = (*_classic.STUDIES, *_engineering.STUDIES, *_platforms.STUDIES)
    return studies, {c.slug: c for c in studies}


def catalog() -> tuple[CaseStudy, ...]:
    """Every case study, in the order of the design handbook."""
    return _studies()[0]


def case_study(slug: str) -> CaseStudy:
    """The case study with this slug; an unknown slug raises with the close matches."""
    try:
        return _studies()[1][slug]
    except (KeyError, TypeError):
        pass
    close = _close_matches(str(slug))
    raise UnknownCaseStudy(f"unknown case study {slug!r}; did you mean: {', '.join(close)}?")


def _close_matches(text: str, n: int = 3) -> list[str]:
    """The slugs most like ``text``: those containing it first, then by similarity."""
    slugs = list(_studies()[1])
    contains = [s for s in slugs if text and text.lower() in s]
    import difflib  # only for a mistyped slug: kept off the import path

    ranked = sorted(slugs, key=lambda s: -difflib.SequenceMatcher(None, text.lower(), s).ratio())
    out: list[str] = []
    for s in contains + ranked:
        if s not in out:
            out.append(s)
    return out[:n]
