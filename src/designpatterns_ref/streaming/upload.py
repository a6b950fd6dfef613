"""Resumable chunked upload (the tus idea) with per-chunk checksums and content-hash dedup.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

A creator's upload of a multi-gigabyte file over a phone connection will be interrupted; it
must resume where it stopped, not start again. The tus protocol's answer, modelled here:

- ``create(length)`` opens an upload and returns its id (tus: ``POST``, ``Upload-Length``);
- ``offset(id)`` says how many bytes the server holds (tus: ``HEAD``, ``Upload-Offset``);
- ``append(id, offset, chunk, checksum)`` adds a chunk only if ``offset`` equals the server's
  offset (else :class:`UploadConflict`, tus' 409) and the chunk's SHA-256 equals ``checksum``
  (else :class:`ChecksumMismatch`, tus' 460); a refused chunk changes nothing.

When the last byte arrives the server hashes the whole file; if a finished upload already has
that content hash the new one points at the same blob and its bytes are dropped (dedup: the same
trailer uploaded by a hundred channels is stored once). A client may also ask
``find(content_hash)`` first and skip the upload entirely. :class:`UploadClient` drives it:
fixed-size chunks, and ``resume()`` after any failure asks the offset and continues.

:class:`UploadServer` may be shared between threads (one lock guards its state, as a server's
request handlers would share it): every call that reads or changes the uploads or the blobs,
``stored_bytes`` included, holds it; a chunk is hashed before the lock is taken.

Complexity: O(chunk) per append; O(file) once to hash at completion; memory holds the blobs.

>>> server = UploadServer()
>>> client = UploadClient(server, b"x" * 10_000, chunk_size=4096)
>>> client.upload(max_chunks=1)
4096
>>> client.resume()
10000
>>> server.blob(client.upload_id) == b"x" * 10_000
True
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from dataclasses import dataclass, field

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import StreamingError, StreamingTypeError, check_int

__all__ = [
    "ChecksumMismatch",
    "UploadClient",
    "UploadConflict",
    "UploadServer",
    "UploadState",
    "sha256",
]

MAX_LENGTH = 1 << 40


class UploadConflict(StreamingError):
    """The chunk's offset is not the server's offset (tus: 409 Conflict)."""


class ChecksumMismatch(StreamingError):
    """The chunk's checksum does not match its bytes (tus: 460 Checksum Mismatch)."""


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    if not isinstance(data, bytes):
        raise StreamingTypeError(f"data must be bytes, not {type(data).__name__}")
    return hashlib.sha256(data).hexdigest()


@dataclass
class UploadState:
    """One upload as the server sees it."""

    length: int
    received: bytearray = field(default_factory=bytearray)
    content_hash: str | None = None

    @property
    def offset(self) -> int:
        """Bytes held so far (the whole length once complete)."""
        return self.length if self.content_hash is not None else len(self.received)

    @property
    def complete(self) -> bool:
        """True once every byte has arrived and been hashed."""
        return self.content_hash is not None


