"""The result of one score: a read-only value object with lazily built mappings.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

:class:`ScoreResult` is what every engine returns: the total, each parameter's points, the red
score, the risk band with its monitoring and response, the quantised inputs echoed back, and
for a partial result what is missing. :class:`ResultShape` tells a compact result from the
compiled fast path how its tuples read back as mappings (see the class's note on the trade-off).

>>> r = ScoreResult("news2", 0, {"pulse": 0}, False, Risk.LOW, "12-hourly", (), {"pulse": 70})
>>> r.as_dict()["risk"], r.total
('low', 0)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from designpatterns_ref.clinical.base import Caution, Risk

__all__ = ["ResultShape", "ScoreResult"]


class ResultShape(NamedTuple):
    """How a ruleset's compact result reads back as mappings (see :class:`ScoreResult`).

    ``parameters`` names the sub-scores in rule order, ``inputs`` the echoed values in input
    order, and ``scales`` gives, for each input read at a resolution other than 1, that
    resolution as ``(input, numerator, denominator)`` in lowest terms (temperature:
    ``("temperature", 1, 10)``), so that 384 steps echo as 384 × 1 / 10 = 38.4. A whole
    resolution (denominator 1) echoes an int: 48 steps of 2 are 96.

    ``scales`` replaced ``divisors`` (``(input, steps per unit)`` pairs, which could only say
    a resolution of 1/n); :attr:`divisors` is kept, read-only, for compatibility.

    >>> shape = ResultShape(("temperature",), ("temperature",), (("temperature", 1, 10),))
    >>> shape.divisors
    (('temperature', 10),)
    """

    parameters: tuple[str, ...]
    inputs: tuple[str, ...]
    scales: tuple[tuple[str, int, int], ...]

    @property
    def divisors(self) -> tuple[tuple[str, int], ...]:
        """Kept for compatibility: ``(input, steps per unit)`` for each input read to a
        resolution of 1/n (temperature: 10), as :attr:`scales` gave before it said any
        resolution. An input read to another resolution (0.3, 2) has no such pair and is left
        out: read :attr:`scales` for those."""
        return tuple((name, den) for name, num, den in self.scales if num == 1 and den != 1)


_FIELDS = (
    "ruleset", "total", "subscores", "red_score", "risk", "monitoring", "response", "values",
    "partial", "missing", "cautions", "threshold",
)  # fmt: skip


class ScoreResult:
    """The outcome of scoring one set of vital signs: a read-only value object.

    ``values`` echoes the inputs after quantising to the chart's resolution (so ``38.05``
    comes back as ``38.1``); ``subscores`` gives each parameter's points; ``red_score`` says
    whether any single parameter scored 3. A partial result (``partial=True``) lists what is
    ``missing`` and carries no risk, monitoring, response or threshold; its ``total`` is the
    sum over the parameters present, a lower bound on the full total.

    Lazy mappings: most callers read the total and the risk and never look at the sub-scores,
    yet two dicts cost as much to build as the whole band lookup. So a result from the
    compiled fast path (:mod:`.compiled`) keeps ``subscores`` and ``values`` as plain tuples
    in chart order, with a :class:`ResultShape` naming their entries, and builds each mapping
    on first access (then keeps it). The trade-off is a few hundred nanoseconds on the first
    read of a mapping, in exchange for about a microsecond off every score. Building the
    mapping is O(p); two threads reading it at once may both build it, and get equal ones.

    Every field is read-only: the properties cannot be set, and ``subscores`` and ``values``
    are read-only views (:class:`types.MappingProxyType`) of mappings the result owns (the
    constructor copies what it is given: the mappings into new dicts, ``response``, ``missing``
    and ``cautions`` into tuples), so no caller can change a result another caller
    sees. Two results are equal when every field is, however each was built (``subscores``
    and ``values`` compare as mappings). Results are not hashable, since their mappings are
    not; they pickle and copy by their fields.

    >>> r = ScoreResult("news2", 1, {"pulse": 1}, False, None, None, (), {"pulse": 95},
    ...                 partial=True, missing=("spo2",))
    >>> r.total, r.subscores["pulse"], r.partial, r.risk
    (1, 1, True, None)
    >>> r == ScoreResult("news2", 1, {"pulse": 1}, False, None, None, (), {"pulse": 95},
    ...                  True, ("spo2",))
    True
    """

    __slots__ = (
        "_cautions",
        "_missing",
        "_monitoring",
        "_partial",
        "_red_score",
        "_response",
        "_risk",
        "_ruleset",
        "_shape",
        "_subscores",
        "_threshold",
        "_total",
        "_values",
    )

    _ruleset: str
    _total: int
    _subscores: Mapping[str, int] | tuple[int, ...]
    _red_score: bool
    _risk: Risk | None
    _monitoring: str | None
    _response: tuple[str, ...]
    _values: Mapping[str, object] | tuple[object, ...]
    _partial: bool
    _missing: tuple[str, ...]
    _cautions: tuple[Caution, ...]
    _threshold: str | None
    _shape: ResultShape | None

    def __init__(
        self, ruleset: str, total: int, subscores: Mapping[str, int], red_score: bool,
        risk: Risk | None, monitoring: str | None, response: tuple[str, ...],
        values: Mapping[str, object], partial: bool = False, missing: tuple[str, ...] = (),
        cautions: tuple[Caution, ...] = (), threshold: str | None = None,
    ) -> None:  # fmt: skip
        self._ruleset, self._total, self._red_score = ruleset, total, red_score
        self._subscores = MappingProxyType(dict(subscores))
        self._values, self._shape = MappingProxyType(dict(values)), None
        self._risk, self._monitoring, self._response = risk, monitoring, tuple(response)
        self._partial, self._missing, self._cautions = partial, tuple(missing), tuple(cautions)
        self._threshold = threshold

    @property
    def ruleset(self) -> str:
        """The name of the ruleset that scored this result."""
        return self._ruleset

    @property
    def total(self) -> int:
        """The sum of the sub-scores (over the parameters present, if partial)."""
        return self._total

    @property
    def subscores(self) -> Mapping[str, int]:
        """Each parameter's points, in chart order (a read-only mapping)."""
        subscores = self._subscores
        if type(subscores) is tuple:
            assert self._shape is not None
            subscores = self._subscores = MappingProxyType(
                dict(zip(self._shape.parameters, subscores, strict=True))
            )
        return subscores  # type: ignore[return-value]

    @property
    def red_score(self) -> bool:
        """Whether any single parameter scored 3."""
        return self._red_score

    @property
    def risk(self) -> Risk | None:
        """The clinical risk category (``None`` when partial)."""
        return self._risk

    @property
    def monitoring(self) -> str | None:
        """The minimum monitoring frequency (``None`` when partial)."""
        return self._monitoring

    @property
    def response(self) -> tuple[str, ...]:
        """The clinical response, step by step (empty when partial)."""
        return self._response

    @property
    def values(self) -> Mapping[str, object]:
        """Every input present, as scored: quantised to the chart's resolution (a read-only
        mapping)."""
        values = self._values
        if type(values) is tuple:
            assert self._shape is not None
            echo = dict(zip(self._shape.inputs, values, strict=True))
            for name, numerator, denominator in self._shape.scales:  # 384 steps of 0.1: 38.4
                n = echo[name] * numerator  # type: ignore[operator]
                echo[name] = n if denominator == 1 else n / denominator
            values = self._values = MappingProxyType(echo)
        return values  # type: ignore[return-value]

    @property
    def partial(self) -> bool:
        """Whether parameters were missing (and partial scoring was asked for)."""
        return self._partial

    @property
    def missing(self) -> tuple[str, ...]:
        """The inputs that were missing, in chart order."""
        return self._missing

    @property
    def cautions(self) -> tuple[Caution, ...]:
        """Values scored but extreme enough to re-check."""
        return self._cautions

    @property
    def threshold(self) -> str | None:
        """The name of the trigger row that applied (``None`` when partial)."""
        return self._threshold

    @property
    def warnings(self) -> tuple[Caution, ...]:
        """The same as :attr:`cautions`: values scored but extreme enough to re-check."""
        return self._cautions

    @property
    def single_parameter_3(self) -> bool:
        """Whether any single parameter scored 3 (the chart's red score)."""
        return self._red_score

    def _key(self) -> tuple[object, ...]:
        """Every field, the mappings as plain dicts (which print, pickle and compare)."""
        return tuple(
            dict(v) if isinstance(v, MappingProxyType) else v
            for v in (getattr(self, name) for name in _FIELDS)
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScoreResult):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={v!r}" for n, v in zip(_FIELDS, self._key(), strict=True))
        return f"ScoreResult({shown})"

    def __reduce__(self) -> tuple[type[ScoreResult], tuple[object, ...]]:
        return ScoreResult, self._key()

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view of the result, as the HTTP API returns it."""
        return {
            "ruleset": self._ruleset,
            "total": self._total,
            "subscores": dict(self.subscores),
            "red_score": self._red_score,
            "risk": None if self._risk is None else self._risk.value,
            "threshold": self._threshold,
            "monitoring": self._monitoring,
            "response": list(self._response),
            "values": {
                k: (v.value if isinstance(v, enum.Enum) else v) for k, v in self.values.items()
            },
            "partial": self._partial,
            "missing": list(self._missing),
            "cautions": [{"field": c.field, "message": c.message} for c in self._cautions],
        }
