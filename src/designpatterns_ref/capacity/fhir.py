"""FHIR R4 output: each bed as a ``Location`` resource with its operational status.

Case study: Design a Real-Time Bed Logistics System (docs/case-studies/bed-logistics.md)

A bed is a FHIR ``Location`` of physical type ``bd`` (bed), ``partOf`` a reference to its unit
(``Location/home.unit``) and its municipality in ``address.district``. Its status travels in
``operationalStatus``, a Coding from HL7 v2 table 0116 (bed status): ``U`` unoccupied (free),
``O`` occupied, ``H`` housekeeping (being cleaned). The table has no code for a reserved bed, so
a reservation is sent as ``C`` (closed: not available for admission) with the display saying
why. :func:`bundle` wraps every Location in a ``searchset`` Bundle.

>>> from designpatterns_ref.capacity.base import Topology
>>> from designpatterns_ref.capacity.projection import CapacityProjection
>>> p = CapacityProjection(Topology({"north": {"elm": {"a": 1}}}))
>>> loc = bed_location(p, "elm/a/1")
>>> status, part_of = loc["operationalStatus"], loc["partOf"]
>>> loc["resourceType"], status["code"], part_of["reference"]
('Location', 'U', 'Location/elm.a')
"""

from __future__ import annotations

from typing import Any

from designpatterns_ref.capacity.base import CapacityError, check_name
from designpatterns_ref.capacity.projection import CapacityProjection

__all__ = ["BED_STATUS_SYSTEM", "OPERATIONAL_STATUS", "bed_location", "bundle", "location_id"]

#: HL7 v2 table 0116, the value set FHIR binds ``Location.operationalStatus`` to.
BED_STATUS_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0116"
_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/location-physical-type"

#: Bed status -> (v2-0116 code, display).
OPERATIONAL_STATUS: dict[str, tuple[str, str]] = {
    "free": ("U", "Unoccupied"),
    "occupied": ("O", "Occupied"),
    "cleaning": ("H", "Housekeeping"),
    "reserved": ("C", "Closed (reserved)"),
}


def _check(projection: object) -> None:
    if not isinstance(projection, CapacityProjection):
        raise CapacityError(f"projection={projection!r} must be a CapacityProjection")


def location_id(path: str) -> str:
    """A FHIR id (letters, digits, '-', '.') for a bed or unit path: '/' becomes '.'."""
    check_name("path", path)
    return "".join(c if c.isascii() and (c.isalnum() or c in "-.") else "-"
                   for c in path.replace("/", "."))[:64]  # fmt: skip


def bed_location(projection: CapacityProjection, bed: str) -> dict[str, Any]:
    """One bed as a FHIR R4 ``Location``."""
    _check(projection)
    municipality, home, unit = projection.topology.where(bed)
    code, display = OPERATIONAL_STATUS[projection.status[bed]]
    return {
        "resourceType": "Location",
        "id": location_id(bed),
        "status": "active",
        "name": bed,
        "mode": "instance",
        "operationalStatus": {"system": BED_STATUS_SYSTEM, "code": code, "display": display},
        "physicalType": {"coding": [{"system": _TYPE_SYSTEM, "code": "bd", "display": "Bed"}]},
        "partOf": {"reference": f"Location/{location_id(f'{home}/{unit}')}"},
        "address": {"district": municipality},
    }


def bundle(projection: CapacityProjection) -> dict[str, Any]:
    """Every bed as a FHIR ``Bundle`` of type ``searchset``."""
    _check(projection)
    entries = [{"resource": bed_location(projection, b)} for b in projection.topology.beds()]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries),
            "entry": entries}  # fmt: skip
