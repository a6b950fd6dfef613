"""Single-table design: the patient-operations access patterns from one table and two indexes.

Case study: Design a Healthcare Patient Operations Platform (Serverless)
(docs/case-studies/healthcare-serverless.md)

Every entity lives in one :class:`~designpatterns_ref.serverless.table.KeyValueTable`, keyed so
that each access pattern is one query on one partition:

==============================  =======  =====================  ==========================
access pattern                  index    partition key          sort key
==============================  =======  =====================  ==========================
patient by phone number         gsi1     ``PHONE#<e164>``       ``PATIENT#<id>``
upcoming appointments, clinic   gsi2     ``CLINIC#<id>``        ``APPT#<iso time>#<id>``
recall campaign members due     table    ``CAMPAIGN#<id>``      ``DUE#<date>#<patient>``
==============================  =======  =====================  ==========================

A patient's profile and appointments share the partition ``PATIENT#<id>`` (one query reads a
patient's whole history). The ``brute_*`` functions answer the same questions by scanning every
item: the oracle the tests compare against. Trade-off: fast, bounded queries for the patterns
designed in, a scan (or a new index) for any other; a clinic's partition is as hot as the
clinic is busy. O(log n + k) per query.

>>> ops = PatientOps(KeyValueTable())
>>> ops.add_patient("p1", "+46701234567", "Ada")
>>> ops.patient_by_phone("+46701234567")[0].get("patient")
'p1'
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.serverless.base import ServerlessError, ServerlessTypeError, check_name
from designpatterns_ref.serverless.table import KeyValueTable

__all__ = [
    "PatientOps",
    "brute_patient_by_phone",
    "brute_recall_due",
    "brute_upcoming",
]

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _id(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ServerlessTypeError(f"{name}={shown(value, 60)} must be a string")
    if not _ID.fullmatch(value):
        raise ServerlessError(f"{name}={shown(value, 60)} must be 1-64 of A-Z a-z 0-9 _ -")
    return value


def _phone(value: object) -> str:
    if not isinstance(value, str):
        raise ServerlessTypeError(f"phone={shown(value, 60)} must be a string")
    if not _E164.fullmatch(value):
        raise ServerlessError(f"phone={shown(value, 60)} must be E.164, like +46701234567")
    return value


def _minute(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ServerlessTypeError(f"{name}={shown(value, 60)} must be a string 'YYYY-MM-DDTHH:MM'")
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M")
    except ValueError:
        raise ServerlessError(f"{name}={shown(value, 60)} must be 'YYYY-MM-DDTHH:MM'") from None
    # isoformat pads the year to four digits (strftime's %Y writes year 999 as "999"), so the
    # sort keys order as the times do for every year from 1 to 9999.
    return parsed.isoformat(timespec="minutes")


def _day(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ServerlessTypeError(f"{name}={shown(value, 60)} must be a string 'YYYY-MM-DD'")
    try:
        return date.fromisoformat(value).isoformat() if len(value) == 10 else _bad_day(name, value)
    except ValueError:
        return _bad_day(name, value)


def _bad_day(name: str, value: str) -> str:
    raise ServerlessError(f"{name}={shown(value, 60)} must be 'YYYY-MM-DD'")


class PatientOps:
    """Patients, appointments and recall campaigns in one table."""

    def __init__(self, table: KeyValueTable) -> None:
        if not isinstance(table, KeyValueTable):
            raise ServerlessTypeError(f"table={shown(table)} must be a KeyValueTable")
        self.table = table

    def add_patient(self, patient: str, phone: str, name: str) -> None:
        """A patient profile, findable by phone (gsi1)."""
        _id("patient", patient)
        _phone(phone)
        check_name("name", name, max_len=200)
        self.table.put(
            {
                "pk": f"PATIENT#{patient}",
                "sk": "PROFILE",
                "type": "patient",
                "patient": patient,
                "phone": phone,
                "name": name,
                "gsi1pk": f"PHONE#{phone}",
                "gsi1sk": f"PATIENT#{patient}",
            }
        )

    def add_appointment(self, appointment: str, patient: str, clinic: str, at: str) -> None:
        """An appointment in the patient's partition, listed per clinic by time (gsi2)."""
        _id("appointment", appointment)
        _id("patient", patient)
        _id("clinic", clinic)
        at = _minute("at", at)
        self.table.put(
            {
                "pk": f"PATIENT#{patient}",
                "sk": f"APPT#{at}#{appointment}",
                "type": "appointment",
                "appointment": appointment,
                "patient": patient,
                "clinic": clinic,
                "at": at,
                "gsi2pk": f"CLINIC#{clinic}",
                "gsi2sk": f"APPT#{at}#{appointment}",
            }
        )

    def add_recall(self, campaign: str, patient: str, due: str) -> None:
        """A member of a recall campaign, due on ``due`` (in the campaign's partition)."""
        _id("campaign", campaign)
        _id("patient", patient)
        due = _day("due", due)
        self.table.put(
            {
                "pk": f"CAMPAIGN#{campaign}",
                "sk": f"DUE#{due}#{patient}",
                "type": "recall",
                "campaign": campaign,
                "patient": patient,
                "due": due,
            }
        )

    def patient_by_phone(self, phone: str) -> list[dict[str, Any]]:
        """Patients with this phone number (a family may share one): one gsi1 partition."""
        return self.table.query(f"PHONE#{_phone(phone)}", index="gsi1")

    def upcoming(self, clinic: str, now: str, *, until: str | None = None) -> list[dict[str, Any]]:
        """The clinic's appointments at or after ``now`` (before ``until``), in time order."""
        _id("clinic", clinic)
        now = _minute("now", now)
        end = None if until is None else f"APPT#{_minute('until', until)}"
        return self.table.query(f"CLINIC#{clinic}", index="gsi2", sk_from=f"APPT#{now}", sk_to=end)

    def recall_due(self, campaign: str, on: str) -> list[dict[str, Any]]:
        """Members of ``campaign`` due on or before ``on``: one table partition."""
        _id("campaign", campaign)
        on = _day("on", on)
        return self.table.query(f"CAMPAIGN#{campaign}", sk_from="DUE#", sk_to=f"DUE#{on}$")


