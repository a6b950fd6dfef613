"""The rules: components, their public APIs and allowed dependencies, layers and independence.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

Rules are declared in ``pyproject.toml`` under ``[tool.dpref.boundaries]`` (read by
:func:`load_config`) or built in Python with :meth:`Config.from_dict`, which takes the same
mapping. Every key is checked; a bad one raises :class:`~.base.ConfigError` whose ``key`` names
it (``components.shop.orders.depends_on[1]``), and nothing is half-applied. The dataclasses
(:class:`Config`, :class:`Component`, :class:`Layers`, :class:`Independence`) can also be built
directly: they run the same checks on their fields (lists are kept as tuples) and refuse what
``from_dict`` would refuse, with the same message.

- ``packages`` (required): the top packages to scan; ``roots``: where to find them, relative
  to the pyproject's folder (default ``["."]``, or ``["src"]`` when there is a ``src`` folder).
- ``components``: a table per component (a package and everything below it). ``module``
  defaults to the table's name; ``public`` lists what other components may import (``"."``:
  the package itself and the names it exports; ``"api"``: the submodule ``api`` and below);
  ``depends_on`` lists the components it may import (``"*"``: any), as a list or as a table
  ``{component = "why"}`` that documents each allowance. A missing ``public`` or
  ``depends_on`` switches that check off for the component (packwerk's ``enforce_*`` flags).
  A name ending in ``.*`` is a pattern: every direct child of the package becomes a component
  with those settings, unless a component is declared for it by name.
- ``layers``: contracts ``{name, layers}``, highest layer first; an entry is a module (or a
  component) or a list of siblings; a lower layer must not reach a higher one by any chain of
  imports. No layer may lie inside another (``app`` over ``app.core``): the check refuses it
  with ConfigError, since no chain between the two could ever be found.
- ``independence``: contracts ``{name, modules}``; no chain of imports between any two (which
  must not lie one inside the other, as for layers).
- ``include``: the import kinds that count (default: all of
  :data:`~designpatterns_ref.boundaries.base.KINDS`); ``cycles`` (default true): forbid cycles
  between components; ``todo``: the recorded-violations file; ``cache``: the cache file
  (``""`` for none).

Complexity: O(size of the configuration) to validate.

>>> cfg = Config.from_dict({"packages": ["shop"], "components": {
...     "shop.orders": {"public": ["."], "depends_on": ["shop.payments"]},
...     "shop.payments": {"depends_on": []}}})
>>> cfg.components["shop.orders"].depends_on
{'shop.payments': ''}
>>> Config.from_dict({"packages": ["shop"], "layers": [{"name": "l", "layers": ["a", "a"]}]})
Traceback (most recent call last):
...
designpatterns_ref.boundaries.base.ConfigError: layers[0].layers[1]: 'a' is listed twice
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from designpatterns_ref.boundaries.base import KINDS, ConfigError
from designpatterns_ref.errors import shown

__all__ = ["Component", "Config", "Independence", "Layers", "load_config"]

_TOP = {"packages", "roots", "components", "layers", "independence", "include", "cycles", "todo",
        "cache"}  # fmt: skip
_NAME = re.compile(r"[^\W\d][\w-]*(\.[\w-]+)*")
_COMPONENT = {"module", "public", "depends_on"}
DEFAULT_TODO = "boundaries_todo.toml"
DEFAULT_CACHE = ".dpref_cache/boundaries.bin"


@dataclass(frozen=True)
class Component:
    """A package and its subpackages; ``None`` for ``public`` / ``depends_on`` means unchecked.

    ``public`` lists ``"."`` or dotted names; ``depends_on`` is a table ``{component: why}``
    or a list of components (``"*"``: any); ``pattern`` (True or False) makes every direct
    child of ``module`` a component. Bad fields raise ConfigError naming
    ``components.<name>.<field>``.
    """

    name: str
    module: str
    public: tuple[str, ...] | None = None
    depends_on: dict[str, str] | None = None
    pattern: bool = False

    def __post_init__(self) -> None:
        name = _string(self.name, "components", allow_empty=False)
        key = f"components.{name}"
        _set(self, "module", _name(self.module, f"{key}.module"))
        if self.public is not None:
            _set(self, "public", tuple(_public(self.public, f"{key}.public")))
        if self.depends_on is not None:
            _set(self, "depends_on", _depends(self.depends_on, f"{key}.depends_on"))
        if not isinstance(self.pattern, bool):
            raise ConfigError(
                f"{key}.pattern", f"must be True or False, not {shown(self.pattern, 60)}"
            )


@dataclass(frozen=True)
class Layers:
    """A layers contract: ``layers[0]`` is the highest; each layer is a tuple of siblings.

    ``layers`` lists at least two layers, each a dotted name or a list of them, no name twice.
    """

    name: str
    layers: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        name = _string(self.name, "Layers.name", allow_empty=False)
        _set(self, "layers", _layer_list(self.layers, f"Layers({name!r}).layers"))


@dataclass(frozen=True)
class Independence:
    """An independence contract: no chain of imports between any two of ``modules``."""

    name: str
    modules: tuple[str, ...]

    def __post_init__(self) -> None:
        name = _string(self.name, "Independence.name", allow_empty=False)
        _set(self, "modules", _module_list(self.modules, f"Independence({name!r}).modules"))


@dataclass(frozen=True)
class Config:
    """A validated configuration (build it with :meth:`from_dict` or :func:`load_config`).

    Built directly, it checks every field as :meth:`from_dict` checks the same key
    (``components`` maps each component's name to its :class:`Component`; ``layers`` and
    ``independence`` hold :class:`Layers` and :class:`Independence`; ``include`` is a
    collection of import kinds) and raises ConfigError naming the field.
    """

    packages: tuple[str, ...]
    roots: tuple[str, ...] = (".",)
    components: dict[str, Component] = field(default_factory=dict)
    layers: tuple[Layers, ...] = ()
    independence: tuple[Independence, ...] = ()
    include: frozenset[str] = frozenset(KINDS)
    cycles: bool = True
    todo: str = DEFAULT_TODO
    cache: str = DEFAULT_CACHE
    base: Path = Path(".")

    def __post_init__(self) -> None:
        _set(self, "packages", tuple(_names(self.packages, "packages", allow_empty=False)))
        _set(self, "roots", tuple(_strings(self.roots, "roots", allow_empty=False)))
        _set(self, "components", _component_table(self.components))
        _set(self, "layers", _contract_list(self.layers, "layers", Layers))
        _set(self, "independence", _contract_list(self.independence, "independence", Independence))
        for kind in ("layers", "independence"):  # a name keys the todo entries of its contract
            names: set[str] = set()
            for i, contract in enumerate(getattr(self, kind)):
                if contract.name in names:
                    raise ConfigError(
                        f"{kind}[{i}].name", f"{shown(contract.name)} is used by another contract"
                    )
                names.add(contract.name)
        _set(self, "include", _include(self.include))
        if not isinstance(self.cycles, bool):
            raise ConfigError("cycles", f"must be true or false, not {shown(self.cycles)}")
        _string(self.todo, "todo", allow_empty=False)
        _string(self.cache, "cache", allow_empty=True)
        _set(self, "base", Path(_folder(self.base, "base")))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: str | Path = ".") -> Config:
        """Validate ``data`` (the ``[tool.dpref.boundaries]`` table) into a :class:`Config`."""
        _folder(base, "base")
        if not isinstance(data, Mapping):
            raise ConfigError("tool.dpref.boundaries", f"must be a table, not {_kind(data)}")
        for key in data:
            if key not in _TOP:
                raise ConfigError(str(key), f"unknown key; allowed: {', '.join(sorted(_TOP))}")
        if "packages" not in data:
            raise ConfigError("packages", "missing: name the top packages to check")
        packages = _names(data["packages"], "packages", allow_empty=False)
        base_path = Path(base)
        default_roots = ["src"] if os.path.isdir(base_path / "src") else ["."]
        roots = _strings(data.get("roots", default_roots), "roots", allow_empty=False)
        include = _include(data.get("include", list(KINDS)))
        cycles = data.get("cycles", True)
        if not isinstance(cycles, bool):
            raise ConfigError("cycles", f"must be true or false, not {shown(cycles)}")
        todo = _string(data.get("todo", DEFAULT_TODO), "todo", allow_empty=False)
        cache = _string(data.get("cache", DEFAULT_CACHE), "cache", allow_empty=True)
        return cls(
            packages=tuple(packages),
            roots=tuple(roots),
            components=_components(data.get("components", {})),
            layers=_layers(data.get("layers", [])),
            independence=_independence(data.get("independence", [])),
            include=include,
            cycles=cycles,
            todo=todo,
            cache=cache,
            base=base_path,
        )


def load_config(path: str | Path) -> Config:
    """Read ``[tool.dpref.boundaries]`` from a ``pyproject.toml`` (or the folder holding one)."""
    if not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise ConfigError("path", f"must be a pyproject.toml or its folder, not {shown(path, 60)}")
    if "\x00" in str(path) or any("\ud800" <= ch <= "\udfff" for ch in str(path)):
        raise ConfigError("path", f"{shown(path, 60)} holds a null byte or a lone surrogate")
    file = Path(path)
    if os.path.isdir(file):
        file = file / "pyproject.toml"
    try:
        with open(file, "rb") as fh:
            document = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(file), "no such file: a pyproject.toml is needed") from None
    except OSError as exc:
        raise ConfigError(str(file), f"cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(file), f"is not valid TOML: {exc}") from None
    except UnicodeDecodeError:  # tomllib reads bytes as UTF-8
        raise ConfigError(str(file), "is not UTF-8 text") from None
    table: Any = document
    for part in ("tool", "dpref", "boundaries"):
        table = table.get(part) if isinstance(table, dict) else None
    if table is None:
        raise ConfigError("tool.dpref.boundaries", f"no such table in {file}")
    return Config.from_dict(table, base=file.parent)


def _kind(value: object) -> str:
    return type(value).__name__


def _set(obj: object, field_name: str, value: object) -> None:
    """Store a checked (normalised) value in a frozen dataclass's field."""
    object.__setattr__(obj, field_name, value)


