"""OT: TextOperation laws (TP1, compose, invert), validation, the server and the client."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.collab import OTClient, OTError, OTServer, TextOperation
from designpatterns_ref.collab.ot import Entry, Message

ALPHABET = "ab📊 "


@st.composite
def doc_and_op(draw: st.DrawFn, doc: str | None = None) -> tuple[str, TextOperation]:
    text = draw(st.text(ALPHABET, max_size=12)) if doc is None else doc
    op = TextOperation()
    i = 0
    while i < len(text):
        kind = draw(st.sampled_from(["retain", "delete", "insert"]))
        n = draw(st.integers(1, len(text) - i))
        if kind == "retain":
            op.retain(n)
            i += n
        elif kind == "delete":
            op.delete(n)
            i += n
        else:
            op.insert(draw(st.text(ALPHABET, min_size=1, max_size=3)))
    if draw(st.booleans()):
        op.insert(draw(st.text(ALPHABET, min_size=1, max_size=3)))
    return text, op


@st.composite
def two_ops(draw: st.DrawFn) -> tuple[str, TextOperation, TextOperation]:
    text, a = draw(doc_and_op())
    _, b = draw(doc_and_op(text))
    return text, a, b


@given(two_ops())
def test_transform_satisfies_tp1(case: tuple[str, TextOperation, TextOperation]) -> None:
    text, a, b = case
    a2, b2 = TextOperation.transform(a, b)
    assert b2.apply(a.apply(text)) == a2.apply(b.apply(text))


@given(two_ops())
def test_compose_equals_applying_in_turn(case: tuple[str, TextOperation, TextOperation]) -> None:
    text, a, _ = case
    after = a.apply(text)
    b = TextOperation.from_patch(len(after), len(after) // 2, len(after) - len(after) // 2, "x")
    assert a.compose(b).apply(text) == b.apply(after)


@given(doc_and_op())
def test_invert_undoes(case: tuple[str, TextOperation]) -> None:
    text, op = case
    assert op.invert(text).apply(op.apply(text)) == text
    assert op.compose(op.invert(text)).apply(text) == text


def test_tie_break_puts_the_first_operations_insert_first() -> None:
    a = TextOperation.from_patch(2, 1, 0, "A")
    b = TextOperation.from_patch(2, 1, 0, "B")
    a2, b2 = TextOperation.transform(a, b)
    assert b2.apply(a.apply("xy")) == "xABy" == a2.apply(b.apply("xy"))


def test_transform_position() -> None:
    op = TextOperation.from_patch(6, 2, 2, "XYZ")  # "abcdef" -> "abXYZef"
    # a cursor inside the replaced text lands after the replacement
    assert [op.transform_position(p) for p in range(7)] == [0, 1, 2, 5, 5, 6, 7]
    assert TextOperation.from_patch(2, 1, 0, "Q").transform_position(1, own=True) == 2
    with pytest.raises(OTError):
        op.transform_position(7)


@pytest.mark.parametrize("pos", range(4))
def test_astral_characters_at_every_position(pos: int) -> None:
    text = "A📊B"
    op = TextOperation.from_patch(3, pos, 0, "😀")
    assert op.apply(text) == text[:pos] + "😀" + text[pos:]
    if pos < 3:
        assert TextOperation.from_patch(3, pos, 1, "").apply(text) == text[:pos] + text[pos + 1 :]


def test_bad_input_raises_and_changes_nothing() -> None:
    op = TextOperation().retain(2)
    with pytest.raises(OTError, match="spans 2 code points but the document has 3"):
        op.apply("abc")
    with pytest.raises(OTError, match="retain=-1"):
        op.retain(-1)
    with pytest.raises(OTError, match="insert=5"):
        op.insert(5)  # type: ignore[arg-type]
    assert op.ops == [2] and op.base_length == 2
    with pytest.raises(OTError, match="reaches past"):
        TextOperation.from_patch(3, 2, 2, "")
    with pytest.raises(OTError, match="compose"):
        op.compose(TextOperation().retain(3))
    with pytest.raises(OTError, match="same document"):
        TextOperation.transform(op, TextOperation().retain(3))
    with pytest.raises(OTError, match="component"):
        TextOperation([0])


def test_server_transforms_and_recognises_a_retry() -> None:
    server = OTServer("ab")
    first = Message("alice", 0, 0, TextOperation.from_patch(2, 2, 0, "c"))
    assert server.receive(first) == 1
    assert server.receive(first) == 1  # a retry: acknowledged, not applied again
    assert server.document == "abc"
    assert server.receive(Message("bob", 0, 0, TextOperation.from_patch(2, 0, 1, ""))) == 2
    assert server.document == "bc"
    with pytest.raises(OTError, match="revision=9"):
        server.receive(Message("bob", 1, 9, TextOperation().retain(2)))
    with pytest.raises(OTError):  # does not fit: nothing changes
        server.receive(Message("bob", 2, 2, TextOperation().retain(5)))
    assert server.document == "bc" and server.revision == 2


def test_the_server_acknowledges_an_operation_that_is_or_becomes_empty() -> None:
    """A client drops edits that change nothing, but the server appends whatever it receives:
    the entry is the sender's acknowledgement, so both concurrent deletes of one character get
    theirs (the second one empty once transformed), and so does an empty operation as sent."""
    server, alice, bob = OTServer("abc"), OTClient("alice", "abc"), OTClient("bob", "abc")
    from_alice, from_bob = alice.delete(1, 1), bob.delete(1, 1)
    assert from_alice is not None and from_bob is not None
    assert (server.receive(from_alice), server.receive(from_bob)) == (1, 2)
    assert server.history[1].op.is_noop() and server.document == "ac"
    for entry in server.history:
        alice.receive(entry)
        bob.receive(entry)
    assert alice.state == bob.state == "synchronised" and alice.text() == bob.text() == "ac"
    assert server.receive(Message("cy", 0, 2, TextOperation().retain(2))) == 3


def test_a_waiting_edit_that_another_user_made_too_is_never_sent() -> None:
    """Alice's delete waits behind her insert; Bob deletes the same text first, so once
    transformed her waiting edit changes nothing, and the acknowledgement of her insert sends
    nothing more: no empty revision."""
    server, alice, bob = OTServer("abc"), OTClient("alice", "abc"), OTClient("bob", "abc")
    insert = alice.insert(0, "X")
    assert insert is not None and alice.delete(1, 3) is None and alice.state == "buffering"
    from_bob = bob.delete(0, 3)
    assert from_bob is not None
    server.receive(from_bob), server.receive(insert)
    assert alice.receive(server.history[0]) is None and alice.state == "awaiting"
    assert alice.receive(server.history[1]) is None and alice.state == "synchronised"
    assert len(server.history) == 2 and alice.text() == server.document == "X"


def test_client_state_machine() -> None:
    server = OTServer()
    client = OTClient("alice")
    assert client.state == "synchronised"
    sent = client.insert(0, "hi")
    assert sent is not None and client.state == "awaiting"
    assert client.insert(2, "!") is None and client.state == "buffering"
    assert client.resend() == sent
    server.receive(sent)
    server.receive(sent)  # a retried send is not applied twice
    nxt = client.receive(server.history[0])
    assert nxt is not None and client.state == "awaiting"
    server.receive(nxt)
    assert client.receive(server.history[1]) is None and client.state == "synchronised"
    assert server.document == client.text() == "hi!"
    assert client.receive(server.history[1]) is None  # delivered twice: ignored
    assert client.text() == "hi!" and client.revision == 2
    with pytest.raises(OTError, match="not in flight"):
        client.receive(Entry("alice", 5, 3, TextOperation().retain(3)))


@given(st.integers(0, 2**32 - 1))
def test_simulated_clients_with_random_latency_converge(seed: int) -> None:
    rng = random.Random(seed)
    server = OTServer("start")
    clients = [OTClient(name, "start") for name in ("ann", "bob", "cy")]
    to_server: list[list[Message]] = [[] for _ in clients]  # per client, in flight
    delivered = [0] * len(clients)
    for _ in range(rng.randint(1, 40)):
        k = rng.randrange(len(clients))
        client = clients[k]
        action = rng.random()
        if action < 0.45:
            n = len(client.document)
            pos = rng.randint(0, n)
            if n and rng.random() < 0.3:
                msg = client.delete(min(pos, n - 1), 1)
            else:
                msg = client.insert(pos, rng.choice(["x", "yz", "📊"]))
            if msg is not None:
                to_server[k].append(msg)
        elif action < 0.7 and to_server[k]:
            msg = to_server[k][0]
            server.receive(msg)
            if rng.random() < 0.8:  # sometimes the reply is lost and the client resends
                to_server[k].pop(0)
        elif delivered[k] < server.revision:
            out = client.receive(server.history[delivered[k]])
            delivered[k] += 1
            if out is not None:
                to_server[k].append(out)
    for _ in range(200):  # drain everything
        for k, client in enumerate(clients):
            while to_server[k]:
                server.receive(to_server[k].pop(0))
            while delivered[k] < server.revision:
                out = client.receive(server.history[delivered[k]])
                delivered[k] += 1
                if out is not None:
                    to_server[k].append(out)
        settled = all(d == server.revision for d in delivered)
        if settled and all(c.state == "synchronised" for c in clients) and not any(to_server):
            break
    assert all(c.document == server.document for c in clients)


def test_server_refuses_another_operation_under_a_seen_client_and_seq() -> None:
    # A client that reconnects under its old name starts again at seq 0: the server used to
    # answer its new edit with the old edit's revision and drop it, so the two sides parted.
    server = OTServer("ab")
    first = Message("alice", 0, 0, TextOperation.from_patch(2, 0, 0, "X"))
    assert server.receive(first) == 1
    assert server.receive(first) == 1  # the same message again: a resend, acknowledged
    rejoined = Message("alice", 0, 1, TextOperation.from_patch(3, 3, 0, "!"))
    with pytest.raises(OTError, match="seq=0 was received before with another operation"):
        server.receive(rejoined)
    assert (server.document, server.revision) == ("Xab", 1)  # refused: nothing changed
    assert server.receive(Message("alice", 1, 1, TextOperation.from_patch(3, 3, 0, "!"))) == 2
    assert server.document == "Xab!"


class Markup(str):
    """A str subclass, as markupsafe.Markup or numpy.str_ are."""


@given(two_ops())
def test_inserted_str_subclasses_are_stored_as_str(
    case: tuple[str, TextOperation, TextOperation],
) -> None:
    # An insert kept as a subclass was not recognised as an insert by transform: every
    # operation concurrent with it was refused ("mismatched length").
    text, a, b = case
    marked = TextOperation([Markup(c) if isinstance(c, str) else c for c in a.ops])
    assert marked == a and all(type(c) is not Markup for c in marked.ops)
    patch = TextOperation.from_patch(len(text), 0, 0, Markup("<b>"))
    chained = TextOperation().insert(Markup("<i>")).retain(len(text))
    for op in (patch, chained):
        assert all(type(c) in (int, str) for c in op.ops)
    for x, plain in ((marked, a), (patch, None), (chained, None)):
        x2, b2 = TextOperation.transform(x, b)
        assert b2.apply(x.apply(text)) == x2.apply(b.apply(text))
        if plain is not None:
            assert (x2, b2) == TextOperation.transform(plain, b)


def test_a_str_subclass_insert_does_not_block_concurrent_clients() -> None:
    server, alice, bob = OTServer("ab"), OTClient("alice", "ab"), OTClient("bob", "ab")
    to_send = bob.insert(0, "x")
    assert to_send is not None
    server.receive(alice.insert(2, Markup("!")))  # type: ignore[arg-type]
    bob.receive(server.history[0])
    server.receive(to_send)
    assert server.document == bob.text() == "xab!"


@given(st.integers(0, 2**32 - 1))
def test_client_ignores_a_duplicated_entry_and_refuses_a_skipped_one(seed: int) -> None:
    # Entries carry their revision: a push delivered twice used to be applied twice (an op
    # that keeps the length fits again) and the client parted from the server in silence.
    rng = random.Random(seed)
    server = OTServer("abcd")
    writer, reader = OTClient("writer", "abcd"), OTClient("reader", "abcd")
    for _ in range(rng.randint(1, 8)):
        n = len(writer.document)
        pos = rng.randint(0, n)
        length = rng.randint(0, n - pos)
        sent = writer.apply_local(TextOperation.from_patch(n, pos, length, rng.choice("xy")))
        assert sent is not None
        assert server.receive(sent) == server.revision
        assert server.history[-1].revision == server.revision
        writer.receive(server.history[-1])
    delivered = 0
    while delivered < server.revision:
        choice = rng.random()
        if choice < 0.3 and delivered:  # a retried push: an entry already taken
            before = (reader.document, reader.revision)
            assert reader.receive(server.history[rng.randrange(delivered)]) is None
            assert (reader.document, reader.revision) == before
        elif choice < 0.5 and delivered + 1 < server.revision:  # one lost: refused
            before = (reader.document, reader.revision)
            with pytest.raises(OTError, match="revision"):
                reader.receive(server.history[delivered + 1])
            assert (reader.document, reader.revision) == before
        else:
            reader.receive(server.history[delivered])
            delivered += 1
    assert reader.document == server.document == writer.document


@given(st.integers(0, 2**32 - 1))
def test_a_caller_extending_its_builders_afterwards_changes_no_history(seed: int) -> None:
    """Every edit is a builder its caller goes on extending once it is applied, sent and
    received: the server's history still replays to its document, and every client agrees."""
    rng = random.Random(seed)
    server = OTServer("start")
    clients = [OTClient(name, "start") for name in ("ann", "bob")]
    builders: list[TextOperation] = []
    pending: list[Message] = []
    for _ in range(rng.randint(1, 30)):
        k = rng.randrange(len(clients))
        client = clients[k]
        if rng.random() < 0.5:
            n = len(client.document)
            pos = rng.randint(0, n)
            builder = TextOperation.from_patch(n, pos, 0, rng.choice(["x", "yz"]))
            builders.append(builder)
            msg = client.apply_local(builder)
            builder.insert("?")  # the caller goes on with its builder
            if msg is not None:
                pending.append(msg)
        elif pending:
            server.receive(pending.pop(0))
        for builder in builders:  # and with every builder it made before
            builder.retain(1)
        for c in clients:
            while c.revision < server.revision:
                out = c.receive(server.history[c.revision])
                if out is not None:
                    pending.append(out)
    while pending:
        server.receive(pending.pop(0))
        for c in clients:
            while c.revision < server.revision:
                out = c.receive(server.history[c.revision])
                if out is not None:
                    pending.append(out)
    replayed = "start"
    for entry in server.history:
        replayed = entry.op.apply(replayed)
    assert replayed == server.document
    assert all(c.document == server.document for c in clients)


def test_what_the_server_and_client_hand_out_cannot_rewrite_their_history() -> None:
    """Extending the operation of an entry read from the history, or of a message the client
    returned, changes neither the server's history nor the message in flight."""
    server, alice = OTServer("ab"), OTClient("alice", "ab")
    message = alice.insert(2, "c")
    assert message is not None and server.receive(message) == 1
    server.history[0].op.insert("!")
    server.history[:1][0].op.insert("!")
    for entry in server.history:
        entry.op.insert("!")
    replayed = "ab"
    for entry in server.history:
        replayed = entry.op.apply(replayed)
    assert replayed == server.document == "abc"
    assert alice.insert(0, ">") is None  # buffered behind the message in flight
    message.op.retain(1)
    resent = alice.resend()
    assert resent is not None and resent is not alice.resend()
    resent.op.retain(1)
    alice.outstanding.op.retain(1)  # type: ignore[union-attr]
    alice.buffer.retain(1)  # type: ignore[union-attr]
    assert alice.resend() == Message("alice", 0, 0, TextOperation([2, "c"]))
    assert server.receive(alice.resend()) == 1  # recognised as the message it received
    assert alice.buffer == TextOperation([">", 3])
