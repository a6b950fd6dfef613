"""The chat-app example runs end to end as a notebook."""

from __future__ import annotations

from pathlib import Path

from tests.notebooks import run_example


def test_example_runs(tmp_path: Path) -> None:
    run = run_example("chat_app", tmp_path)
    out = run.text
    assert "seq of the send and of its retry: 1 1" in out
    assert out.count("in order, once each: True") == 4
    assert "messages in the log: 30" in out
    assert run.files == [
        "messaging-delivery.png",
        "messaging-gc-latency.png",
    ]


def test_slack_example_runs(tmp_path: Path) -> None:
    run = run_example("slack_gateway", tmp_path)
    out = run.text
    assert "only cs-b's: True" in out
    assert out.count("ends on gateway 1: 60 messages, in order, once each: True") == 4
    assert out.count("2000/2000 delivered") == 2  # the gateway and the naive server
    assert run.files == [
        "messaging-fanout.png",
        "messaging-ring-shares.png",
    ]
