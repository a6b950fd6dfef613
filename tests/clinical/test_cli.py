"""``dpref news2`` and ``dpref serve news2``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import pytest

from designpatterns_ref.clinical._cli import register
from designpatterns_ref.testing import free_port


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="dpref")
    register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    status: int = args.func(args)
    return status


FULL = ["--rr", "22", "--spo2", "93", "--scale", "2", "--oxygen", "--sbp", "112", "--pulse", "104",
        "--acvpu", "A", "--temp", "38.4"]  # fmt: skip


def test_news2_prints_the_score(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("news2", *FULL) == 0
    out = capsys.readouterr().out
    assert out.startswith("NEWS2 (RCP 2017): total 7, risk high (emergency response)")
    assert "Continuous monitoring of vital signs" in out


def test_news2_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("news2", *FULL, "--json") == 0
    body = json.loads(capsys.readouterr().out)
    assert body["total"] == 7 and body["values"]["spo2_scale"] == 2


def test_decimal_arguments_round_half_up(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--rr", "18", "--spo2", "97", "--sbp", "120", "--pulse", "70", "--acvpu", "A"]
    assert run("news2", *args, "--temp", "38.05", "--json") == 0
    body = json.loads(capsys.readouterr().out)
    assert body["values"]["temperature"] == 38.1 and body["total"] == 1


def test_invalid_input_lists_every_problem_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("news2", "--rr", "22", "--spo2", "0.93", "--temp", "98.6", "--acvpu", "x") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "5 problem(s)" in captured.err
    assert "spo2=0.93: this looks like a fraction" in captured.err
    assert "Fahrenheit" in captured.err and "pulse=(missing)" in captured.err


def test_partial(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("news2", "--rr", "26", "--spo2", "95", "--partial") == 0
    out = capsys.readouterr().out
    assert "PARTIAL total 4" in out and "red score" in out and "Monitoring" not in out


def test_news2012_ruleset_refuses_scale_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("news2", *FULL, "--ruleset", "news2012") == 2
    assert "one SpO2 scale" in capsys.readouterr().err
    full_2012 = [a for a in FULL if a not in ("--scale", "2")]
    assert run("news2", *full_2012, "--ruleset", "news2012") == 0
    assert capsys.readouterr().out.startswith("NEWS (RCP 2012): total 8, risk high")


def test_not_a_number_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as info:
        run("news2", "--rr", "fast")
    assert info.value.code == 2


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--port", "99999", "'99999' is not a port in 0..65535"),
        ("--port", "-1", "'-1' is not a port in 0..65535"),
        ("--max-body-bytes", "0", "'0' is not a whole number of bytes in 1..1048576"),
        ("--max-body-bytes", "-5", "'-5' is not a whole number of bytes in 1..1048576"),
        ("--max-body-bytes", "2097152", "'2097152' is not a whole number of bytes in 1..1048576"),
    ],
)
def test_serve_news2_refuses_bad_numbers_before_it_starts(
    option: str, value: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        run("serve", "news2", option, value)
    assert info.value.code == 2
    assert f"argument {option}: {says}" in capsys.readouterr().err


def test_serve_news2_runs_the_api_until_stopped() -> None:
    pytest.importorskip("uvicorn")
    httpx = pytest.importorskip("httpx")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "designpatterns_ref", "serve", "news2", "--port", str(port),
         "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:  # readiness: poll until the server answers
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"server did not start: {proc.stderr.read() if proc.stderr else ''!r}"
                    )
                time.sleep(0.05)
        assert r.json()["status"] == "ok"
        args = {"respiration_rate": 22, "spo2": 93, "spo2_scale": 2, "on_oxygen": True,
                "systolic_bp": 112, "pulse": 104, "consciousness": "A",
                "temperature": 38.4}  # fmt: skip
        assert httpx.post(f"http://127.0.0.1:{port}/v1/news2", json=args).json()["total"] == 7
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_the_max_body_bytes_option_allows_what_create_app_allows() -> None:
    api = pytest.importorskip("designpatterns_ref.clinical.api")
    from designpatterns_ref.clinical._cli import _body_bytes

    assert _body_bytes(str(api.MAX_BODY_BYTES_LIMIT)) == api.MAX_BODY_BYTES_LIMIT
    with pytest.raises(argparse.ArgumentTypeError):
        _body_bytes(str(api.MAX_BODY_BYTES_LIMIT + 1))
