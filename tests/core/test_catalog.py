"""The catalog: complete, consistent with the docs and the README, and importable."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import designpatterns_ref as dp
from designpatterns_ref.catalog import CaseStudy, UnknownCaseStudy, case_study, catalog

ROOT = Path(__file__).resolve().parents[2]
DESIGN_SLUGS = [
    "rate-limiter", "url-shortener", "search-autocomplete", "ride-sharing", "news-feed",
    "collaborative-editor", "news-score", "photo-sharing", "chat-app", "slack-gateway",
    "discord-read-states", "github-vitess", "notion-postgres", "uber-postgres-mysql",
    "netflix-chaos", "shopify-modular-monolith", "video-streaming", "hotel-booking",
    "food-delivery", "push-notifications", "membership-benefits", "bed-logistics",
    "worker-identity", "gig-marketplace", "healthcare-serverless",
]  # fmt: skip


def test_all_25_case_studies_in_handbook_order() -> None:
    assert [c.slug for c in catalog()] == DESIGN_SLUGS


def test_slugs_and_titles_unique() -> None:
    slugs = [c.slug for c in catalog()]
    titles = [c.title for c in catalog()]
    assert len(set(slugs)) == len(slugs) == 25
    assert len(set(titles)) == len(titles)


@pytest.mark.parametrize("study", catalog(), ids=lambda c: c.slug)
def test_entry_is_complete(study: CaseStudy) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", study.slug)
    assert study.status in ("implemented", "planned")
    for text in (study.title, study.problem, study.decision, study.concept, study.family):
        assert text.strip() == text and text
    for source in study.sources:
        assert source.url.startswith("https://") and source.title


@pytest.mark.parametrize("study", catalog(), ids=lambda c: c.slug)
def test_docs_page_exists_and_names_the_case_study(study: CaseStudy) -> None:
    page = ROOT / study.docs_page
    assert page.is_file(), f"{study.docs_page} is missing"
    first = page.read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# {study.title}", f"{study.docs_page}: its H1 is not the catalog's title"


@pytest.mark.parametrize(
    "study", [c for c in catalog() if c.status == "implemented"], ids=lambda c: c.slug
)
def test_an_implemented_case_study_page_links_the_examples_that_run_it(study: CaseStudy) -> None:
    """Below its title, the page's "See it run" box links one or more ``examples/*.py``, each
    of which exists (the docs build executes them)."""
    lines = (ROOT / study.docs_page).read_text(encoding="utf-8").splitlines()
    assert lines[2] == '!!! example "See it run"', f"{study.docs_page}: no 'See it run' box"
    box = "\n".join(lines[3:5])
    linked = re.findall(r"\[`examples/(\w+\.py)`\]\(\.\./examples/(\w+\.py)\)", box)
    assert linked, f"{study.docs_page}: its 'See it run' box links no example"
    for shown_name, target in linked:
        assert shown_name == target
        assert (ROOT / "examples" / target).is_file(), f"{study.docs_page} links {target}"


@pytest.mark.parametrize(
    "study", [c for c in catalog() if c.status == "implemented"], ids=lambda c: c.slug
)
def test_implemented_modules_import(study: CaseStudy) -> None:
    assert study.modules
    for name in study.modules:
        importlib.import_module(name)


def test_planned_entries_point_at_no_code() -> None:
    for study in catalog():
        if study.status == "planned":
            assert study.modules == () or all(
                importlib.util.find_spec(m) is None for m in study.modules
            ), f"{study.slug} has code: mark it implemented"


def _table_rows(text: str, link: str) -> dict[str, list[str]]:
    """The rows of a Markdown table whose first cell links to a case-study page, by slug:
    ``[title, family, ...]`` (the link text and the cells after it, the family unquoted)."""
    rows: dict[str, list[str]] = {}
    pattern = re.compile(
        r"\| \[(?P<title>[^\]]+)\]\(" + re.escape(link) + r"(?P<slug>[a-z0-9-]+)\.md\) \|"
    )
    for line in text.splitlines():
        match = pattern.match(line)
        if match:
            cells = [c.strip() for c in line[match.end() :].rstrip().rstrip("|").split(" | ")]
            rows[match["slug"]] = [match["title"], cells[0].strip("`"), *cells[1:]]
    return rows


@pytest.mark.parametrize(
    ("page", "link", "columns"),
    [
        ("README.md", "docs/case-studies/", ["title", "family", "concept", "status"]),
        ("docs/case-studies/index.md", "", ["title", "family", "concept"]),
    ],
)
def test_case_study_tables_match_the_catalog(page: str, link: str, columns: list[str]) -> None:
    """Each table row of the README and the case-study index says what the catalog says:
    title, family, concept (and, in the README, status), one row per case study, in order."""
    rows = _table_rows((ROOT / page).read_text(encoding="utf-8"), link)
    assert list(rows) == [c.slug for c in catalog()], f"{page}: rows missing or out of order"
    for study in catalog():
        expected = [getattr(study, column) for column in columns]
        assert rows[study.slug] == expected, f"{page}: the row of {study.slug} differs"


def test_lookup_returns_the_entry() -> None:
    assert case_study("news-feed").family == "feed"
    assert dp.case_study("rate-limiter") is case_study("rate-limiter")
    assert dp.catalog() == catalog()


@pytest.mark.parametrize(
    ("typo", "expected"),
    [("rate-limitr", "rate-limiter"), ("news-fed", "news-feed"), ("uber", "uber-postgres-mysql")],
)
def test_unknown_slug_names_close_matches(typo: str, expected: str) -> None:
    with pytest.raises(UnknownCaseStudy) as info:
        case_study(typo)
    assert expected in str(info.value)
    assert isinstance(info.value, LookupError)


@given(st.text(max_size=30))
def test_any_unknown_slug_raises_with_suggestions(text: str) -> None:
    slugs = {c.slug for c in catalog()}
    if text in slugs:
        assert case_study(text).slug == text
        return
    with pytest.raises(UnknownCaseStudy) as info:
        case_study(text)
    suggested = str(info.value).split("did you mean: ")[1].rstrip("?").split(", ")
    assert len(suggested) == 3 and set(suggested) <= slugs


@pytest.mark.parametrize("study", catalog(), ids=lambda c: c.slug)
def test_docs_page_status_matches_the_catalog(study: CaseStudy) -> None:
    text = (ROOT / study.docs_page).read_text(encoding="utf-8")
    says_planned = '!!! note "Planned"' in text
    assert says_planned == (study.status == "planned"), (
        f"{study.docs_page} {'says' if says_planned else 'does not say'} planned, "
        f"the catalog says {study.status}"
    )


def test_bed_logistics_poses_the_problem_its_page_does() -> None:
    """The page is about a municipality placing residents in care homes it does not run (not
    about a hospital): the catalog's problem says the same, in the page's words."""
    study = case_study("bed-logistics")
    page = (ROOT / study.docs_page).read_text(encoding="utf-8").lower()
    for words in ("municipality", "care homes", "free", "occupied", "being cleaned", "reserved"):
        assert words in study.problem and words in page
    assert "hospital" not in study.problem.lower() and "hospital" not in page