def _items(items: object) -> list[dict[str, Any]]:
    """``items`` as the oracles read them: a list of table items (dicts), as ``scan`` gives."""
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ServerlessTypeError(f"items={shown(items, 60)} must be a list of table items (dicts)")
    return items


def brute_patient_by_phone(items: list[dict[str, Any]], phone: str) -> list[dict[str, Any]]:
    """The oracle: every patient item with this phone, by patient id.

    The oracles check their arguments as :class:`PatientOps` does, and read ``items`` as
    :meth:`KeyValueTable.scan` gives them (the fields :class:`PatientOps` writes)."""
    items, phone = _items(items), _phone(phone)
    found = [i for i in items if i.get("type") == "patient" and i.get("phone") == phone]
    return sorted(found, key=lambda i: i["patient"])


def _as_datetime(text: str, name: str = "at") -> datetime:
    """``Y-M-DTH:M`` read field by field as numbers (with or without leading zeros)."""
    if not isinstance(text, str):
        raise ServerlessTypeError(f"{name}={shown(text, 60)} must be a string 'YYYY-MM-DDTHH:MM'")
    fields = re.fullmatch(r"([0-9]{1,4})-([0-9]{1,2})-([0-9]{1,2})T([0-9]{1,2}):([0-9]{1,2})", text)
    try:
        if fields is None:
            raise ValueError(text)
        year, month, day, hour, minute = (int(f) for f in fields.groups())
        return datetime(year, month, day, hour, minute)
    except ValueError:
        raise ServerlessError(f"{name}={shown(text, 60)} must be 'YYYY-MM-DDTHH:MM'") from None


def brute_upcoming(items: list[dict[str, Any]], clinic: str, now: str) -> list[dict[str, Any]]:
    """The oracle: the clinic's appointments at or after ``now``, by time then id.

    It compares datetimes, not the key strings the index sorts, so a badly written key cannot
    fool both.
    """
    items, clinic, start = _items(items), _id("clinic", clinic), _as_datetime(now, "now")
    found = [
        i
        for i in items
        if i.get("type") == "appointment"
        and i["clinic"] == clinic
        and _as_datetime(i["at"]) >= start
    ]
    return sorted(found, key=lambda i: (_as_datetime(i["at"]), i["appointment"]))


def brute_recall_due(items: list[dict[str, Any]], campaign: str, on: str) -> list[dict[str, Any]]:
    """The oracle: members of ``campaign`` due on or before ``on``, by date then patient."""
    items, campaign, on = _items(items), _id("campaign", campaign), _day("on", on)
    found = [
        i
        for i in items
        if i.get("type") == "recall" and i["campaign"] == campaign and i["due"] <= on
    ]
    return sorted(found, key=lambda i: (i["due"], i["patient"]))
