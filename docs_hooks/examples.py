"""mkdocs hook: every ``examples/*.py`` becomes a docs page, executed at build time.

The examples live outside ``docs/`` (they are scripts people run), so this hook adds each one to
the site's files before mkdocs-jupyter looks at them; mkdocs-jupyter (``execute: true`` in
``mkdocs.yml``) converts it with jupytext, runs it in a kernel and renders its text and figures.
The pages are listed under "Examples" in the navigation, in file-name order, titled by their
first heading; a new example joins the site without editing ``mkdocs.yml``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SECTION = "Examples"


def _examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.py"))


def _title(path: Path) -> str:
    match = re.search(r"^# # (.+)$", path.read_text(encoding="utf-8"), re.MULTILINE)
    return match.group(1).strip() if match else path.stem.replace("_", " ").capitalize()


def on_config(config: Any) -> Any:
    """Add an "Examples" section to the navigation, before "API reference" when it exists."""
    nav = config.nav
    if nav is None:
        return config
    pages = [{_title(p): f"examples/{p.name}"} for p in _examples()]
    nav[:] = [entry for entry in nav if not (isinstance(entry, dict) and SECTION in entry)]
    names = [next(iter(e)) if isinstance(e, dict) else None for e in nav]
    at = names.index("API reference") if "API reference" in names else len(nav)
    nav.insert(at, {SECTION: pages})
    return config


@event_priority(100)  # before mkdocs-jupyter turns them into notebook pages
def on_files(files: Files, config: Any) -> Files:
    """Add every example to the site's files as ``examples/<name>.py``."""
    for path in _examples():
        files.append(
            File(
                f"examples/{path.name}",
                src_dir=str(ROOT),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files
