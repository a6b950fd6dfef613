"""The worker-identity example, the tour, the quick bench and the plots run."""

from __future__ import annotations

import re
from pathlib import Path

from designpatterns_ref.identity._bench import bench_steps
from designpatterns_ref.identity._tour import tour
from designpatterns_ref.identity.plot import (
    plot_badge_qr,
    plot_revocation_window,
    plot_status_list_size,
    revocation_timeline,
)
from tests.notebooks import run_example

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "case-studies" / "worker-identity.md"


def _page_figures() -> list[str]:
    """The PNG files of docs/assets/identity the case-study page embeds."""
    return re.findall(r"\(\.\./assets/identity/([\w-]+\.png)\)", PAGE.read_text())


def test_worker_identity_example_runs(tmp_path: Path) -> None:
    run = run_example("worker_identity", tmp_path)
    out = run.text
    assert "08:20 (revoked at 08:10, the gate cannot know) ok" in out
    assert "09:11 after a refresh revoked" in out
    assert "edited signature: bad signature" in out
    assert "distrusted key" in out and "hash does not match" in out
    assert run.files == ["badge-qr.png", "revocation-window.png", "status-list-size.png"]
    assert set(_page_figures()) <= set(run.files)


def test_the_case_study_page_gives_the_command_that_draws_its_figures() -> None:
    figures = _page_figures()
    assert figures and all((ROOT / "docs" / "assets" / "identity" / f).is_file() for f in figures)
    blocks = re.findall(r"```(?:bash|sh|console)\n(.*?)```", PAGE.read_text(), flags=re.S)
    command = next((b for b in blocks if "DPREF_PLOTS=" in b), "")
    assert "python examples/worker_identity.py" in command
    for figure in figures:  # each embedded file is copied into docs/assets/identity
        assert figure in command and "docs/assets/identity" in command, figure


def test_tour_is_deterministic_and_tells_the_story() -> None:
    first: list[str] = []
    second: list[str] = []
    tour(first.append)
    tour(second.append)
    assert first == second
    text = "\n".join(first)
    assert "inside the window" in text and "stale status list" in text and "revoked" in text
    assert "bad algorithm" in text and "lacks forklift (expired)" in text


def test_bench_steps_are_named_and_run_quick() -> None:
    steps = bench_steps(True)
    assert [name for name, _ in steps] == ["issue and verify", "status list size", "audit log"]
    table = steps[0][1]()[0]
    names = [row[0] for row in table.rows]
    assert "PyJWT EdDSA decode (peer)" in names and "verify offline: compact JWS" in names


def test_the_window_never_exceeds_max_age() -> None:
    for publish_every in (300.0, 1_800.0, 5_000.0):
        timeline = revocation_timeline(
            max_age=3_600, publish_every=publish_every, revoked_at=2_500, horizon=4 * 3_600
        )
        accepted = [t for t, ok in timeline if ok]
        assert all(t < 2_500 + 3_600 for t in accepted)
        assert timeline and not timeline[-1][1]


def test_plots_have_labelled_axes_and_lines() -> None:
    import matplotlib

    matplotlib.use("Agg")
    fig = plot_revocation_window()
    ax = fig.axes[0]
    assert ax.get_xlabel() == "minutes" and ax.get_ylabel() and ax.lines
    fig = plot_status_list_size(entries=131_072, fractions=(0.01, 0.05))
    ax = fig.axes[0]
    assert "KB" in ax.get_ylabel() and len(ax.lines[0].get_xdata()) == 2
    from matplotlib.figure import Figure

    own = Figure()
    target = own.add_subplot()
    assert plot_status_list_size(entries=131_072, fractions=(0.01,), ax=target) is own


def test_the_badge_qr_is_drawn_with_its_version() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from tests.identity.world import make_world, standard_claims

    w = make_world()
    fig = plot_badge_qr(w.issuer.sign_compact(standard_claims(w)), error_correction="L")
    ax = fig.axes[0]
    assert ax.get_title().startswith("QR version") and "Base45" in ax.get_xlabel()
    assert ax.images
