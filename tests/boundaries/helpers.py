"""Write small synthetic packages to a temporary folder and check them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from designpatterns_ref.boundaries import Config, ImportGraph, build_graph, find_violations


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Create ``files`` ({relative path: text}) under ``root``; a path ending in / is a folder."""
    for rel, text in files.items():
        path = root / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def graph_of(root: Path, files: dict[str, str], *packages: str) -> ImportGraph:
    write_tree(root, files)
    return build_graph(packages or ("pkg",), [root], jobs=1)


def edges(graph: ImportGraph) -> set[tuple[str, str]]:
    return graph.edge_set()


def violations(root: Path, files: dict[str, str], config: dict[str, Any]) -> list[Any]:
    write_tree(root, files)
    cfg = Config.from_dict({"cache": "", "roots": ["."], **config}, base=root)
    graph = build_graph(cfg.packages, [root], jobs=1)
    return find_violations(graph, cfg)


#: A small shop whose orders reach into payments: one dependency violation.
PYPROJECT = """\
[tool.dpref.boundaries]
packages = ["shop"]
roots = ["."]
[tool.dpref.boundaries.components."shop.*"]
public = ["."]
depends_on = []
"""

FILES = {
    "pyproject.toml": PYPROJECT,
    "shop/__init__.py": "",
    "shop/orders.py": "from shop.payments import charge\n",
    "shop/payments/__init__.py": "def charge(): ...\n",
    "shop/payments/_ledger.py": "",
    "shop/shared.py": "",
}
