"""The NEWS2 API under a real uvicorn server on a loopback port, one server a test module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.asgi import serve_asgi


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    from designpatterns_ref.clinical.api import create_app

    with serve_asgi(create_app(), "news2-api") as url:
        yield url


@pytest.fixture(scope="module")
def roomy_client() -> Iterator[Any]:
    """A client of a server taking bodies up to 64 KiB (room for numbers of 5,000 digits)."""
    import httpx

    from designpatterns_ref.clinical.api import create_app

    with (
        serve_asgi(create_app(max_body_bytes=65536), "news2-api") as url,
        httpx.Client(base_url=url, timeout=10) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[Any]:
    import httpx

    with httpx.Client(base_url=base_url, timeout=10) as c:
        yield c
