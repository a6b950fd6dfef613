"""The OT server and its clients driven by random operations, checked against a character model.

Three clients edit locally (inserts and deletes anywhere, refused positions too), send their
operation in flight (now and then twice, as after a lost acknowledgement) and take the
server's history entries one at a time, now and then one they already took (ignored) or one
that skips a revision (refused, nothing changes). Every inserted character is unique, so the
model needs no transformation: a client's local edit is a plain string splice; a character
survives exactly when no one deleted it; and operational transformation never reorders
characters, so every text anyone ever saw lists the survivors in the order of the final one.
Edits that change nothing (an empty insert, a delete of nothing, a character typed and erased
while an operation is in flight) are never sent: no message, no server revision.
"""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from designpatterns_ref.collab import Message, OTClient, OTError, OTServer, TextOperation

CLIENTS = ("alice", "bob", "cy")


class OTModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.server = OTServer("ab")
        self.clients = [OTClient(name, "ab") for name in CLIENTS]
        self.inserted = set("ab")
        self.deleted: set[str] = set()
        self.seen: list[str] = ["ab"]  # every text anyone held
        self.fresh = 0

    def _unique(self, n: int) -> str:
        out = []
        for _ in range(n):  # one code point each, astral now and then
            base = 0x1F300 if self.fresh % 3 == 2 else 0x4E00
            out.append(chr(base + self.fresh))
            self.fresh += 1
        return "".join(out)

    @staticmethod
    def _state(client: OTClient) -> tuple[object, ...]:
        return (client.text(), client.revision, client.state, client.outstanding, client.buffer)

    def _refused(self, client: OTClient, call: object) -> None:
        before = self._state(client)
        with pytest.raises(OTError):
            call()  # type: ignore[operator]
        assert self._state(client) == before

    @rule(who=st.integers(0, 2), pos=st.integers(0, 8), n=st.integers(1, 3))
    def insert(self, who: int, pos: int, n: int) -> None:
        client = self.clients[who]
        before = client.text()
        if pos > len(before):
            self._refused(client, lambda: client.insert(pos, "x"))
            return
        text = self._unique(n)
        was = client.outstanding
        sent = client.insert(pos, text)
        self.inserted |= set(text)
        assert client.text() == before[:pos] + text + before[pos:]
        assert (sent is None) == (was is not None)  # a message only when nothing was in flight
        self.seen.append(client.text())

    @rule(who=st.integers(0, 2), pos=st.integers(0, 8), length=st.integers(0, 3))
    def delete(self, who: int, pos: int, length: int) -> None:
        client = self.clients[who]
        before = client.text()
        if pos + length > len(before):
            self._refused(client, lambda: client.delete(pos, length))
            return
        client.delete(pos, length)
        self.deleted |= set(before[pos : pos + length])
        assert client.text() == before[:pos] + before[pos + length :]
        self.seen.append(client.text())

    @rule(who=st.integers(0, 2), pos=st.integers(0, 8), insert=st.booleans())
    def empty_edit(self, who: int, pos: int, insert: bool) -> None:
        """An edit that changes nothing is dropped: nothing sent, nothing buffered."""
        client = self.clients[who]

        def edit() -> Message | None:
            return client.insert(pos, "") if insert else client.delete(pos, 0)

        if pos > len(client.text()):
            self._refused(client, edit)
            return
        before = self._state(client)
        assert edit() is None
        assert self._state(client) == before

    @rule(who=st.integers(0, 2), pos=st.integers(0, 8))
    def type_and_erase(self, who: int, pos: int) -> None:
        """A character typed and erased at once: if it went out (nothing was in flight), the
        erasure is buffered; if it was buffered, the two cancel out and the buffer is as
        before."""
        client = self.clients[who]
        before = self._state(client)
        if pos > len(client.text()):
            return
        text = self._unique(1)
        sent = client.insert(pos, text)
        client.delete(pos, 1)
        self.inserted.add(text)
        self.deleted.add(text)
        assert client.text() == before[0]
        if sent is None:
            assert (client.state, client.buffer) == (before[2], before[4])
        else:
            assert client.state == "buffering"

    @rule(who=st.integers(0, 2), twice=st.booleans())
    def send(self, who: int, twice: bool) -> None:
        client = self.clients[who]
        message = client.resend()
        if message is None:
            return
        assert not message.op.is_noop(), message  # an edit that changes nothing is never sent
        revision = self.server.receive(message)
        if twice:  # a retry after a lost acknowledgement: the same revision, applied once
            history = list(self.server.history)
            assert self.server.receive(message) == revision
            assert self.server.history == history
        assert self.server.history[revision - 1].seq == message.seq
        self.seen.append(self.server.document)

    @rule(who=st.integers(0, 2), mode=st.sampled_from(["next", "next", "next", "again", "skip"]))
    def take(self, who: int, mode: str) -> None:
        client = self.clients[who]
        history = self.server.history
        if mode == "again" and client.revision:
            before = self._state(client)
            assert client.receive(history[client.revision - 1]) is None
            assert self._state(client) == before
        elif mode == "skip" and client.revision + 1 < len(history):
            self._refused(client, lambda: client.receive(history[client.revision + 1]))
        elif client.revision < len(history):
            client.receive(history[client.revision])
            self.seen.append(client.text())

    @rule(who=st.integers(0, 2))
    def server_refuses_a_future_revision(self, who: int) -> None:
        before = (self.server.document, list(self.server.history))
        op = TextOperation.from_patch(len(self.server.document), 0, 0, "q")
        message = Message(CLIENTS[who], 10**6, self.server.revision + 1, op)
        with pytest.raises(OTError):
            self.server.receive(message)
        assert (self.server.document, self.server.history) == before

    @invariant()
    def nothing_empty_waits_to_be_sent(self) -> None:
        for client in self.clients:
            assert client.outstanding is None or not client.outstanding.op.is_noop()
            assert client.buffer is None or not client.buffer.is_noop()

    @invariant()
    def server_is_its_history_replayed(self) -> None:
        replayed = "ab"
        for entry in self.server.history:
            replayed = entry.op.apply(replayed)
        assert self.server.document == replayed
        assert [e.revision for e in self.server.history] == list(
            range(1, len(self.server.history) + 1)
        )
        for client in self.clients:
            if client.state == "synchronised" and client.revision == self.server.revision:
                assert client.text() == self.server.document

    def teardown(self) -> None:
        """Everything sent and taken: one text, the survivors, in the order anyone saw them."""
        if not hasattr(self, "clients"):
            return
        for _ in range(50):
            busy = False
            for client in self.clients:
                if client.outstanding is not None:
                    self.server.receive(client.outstanding)
                while client.revision < self.server.revision:
                    client.receive(self.server.history[client.revision])
                    busy = True
                busy = busy or client.outstanding is not None
            if not busy:
                break
        final = self.server.document
        assert all(c.text() == final and c.state == "synchronised" for c in self.clients)
        assert set(final) == self.inserted - self.deleted and len(set(final)) == len(final)
        rank = {ch: k for k, ch in enumerate(final)}
        for text in self.seen:
            kept = [rank[ch] for ch in text if ch in rank]
            assert kept == sorted(kept), (text, final)


TestOT = OTModel.TestCase
TestOT.settings = settings(max_examples=80, stateful_step_count=40, deadline=None)
