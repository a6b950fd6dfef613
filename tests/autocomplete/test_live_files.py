"""Files in use: a mapped FrozenCompleter whose file is changed in place refuses to answer
instead of answering from changed pages or dying of SIGBUS; a save over a file keeps its
mode and writes through a symlink; a load of a FIFO or a folder is refused at once."""

from __future__ import annotations

import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from designpatterns_ref.autocomplete import (
    FrozenCompleter,
    StorageError,
    TopKTrie,
    Trie,
    storage,
)

_ITEMS = [(f"w{i}", i) for i in range(3000)]


def _queries(completer: FrozenCompleter) -> None:
    """Every read a query path makes."""
    completer.complete("w2", 3)
    completer.weight("w7")
    assert "w8" in completer
    list(completer.items())


@pytest.mark.parametrize("query", ["complete", "weight", "in", "items"])
def test_a_mapped_file_overwritten_in_place_is_refused_by_every_query(
    tmp_path: Path, query: str
) -> None:
    path = tmp_path / "live.dpac"
    FrozenCompleter([("apple", 5), ("apply", 9)]).save(path)
    mapped = FrozenCompleter.load(path, mmap=True)
    assert mapped.complete("ap") == FrozenCompleter.load(path).complete("ap")
    before = path.stat()
    offset = storage.read(str(path), mapped=False).offsets["wval"]
    with path.open("r+b") as file:  # another writer changes the weights, same size
        file.seek(offset)
        file.write(struct.pack("=qq", 1000, 7))
    # whatever the clock's tick, the write is a later one
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    calls = {
        "complete": lambda: mapped.complete("ap"),
        "weight": lambda: mapped.weight("apple"),
        "in": lambda: "apple" in mapped,
        "items": lambda: list(mapped.items()),
    }
    with pytest.raises(StorageError, match="changed in place") as caught:
        calls[query]()
    assert str(path) in str(caught.value)


def test_a_mapped_file_copied_over_refuses_the_next_query_instead_of_dying(
    tmp_path: Path,
) -> None:
    # cp new.dpac live.dpac truncates live.dpac under the map: a read past its new end was a
    # SIGBUS that killed the process; now the query before that read raises StorageError
    live, new = tmp_path / "live.dpac", tmp_path / "new.dpac"
    FrozenCompleter(_ITEMS).save(live)
    FrozenCompleter([("tiny", 1)]).save(new)
    code = textwrap.dedent(f"""
        import shutil
        from designpatterns_ref.autocomplete import FrozenCompleter, StorageError
        mapped = FrozenCompleter.load({str(live)!r}, mmap=True)
        mapped.complete("w2", 2)
        shutil.copyfile({str(new)!r}, {str(live)!r})
        try:
            mapped.complete("w1", 2)
        except StorageError as exc:
            print("refused:", exc)
    """)
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr[-500:]
    assert run.stdout.startswith("refused:") and "changed in place" in run.stdout


def test_renaming_over_or_changing_the_mode_of_a_mapped_file_is_no_change(tmp_path: Path) -> None:
    # save renames a new file over the name: the mapped old file is whole, and its change
    # time (which the rename and chmod move) is not what the check compares
    path = tmp_path / "live.dpac"
    FrozenCompleter(_ITEMS).save(path)
    mapped = FrozenCompleter.load(path, mmap=True)
    os.chmod(path, 0o600)
    FrozenCompleter([("other", 1)]).save(path)
    _queries(mapped)
    assert mapped.complete("w29", 2) == FrozenCompleter(_ITEMS).complete("w29", 2)


def test_a_file_read_whole_does_not_watch_its_file(tmp_path: Path) -> None:
    path = tmp_path / "f.dpac"
    FrozenCompleter(_ITEMS).save(path)
    copied = FrozenCompleter.load(path)  # its bytes are its own: a later change is no concern
    with path.open("r+b") as file:
        file.truncate(10)
    _queries(copied)


