"""A test process that is killed leaves no server behind: its reaper kills them.

Each test here runs a separate Python process that starts servers (PostgreSQL with a
connection open, so that a backend runs too), kills it with SIGKILL, as a cancelled CI job or
the OOM killer would, and checks that every process it started is gone soon after, and the
servers' temporary folders with them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("psycopg")

_CHILD = """
import subprocess, sys, time
import psycopg
from designpatterns_ref.testing import postgres_server, redis_server, reaper
with redis_server() as r, postgres_server() as p:
    with psycopg.connect(p.url):
        out = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True)
        watcher = [reaper._process.pid] if reaper._process else []
        print(r.pid, p.pid, *out.stdout.split(), *watcher)
        print(r.workdir, p.workdir, flush=True)
        time.sleep(120)
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != b"Z"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_a_killed_test_process_leaves_no_server_or_folder_behind() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    try:
        assert child.stdout is not None
        pids = [int(word) for word in child.stdout.readline().split()]
        folders = [Path(word) for word in child.stdout.readline().split()]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert len(pids) >= 3  # redis, postmaster, its children (and the reaper)
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in pids if _running(pid)]
    for pid in left:  # do not leave them to the next test either
        os.kill(pid, signal.SIGKILL)
    assert left == []
    while any(f.exists() for f in folders) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(folders) == 2
    assert [f for f in folders if f.exists()] == []  # data folders removed once servers are gone


_FORKING_CHILD = """
import os, subprocess, time
from designpatterns_ref.testing import reaper
server = subprocess.Popen(["sleep", "120"], start_new_session=True)
reaper.watch(server.pid)
worker = os.fork()  # a forked worker (multiprocessing's default on Linux), still running
if worker == 0:
    time.sleep(60)
    os._exit(0)
print(server.pid, worker, flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_a_forked_worker_does_not_keep_a_killed_process_servers_alive() -> None:
    """Regression: a child forked after the reaper started held a copy of the pipe's write
    end, so the reaper saw no end-of-file, and the servers ran on, until that child ended."""
    child = subprocess.Popen(
        [sys.executable, "-c", _FORKING_CHILD], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    try:
        assert child.stdout is not None
        server, worker = (int(word) for word in child.stdout.readline().split())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    try:
        deadline = time.monotonic() + 10
        while _running(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(server)
        assert _running(worker)  # the worker still holds whatever it inherited
    finally:
        for pid in (server, worker):
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


_COPYING_CHILD = """
import os, tempfile, time
from pathlib import Path
from designpatterns_ref.testing import postgres
home = Path(tempfile.mkdtemp(prefix="dpref-test-home-"))
os.chmod(home, 0o700)  # an installation user 65534 cannot enter, so it gets a copy
bindir = home / "pkg" / "pginstall" / "bin"
bindir.mkdir(parents=True)
for name in ("initdb", "postgres"):
    (bindir / name).write_text("#!/bin/sh\\n")
    (bindir / name).chmod(0o755)
copy = postgres._reachable_binaries(bindir, 65534, 65534)
print(next(p for p in copy.parents if p.name.startswith("dpref-pgbin-")), home, flush=True)
time.sleep(120)
"""


def test_a_killed_process_leaves_no_copy_of_the_postgres_binaries() -> None:
    # as root, PostgreSQL's binaries are copied where its user can reach them (some 22 MB)
    child = subprocess.Popen(
        [sys.executable, "-c", _COPYING_CHILD], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        copy, home = (Path(word) for word in child.stdout.readline().split())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    try:
        deadline = time.monotonic() + 10
        while copy.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not copy.exists()
    finally:
        import shutil

        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(copy, ignore_errors=True)
