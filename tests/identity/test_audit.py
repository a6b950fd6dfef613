"""The audit chain detects any edit, insertion or deletion; the verify command says so."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.cli import main
from designpatterns_ref.identity import AuditLog, IdentityError, verify_chain
from tests.identity.world import make_world, standard_claims


def _log(n: int) -> AuditLog:
    t = [0.0]

    def clock() -> float:
        t[0] += 1.5
        return t[0]

    log = AuditLog(clock=clock)
    for i in range(n):
        log.append(
            {"gate": "north", "worker": f"w{i % 3}", "outcome": "ok" if i % 4 else "revoked"}
        )
    return log


@settings(max_examples=80)
@given(
    n=st.integers(1, 12),
    kind=st.sampled_from(["edit-event", "edit-at", "edit-hash", "insert", "delete", "swap"]),
    where=st.integers(0, 100),
)
def test_any_edit_insertion_or_deletion_is_detected(n: int, kind: str, where: int) -> None:
    log = _log(n)
    count, head = log.head
    entries = copy.deepcopy(log.entries)
    i = where % n
    if kind == "edit-event":
        entries[i]["event"]["outcome"] = "ok!"
    elif kind == "edit-at":
        entries[i]["at"] += 0.5
    elif kind == "edit-hash":
        entries[i]["hash"] = "f" * 64
    elif kind == "insert":
        entries.insert(i, copy.deepcopy(entries[i]))
    elif kind == "delete":
        del entries[i]
    elif kind == "swap":
        if n < 2:
            return
        j = (i + 1) % n
        entries[i], entries[j] = entries[j], entries[i]
    check = verify_chain(entries, expected_count=count, expected_head=head)
    assert not check.ok and check.problem
    assert verify_chain(log.entries, expected_count=count, expected_head=head).ok


def test_truncating_the_tail_needs_the_anchored_head() -> None:
    log = _log(5)
    count, head = log.head
    shorter = log.entries[:-1]
    assert verify_chain(shorter).ok  # a shorter chain is still a chain...
    assert not verify_chain(shorter, expected_count=count, expected_head=head).ok  # ...not the one


def test_a_file_log_reopens_and_the_command_checks_it(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "gate.log"
    log = AuditLog(path, clock=lambda: 7.0)
    log.append({"outcome": "ok"})
    again = AuditLog(path, clock=lambda: 8.0)
    again.append({"outcome": "expired"})
    assert again.verify().ok and again.head[0] == 2
    assert main(["audit", "verify", str(path)]) == 0
    assert "2 entries, chain intact" in capsys.readouterr().out
    count, head = again.head
    assert main(["audit", "verify", str(path), "--count", str(count), "--head", head]) == 0
    lines = path.read_text().splitlines()
    edited = json.loads(lines[0])
    edited["event"]["outcome"] = "revoked"
    path.write_text(json.dumps(edited) + "\n" + lines[1] + "\n")
    assert main(["audit", "verify", str(path)]) == 1
    assert "BROKEN: entry 0" in capsys.readouterr().out
    assert main(["audit", "verify", str(tmp_path / "missing.log")]) == 2


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--count", "-1"),
        ("--head", "zz"),
        ("--head", ""),
        ("--head", "A" * 64),
        ("--head", "0" * 63),
    ],
)
def test_an_anchor_that_cannot_be_one_is_a_usage_error_not_a_broken_log(
    option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A negative count or a head that is not a SHA-256 in hex is a typo in the command, not
    evidence of tampering: exit 2 naming the option, not BROKEN (exit 1)."""
    path = tmp_path / "gate.log"
    AuditLog(path, clock=lambda: 7.0).append({"outcome": "ok"})
    with pytest.raises(SystemExit) as info:
        main(["audit", "verify", str(path), option, value])
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert "BROKEN" not in out and f"argument {option}:" in err


