"""No server outlives the process that started it: a reaper kills them when that process dies.

Each server runs in a session of its own (so that a Ctrl-C in the terminal reaches the tests,
which stop their servers in order, and not the servers first). The price: when the test process
itself is killed (SIGKILL, the OOM killer, a cancelled CI job, a pytest-xdist worker that
crashes), nothing stops its servers, and they run on, holding ports, memory and data folders.

``PR_SET_PDEATHSIG`` does not fit: Linux sends it when the *thread* that forked the child ends,
and servers are forked from a short-lived thread (``server._popen``); it is Linux-only besides.
Instead, the first server a process starts also starts one reaper: a small Python process in a
session of its own whose standard input is a pipe that only the test process can write to. The
test process writes ``+P PID`` when a server starts and ``-P PID`` when it stops it, and
``+D FOLDER`` / ``-D FOLDER`` around each server's temporary folder (:func:`temporary_folder`),
and ``+D FOLDER`` for a folder kept until the process exits (:func:`remove_at_death`).
When the test process ends, however it ends, the kernel closes the pipe (a child forked from
it closes its copy at once: see :func:`_after_fork_in_child`); the reaper reads
end-of-file, kills every server still registered (SIGKILL to it, its process group and every
process below it, as :meth:`.Server.kill` does), waits for them to be gone, removes the folders
still registered (a PostgreSQL data folder is some 40 MB) and exits. It checks each process's
start time first, so a pid the system has since given to another process is left alone. A
process forked from the test process (``multiprocessing``) that starts servers gets a reaper of
its own.

Trade-off: one extra idle process per test process, started once (about 20 ms), against servers
left behind by every killed run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import IO

#: The reaper's program (standard library only, run with ``python -I -S``).
_REAPER = r"""
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)

def started(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None

def dead(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):
        return True

def below(pid):
    parents = {}
    if os.path.isdir("/proc/self"):
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat", "rb") as stat:
                        ppid = int(stat.read().rsplit(b")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                parents.setdefault(ppid, []).append(int(name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found

watched, folders = {}, set()
for line in sys.stdin.buffer:
    kind, _, rest = line.rstrip(b"\n").partition(b" ")
    if kind in (b"+D", b"-D"):
        (folders.add if kind == b"+D" else folders.discard)(rest)
        continue
    try:
        pid = int(rest)
    except ValueError:
        continue
    if kind == b"+P":
        watched[pid] = started(pid)
    else:
        watched.pop(pid, None)
killed = []
for pid, start in watched.items():
    if started(pid) != start:
        continue
    try:
        os.kill(pid, signal.SIGSTOP)
    except OSError:
        continue
    family = below(pid)
    killed += [pid, *family]
    for send, target in [(os.kill, pid), (os.killpg, pid)] + [(os.kill, p) for p in family]:
        try:
            send(target, signal.SIGKILL)
        except OSError:
            pass
if folders:
    import shutil, time
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(dead(p) for p in killed):
        time.sleep(0.02)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
"""

_lock = threading.Lock()
_pipe: IO[bytes] | None = None
_process: subprocess.Popen[bytes] | None = None  # kept, so that it is never collected running
_owner = 0  # the pid of the process that started the reaper behind _pipe


def _reaper() -> IO[bytes] | None:
    """The write end of this process's reaper pipe, starting the reaper if need be (None when it
    cannot run: the servers then run unwatched, as before)."""
    global _pipe, _process, _owner
    if _pipe is not None and _owner == os.getpid():
        return _pipe
    read, write = os.pipe()  # neither end is inherited by the servers (close-on-exec)
    try:
        _process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _REAPER],
            stdin=read,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        os.close(write)
        return None
    finally:
        os.close(read)
    _pipe, _owner = os.fdopen(write, "wb", buffering=0), os.getpid()
    return _pipe


def _after_fork_in_child() -> None:
    """A forked child (a ``multiprocessing`` worker, ``os.fork``) must not keep its parent's
    pipe open: the reaper acts on end-of-file, which comes only when every copy of the write
    end is closed, so a copy in a long-lived worker would keep a killed parent's servers
    running. The child closes its copy, and starts a reaper of its own if it starts servers."""
    global _pipe, _lock
    _lock = threading.Lock()  # one held by another thread at the fork stays held in the child
    pipe, _pipe = _pipe, None
    if pipe is not None:
        with contextlib.suppress(OSError):
            pipe.close()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _send(message: bytes, *, start: bool) -> None:
    with _lock:
        pipe = _reaper() if start or _owner == os.getpid() else None
        if pipe is not None:
            with contextlib.suppress(OSError):  # the reaper was killed: run unwatched
                pipe.write(message)


def watch(pid: int) -> None:
    """Kill process ``pid`` (and everything below it) if this process dies before :func:`forget`."""
    _send(b"+P %d\n" % pid, start=True)


def forget(pid: int) -> None:
    """Stop watching ``pid``: it was stopped or killed in order."""
    _send(b"-P %d\n" % pid, start=False)


def remove_at_death(folder: str) -> None:
    """Have the reaper remove ``folder`` if this process dies (once its servers are gone): for a
    folder kept as long as the process runs, which an ``atexit`` handler removes on a normal
    exit but nothing would after a SIGKILL."""
    _send(b"+D " + os.fsencode(folder) + b"\n", start=True)


@contextlib.contextmanager
def temporary_folder(prefix: str) -> Iterator[str]:
    """:class:`tempfile.TemporaryDirectory` for a server's files, removed by the reaper too
    (once the servers are gone) if this process dies inside the block."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        _send(b"+D " + os.fsencode(folder) + b"\n", start=True)
        try:
            yield folder
        finally:
            _send(b"-D " + os.fsencode(folder) + b"\n", start=False)