def _folder(value: object, key: str) -> str | os.PathLike[str]:
    if not isinstance(value, str | os.PathLike) or not os.fspath(value):
        raise ConfigError(key, f"must be a folder (str or Path), not {shown(value, 60)}")
    if "\x00" in str(value) or any("\ud800" <= ch <= "\udfff" for ch in str(value)):
        raise ConfigError(key, f"{shown(value, 60)} holds a null byte or a lone surrogate")
    return value


def _include(value: object) -> frozenset[str]:
    if isinstance(value, set | frozenset):
        value = sorted(value, key=repr)
    include = _strings(value, "include", allow_empty=False)
    for i, kind in enumerate(include):
        if kind not in KINDS:
            raise ConfigError(f"include[{i}]", f"{shown(kind)} is not a kind; use {list(KINDS)}")
    return frozenset(include)


def _component_table(value: object) -> dict[str, Component]:
    """A direct Config's components: {name: Component}, each module one component only."""
    table = _table(value, "components")
    out: dict[str, Component] = {}
    modules: dict[str, str] = {}
    for name, component in table.items():
        key = f"components.{_string(name, 'components', allow_empty=False)}"
        if not isinstance(component, Component):
            raise ConfigError(key, f"must be a Component, not {_kind(component)}")
        if component.name != name:
            raise ConfigError(
                key, f"holds the component named {shown(component.name)}: use that key"
            )
        label = f"{component.module}.*" if component.pattern else component.module
        if label in modules:
            raise ConfigError(
                f"{key}.module", f"{shown(label)} is already component {shown(modules[label])}"
            )
        modules[label] = name
        out[name] = component
    return out


