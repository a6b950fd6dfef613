"""An ASGI app under a real uvicorn server in a thread, on a free loopback port: the one way
the API tests of every family serve their app."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from designpatterns_ref.testing import free_port


@contextmanager
def serve_asgi(app: object, name: str, **options: Any) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL. ``options`` go to
    ``uvicorn.Config`` (after quiet logging and no lifespan)."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, log_level="warning",
        lifespan="off", **options,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # readiness, not timing: poll until the socket is bound
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"uvicorn did not start {name}")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
