"""The clinical family's errors (kept apart so every module can raise them without a cycle).

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

Both are documented, imported and raised as :mod:`designpatterns_ref.clinical.base`'s, which is
where their ``__module__`` points (a traceback and a pickle name them there).

>>> issubclass(RulesetError, ValueError)
True
"""

from __future__ import annotations

from designpatterns_ref.errors import DesignPatternsError

__all__ = ["ClinicalError", "RulesetError"]


class ClinicalError(DesignPatternsError, ValueError):
    """Base class of the clinical family's errors."""

    __module__ = "designpatterns_ref.clinical.base"


class RulesetError(ClinicalError):
    """A ruleset's tables are inconsistent (a gap, an overlap, an unknown input)."""

    __module__ = "designpatterns_ref.clinical.base"
