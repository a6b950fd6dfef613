"""The chat-app example runs end to end as a script."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "chat_app.py"


def test_example_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("DPREF_PLOTS", str(tmp_path))
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "seq of the send and of its retry: 1 1" in out
    assert out.count("in order, once each: True") == 4
    assert "messages in the log: 30" in out
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "messaging-delivery.png",
        "messaging-gc-latency.png",
    ]


def test_slack_example_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("DPREF_PLOTS", str(tmp_path))
    runpy.run_path(str(EXAMPLE.with_name("slack_gateway.py")), run_name="__main__")
    out = capsys.readouterr().out
    assert "only cs-b's: True" in out
    assert out.count("ends on gateway 1: 60 messages, in order, once each: True") == 4
    assert out.count("2000/2000 delivered") == 2  # the gateway and the naive server
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "messaging-fanout.png",
        "messaging-ring-shares.png",
    ]
