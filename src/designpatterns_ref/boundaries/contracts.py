"""Ready-made contract sets: Django's packages, and the same contracts for import-linter.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

:data:`DJANGO` declares, for Django's own source (installed from PyPI, which ships it), what a
team adopting packwerk-style rules on it would write: every ``django.*`` package a component
(so cycles between them are reported), direct dependency rules for a few low-level packages,
a layers contract for the request stack and independence contracts between packages that
ought not to know each other. :func:`django_config` finds Django's folder without importing it.
:func:`importlinter_ini` writes the layers and independence contracts of a configuration as an
``.importlinter`` file, so both tools can be run on the same rules and their verdicts compared.

Complexity: O(size of the configuration).

>>> print(importlinter_ini(Config.from_dict({"packages": ["shop"],
...     "independence": [{"name": "apps", "modules": ["shop.a", "shop.b"]}]})).strip())
[importlinter]
root_packages =
    shop
<BLANKLINE>
[importlinter:contract:c0]
name = apps
type = independence
modules =
    shop.a
    shop.b
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from designpatterns_ref.boundaries.base import BoundariesError
from designpatterns_ref.boundaries.config import Config
from designpatterns_ref.errors import shown

__all__ = ["DJANGO", "django_config", "django_root", "importlinter_ini"]

#: The contract set run on Django in the docs and the benchmark.
DJANGO: dict[str, Any] = {
    "packages": ["django"],
    "components": {
        "django.*": {},
        "django.dispatch": {"depends_on": ["django.utils"]},
        "django.utils": {"depends_on": []},
        "django.http": {"depends_on": ["django.conf", "django.core", "django.utils"]},
        "django.urls": {
            "depends_on": ["django.conf", "django.core", "django.http", "django.utils"]
        },
    },
    "layers": [
        {
            "name": "request stack",
            "layers": [
                "django.contrib",
                "django.test",
                "django.views",
                "django.middleware",
                ["django.urls", "django.shortcuts"],
                "django.http",
                "django.dispatch",
            ],
        },
        {
            "name": "admin docs over admin",
            "layers": ["django.contrib.admindocs", "django.contrib.admin"],
        },
    ],
    "independence": [
        {"name": "http and db", "modules": ["django.http", "django.db"]},
        {
            "name": "leaf contrib apps",
            "modules": [
                "django.contrib.humanize",
                "django.contrib.redirects",
                "django.contrib.syndication",
            ],
        },
        {
            "name": "sitemaps and flatpages",
            "modules": ["django.contrib.sitemaps", "django.contrib.flatpages"],
        },
    ],
}


def django_root() -> Path:
    """The folder holding the ``django`` package (found without importing it)."""
    spec = importlib.util.find_spec("django")
    if spec is None or not spec.submodule_search_locations:
        raise BoundariesError("django is not installed: pip install 'designpatterns-ref[bench]'")
    return Path(next(iter(spec.submodule_search_locations))).parent


def django_config(cache: str = "") -> Config:
    """:data:`DJANGO` rooted at the installed Django (``cache``: a cache file, or none)."""
    root = django_root()
    return Config.from_dict({**DJANGO, "roots": [str(root)], "cache": cache}, base=root)


def importlinter_ini(config: Config) -> str:
    """The layers and independence contracts of ``config`` in import-linter's INI format."""
    if not isinstance(config, Config):
        raise BoundariesError(f"config={shown(config, 60)}: must be a Config")
    lines = ["[importlinter]", "root_packages =", *(f"    {p}" for p in config.packages), ""]
    number = 0
    for contract in config.layers:
        lines += [f"[importlinter:contract:c{number}]", f"name = {contract.name}", "type = layers"]
        lines.append("layers =")
        lines += [f"    {' : '.join(layer)}" for layer in contract.layers]
        lines.append("")
        number += 1
    for ind in config.independence:
        lines += [f"[importlinter:contract:c{number}]", f"name = {ind.name}", "type = independence"]
        lines.append("modules =")
        lines += [f"    {m}" for m in ind.modules]
        lines.append("")
        number += 1
    return "\n".join(lines)
