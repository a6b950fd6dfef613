"""Field ownership: each field has one owner system; replicas merge field by field.

Case study: Design a Real-Time Bed Logistics System (docs/case-studies/bed-logistics.md)

A resident's record is shared by systems that must not overwrite each other: the care home's
clinical system owns ``diagnosis`` and ``care_level``, the municipality owns ``reservation``.
Each :class:`Replica` is one system's copy. :meth:`Replica.write` refuses a field the replica's
system does not own, naming the owner (:class:`OwnershipError`). Every field carries its own
version vector (writes per replica), so :meth:`Replica.merge` compares field by field: a
value whose vector dominates replaces the other, so updates from different owners to
different fields of one record both survive. Two writes whose vectors are concurrent (two
replicas of the same owner, say a ward tablet that was offline and the nursing desk) are a
true conflict: the later ``(at, replica)`` is kept, the other is recorded in
:attr:`Replica.conflicts`, never dropped in silence; the kept value's vector becomes the
pointwise maximum, so the resolution itself is not a new conflict and every replica that has
seen the same writes holds the same value. A merge refuses any incoming value not written by
the field's owner.

Trade-off: a vector per field costs O(replicas) per field; a vector per record would be
smaller but would flag as conflicts the concurrent writes of different owners to different
fields, which are the normal case here.

>>> desk = Replica("elm-desk", "clinical")
>>> town = Replica("town-hall", "municipality")
>>> _ = desk.write("r1", "care_level", "high", at=1.0)
>>> _ = town.write("r1", "reservation", "elm/a/2", at=2.0)
>>> town.merge(desk)
[]
>>> town.get("r1")
{'care_level': 'high', 'reservation': 'elm/a/2'}
>>> town.write("r1", "diagnosis", "flu", at=3.0)
Traceback (most recent call last):
...
designpatterns_ref.capacity.base.OwnershipError: field 'diagnosis' is owned by 'clinical'; \
'town-hall' (municipality) may not write it
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from designpatterns_ref.capacity.base import CapacityError, OwnershipError, check_name, check_time
from designpatterns_ref.errors import shown

__all__ = ["DEFAULT_OWNERS", "Conflict", "FieldValue", "Replica", "compare"]

#: Which system owns which field of a resident's record.
DEFAULT_OWNERS: dict[str, str] = {
    "diagnosis": "clinical",
    "care_level": "clinical",
    "reservation": "municipality",
}

VV = tuple[tuple[str, int], ...]


def compare(
    a: Mapping[str, int], b: Mapping[str, int]
) -> Literal["equal", "before", "after", "concurrent"]:
    """How version vector ``a`` relates to ``b``."""
    for name, v in (("a", a), ("b", b)):
        if not isinstance(v, Mapping) or any(
            isinstance(n, bool) or not isinstance(n, int) for n in v.values()
        ):
            raise CapacityError(f"{name}={shown(v)} must be a version vector (replica -> int)")
    keys = set(a) | set(b)
    less = any(a.get(k, 0) < b.get(k, 0) for k in keys)
    more = any(a.get(k, 0) > b.get(k, 0) for k in keys)
    if less and more:
        return "concurrent"
    return "before" if less else "after" if more else "equal"


@dataclass(frozen=True)
class FieldValue:
    """One field's value, its version vector, and who wrote it when (``write_id`` is unique).

    ``origin`` is the vector the write itself had; ``vv`` grows past it when a merge resolves
    a conflict in its favour (it then covers the losing write too).
    """

    value: str | None
    vv: VV
    at: float
    replica: str
    system: str
    write_id: str
    origin: VV = ()

    @property
    def vector(self) -> dict[str, int]:
        return dict(self.vv)


@dataclass(frozen=True)
class Conflict:
    """Two concurrent writes to one field: ``kept`` won by ``(at, replica)``, ``lost`` did not."""

    record: str
    field: str
    kept: FieldValue
    lost: FieldValue


@dataclass
class Replica:
    """One system's copy of the shared records."""

    name: str
    system: str
    owners: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_OWNERS))
    records: dict[str, dict[str, FieldValue]] = field(default_factory=dict, init=False)
    conflicts: list[Conflict] = field(default_factory=list, init=False)
    _writes: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        check_name("name", self.name)
        check_name("system", self.system)
        if not isinstance(self.owners, Mapping) or not self.owners:
            raise CapacityError(f"owners={shown(self.owners)} must be a non-empty mapping")
        for f, owner in self.owners.items():
            check_name("field", f)
            check_name("owner", owner)
        self.owners = dict(self.owners)

    def owner(self, name: str) -> str:
        """The system that owns field ``name``."""
        try:
            return self.owners[name]
        except (KeyError, TypeError):
            raise CapacityError(
                f"field={shown(name)} must be one of {sorted(self.owners)}"
            ) from None

    def write(self, record: str, name: str, value: str | None, *, at: float) -> FieldValue:
        """Set one field of one record; refused unless this replica's system owns the field."""
        check_name("record", record)
        owner = self.owner(name)
        if value is not None:
            check_name("value", value)
        seconds = check_time("at", at)
        if owner != self.system:
            raise OwnershipError(
                f"field {shown(name)} is owned by {shown(owner)}; {shown(self.name)} "
                f"({self.system}) may not write it"
            )
        current = self.records.get(record, {}).get(name)
        vv = dict(current.vv) if current else {}
        vv[self.name] = vv.get(self.name, 0) + 1
        self._writes += 1
        items = tuple(sorted(vv.items()))
        fv = FieldValue(value, items, seconds, self.name, self.system,
                        f"{self.name}:{self._writes}", items)  # fmt: skip
        self.records.setdefault(record, {})[name] = fv
        return fv

    def get(self, record: str) -> dict[str, str | None]:
        """The record's current field values."""
        check_name("record", record)
        return {k: v.value for k, v in sorted(self.records.get(record, {}).items())}

    def merge(self, other: Replica) -> list[Conflict]:
        """Take in ``other``'s state field by field; returns the true conflicts found."""
        if not isinstance(other, Replica):
            raise CapacityError(f"other={shown(other)} must be a Replica")
        for record, fields in other.records.items():  # check all first: refuse before changing
            for name, theirs in fields.items():
                if self.owners.get(name) != theirs.system:
                    raise OwnershipError(
                        f"{shown(other.name)} carries {record}.{name} written by "
                        f"{shown(theirs.system)}; "
                        f"the field is owned by {shown(self.owners.get(name))}"
                    )
        found: list[Conflict] = []
        for record, fields in other.records.items():
            mine_fields = self.records.setdefault(record, {})
            for name, theirs in fields.items():
                mine = mine_fields.get(name)
                if mine is None:
                    mine_fields[name] = theirs
                    continue
                order = compare(mine.vector, theirs.vector)
                if order == "before":
                    mine_fields[name] = theirs
                elif order == "concurrent":
                    top = {k: max(mine.vector.get(k, 0), theirs.vector.get(k, 0))
                           for k in mine.vector.keys() | theirs.vector.keys()}  # fmt: skip
                    if compare(dict(mine.origin), theirs.vector) in ("before", "equal"):
                        kept = theirs  # their write already saw mine: it supersedes it
                    elif compare(dict(theirs.origin), mine.vector) in ("before", "equal"):
                        kept = mine
                    else:  # neither write saw the other: a true conflict
                        kept, lost = sorted([mine, theirs], key=lambda v: (v.at, v.replica))[::-1]
                        found.append(Conflict(record, name, kept, lost))
                    mine_fields[name] = FieldValue(
                        kept.value, tuple(sorted(top.items())), kept.at, kept.replica,
                        kept.system, kept.write_id, kept.origin,
                    )  # fmt: skip
        self.conflicts.extend(found)
        return found