def test_appending_detaches_the_event_from_the_caller() -> None:
    log = AuditLog(clock=lambda: 1.0)
    event = {"outcome": "ok"}
    log.append(event)
    event["outcome"] = "changed later"
    assert log.verify().ok and log.entries[0]["event"]["outcome"] == "ok"


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), cut=st.floats(0, 1, exclude_max=True))
def test_a_torn_last_line_is_refused_saying_where_the_whole_entries_end(
    tmp_path_factory, n: int, cut: float
) -> None:  # type: ignore[no-untyped-def]
    """A crash mid-write leaves part of a line (even all of it but the newline): the log is
    not reopened, the file is not touched, and truncating where the message says restores it."""
    path = tmp_path_factory.mktemp("torn") / "gate.log"
    log = AuditLog(path, clock=lambda: 1.0)
    for i in range(n):
        log.append({"outcome": "ok", "n": i})
    whole = path.read_bytes()
    torn_line = json.dumps(log.entries[-1]).encode()
    data = whole + torn_line[: int(cut * (len(torn_line) + 1)) or 1]
    path.write_bytes(data)
    with pytest.raises(IdentityError, match=f"torn line.* truncate it to {len(whole)} bytes"):
        AuditLog(path, clock=lambda: 2.0)
    assert path.read_bytes() == data
    with open(path, "r+b") as f:
        f.truncate(len(whole))
    again = AuditLog(path, clock=lambda: 2.0)
    assert again.head == log.head
    again.append({"outcome": "after recovery"})
    assert again.verify().ok


def test_a_path_in_a_missing_directory_is_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(IdentityError, match="does not exist"):
        AuditLog(tmp_path / "missing" / "gate.log")


