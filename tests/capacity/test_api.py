"""The live dashboard under a real uvicorn on loopback: SSE over HTTP, and in headless Chromium."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import httpx
import pytest

from designpatterns_ref.capacity import BedCapacity, Topology, counter_ids
from designpatterns_ref.capacity.api import create_app
from designpatterns_ref.clock import ManualClock
from tests.asgi import serve_asgi

CHROMIUM = "/usr/bin/chromium"


def chromium_or_skip() -> str:
    """Debian's Chromium: skipped with the reason when missing, a failure under ``CI``."""
    from conftest import unavailable

    if not os.access(CHROMIUM, os.X_OK):
        unavailable(
            "Chromium", FileNotFoundError(f"{CHROMIUM} is missing (apt-get install chromium)")
        )
    return CHROMIUM


SPEC = {"north": {"elm": {"a": 3, "b": 1}, "oak": {"a": 2}}}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, BedCapacity]]:
    """A real uvicorn server in a thread on a free loopback port, stopped afterwards."""
    svc = BedCapacity(Topology(SPEC), clock=ManualClock(), stale_after=600, ids=counter_ids())
    app = create_app(svc, poll=0.05)
    with serve_asgi(app, "capacity-api", timeout_graceful_shutdown=2) as url:
        yield url, svc


def _sse_snapshots(client: httpx.Client, n: int) -> Iterator[dict[str, object]]:
    with client.stream("GET", "/stream") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "capacity":
                yield json.loads(line[6:])
                n -= 1
                if n == 0:
                    return


def test_commands_over_http_and_the_refusal_reason(served: tuple[str, BedCapacity]) -> None:
    url, _ = served
    with httpx.Client(base_url=url, timeout=10) as c:
        assert c.post("/beds/oak/a/1/admit").status_code == 200
        r = c.post("/beds/oak/a/1/admit")
        assert r.status_code == 422 and "is occupied" in r.json()["error"]
        r = c.post("/beds/elm/a/1/transfer", params={"to_unit": "b"})
        assert r.status_code == 422  # elm/a/1 is free: nothing to transfer
        assert c.get("/capacity").json()["homes"][1]["occupied"] == 1
        assert c.get("/fhir/Location").json()["total"] == 6
        assert "EventSource" in c.get("/").text
        c.post("/beds/oak/a/1/discharge")
        c.post("/beds/oak/a/1/release")


def test_the_stream_sends_a_snapshot_then_each_change(served: tuple[str, BedCapacity]) -> None:
    url, svc = served
    with httpx.Client(base_url=url, timeout=10) as c:
        stream = _sse_snapshots(c, 2)
        first = next(stream)
        svc.reserve("elm/a/2")
        second = next(stream)
        assert second["version"] == first["version"] + 1  # type: ignore[operator]
        homes = {h["home"]: h for h in second["homes"]}  # type: ignore[attr-defined]
        assert homes["elm"]["reserved"] == 1
        stream.close()
    svc.release("elm/a/2")


def test_the_page_shows_a_change_within_two_seconds_in_chromium(
    served: tuple[str, BedCapacity],
) -> None:
    executable = chromium_or_skip()
    from playwright.sync_api import expect, sync_playwright

    url, svc = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        try:
            page = browser.new_page()
            page.goto(url + "/")
            free = page.locator("#home-elm td").nth(1)
            expect(free).to_have_text(str(svc.table("home")["elm"]["free"]), timeout=10_000)
            before = int(free.inner_text())
            svc.admit("elm/a/3")  # the event, outside the browser
            expect(free).to_have_text(str(before - 1), timeout=2_000)  # within 2 s of it
            expect(page.locator("#home-elm td").nth(2)).to_have_text("1", timeout=2_000)
            page.close()
        finally:
            browser.close()
    svc.discharge("elm/a/3")
