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

import hashlib
import re
from typing import Any

from designpatterns_ref.capacity.base import CapacityError, check_name
from designpatterns_ref.capacity.projection import CapacityProjection
from designpatterns_ref.errors import shown

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


#: A path that is its own id, with '.' for '/': names of ASCII letters, digits and '-'.
_SAFE = re.compile(r"[A-Za-z0-9-]+(?:/[A-Za-z0-9-]+)*")


def _check(projection: object) -> None:
    if not isinstance(projection, CapacityProjection):
        raise CapacityError(f"projection={shown(projection)} must be a CapacityProjection")


def location_id(path: str) -> str:
    """A FHIR id (1 to 64 of letters, digits, '-' and '.') for a bed or unit path, one to one.

    A path whose names hold only ASCII letters, digits and '-', and that fits, keeps them, with
    '.' for '/' (``elm/a/1`` is ``elm.a.1``). Any other path gets the first 45 characters of
    that form (other characters as '-') then ``..`` and 16 hex digits of its SHA-256, so two
    paths never share an id: a readable id has no ``..`` (names are never empty), and two
    hashed ids differ unless 64-bit digests collide. Without the hash, ``st_mary`` and
    ``st-mary``, or two names differing past the 64th character, would be one Location.
    """
    check_name("path", path)
    dotted = path.replace("/", ".")
    if len(dotted) <= 64 and _SAFE.fullmatch(path):
        return dotted
    readable = "".join(c if c.isascii() and (c.isalnum() or c in "-.") else "-" for c in dotted)
    digest = hashlib.sha256(path.encode("utf-8")).hexdigest()[:16]
    return f"{readable[:45]}..{digest}"


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