def _contract_list(value: object, key: str, kind: type[Any]) -> tuple[Any, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(
            key, f"must be a list of {kind.__name__}, not {_kind(value)} {shown(value, 60)}"
        )
    for i, contract in enumerate(value):
        if not isinstance(contract, kind):
            raise ConfigError(f"{key}[{i}]", f"must be a {kind.__name__}, not {_kind(contract)}")
    return tuple(value)


def _string(value: object, key: str, *, allow_empty: bool) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a string, not {_kind(value)} {shown(value)}")
    if not allow_empty and not value:
        raise ConfigError(key, "must not be empty")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ConfigError(key, f"{shown(value)} holds a lone surrogate")
    return value


def _strings(value: object, key: str, *, allow_empty: bool) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(key, f"must be a list of strings, not {_kind(value)} {shown(value)}")
    if not value and not allow_empty:
        raise ConfigError(key, "must not be empty")
    out = [_string(v, f"{key}[{i}]", allow_empty=False) for i, v in enumerate(value)]
    for i, v in enumerate(out):
        if v in out[:i]:
            raise ConfigError(f"{key}[{i}]", f"{shown(v)} is listed twice")
    return out


def _name(value: object, key: str) -> str:
    text = _string(value, key, allow_empty=False)
    if not _NAME.fullmatch(text):
        raise ConfigError(key, f"{shown(text)} is not a dotted module name")
    return text


def _names(value: object, key: str, *, allow_empty: bool) -> list[str]:
    out = _strings(value, key, allow_empty=allow_empty)
    return [_name(v, f"{key}[{i}]") for i, v in enumerate(out)]


def _table(value: object, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"must be a table, not {_kind(value)} {shown(value)}")
    return value


def _components(value: object) -> dict[str, Component]:
    table = _table(value, "components")
    out: dict[str, Component] = {}
    for name, spec in table.items():
        key = f"components.{name}"
        _string(name, "components", allow_empty=False)
        spec = _table(spec, key)
        for k in spec:
            if k not in _COMPONENT:
                allowed = ", ".join(sorted(_COMPONENT))
                raise ConfigError(f"{key}.{k}", f"unknown key; allowed: {allowed}")
        pattern = name.endswith(".*")
        default = name[:-2] if pattern else name
        module = _name(spec.get("module", default), f"{key}.module")
        public = None
        if "public" in spec:
            public = tuple(_public(spec["public"], f"{key}.public"))
        depends_on = None
        if "depends_on" in spec:
            depends_on = _depends(spec["depends_on"], f"{key}.depends_on")
        out[name] = Component(name, module, public, depends_on, pattern)
    return out  # each module one component only: checked by Config (_component_table)


def _public(value: object, key: str) -> list[str]:
    entries = _strings(value, key, allow_empty=True)
    for i, entry in enumerate(entries):
        if entry != ".":
            _name(entry, f"{key}[{i}]")
    return entries


def _depends(value: object, key: str) -> dict[str, str]:
    if isinstance(value, Mapping):
        out = {}
        for dep, why in value.items():
            if dep != "*":
                _name(dep, f"{key}.{dep}")
            out[dep] = _string(why, f"{key}.{dep}", allow_empty=True)
        return out
    entries = _strings(value, key, allow_empty=True)
    for i, dep in enumerate(entries):
        if dep != "*":
            _name(dep, f"{key}[{i}]")
    return dict.fromkeys(entries, "")


def _contracts(value: object, key: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list | tuple):
        raise ConfigError(key, f"must be a list of tables, not {_kind(value)} {shown(value)}")
    return [_table(v, f"{key}[{i}]") for i, v in enumerate(value)]


def _layers(value: object) -> tuple[Layers, ...]:
    out = []
    names: set[str] = set()
    for i, spec in enumerate(_contracts(value, "layers")):
        key = f"layers[{i}]"
        for k in spec:
            if k not in ("name", "layers"):
                raise ConfigError(f"{key}.{k}", "unknown key; allowed: layers, name")
        name = _string(spec.get("name", f"layers {i}"), f"{key}.name", allow_empty=False)
        layers = _layer_list(spec.get("layers"), f"{key}.layers")
        if name in names:
            raise ConfigError(f"{key}.name", f"{shown(name)} is used by another contract")
        names.add(name)
        out.append(Layers(name, layers))
    return tuple(out)


def _layer_list(raw: object, key: str) -> tuple[tuple[str, ...], ...]:
    """At least two layers, each a dotted name or a list of them; no name twice."""
    if not isinstance(raw, list | tuple) or len(raw) < 2:
        raise ConfigError(key, f"must list at least two layers, not {shown(raw, 60)}")
    seen: set[str] = set()
    layers: list[tuple[str, ...]] = []
    for j, layer in enumerate(raw):
        members = [layer] if isinstance(layer, str) else layer
        lkey = f"{key}[{j}]"
        group = _names(members, lkey, allow_empty=False)
        for m in group:
            if m in seen:
                raise ConfigError(lkey, f"{shown(m)} is listed twice")
            seen.add(m)
        layers.append(tuple(group))
    return tuple(layers)


def _independence(value: object) -> tuple[Independence, ...]:
    out = []
    for i, spec in enumerate(_contracts(value, "independence")):
        key = f"independence[{i}]"
        for k in spec:
            if k not in ("name", "modules"):
                raise ConfigError(f"{key}.{k}", "unknown key; allowed: modules, name")
        name = _string(spec.get("name", f"independence {i}"), f"{key}.name", allow_empty=False)
        out.append(Independence(name, _module_list(spec.get("modules"), f"{key}.modules")))
    return tuple(out)


def _module_list(value: object, key: str) -> tuple[str, ...]:
    modules = _names(value, key, allow_empty=False)
    if len(modules) < 2:
        raise ConfigError(key, "must list at least two modules")
    return tuple(modules)
