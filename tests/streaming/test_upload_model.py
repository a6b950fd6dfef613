"""The upload server against a model: a dict of uploads (length, bytes so far, done) and a dict
of blobs by content hash, driven by random sequences of good and refused calls."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from designpatterns_ref.streaming import StreamingError
from designpatterns_ref.streaming.upload import (
    ChecksumMismatch,
    UploadConflict,
    UploadServer,
    sha256,
)

CONTENTS = [b"a" * 5, b"b" * 7, b"ab" * 3, b"a" * 5 + b"!"]  # few, so that some repeat


class UploadMachine(RuleBasedStateMachine):
    uploads = Bundle("uploads")

    def __init__(self) -> None:
        super().__init__()
        self.server = UploadServer()
        self.target: dict[str, bytes] = {}  # what each upload's client means to send
        self.held: dict[str, bytes] = {}  # the model: bytes the server holds for each upload
        self.blobs: dict[str, bytes] = {}
        self.accepted = self.dedup = 0

    def _done(self, uid: str) -> bool:
        return len(self.held[uid]) == len(self.target[uid])

    @rule(target=uploads, content=st.sampled_from(CONTENTS))
    def create(self, content: bytes) -> str:
        uid = self.server.create(len(content))
        assert uid not in self.held
        self.target[uid], self.held[uid] = content, b""
        return uid

    @rule(target=uploads, content=st.sampled_from(CONTENTS))
    def link(self, content: bytes) -> str:
        digest = sha256(content)
        if digest not in self.blobs:
            with pytest.raises(StreamingError, match="not stored"):
                self.server.link(digest)
            return "u0"  # an id never handed out
        uid = self.server.link(digest.upper())
        self.target[uid] = self.held[uid] = content
        self.dedup += 1
        return uid

    @rule(uid=uploads, size=st.integers(1, 4), shift=st.sampled_from([0, 0, 0, -1, 1]))
    def append(self, uid: str, size: int, shift: int) -> None:
        if uid not in self.held:
            with pytest.raises(StreamingError, match="not a known upload"):
                self.server.append(uid, 0, b"x", sha256(b"x"))
            return
        have, want = self.held[uid], self.target[uid]
        offset = max(len(have) + shift, 0)
        chunk = want[offset : offset + size] or b"z"
        if self._done(uid) or offset != len(have):
            with pytest.raises(UploadConflict):
                self.server.append(uid, offset, chunk, sha256(chunk))
            return
        assert self.server.append(uid, offset, chunk, sha256(chunk)) == offset + len(chunk)
        self.held[uid] = have + chunk
        self.accepted += 1
        if self._done(uid):
            digest = sha256(want)
            if digest in self.blobs:
                self.dedup += 1
            self.blobs.setdefault(digest, want)

    @rule(uid=uploads, size=st.integers(1, 4), kind=st.sampled_from(["checksum", "long", "empty"]))
    def refused_append(self, uid: str, size: int, kind: str) -> None:
        if uid not in self.held or self._done(uid):
            return
        offset = len(self.held[uid])
        chunk = self.target[uid][offset : offset + size]
        checksum = sha256(chunk)
        if kind == "checksum":
            checksum = sha256(chunk + b".")
            error: type[StreamingError] = ChecksumMismatch
        elif kind == "long":
            chunk = b"y" * (len(self.target[uid]) - offset + 1)
            checksum, error = sha256(chunk), StreamingError
        else:
            chunk, checksum, error = b"", sha256(b""), StreamingError
        with pytest.raises(error):
            self.server.append(uid, offset, chunk, checksum)

    @rule(uid=uploads)
    def read(self, uid: str) -> None:
        if uid not in self.held:
            with pytest.raises(StreamingError):
                self.server.offset(uid)
            with pytest.raises(StreamingError):
                self.server.blob(uid)
            return
        assert self.server.offset(uid) == len(self.held[uid])
        if self._done(uid):
            assert self.server.blob(uid) == self.target[uid]
            assert self.server.state(uid).complete
        else:
            with pytest.raises(StreamingError, match="not complete"):
                self.server.blob(uid)

    @rule(content=st.sampled_from(CONTENTS))
    def find(self, content: bytes) -> None:
        assert self.server.find(sha256(content)) == (sha256(content) in self.blobs)

    @invariant()
    def totals(self) -> None:
        partial = sum(len(h) for u, h in self.held.items() if not self._done(u))
        assert self.server.stored_bytes == sum(map(len, self.blobs.values())) + partial
        assert (self.server.chunks_accepted, self.server.deduplicated) == (
            self.accepted,
            self.dedup,
        )


UploadMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_upload_server_against_a_model = UploadMachine.TestCase