@pytest.mark.parametrize("mapped", [True, False])
def test_loading_a_fifo_or_a_folder_is_refused_without_blocking(
    tmp_path: Path, mapped: bool
) -> None:
    fifo = tmp_path / "words.dpac"
    os.mkfifo(fifo)  # with no writer, opening it for reading waited for ever
    code = textwrap.dedent(f"""
        from designpatterns_ref.autocomplete import FrozenCompleter, Trie, StorageError
        for load in (Trie.load, lambda p: FrozenCompleter.load(p, mmap={mapped})):
            for path in ({str(fifo)!r}, {str(tmp_path)!r}):
                try:
                    load(path)
                except StorageError as exc:
                    print(exc)
    """)
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr[-500:]
    lines = run.stdout.splitlines()
    assert len(lines) == 4
    assert all("is not a regular file" in line for line in lines)
    assert "(a FIFO)" in lines[0] and "(a folder)" in lines[1]


@pytest.mark.parametrize("cls", [Trie, TopKTrie, FrozenCompleter])
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o660])
def test_save_over_a_file_keeps_its_mode(tmp_path: Path, cls: type[Trie], mode: int) -> None:
    # a vocabulary kept private (chmod 600) stays private when a new one replaces it
    path = tmp_path / "words.dpac"
    old = os.umask(0o022)
    try:
        cls([("my secret query", 1)]).save(path)
        os.chmod(path, mode)
        cls([("my secret query", 2)]).save(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert list(cls.load(path).items()) == [("my secret query", 2)]


@pytest.mark.parametrize("cls", [Trie, FrozenCompleter])
def test_save_through_a_symlink_replaces_its_target(tmp_path: Path, cls: type[Trie]) -> None:
    # live.dpac -> v1.dpac: the link stays a link, and the file it names is replaced
    target, link = tmp_path / "v1.dpac", tmp_path / "live.dpac"
    cls([("a", 1)]).save(target)
    link.symlink_to(target.name)
    cls([("b", 2)]).save(link)
    assert link.is_symlink() and os.readlink(link) == target.name
    assert list(cls.load(target).items()) == [("b", 2)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.dpac", "v1.dpac"]


def _run(code: str) -> str:
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-800:]
    return run.stdout


def test_a_mapped_completer_keeps_no_descriptor_of_its_own(tmp_path: Path) -> None:
    # a daemon closes every descriptor when it detaches, then reuses the numbers: the
    # completer answered with a bare OSError(EBADF), then "changed in place", and its
    # finalizer closed the application's own file
    path = tmp_path / "live.dpac"
    FrozenCompleter(_ITEMS).save(path)
    out = _run(f"""
        import gc, os
        from designpatterns_ref.autocomplete import FrozenCompleter
        before = len(os.listdir("/proc/self/fd"))
        mapped = FrozenCompleter.load({str(path)!r}, mmap=True)
        print(len(os.listdir("/proc/self/fd")) - before)  # the map's own descriptor only
        os.closerange(3, 1024)
        print(mapped.complete("w29", 1)[0].term)
        log = open({str(tmp_path / "app.log")!r}, "w")
        print(mapped.weight("w7"), "w8" in mapped, len(list(mapped.items())))
        del mapped
        gc.collect()
        log.write("still open")
        log.close()
        print("ok")
    """)
    assert out.split() == ["1", "w2999", "7", "True", "3000", "ok"]


def test_a_mapped_file_that_is_deleted_or_touched_still_answers(tmp_path: Path) -> None:
    # touch (same bytes, new time) broke every mapped completer for good
    path = tmp_path / "live.dpac"
    FrozenCompleter(_ITEMS).save(path)
    mapped = FrozenCompleter.load(path, mmap=True)
    before = path.stat()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    _queries(mapped)
    mapped.save(tmp_path / "copy.dpac")
    assert list(FrozenCompleter.load(tmp_path / "copy.dpac").items()) == sorted(_ITEMS)
    # the touched file is adopted: a later write to it is still seen
    offset = storage.read(str(path), mapped=False).offsets["wval"]
    with path.open("r+b") as file:
        file.seek(offset)
        file.write(struct.pack("=q", 10**6))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 2 * 10**9))
    with pytest.raises(StorageError, match="changed in place"):
        mapped.complete("w")
    other = FrozenCompleter.load(tmp_path / "copy.dpac", mmap=True)
    os.unlink(tmp_path / "copy.dpac")  # the map still holds the file
    _queries(other)


