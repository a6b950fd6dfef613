"""This library's own boundaries (pyproject.toml, [tool.dpref.boundaries]) hold."""

from __future__ import annotations

import tomllib
from pathlib import Path

import designpatterns_ref as dp
from designpatterns_ref.boundaries import bind, build, check, load_config
from designpatterns_ref.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_the_library_keeps_its_own_boundaries() -> None:
    config = load_config(ROOT)
    report = check(config, use_cache=False, use_todo=False)
    shown = "\n".join(f"{v.path}:{v.line}: {v.message}" for v in report.violations)
    assert report.ok, shown
    assert report.problems == []


def test_every_subpackage_is_a_component_without_editing_the_config() -> None:
    config = load_config(ROOT)
    bound = bind(config, build(config, use_cache=False))
    package = Path(dp.__file__).parent
    children = {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    for family in children:
        component = bound.components[f"designpatterns_ref.{family}"]
        assert component.public == (".",)
        assert component.depends_on is not None and "*" not in component.depends_on
    assert "boundaries" in children
    core = {"clock", "errors", "catalog", "testing", "benchkit", "figures", "cli"}
    assert {f"designpatterns_ref.{c}" for c in core} <= set(bound.components)


def test_a_new_family_importing_another_fails_the_check(tmp_path: Path) -> None:
    """Copy the declared rules onto a tiny tree with a new family that reaches into another."""
    (tmp_path / "pyproject.toml").write_text(
        (ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    src = tmp_path / "src" / "designpatterns_ref"
    for rel, text in {
        "__init__.py": "", "clock.py": "", "errors.py": "", "catalog.py": "", "testing.py": "",
        "benchkit.py": "", "figures.py": "", "cli.py": "", "__main__.py": "",
        "ratelimit/__init__.py": "from .token_bucket import TokenBucket\n",
        "ratelimit/token_bucket.py": "class TokenBucket: ...\n",
        "newfamily/__init__.py": "from designpatterns_ref.clock import *\n",
        "newfamily/gateway.py": "from designpatterns_ref.ratelimit.token_bucket import (\n"
        "    TokenBucket,\n)\n",
    }.items():  # fmt: skip
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text, encoding="utf-8")
    # every family the config names (a component, or a dependency of one) gets a package here
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    components = declared["tool"]["dpref"]["boundaries"]["components"]
    names = set(components)
    for spec in components.values():
        deps = spec.get("depends_on", [])
        names |= set(deps) if isinstance(deps, list) else set()
    for name in names:
        module = name.removeprefix("designpatterns_ref.")
        if "*" not in module and not (src / f"{module}.py").exists():
            (src / module).mkdir(exist_ok=True)
            (src / module / "__init__.py").touch()
    assert main(["boundaries", "check", str(tmp_path), "--no-cache"]) == 1
    report = check(load_config(tmp_path), use_cache=False)
    assert sorted(v.rule for v in report.violations) == ["dependency", "privacy"]
