"""The vital signs as sent and as judged: the observations, and what is wrong with them.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

The caller's side of a score: :class:`Vitals` holds one set of bedside observations (level of
consciousness on the :class:`ACVPU` scale), and the engine answers any request it cannot
score with a :class:`VitalsError` listing every :class:`Problem` at once (the field, the value,
what is wrong and what is allowed); a value it scores but finds extreme gets a
:class:`Caution` in the result. The rule tables that judge them are in
:mod:`designpatterns_ref.clinical.base`.

Every name here is part of :mod:`designpatterns_ref.clinical.base` (import them from there),
which is where their ``__module__`` points (a traceback and a pickle name them there); they
live in this module so that ``base`` holds the rule tables alone.

>>> err = VitalsError([Problem("spo2", None, "required (or ask for partial scoring)", "0 to 100")])
>>> err.fields, type(err).__module__
(('spo2',), 'designpatterns_ref.clinical.base')
>>> print(Caution("pulse", 250, "extreme but possible"))
pulse=250: extreme but possible
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from designpatterns_ref.clinical._errors import ClinicalError
from designpatterns_ref.errors import shown

__all__ = ["ACVPU", "Caution", "Problem", "Vitals", "VitalsError"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one field of a request: never scored, always reported."""

    __module__ = "designpatterns_ref.clinical.base"  # where it was defined first: pickles

    field: str
    value: object
    message: str
    allowed: str

    def __str__(self) -> str:
        value = self.value
        text = (
            "(missing)"
            if value is None
            else str(value)
            if isinstance(value, Decimal)
            else shown(value)
        )
        field = self.field if isinstance(self.field, str) else shown(self.field)  # a raw key
        return f"{field}={text}: {self.message}; allowed: {self.allowed}"

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view (the value is echoed only if it is JSON-safe)."""
        value = self.value
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, float) and not math.isfinite(value):
            value = repr(value)  # JSON has no NaN or infinity
        elif isinstance(value, int) and int.bit_length(value) > 14_000:
            value = shown(value)  # past 4,300 digits (14,284 bits) JSON cannot print it either
        elif not (value is None or isinstance(value, bool | int | float | str)):
            value = shown(value)
        return {
            "field": self.field,
            "value": value,
            "message": self.message,
            "allowed": self.allowed,
        }


class VitalsError(ClinicalError):
    """The vital signs cannot be scored; :attr:`problems` lists every reason at once.

    >>> err = VitalsError([Problem("pulse", True, "a boolean is not a number", "20 to 300")])
    >>> print(err)
    1 problem with the vital signs: pulse=True: a boolean is not a number; allowed: 20 to 300
    """

    __module__ = "designpatterns_ref.clinical.base"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} with the vital signs: "
        super().__init__(head + "; ".join(str(p) for p in self.problems))

    @property
    def fields(self) -> tuple[str, ...]:
        """The names of the fields at fault, in the order they were checked."""
        return tuple(p.field for p in self.problems)


@dataclass(frozen=True, slots=True)
class Caution:
    """A value that was scored but is extreme enough to deserve a second look."""

    __module__ = "designpatterns_ref.clinical.base"

    field: str
    value: object
    message: str

    def __str__(self) -> str:
        return f"{self.field}={shown(self.value)}: {self.message}"


class ACVPU(enum.StrEnum):
    """Level of consciousness on the ACVPU scale.

    New confusion (``C``) is confusion, disorientation or agitation that is new or worse;
    a patient whose confusion is long-standing (dementia, for example) and who is otherwise
    alert is scored as Alert (``A``), as the NEWS2 report directs.
    """

    __module__ = "designpatterns_ref.clinical.base"

    ALERT = "A"
    CONFUSION = "C"
    VOICE = "V"
    PAIN = "P"
    UNRESPONSIVE = "U"


@dataclass(frozen=True, slots=True)
class Vitals:
    """One set of bedside observations; ``None`` marks a parameter not measured.

    A plain container: it is validated when scored, so every problem is reported at once.
    ``spo2_scale`` is 1 unless a clinician has prescribed scale 2 (target 88–92%).

    >>> Vitals(respiration_rate=18, spo2=97, pulse=70).as_dict()["spo2_scale"]
    1
    """

    __module__ = "designpatterns_ref.clinical.base"

    respiration_rate: int | float | Decimal | None = None
    spo2: int | float | Decimal | None = None
    spo2_scale: int = 1
    on_oxygen: bool = False
    systolic_bp: int | float | Decimal | None = None
    pulse: int | float | Decimal | None = None
    consciousness: ACVPU | str | None = None
    temperature: int | float | Decimal | None = None

    def as_dict(self) -> dict[str, object]:
        """The observations as an input mapping for :func:`~.engine.assess`."""
        return {
            "respiration_rate": self.respiration_rate,
            "spo2": self.spo2,
            "spo2_scale": self.spo2_scale,
            "on_oxygen": self.on_oxygen,
            "systolic_bp": self.systolic_bp,
            "pulse": self.pulse,
            "consciousness": self.consciousness,
            "temperature": self.temperature,
        }
