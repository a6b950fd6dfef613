"""Templates with named variables and locales, checked when a notification is accepted.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

A template is text with ``{name}`` fields, stored per (template, locale) with ``"en"`` as the
fallback. :meth:`Templates.missing` lists the fields a set of variables leaves unfilled in any
locale, so the pipeline refuses such a notification at accept time, before anything is queued,
instead of sending "Hello {name}" to a million phones. The pipeline renders every locale at
accept time, so the texts a notification was accepted with are the ones it is sent with, whatever
:meth:`Templates.add` replaces later. Rendering is ``str.format_map``: O(length).

>>> t = Templates()
>>> t.add("sale", "{pct}% off today")
>>> t.add("sale", "{pct} % de remise", locale="fr")
>>> t.render("sale", {"pct": "20"}, "fr"), t.render("sale", {"pct": "20"}, "de")
('20 % de remise', '20% off today')
>>> sorted(t.missing("sale", {}))
['pct']
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from designpatterns_ref.errors import shown
from designpatterns_ref.notifications.base import NotificationError, check_name

__all__ = ["Templates"]

MAX_TEXT = 100_000
_FORMATTER = string.Formatter()


def _fields(name: str, text: str) -> frozenset[str]:
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise NotificationError(
            f"Templates.add: text of {shown(name)} is malformed: {exc}"
        ) from None
    out = set()
    for _, field_name, spec, conv in parsed:
        if field_name is None:
            continue
        if not field_name.isidentifier() or spec or conv:
            raise NotificationError(
                f"Templates.add: field {{{field_name}}} in {shown(name)} must be a plain {{name}}"
            )
        out.add(field_name)
    return frozenset(out)


class Templates:
    """Texts per (name, locale) with the set of fields each needs."""

    __slots__ = ("_fields", "_text_fields", "_texts")

    def __init__(self) -> None:
        self._texts: dict[tuple[str, str], str] = {}
        self._text_fields: dict[tuple[str, str], frozenset[str]] = {}
        self._fields: dict[str, frozenset[str]] = {}

    def add(self, name: str, text: str, *, locale: str = "en") -> None:
        """Store ``text`` for ``name`` in ``locale`` (the first one added must be ``"en"``),
        replacing the text it had there; :meth:`fields` is then the union of the fields of the
        texts ``name`` holds now."""
        check_name("Templates.add", "name", name)
        check_name("Templates.add", "locale", locale)
        if not isinstance(text, str) or not text or len(text) > MAX_TEXT:
            raise NotificationError(
                f"Templates.add: text={shown(text, 40)} must be a string of 1 to {MAX_TEXT} chars"
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise NotificationError("Templates.add: text is not valid UTF-8") from None
        if locale != "en" and (name, "en") not in self._texts:
            raise NotificationError(
                f"Templates.add: add {shown(name)} in 'en' (the fallback) first"
            )
        fields = _fields(name, text)  # a bad field is refused before anything changes
        self._texts[(name, locale)] = text
        self._text_fields[(name, locale)] = fields
        # rebuilt from the texts held now: a replaced text's fields are no longer needed
        self._fields[name] = frozenset().union(
            *(f for (n, _), f in self._text_fields.items() if n == name)
        )

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def fields(self, name: str) -> frozenset[str]:
        """Every field any locale of ``name`` uses."""
        check_name("Templates", "template", name)
        if name not in self._fields:
            raise NotificationError(f"Templates: template={shown(name)} is not registered")
        return self._fields[name]

    def missing(self, name: str, variables: Mapping[str, str]) -> frozenset[str]:
        """The fields of ``name`` that ``variables`` does not fill."""
        if not isinstance(variables, Mapping):
            raise NotificationError(f"Templates: variables={shown(variables)} must be a mapping")
        return frozenset(f for f in self.fields(name) if f not in variables)

    def locales(self, name: str) -> list[str]:
        """The locales ``name`` has a text in."""
        self.fields(name)
        return sorted(loc for (n, loc) in self._texts if n == name)

    def render(self, name: str, variables: Mapping[str, str], locale: str = "en") -> str:
        """The text of ``name`` in ``locale`` (or ``"en"``) with ``variables`` filled in."""
        check_name("Templates.render", "name", name)
        check_name("Templates.render", "locale", locale)
        if not isinstance(variables, Mapping):
            raise NotificationError(f"Templates: variables={shown(variables)} must be a mapping")
        text = self._texts.get((name, locale))
        if text is None:
            text = self._texts.get((name, "en"))
            if text is None:
                raise NotificationError(f"Templates: template={shown(name)} is not registered")
        try:
            return text.format_map(variables)
        except KeyError as exc:
            raise NotificationError(
                f"Templates: {shown(name)} needs variable {shown(exc.args[0])}"
            ) from None