def test_save_of_a_mapped_file_written_into_is_refused(tmp_path: Path) -> None:
    # save copied the changed pages under a new, valid checksum
    path, out = tmp_path / "live.dpac", tmp_path / "out.dpac"
    FrozenCompleter(_ITEMS).save(path)
    mapped = FrozenCompleter.load(path, mmap=True)
    before = path.stat()
    offset = storage.read(str(path), mapped=False).offsets["blks"]
    with path.open("r+b") as file:  # a writer that puts the time back, as rsync -t does
        file.seek(offset + 10)
        file.write(b"\0" * 200)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(StorageError, match="checksum"):
        mapped.save(out)
    assert not out.exists()
    with path.open("r+b") as file:
        file.seek(offset + 10)
        file.write(b"\1" * 10)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    with pytest.raises(StorageError, match="changed in place"):
        mapped.save(out)
    assert not out.exists()


def test_save_of_a_mapped_file_truncated_is_refused_instead_of_dying(tmp_path: Path) -> None:
    path = tmp_path / "live.dpac"
    FrozenCompleter(_ITEMS).save(path)
    out = _run(f"""
        import os
        from designpatterns_ref.autocomplete import FrozenCompleter, StorageError
        mapped = FrozenCompleter.load({str(path)!r}, mmap=True)
        os.truncate({str(path)!r}, 0)
        try:
            mapped.save({str(tmp_path / "out.dpac")!r})
        except StorageError as exc:
            print("refused:", exc)
    """)
    assert out.startswith("refused:") and "changed in place" in out


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
@pytest.mark.parametrize("member", [True, False])
def test_save_by_another_user_keeps_the_group_or_its_permissions(member: bool) -> None:
    # a member of the file's group saved it: the full chown failed silently, the mode 0660
    # was copied and the group became the saver's, so the other members lost read access
    # and the saver's own group gained it
    folder = Path(tempfile.mkdtemp())
    try:
        os.chmod(folder, 0o777)
        path = folder / "vocab.dpac"
        FrozenCompleter([("apple", 5)]).save(path)
        os.chown(path, 1001, 5000)
        os.chmod(path, 0o660)
        pid = os.fork()  # the saver: user 65534, of group 5000 or not
        if pid == 0:
            status = 1
            try:
                os.setgroups([5000] if member else [])
                os.setgid(65534)
                os.setuid(65534)
                os.umask(0o022)
                FrozenCompleter([("apple", 6)]).save(path)
                status = 0
            finally:
                os._exit(status)
        assert os.waitpid(pid, 0)[1] == 0
        after = path.stat()
        assert after.st_uid == 65534
        if member:  # the group is kept, and with it the group's permissions
            assert (after.st_gid, stat.S_IMODE(after.st_mode)) == (5000, 0o660)
        else:  # the saver's group: only what the umask gives a new file
            assert (after.st_gid, stat.S_IMODE(after.st_mode)) == (65534, 0o640)
        assert FrozenCompleter.load(path).weight("apple") == 6
    finally:
        shutil.rmtree(folder)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_save_follows_a_symlink_in_a_shared_folder_only_when_protected_symlinks_would(
    tmp_path: Path,
) -> None:
    # root saving into a sticky world-writable folder wrote through a link another user
    # planted there, over the file it named
    shared = Path(tempfile.mkdtemp())
    try:
        os.chmod(shared, 0o1777)
        victim = tmp_path / "victim"
        victim.write_bytes(b"precious")
        planted, own = shared / "live.dpac", shared / "own.dpac"
        planted.symlink_to(victim)
        os.lchown(planted, 65534, 65534)
        FrozenCompleter([("a", 1)]).save(planted)
        assert victim.read_bytes() == b"precious"
        assert not planted.is_symlink() and FrozenCompleter.load(planted).weight("a") == 1
        mine = tmp_path / "mine.dpac"
        own.symlink_to(mine)  # root's own link is followed
        FrozenCompleter([("b", 2)]).save(own)
        assert own.is_symlink() and FrozenCompleter.load(mine).weight("b") == 2
    finally:
        shutil.rmtree(shared)