class UploadServer:
    """The server side: uploads by id, finished blobs by content hash."""

    def __init__(self) -> None:
        self._uploads: dict[str, UploadState] = {}
        self._blobs: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.chunks_accepted = 0
        self.deduplicated = 0

    def create(self, length: int) -> str:
        """Open an upload of ``length`` bytes; return its id."""
        length = check_int("length", length, minimum=1, maximum=MAX_LENGTH)
        with self._lock:
            upload_id = f"u{next(self._ids)}"
            self._uploads[upload_id] = UploadState(length)
        return upload_id

    @staticmethod
    def _check_id(upload_id: object) -> str:
        if not isinstance(upload_id, str):
            raise StreamingTypeError(f"upload_id={shown(upload_id)} must be a str")
        return upload_id

    def _get(self, upload_id: str) -> UploadState:
        """The upload's state; call with the lock held."""
        state = self._uploads.get(upload_id)
        if state is None:
            raise StreamingError(f"upload_id={shown(upload_id[:40])} is not a known upload")
        return state

    def offset(self, upload_id: str) -> int:
        """How many bytes of the upload the server holds."""
        upload_id = self._check_id(upload_id)
        with self._lock:
            return self._get(upload_id).offset

    def state(self, upload_id: str) -> UploadState:
        """The upload's state (read it; do not change it)."""
        upload_id = self._check_id(upload_id)
        with self._lock:
            return self._get(upload_id)

    def append(self, upload_id: str, offset: int, chunk: bytes, checksum: str) -> int:
        """Add ``chunk`` at ``offset`` if it is where the upload stands and its hash matches."""
        upload_id = self._check_id(upload_id)
        offset = check_int("offset", offset, maximum=MAX_LENGTH)
        if not isinstance(chunk, bytes):
            raise StreamingTypeError(f"chunk must be bytes, not {type(chunk).__name__}")
        if not isinstance(checksum, str):
            raise StreamingTypeError(f"checksum={shown(checksum, 80)} must be a hex SHA-256 str")
        matches = sha256(chunk) == checksum.lower()
        with self._lock:
            state = self._get(upload_id)
            return self._append(upload_id, state, offset, chunk, checksum, matches)

    def _append(
        self,
        upload_id: str,
        state: UploadState,
        offset: int,
        chunk: bytes,
        checksum: str,
        matches: bool,
    ) -> int:
        if state.complete:
            raise UploadConflict(f"upload {upload_id} is already complete")
        if offset != state.offset:
            raise UploadConflict(f"offset={offset} but the server holds {state.offset} bytes")
        if not chunk:
            raise StreamingError("chunk=b'' must hold at least one byte")
        if offset + len(chunk) > state.length:
            raise StreamingError(
                f"chunk of {len(chunk)} bytes at offset {offset} passes length={state.length}"
            )
        if not matches:
            raise ChecksumMismatch(f"checksum={shown(checksum[:70])} does not match the chunk")
        state.received += chunk
        self.chunks_accepted += 1
        if state.offset == state.length:
            self._finish(state)
        return state.offset

    def _finish(self, state: UploadState) -> None:
        data = bytes(state.received)
        digest = sha256(data)
        if digest in self._blobs:
            self.deduplicated += 1
        else:
            self._blobs[digest] = data
        state.received = bytearray()  # the bytes live in the blob store now
        state.content_hash = digest

    def link(self, content_hash: str) -> str:
        """A finished upload pointing at an existing blob (the client skipped the bytes)."""
        digest = self._check_hash(content_hash).lower()
        with self._lock:
            if digest not in self._blobs:
                raise StreamingError(f"content_hash={shown(content_hash[:70])} is not stored")
            upload_id = f"u{next(self._ids)}"
            state = UploadState(len(self._blobs[digest]))
            state.content_hash = digest
            self._uploads[upload_id] = state
            self.deduplicated += 1
        return upload_id

    @staticmethod
    def _check_hash(content_hash: object) -> str:
        if not isinstance(content_hash, str):
            raise StreamingTypeError(f"content_hash={shown(content_hash)} must be a str")
        return content_hash

    def find(self, content_hash: str) -> bool:
        """True when a finished upload already has this content hash (skip uploading it)."""
        digest = self._check_hash(content_hash).lower()
        with self._lock:
            return digest in self._blobs

    def blob(self, upload_id: str) -> bytes:
        """The finished upload's bytes."""
        upload_id = self._check_id(upload_id)
        with self._lock:
            state = self._get(upload_id)
            if state.content_hash is None:
                raise StreamingError(f"upload {upload_id} is not complete ({state.offset} bytes)")
            return self._blobs[state.content_hash]

    @property
    def stored_bytes(self) -> int:
        """Bytes held: finished blobs (once each) plus unfinished uploads."""
        with self._lock:
            partial = sum(s.offset for s in self._uploads.values() if not s.complete)
            return sum(len(b) for b in self._blobs.values()) + partial


class UploadClient:
    """Uploads ``data`` in chunks; ``resume()`` continues after an interruption."""

    def __init__(self, server: UploadServer, data: bytes, *, chunk_size: int = 1 << 20) -> None:
        if not isinstance(server, UploadServer):
            raise StreamingTypeError(f"server={shown(server)} must be an UploadServer")
        if not isinstance(data, bytes) or not data:
            raise StreamingError("data must be non-empty bytes")
        self.server = server
        self.data = data
        self.chunk_size = check_int("chunk_size", chunk_size, minimum=1, maximum=1 << 30)
        self.upload_id: str | None = None
        self.chunks_sent = 0
        self.skipped = False

    def upload(self, max_chunks: int | None = None) -> int:
        """Start (or continue) the upload, sending at most ``max_chunks``; return the offset."""
        if max_chunks is not None:
            check_int("max_chunks", max_chunks, maximum=10**12)
        if self.upload_id is None:
            digest = sha256(self.data)
            if self.server.find(digest):  # the server has it already: send nothing
                self.skipped = True
                self.upload_id = self.server.link(digest)
                return len(self.data)
            self.upload_id = self.server.create(len(self.data))
        return self._send(max_chunks)

    def resume(self, max_chunks: int | None = None) -> int:
        """Ask the server where the upload stands and send the rest."""
        if max_chunks is not None:
            check_int("max_chunks", max_chunks, maximum=10**12)
        if self.upload_id is None:
            return self.upload(max_chunks)
        return self._send(max_chunks)

    def _send(self, max_chunks: int | None) -> int:
        assert self.upload_id is not None
        state = self.server.state(self.upload_id)
        if state.complete:
            return len(self.data)
        offset = self.server.offset(self.upload_id)
        sent = 0
        while offset < len(self.data) and (max_chunks is None or sent < max_chunks):
            chunk = self.data[offset : offset + self.chunk_size]
            offset = self.server.append(self.upload_id, offset, chunk, sha256(chunk))
            sent += 1
            self.chunks_sent += 1
        return offset
