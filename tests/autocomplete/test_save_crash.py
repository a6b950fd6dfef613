"""A save that fails or is killed at any step leaves the old file or the new one, never half.

``save`` writes a scratch file, syncs it, renames it over the target and syncs the folder.
Each step is made to fail in turn (a full disk half way through the bytes, a failing sync, a
failing rename), and a process is killed with SIGKILL at arbitrary moments while it saves
over and over: every time, the file at the path loads, and holds the old items or the new.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.autocomplete import FrozenCompleter, StorageError, TopKTrie, Trie

OLD = [("old", 1), ("older", 2)]
NEW = [(f"new{i:05d}", i) for i in range(3000)]


class _Full:
    """A file whose writes fail with ENOSPC once ``room`` bytes have been written."""

    def __init__(self, real: Any, room: int) -> None:
        self.real, self.room = real, room

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        if size > self.room:
            self.real.write(memoryview(data)[: self.room])
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= size
        return int(self.real.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __enter__(self) -> _Full:
        return self

    def __exit__(self, *exc: object) -> None:
        self.real.close()


@pytest.mark.parametrize("cls", [Trie, TopKTrie, FrozenCompleter])
@pytest.mark.parametrize("step", ["write-start", "write-middle", "fsync", "replace"])
def test_a_save_failing_at_any_step_keeps_the_old_file(
    cls: Any, step: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "words"
    cls(OLD).save(path)
    before = path.read_bytes()
    if step.startswith("write"):
        room = 0 if step == "write-start" else 5000
        real = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda fd, mode: _Full(real(fd, mode), room))
    else:

        def fail(*args: object) -> None:
            raise OSError(errno.EIO, "Input/output error")

        monkeypatch.setattr(os, step, fail)
    with pytest.raises(StorageError, match="cannot write"):
        cls(NEW).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert list(cls.load(path).items()) == OLD
    assert [p.name for p in tmp_path.iterdir()] == ["words"]  # no scratch left behind


_SAVER = """
import sys
from designpatterns_ref.autocomplete import FrozenCompleter, Trie
path, kind = sys.argv[1], sys.argv[2]
cls = FrozenCompleter if kind == "frozen" else Trie
new = cls([(f"new{i:05d}", i) for i in range(3000)])
old = cls([("old", 1), ("older", 2)])
print("ready", flush=True)
while True:
    new.save(path)
    old.save(path)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
@pytest.mark.parametrize("kind", ["trie", "frozen"])
def test_a_process_killed_while_saving_leaves_a_whole_file(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "words"
    cls: Any = FrozenCompleter if kind == "frozen" else Trie
    cls(OLD).save(path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for delay in (0.0, 0.003, 0.011, 0.029, 0.047, 0.083):
        child = subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(path), kind],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        items = list(cls.load(path).items())
        assert items in (OLD, NEW)
        for mapped in [True] if kind == "frozen" else []:
            assert list(FrozenCompleter.load(path, mmap=mapped).items()) == items
    # a killed save may leave its scratch file (it is never renamed over the target)
    left = {p.name for p in tmp_path.iterdir()} - {"words"}
    assert all(name.startswith(".dpac-") for name in left)
