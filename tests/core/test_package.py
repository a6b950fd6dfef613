"""The package itself: lazy families, a fast import, and honest module boundaries."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import designpatterns_ref as dp

SRC = Path(dp.__file__).resolve().parent
OPTIONAL = ("redis", "fastapi", "uvicorn", "matplotlib", "wordfreq", "numpy", "pydantic")


def _fresh(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def test_import_loads_no_family_and_no_optional_package() -> None:
    code = "import sys, json, designpatterns_ref; print(json.dumps(sorted(m for m in sys.modules)))"
    loaded = set(json.loads(_fresh(code)))
    for family in dp.FAMILIES:
        assert f"designpatterns_ref.{family}" not in loaded
    for name in OPTIONAL:
        assert name not in loaded, f"import designpatterns_ref imported {name}"


@pytest.mark.parametrize("family", dp.FAMILIES)
def test_families_are_reached_lazily(family: str) -> None:
    code = f"import designpatterns_ref as dp, sys; m = dp.{family}; print(m.__name__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode != 0 and "No module named" in result.stderr:
        pytest.skip(f"{family} is not built yet")
    assert result.stdout.strip() == f"designpatterns_ref.{family}"


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = dp.nope  # type: ignore[attr-defined]
    assert "ratelimit" in dir(dp)


def _imports(path: Path, package: list[str] | None = None) -> set[str]:
    """Every module ``path`` imports, absolute: ``from designpatterns_ref import geo`` and
    ``from ... import geo`` (relative) count as importing ``designpatterns_ref.geo``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if package is None:  # the package that holds ``path``, for relative imports
        package = ["designpatterns_ref", *path.parent.relative_to(SRC).parts]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            for alias in node.names:  # ``from X import y`` where y is a module of X
                where = SRC.joinpath(*f"{module}.{alias.name}".split(".")[1:])
                if module.startswith("designpatterns_ref") and (
                    where.is_dir() or where.with_suffix(".py").is_file()
                ):
                    names.add(f"{module}.{alias.name}")
    return names


def test_imports_sees_every_spelling_of_a_cross_family_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    for code in (
        "from designpatterns_ref import geo",
        "from .. import geo",
        "from ..geo import GeohashIndex",
        "import designpatterns_ref.geo",
    ):
        probe.write_text(code + "\n")
        assert "designpatterns_ref.geo" in _imports(probe, ["designpatterns_ref", "booking"]), code


def test_every_declared_use_is_a_real_import() -> None:
    """A use declared in catalog.FAMILY_USES that no module makes any more is stale."""
    from designpatterns_ref.catalog import FAMILY_USES

    for family, used in FAMILY_USES.items():
        imported = {n for p in (SRC / family).rglob("*.py") for n in _imports(p)}
        for other in used:
            assert any(n == f"designpatterns_ref.{other}" for n in imported), (family, other)


@pytest.mark.parametrize("family", [f for f in dp.FAMILIES if (SRC / f).is_dir()])
def test_no_family_imports_another_except_through_declared_public_packages(family: str) -> None:
    from designpatterns_ref.catalog import family_uses

    allowed = {f"designpatterns_ref.{f}" for f in family_uses(family)}
    others = {f"designpatterns_ref.{f}" for f in dp.FAMILIES if f != family}
    for path in (SRC / family).rglob("*.py"):
        for name in _imports(path):
            for other in others:
                if name == other and other in allowed:
                    continue  # a declared use, through the family's public package
                assert not (name == other or name.startswith(other + ".")), (
                    f"{path.relative_to(SRC)} imports {name}: families stay independent "
                    f"(or declare the use in catalog.FAMILY_USES, public package only)"
                )


def test_declared_uses_name_real_families_and_form_no_cycle() -> None:
    from designpatterns_ref.catalog import FAMILY_USES

    for family, used in FAMILY_USES.items():
        assert family in dp.FAMILIES
        assert set(used) <= set(dp.FAMILIES) - {family}
        for other in used:  # no cycle of length two (the graph is tiny: check all paths)
            assert family not in FAMILY_USES.get(other, ())
    seen: set[str] = set()

    def visit(family: str, path: tuple[str, ...]) -> None:
        assert family not in path, f"a cycle of family uses: {' -> '.join((*path, family))}"
        seen.add(family)
        for other in FAMILY_USES.get(family, ()):
            visit(other, (*path, family))

    for family in FAMILY_USES:
        visit(family, ())


def test_py_typed_marker_ships() -> None:
    assert (SRC / "py.typed").is_file()
