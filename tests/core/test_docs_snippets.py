"""Every code block a reader can run on a docs page runs here, so the pages cannot drift.

A page shows its snippets as ```pycon blocks in doctest form (``>>> `` and ``... `` lines, the
real output below each, a blank line before the closing fence). Each page's blocks run in page
order in one namespace, as a reader pasting them one after the other would run them, with the
stdlib doctest parser and the options the module docstrings use. The same pages also run with
``python -m doctest -o ELLIPSIS -o NORMALIZE_WHITESPACE PAGE.md``.

A ```python block fails the test: executing it would only show that it does not raise, while
the results it claims in comments would go unchecked, which is how snippets drift. So does a
``>>>`` session in a block of another language. A fragment that is not meant to run belongs in
a ```text block without ``>>>``.
"""

from __future__ import annotations

import doctest
import io
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "docs").rglob("*.md"))
PAGES.append("README.md")

# Pages whose snippets read the shared data folder (they skip, with the reason, without it).
NEEDS_SHARED_DATA = {"docs/case-studies/video-streaming.md"}

OPTIONS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.S | re.M,
)
PYTHON_LANGS = {"python", "python3", "py", "py3"}


@dataclass(frozen=True)
class Block:
    lang: str
    body: str  # dedented, without the fences
    line: int  # 1-based line of the opening fence


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a markdown text, in page order."""
    found = []
    for m in FENCE.finditer(text):
        body = textwrap.dedent(m["body"])
        found.append(Block(m["lang"].lower(), body, text.count("\n", 0, m.start()) + 1))
    return found


def problems_of(text: str, name: str, globs: dict[str, Any]) -> list[str]:
    """Run the pycon blocks of ``text`` in one namespace; a report for each block that fails.

    A ```python block, a ``>>>`` session in a block of another language, or a pycon block with
    no example or no blank line before its closing fence, is a problem too.
    """
    parser = doctest.DocTestParser()
    problems = []
    for number, block in enumerate(blocks(text), 1):
        where = f"{name}, block {number} (line {block.line})"
        if block.lang in PYTHON_LANGS:
            problems.append(f"{where}: a ```{block.lang} block is not run; write it as ```pycon")
            continue
        if block.lang != "pycon":
            if any(line.lstrip().startswith(">>> ") for line in block.body.splitlines()):
                problems.append(f"{where}: a >>> session in a ```{block.lang} block is not run")
            continue
        if not block.body.endswith("\n\n"):
            problems.append(f"{where}: a pycon block needs a blank line before its closing fence")
        test = parser.get_doctest(block.body, globs, where, name, block.line)
        if not test.examples:
            problems.append(f"{where}: a pycon block with no >>> example")
            continue
        report = io.StringIO()
        runner = doctest.DocTestRunner(optionflags=OPTIONS)
        result = runner.run(test, out=report.write, clear_globs=False)
        globs.clear()
        globs.update(test.globs)  # the DocTest ran on a copy: later blocks see its names
        if result.failed:
            problems.append(f"{where}: {result.failed} example(s) failed\n{report.getvalue()}")
    return problems


@pytest.mark.parametrize("page", PAGES)
def test_page_snippets_run_and_show_their_real_output(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    if page in NEEDS_SHARED_DATA:
        monkeypatch.setenv("DPREF_DATA", str(request.getfixturevalue("shared_data")))
    monkeypatch.chdir(tmp_path)  # snippets that write files (links.db, ...) write them here
    text = (REPO_ROOT / page).read_text(encoding="utf-8")
    problems = problems_of(text, page, {"__name__": "__docs__"})
    assert not problems, "\n\n".join(problems)


def test_the_pages_hold_snippets_to_run() -> None:
    pages_with_pycon = [
        page
        for page in PAGES
        if any(b.lang == "pycon" for b in blocks((REPO_ROOT / page).read_text(encoding="utf-8")))
    ]
    assert "README.md" in pages_with_pycon
    assert len(pages_with_pycon) >= 25


def test_a_wrong_output_is_reported_with_the_page_and_block() -> None:
    text = "Text.\n\n```pycon\n>>> 1 + 1\n2\n\n```\n\nMore.\n\n```pycon\n>>> 2 + 2\n5\n\n```\n"
    [problem] = problems_of(text, "page.md", {})
    assert problem.startswith("page.md, block 2 (line 11): 1 example(s) failed")
    assert "Expected:\n    5\nGot:\n    4" in problem


def test_blocks_of_a_page_share_one_namespace_in_page_order() -> None:
    text = "```pycon\n>>> x = 20\n\n```\n\n```pycon\n>>> x + 1\n21\n\n```\n"
    assert problems_of(text, "page.md", {}) == []
    later_first = "```pycon\n>>> y\n1\n\n```\n\n```pycon\n>>> y = 1\n\n```\n"
    [problem] = problems_of(later_first, "page.md", {})
    assert "NameError: name 'y' is not defined" in problem


def test_a_python_block_is_refused_and_an_indented_one_is_found() -> None:
    text = "```python\nprint(1)  # 1\n```\n\n1. A step:\n\n    ```py\n    x = 1\n    ```\n"
    problems = problems_of(text, "page.md", {})
    assert problems == [
        "page.md, block 1 (line 1): a ```python block is not run; write it as ```pycon",
        "page.md, block 2 (line 7): a ```py block is not run; write it as ```pycon",
    ]


def test_a_session_in_a_text_block_is_refused() -> None:
    [problem] = problems_of("```text\n>>> 1 + 1\n3\n```\n", "page.md", {})
    assert problem == "page.md, block 1 (line 1): a >>> session in a ```text block is not run"


def test_a_pycon_block_needs_the_blank_line_before_its_fence() -> None:
    [problem] = problems_of("```pycon\n>>> 1\n1\n```\n", "page.md", {})
    assert problem == (
        "page.md, block 1 (line 1): a pycon block needs a blank line before its closing fence"
    )
