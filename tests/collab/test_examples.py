"""The collaborative-editor example runs end to end, and every convergence it prints holds."""

from __future__ import annotations

import re
from pathlib import Path

from tests.notebooks import run_example


def test_example_runs(tmp_path: Path) -> None:
    out = run_example("collaborative_editor", tmp_path).text
    lines = out.splitlines()
    # the two OT clients, transformed each way round, then the server and its two clients
    first, second = lines[0], lines[1]
    assert first == second, (first, second)
    assert re.search(r"^\d+ '[^\n]*' True$", out, re.MULTILINE), out
    for rule in ("RGAReplica", "FugueMaxReplica"):
        assert re.search(rf"^{rule} +'[^\n]*'  converged: True$", out, re.MULTILINE), out
    assert re.search(r"^'My draft one' True$", out, re.MULTILINE), out  # fork and merge
    if "editing traces not found" not in out:
        assert "clownschool prefix: all three agree: True" in lines
    assert "synced over TCP: True" in lines
    assert not [line for line in lines if line.rstrip().endswith("False")]
