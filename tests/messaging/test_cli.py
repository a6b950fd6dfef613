"""``dpref messaging serve`` and ``cluster`` started as real processes on free ports, with real
clients connecting; ``token``; bad arguments exit 2 without starting anything."""

from __future__ import annotations

import asyncio
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from designpatterns_ref.cli import main
from designpatterns_ref.messaging import SQLiteStore
from designpatterns_ref.messaging.client import Client
from designpatterns_ref.messaging.token import verify_token

SECRET = "cli-secret"


@contextmanager
def dpref(*args: str, lines: int = 1) -> Iterator[list[str]]:
    """Run ``python -m designpatterns_ref ARGS``; yield the first ``lines`` 'serving' URLs."""
    proc = subprocess.Popen([sys.executable, "-m", "designpatterns_ref", *args],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    out: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [out.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    urls: list[str] = []
    try:
        while len(urls) < lines:
            line = out.get(timeout=30)
            if line.startswith("serving "):
                urls.append(line.split()[1])
        yield urls
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        proc.stdout.close()


def token(capsys: pytest.CaptureFixture[str], user: str) -> str:
    assert main(["messaging", "token", user, "--secret", SECRET, "--ttl", "600"]) == 0
    return capsys.readouterr().out.strip()


async def chat(urls: list[str], ann_tok: str, bob_tok: str, n: int) -> list[str]:
    async with Client(urls[0], ann_tok, "a1") as ann, Client(urls[-1], bob_tok, "b1") as bob:
        for i in range(n):
            await ann.send("general", f"hi {i}", client_msg_id=f"m{i}")
        await ann.wait_sent()
        return [m.body for m in await bob.wait_for("general", n)]


def test_serve_with_a_sqlite_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ann, bob = token(capsys, "ann"), token(capsys, "bob")
    assert verify_token(SECRET.encode(), ann, now=0) == "ann"
    db = tmp_path / "chat.db"
    with dpref("messaging", "serve", "--port", "0", "--secret", SECRET, "--store",
               f"sqlite:{db}", "--join", "general:ann,bob") as urls:  # fmt: skip
        assert urls[0].startswith("ws://127.0.0.1:")
        assert asyncio.run(chat(urls, ann, bob, 3)) == ["hi 0", "hi 1", "hi 2"]
    assert SQLiteStore(db).last_seq("general") == 3  # the process wrote the log to the file


def test_cluster_command(redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    ann, bob = token(capsys, "ann"), token(capsys, "bob")
    with dpref("messaging", "cluster", "--redis", redis_url, "--secret", SECRET,
               "--join", "general:ann,bob", lines=2) as urls:  # fmt: skip
        assert len(set(urls)) == 2
        assert asyncio.run(chat(urls, ann, bob, 3)) == ["hi 0", "hi 1", "hi 2"]


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--secret", SECRET, "--port", "70000"],
        ["serve", "--secret", SECRET, "--store", "ftp://x"],
        ["serve", "--secret", SECRET, "--join", "general"],
        ["serve", "--secret", SECRET, "--join", ":ann"],
        ["serve"],
        ["token", "ann", "--secret", SECRET, "--ttl", "-5"],
        ["cluster", "--redis", "redis://127.0.0.1:1", "--secret", SECRET, "--gateways", "99"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["messaging", *argv])
    assert exc.value.code == 2
    assert capsys.readouterr().err


@pytest.mark.parametrize("secret", ["abc", "\x00\x01\x02\x03"])
def test_a_bad_secret_exits_2(secret: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["messaging", "token", "ann", "--secret", secret]) == 2
    assert main(["messaging", "serve", "--secret", secret, "--port", "0"]) == 2
    assert "--secret" in capsys.readouterr().err
