"""No server outlives the process that started it: a reaper kills them when that process dies.

Each server runs in a session of its own (so that a Ctrl-C in the terminal reaches the tests,
which stop their servers in order, and not the servers first). The price: when the test process
itself is killed (SIGKILL, the OOM killer, a cancelled CI job, a pytest-xdist worker that
crashes), nothing stops its servers, and they run on, holding ports, memory and data folders.

``PR_SET_PDEATHSIG`` does not fit: Linux sends it when the *thread* that forked the child ends,
and servers are forked from a short-lived thread (``server._popen``); it is Linux-only besides.
Instead, the first server a process starts also starts one reaper: a small Python process in a
session of its own whose standard input is a pipe that only the test process can write to. The
test process writes ``+PID`` when a server starts and ``-PID`` when it stops it. When the test
process ends, however it ends, the kernel closes the pipe; the reaper reads end-of-file, kills
every server still registered (SIGKILL to it, its process group and every process below it, as
:meth:`.Server.kill` does) and exits. It checks each process's start time first, so a pid the
system has since given to another process is left alone. A process forked from the test process
(``multiprocessing``) that starts servers gets a reaper of its own.

Trade-off: one extra idle process per test process, started once (about 20 ms), against servers
left behind by every killed run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
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

watched = {}
for line in sys.stdin.buffer:
    try:
        pid = int(line[1:])
    except ValueError:
        continue
    if line[:1] == b"+":
        watched[pid] = started(pid)
    else:
        watched.pop(pid, None)
for pid, start in watched.items():
    if started(pid) != start:
        continue
    try:
        os.kill(pid, signal.SIGSTOP)
    except OSError:
        continue
    for send, target in [(os.kill, pid), (os.killpg, pid)] + [(os.kill, p) for p in below(pid)]:
        try:
            send(target, signal.SIGKILL)
        except OSError:
            pass
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


def _send(message: bytes, *, start: bool) -> None:
    with _lock:
        pipe = _reaper() if start or _owner == os.getpid() else None
        if pipe is not None:
            with contextlib.suppress(OSError):  # the reaper was killed: run unwatched
                pipe.write(message)


def watch(pid: int) -> None:
    """Kill process ``pid`` (and everything below it) if this process dies before :func:`forget`."""
    _send(b"+%d\n" % pid, start=True)


def forget(pid: int) -> None:
    """Stop watching ``pid``: it was stopped or killed in order."""
    _send(b"-%d\n" % pid, start=False)