def test_the_log_file_is_opened_in_binary_mode_where_the_system_has_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Windows a descriptor opened without ``O_BINARY`` is in text mode: each ``\\n``
    written becomes ``\\r\\n``, so the bytes are not the ones hashed and the size the torn-line
    recovery truncates back to is off. The flag is asked for wherever ``os`` has it (made to
    exist here, with Windows's value, since this system has none)."""
    binary = 0x8000  # O_BINARY on Windows
    monkeypatch.setattr(os, "O_BINARY", binary, raising=False)
    real_open = os.open
    path = tmp_path / "gate.log"
    flags_used: list[int] = []

    def spy_open(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(file) == path:
            flags_used.append(flags)
            flags &= ~binary  # this system has no such flag: do not pass it on
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy_open)
    log = AuditLog(path, clock=lambda: 1.0)
    log.append({"outcome": "ok"})
    log.append({"outcome": "revoked"})
    assert flags_used and all(flags & binary for flags in flags_used)
    assert path.read_bytes().count(b"\n") == 2 and AuditLog(path).verify().ok


def test_a_write_that_fails_is_the_familys_error_and_adds_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    log = AuditLog(folder / "gate.log", clock=lambda: 1.0)
    log.append({"outcome": "ok"})
    (folder / "gate.log").unlink()
    folder.rmdir()  # the disk was unmounted under the gate
    before = (copy.deepcopy(log.entries), log.head)
    with pytest.raises(IdentityError, match="cannot be written"):
        log.append({"outcome": "revoked"})
    assert (log.entries, log.head) == before


def test_a_write_that_fails_is_the_familys_error_out_of_the_gate(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    w = make_world()
    w.gate.audit = AuditLog(folder / "gate.log", clock=w.clock)
    folder.rmdir()
    with pytest.raises(IdentityError, match="cannot be written"):
        w.gate.verify(w.issuer.sign_jws(standard_claims(w)))
    assert w.gate.audit.entries == []


_PARTIAL_WRITE = """
import os, resource, signal, sys
from designpatterns_ref.identity import AuditLog, IdentityError
path = sys.argv[1]
log = AuditLog(path, clock=lambda: 1.0)
log.append({"outcome": "ok"})
size = os.path.getsize(path)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit: EFBIG, not a signal
resource.setrlimit(resource.RLIMIT_FSIZE, (size + int(sys.argv[2]), resource.RLIM_INFINITY))
try:
    log.append({"outcome": "revoked", "note": "x" * 300})
except IdentityError:
    pass
else:
    raise SystemExit("the write past the limit was not refused")
assert os.path.getsize(path) == size, (os.path.getsize(path), size)
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
log.append({"outcome": "after"})
again = AuditLog(path)
assert again.head == log.head and again.verify().ok
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE and SIGXFSZ as on Linux")
@pytest.mark.parametrize("room", [0, 1, 40, 200])
def test_a_write_cut_short_by_a_full_disk_leaves_no_torn_line(tmp_path: Path, room: int) -> None:
    """The system takes part of the line and then refuses the rest (a file-size limit, a full
    disk): the part written is taken back, so the file is as it was and the next entry follows
    the last whole one."""
    path = tmp_path / "gate.log"
    run = subprocess.run(
        [sys.executable, "-c", _PARTIAL_WRITE, str(path), str(room)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr


def test_a_file_log_with_no_entry_yet_verifies_as_empty(tmp_path: Path) -> None:
    """The file is made by the first append; until then the log holds nothing and says so."""
    log = AuditLog(tmp_path / "gate.log", clock=lambda: 1.0)
    check = log.verify()
    assert check.ok and check.count == 0
    log.append({"outcome": "ok"})
    (tmp_path / "gate.log").unlink()  # an entry was written, and the file is gone: an error
    with pytest.raises(IdentityError, match="cannot be read"):
        log.verify()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), cut=st.integers(1, 400))
def test_a_last_entry_missing_only_its_newline_is_not_called_torn(
    tmp_path_factory, n: int, cut: int
) -> None:  # type: ignore[no-untyped-def]
    """Cut ``cut`` bytes off the end of the file. One byte (the newline): the message says the
    entry is whole and to append a newline, which restores every entry. More: a torn line, to
    be truncated to the entries before it. The file is never touched by the log."""
    path = tmp_path_factory.mktemp("newline") / "gate.log"
    log = AuditLog(path, clock=lambda: 1.0)
    for i in range(n):
        log.append({"outcome": "ok", "n": i})
    whole = path.read_bytes()
    last_line = len(whole) - whole.rstrip(b"\n").rfind(b"\n") - 1
    cut = min(cut, last_line - 1)  # the whole line would leave a valid shorter chain
    data = whole[:-cut]
    path.write_bytes(data)
    if cut == 1:
        with pytest.raises(
            IdentityError, match=r"lacks only its final newline.*append one newline"
        ):
            AuditLog(path, clock=lambda: 2.0)
        assert path.read_bytes() == data
        with open(path, "ab") as f:
            f.write(b"\n")
        assert AuditLog(path, clock=lambda: 2.0).head == log.head
    else:
        with pytest.raises(
            IdentityError, match=rf"torn line.*truncate it to {len(whole) - last_line} "
        ):
            AuditLog(path, clock=lambda: 2.0)
        assert path.read_bytes() == data


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), dropped=st.integers(1, 6), extra=st.booleans())
def test_a_file_changed_behind_the_log_fails_verify_and_is_not_appended_to(
    tmp_path_factory, n: int, dropped: int, extra: bool
) -> None:  # type: ignore[no-untyped-def]
    """Its last ``dropped`` lines cut (a valid shorter chain), or another writer's line added:
    verify() checks the file against the head the log holds and fails, and append refuses
    (the family's error, the file and the entries as they were) instead of writing seq n
    after a shorter chain."""
    path = tmp_path_factory.mktemp("behind") / "gate.log"
    log = AuditLog(path, clock=lambda: 1.0)
    for i in range(n):
        log.append({"outcome": "ok", "n": i})
    assert log.verify().ok
    lines = path.read_bytes().splitlines(keepends=True)
    if extra:
        other = AuditLog(path, clock=lambda: 3.0)  # a second writer on the same file
        other.append({"outcome": "from elsewhere"})
    else:
        path.write_bytes(b"".join(lines[: n - min(dropped, n)]))
    data, head = path.read_bytes(), log.head
    check = log.verify()
    assert not check.ok and "anchored head" in check.problem
    with pytest.raises(IdentityError, match="changed behind the log's back"):
        log.append({"outcome": "ok"})
    assert path.read_bytes() == data and log.head == head
