"""The test servers' processes: every one of them paused and killed, stopped fast, run with the
right credentials, reaped when start-up is interrupted, and a failure that says why.

PostgreSQL serves each connection from a process of its own, which leaves the postmaster's
process group: these tests hold a connection open and check that it, too, is frozen, and that
stopping the server does not wait for it.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.errors import DesignPatternsError, InvalidArgument
from designpatterns_ref.testing import (
    PostgresServer,
    RedisServer,
    ServerUnavailable,
    postgres_server,
    redis_server,
)

psycopg = pytest.importorskip("psycopg")


def _running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != b"Z"


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


def _backends(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(word) for word in out.split()]


def test_pausing_postgres_freezes_the_connections_already_open() -> None:
    with postgres_server() as pg, psycopg.connect(pg.url, autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        answers: list[Any] = []
        with pg.paused():
            asking = threading.Thread(
                target=lambda: answers.append(conn.execute("SELECT 2").fetchone())
            )
            asking.start()
            asking.join(0.5)
            assert answers == [] and asking.is_alive()  # its backend is frozen too
        asking.join(10)
        assert answers == [(2,)]  # and answers once the block ends


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_killing_postgres_kills_its_backends_at_once() -> None:
    with postgres_server() as pg, psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute("SELECT 1")
        backends = _backends(pg.pid)
        assert backends
        pg.kill()
        assert not [pid for pid in backends if _running(pid)]


def test_stopping_postgres_does_not_wait_for_clients() -> None:
    with postgres_server() as pg:
        conn = psycopg.connect(pg.url, autocommit=True)  # a client that never disconnects
        conn.execute("SELECT 1")
        start = time.monotonic()
        pg.restart()
        assert time.monotonic() - start < 3  # SIGTERM (smart shutdown) took 5 s, then SIGKILL
        conn = psycopg.connect(pg.url, autocommit=True)
        conn.execute("SELECT 1")
        start = time.monotonic()
    assert time.monotonic() - start < 3
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only: PostgreSQL then runs as dpref-pg")
def test_as_root_postgres_runs_with_its_users_group_and_no_other() -> None:
    import pwd

    with postgres_server() as pg, psycopg.connect(pg.url) as conn:
        conn.execute("SELECT 1")
        entry = pwd.getpwnam("dpref-pg")  # made by the first server started as root
        for pid in [pg.pid, *_backends(pg.pid)]:
            status = _status(pid)
            assert status["Uid"].split() == [str(entry.pw_uid)] * 4
            assert status["Gid"].split() == [str(entry.pw_gid)] * 4
            assert status["Groups"] == ""


def _pgserver_site() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        pytest.skip("the pgserver wheel is not installed")
    return Path(spec.origin).parent.parent


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only: PostgreSQL then runs as dpref-pg")
def test_binaries_the_server_user_cannot_reach_run_without_opening_their_folders(
    tmp_path: Path,
) -> None:
    # a virtualenv under a folder only root may enter (as /root is): the server still starts,
    # and no folder's permissions change for it
    site = _pgserver_site()
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    venv = private / "site-packages"
    venv.mkdir()
    for name in ("pgserver", "pgserver.libs"):
        if (site / name).is_dir():
            subprocess.run(["cp", "-al", str(site / name), str(venv / name)], check=True)
    share = venv / "pgserver" / "pginstall" / "share"
    share.chmod(0o700)  # a folder inside the installation only root may enter (cp -al made it)
    folders = [share, private, *private.parents]
    modes = {folder: stat.S_IMODE(folder.stat().st_mode) for folder in folders}
    with postgres_server(venv / "pgserver" / "pginstall" / "bin") as pg:
        assert pg.execute("SELECT 1") == (1,)
        assert not str(pg.bindir).startswith(str(private))  # it runs a copy
    assert {folder: stat.S_IMODE(folder.stat().st_mode) for folder in folders} == modes


def test_an_initdb_that_cannot_run_is_server_unavailable(tmp_path: Path) -> None:
    for name in ("initdb", "postgres"):
        (tmp_path / name).write_bytes(b"")  # executable, but no program: exec fails
        (tmp_path / name).chmod(0o755)
    with pytest.raises(ServerUnavailable, match="initdb"), postgres_server(tmp_path):
        pass


def test_an_initdb_that_hangs_is_stopped_in_time_with_what_it_said(tmp_path: Path) -> None:
    (tmp_path / "initdb").write_text(
        "#!/bin/sh\necho creating the cluster\nsleep 3607.25 &\nwait\n"
    )
    (tmp_path / "postgres").write_text("#!/bin/sh\nexit 1\n")
    for name in ("initdb", "postgres"):
        (tmp_path / name).chmod(0o755)
    raised: list[BaseException] = []

    def start() -> None:
        try:
            with postgres_server(tmp_path, timeout=1.0):
                pass
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=start, daemon=True)  # a hang fails the test, not the run
    thread.start()
    thread.join(15)
    assert not thread.is_alive(), "postgres_server still waits for initdb"
    assert isinstance(raised[0], ServerUnavailable)
    assert re.search("initdb did not finish within 1.0 s(.|\n)*creating", str(raised[0]))
    left = subprocess.run(["pgrep", "-f", "sleep 3607.25"], capture_output=True, text=True)
    assert left.stdout == ""  # what initdb started was killed with it


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_an_interrupt_while_starting_kills_the_server(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []
    cls = RedisServer if kind == "redis" else PostgresServer

    def interrupted(self: Any) -> bool:
        started.append(self.pid)
        raise KeyboardInterrupt  # Ctrl-C, or pytest-timeout, while the server starts

    monkeypatch.setattr(cls, "_ready", interrupted)
    start = redis_server if kind == "redis" else postgres_server
    with pytest.raises(KeyboardInterrupt), start():
        pass
    assert started
    assert not _running(started[0])


def _failing_binary(tmp_path: Path, message: str) -> tuple[str, Path]:
    runs = tmp_path / "runs"
    script = tmp_path / "redis-server"
    script.write_text(f'#!/bin/sh\necho run >> "{runs}"\necho "{message}" >&2\nexit 1\n')
    script.chmod(0o755)
    return str(script), runs


def test_a_server_that_fails_says_why_and_is_not_retried(tmp_path: Path) -> None:
    binary, runs = _failing_binary(tmp_path, "FATAL CONFIG FILE ERROR: no such directive")
    with pytest.raises(ServerUnavailable, match="no such directive"), redis_server(binary):
        pass
    assert runs.read_text().count("run") == 1  # not retried as if it had lost a port race


def test_a_server_that_cannot_bind_is_retried(tmp_path: Path) -> None:
    binary, runs = _failing_binary(tmp_path, "bind: Address already in use")
    with pytest.raises(ServerUnavailable, match="Address already in use"), redis_server(binary):
        pass
    assert runs.read_text().count("run") == 3  # a lost port race: tried on new ports


@pytest.mark.parametrize("name", ["user", "order", "select"])
def test_create_database_quotes_reserved_words(pg_srv: Any, name: str) -> None:
    if not isinstance(pg_srv, PostgresServer):
        pytest.skip("creates databases of reserved names: our own server only")
    url = pg_srv.create_database(name)
    try:
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (name,)
    finally:
        pg_srv.drop_database(name)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("postgres", "PostgreSQL's own"),
        ("template0", "PostgreSQL's own"),
        ("template1", "PostgreSQL's own"),
        ("Robert'); DROP TABLE students;--", "identifier"),
        ("Orders", "identifier"),
        ("", "identifier"),
        ("x" * 64, "identifier"),
    ],
)
def test_create_database_refuses_names_it_must_not_make(pg_srv: Any, name: str, says: str) -> None:
    if not isinstance(pg_srv, PostgresServer):
        pytest.skip("our own server only")
    for call in (pg_srv.create_database, pg_srv.drop_database):
        with pytest.raises(InvalidArgument, match=says) as caught:
            call(name)
        assert isinstance(caught.value, DesignPatternsError) and isinstance(
            caught.value, ValueError
        )
        assert repr(name) in str(caught.value)
    assert pg_srv.execute("SELECT count(*) FROM pg_database WHERE datname = 'template1'") == (1,)
