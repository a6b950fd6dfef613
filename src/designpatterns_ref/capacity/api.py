"""The live dashboard: capacity per home over Server-Sent Events (FastAPI, ``api`` extra).

Case study: Design a Real-Time Bed Logistics System (docs/case-studies/bed-logistics.md)

:func:`create_app` serves one :class:`BedCapacity`:

- ``GET /`` a small HTML page with a table of homes (free, occupied, cleaning, reserved, stale)
  that an ``EventSource`` keeps current;
- ``GET /stream`` the Server-Sent Events stream: a ``capacity`` event with the full snapshot on
  connect and after every change (the ``version`` and the stale homes are checked every
  ``poll`` seconds, 0.1 by default), so a page shows a change well within a second;
- ``GET /capacity`` the same snapshot as JSON; ``GET /fhir/Location`` every bed as FHIR;
- ``POST /beds/{home}/{unit}/{n}/{command}`` runs a command (admit, discharge, block, reserve,
  release, transfer with ``?to_unit=``); a refused command answers 422 with the reason.

Trade-off: each stream sends the whole snapshot (a few hundred bytes per home) rather than
deltas: a reconnecting page needs no replay, at the cost of bandwidth for very large regions.

>>> from designpatterns_ref.capacity.base import Topology
>>> app = create_app(BedCapacity(Topology({"north": {"elm": {"a": 1}}})))
>>> sorted(r.path for r in app.routes if r.path.startswith(("/c", "/s")))
['/capacity', '/stream']
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

from designpatterns_ref.capacity.base import CapacityError, check_time
from designpatterns_ref.capacity.fhir import bundle
from designpatterns_ref.capacity.service import BedCapacity
from designpatterns_ref.errors import shown

__all__ = ["PAGE", "create_app"]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bed capacity</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:right}
th:first-child,td:first-child{text-align:left}.stale{color:#b00}</style></head>
<body><h1>Bed capacity per home</h1>
<p id="status">connecting...</p>
<table><thead><tr><th>home</th><th>free</th><th>occupied</th><th>cleaning</th>
<th>reserved</th><th>reporting</th></tr></thead><tbody id="homes"></tbody></table>
<script>
const body = document.getElementById("homes");
const source = new EventSource("stream");
source.addEventListener("capacity", (msg) => {
  const snap = JSON.parse(msg.data);
  body.replaceChildren(...snap.homes.map((h) => {
    const row = document.createElement("tr");
    row.id = "home-" + h.home;
    if (h.stale) row.className = "stale";
    for (const value of [h.home, h.free, h.occupied, h.cleaning, h.reserved,
                         h.stale ? "stale" : "live"]) {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.appendChild(cell);
    }
    row.children[1].dataset.field = "free";
    return row;
  }));
  document.getElementById("status").textContent = "version " + snap.version;
});
source.onerror = () => { document.getElementById("status").textContent = "reconnecting..."; };
</script></body></html>
"""

_COMMANDS = ("admit", "discharge", "block", "reserve", "release", "transfer")


def create_app(service: BedCapacity, *, poll: float = 0.1) -> FastAPI:
    """A FastAPI app serving ``service``'s live capacity."""
    if not isinstance(service, BedCapacity):
        raise CapacityError(f"service={shown(service)} must be a BedCapacity")
    interval = check_time("poll", poll)
    if not 0.001 <= interval <= 10:
        raise CapacityError(f"poll={shown(poll)} must be 0.001 to 10 seconds")
    app = FastAPI(title="Bed capacity", version="1")

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return PAGE

    @app.get("/capacity")
    def capacity() -> dict[str, Any]:
        return service.snapshot()

    @app.get("/fhir/Location")
    def locations() -> dict[str, Any]:
        with service._lock:
            return bundle(service.projection)

    @app.post("/beds/{home}/{unit}/{n}/{command}")
    def command(home: str, unit: str, n: str, command: str, to_unit: str | None = None) -> Any:
        bed = f"{home}/{unit}/{n}"
        if command not in _COMMANDS:
            return JSONResponse({"error": f"command={shown(command)} must be one of {_COMMANDS}"},
                                status_code=404)  # fmt: skip
        try:
            if command == "transfer":
                event = service.transfer(bed, to_unit)  # type: ignore[arg-type]
            else:
                event = getattr(service, command)(bed)
        except CapacityError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return {"event": event.as_dict(), "version": service.version}

    @app.get("/stream")
    async def stream(request: Request) -> StreamingResponse:
        async def events() -> AsyncIterator[str]:
            seen: object = None
            yield "retry: 1000\n\n"
            while not await request.is_disconnected():
                # stale_homes first reads what other services sharing the log wrote since (a
                # home can go stale too), then the version is read
                stale = tuple(service.stale_homes())
                now = (service.version, stale)
                if now != seen:
                    seen = now
                    snap = service.snapshot()
                    yield f"event: capacity\ndata: {json.dumps(snap)}\n\n"
                await asyncio.sleep(interval)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    return app
