"""The NEWS2 API under a real uvicorn server on a loopback port, one server a test module."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from designpatterns_ref.testing import free_port


def serve(app: object) -> Iterator[str]:
    """A real uvicorn server in a thread on a free loopback port, stopped afterwards."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, log_level="warning", lifespan="off",
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="news2-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # readiness, not timing: poll until the socket is bound
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    from designpatterns_ref.clinical.api import create_app

    yield from serve(create_app())


@pytest.fixture(scope="module")
def roomy_client() -> Iterator[Any]:
    """A client of a server taking bodies up to 64 KiB (room for numbers of 5,000 digits)."""
    import httpx

    from designpatterns_ref.clinical.api import create_app

    for url in serve(create_app(max_body_bytes=65536)):
        with httpx.Client(base_url=url, timeout=10) as c:
            yield c


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[Any]:
    import httpx

    with httpx.Client(base_url=base_url, timeout=10) as c:
        yield c
