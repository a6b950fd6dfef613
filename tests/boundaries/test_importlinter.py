"""The same layers and independence contracts give the same verdicts as import-linter."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.boundaries import Config, build, find_violations
from designpatterns_ref.boundaries.contracts import django_config, importlinter_ini
from tests.boundaries.helpers import write_tree

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(config: Config, folder: Path, pythonpath: str | None) -> dict[str, bool]:
    """{contract name: kept} as lint-imports reports it."""
    (folder / ".importlinter").write_text(importlinter_ini(config), encoding="utf-8")
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=folder, capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip
    verdicts = dict(re.findall(r"^(.+?) (KEPT|BROKEN)$", result.stdout, re.MULTILINE))
    assert verdicts, result.stdout + result.stderr
    return {name.strip(): verdict == "KEPT" for name, verdict in verdicts.items()}


def _ours(config: Config) -> dict[str, bool]:
    # import-linter reads no dynamic import; everything else counts in both
    cfg = dataclasses.replace(config, include=config.include - {"dynamic"})
    found = find_violations(build(cfg, use_cache=False, jobs=1), cfg)
    names = [c.name for c in cfg.layers] + [c.name for c in cfg.independence]
    return {name: not any(v.contract == name for v in found) for name in names}


SYNTHETIC = {
    "app/__init__.py": "",
    "app/ui/__init__.py": "",
    "app/ui/views.py": "from app.domain import model\n",
    "app/domain/__init__.py": "",
    "app/domain/model.py": "import app.data.repo\nfrom typing import TYPE_CHECKING\n"
    "if TYPE_CHECKING:\n    from app.audit import log\n",
    "app/data/__init__.py": "",
    "app/data/repo.py": "def f():\n    from ..util import helper\n",
    "app/util.py": "from app.ui import views\n",
    "app/audit/__init__.py": "",
    "app/audit/log.py": "from . import sink\n",
    "app/audit/sink.py": "",
    "app/billing/__init__.py": "from .invoice import *\n",
    "app/billing/invoice.py": "import app.audit.log\n",
}

CONTRACTS: dict[str, Any] = {
    "layers": [
        {"name": "kept stack", "layers": ["app.domain", "app.audit"]},
        {"name": "broken stack", "layers": ["app.ui", "app.domain", "app.data"]},
        {"name": "siblings", "layers": ["app.billing", ["app.domain", "app.audit"]]},
    ],
    "independence": [
        {"name": "kept pair", "modules": ["app.billing", "app.ui"]},
        {"name": "broken trio", "modules": ["app.audit", "app.ui", "app.billing"]},
        {"name": "via type checking", "modules": ["app.domain", "app.audit"]},
    ],
}


def test_same_verdicts_on_a_synthetic_package(tmp_path: Path) -> None:
    write_tree(tmp_path, SYNTHETIC)
    config = Config.from_dict(
        {"packages": ["app"], "roots": ["."], "cache": "", **CONTRACTS}, base=tmp_path
    )
    ours = _ours(config)
    assert ours == _lint_imports(config, tmp_path, str(tmp_path))
    kept = {"kept stack", "siblings", "kept pair"}
    assert ours == {name: name in kept for name in ours}
    assert len(ours) == 6


def test_same_verdicts_on_django(tmp_path: Path) -> None:
    config = django_config()
    ours = _ours(config)
    assert ours == _lint_imports(config, tmp_path, None)
    assert set(ours.values()) == {True, False}, "the contract set has kept and broken contracts"


@pytest.mark.parametrize("edge", [None, "app/data/repo.py", "app/util.py"])
def test_verdict_changes_with_the_code(tmp_path: Path, edge: str | None) -> None:
    files = dict(SYNTHETIC)
    if edge:
        files[edge] = ""  # cut one link of the ui <- util <- repo chain
    write_tree(tmp_path, files)
    config = Config.from_dict(
        {"packages": ["app"], "roots": ["."], "cache": "",
         "layers": [{"name": "stack", "layers": ["app.ui", "app.domain", "app.data"]}]},
        base=tmp_path,
    )  # fmt: skip
    ours = _ours(config)
    assert ours == _lint_imports(config, tmp_path, str(tmp_path))
    assert ours["stack"] is (edge is not None)
