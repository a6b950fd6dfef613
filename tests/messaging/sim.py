"""A random schedule of sends, retries, disconnects, logouts, drops, duplicates and reorders,
replayed against ChatServer + one Inbox per device, beside a plain reference log."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

from designpatterns_ref.messaging import ChatServer, Inbox, Message, Store

USERS = {"ann": ["a1"], "bob": ["b1", "b2"], "cy": ["c1"]}
CONVS = {"dm": ["ann", "bob"], "grp": ["ann", "bob", "cy"]}
DEVICES = [(u, d) for u, ds in USERS.items() for d in ds]

op = st.one_of(
    st.tuples(st.just("send"), st.integers(0, 3), st.integers(0, 1), st.integers(0, 5)),
    st.tuples(st.just("deliver"), st.integers(0, 3), st.integers(0, 50), st.booleans()),
    st.tuples(st.just("drop"), st.integers(0, 3), st.integers(0, 50)),
    st.tuples(st.just("disconnect"), st.integers(0, 3)),
    st.tuples(st.just("connect"), st.integers(0, 3)),
    st.tuples(st.just("logout"), st.integers(0, 3)),
    st.tuples(st.just("gap"), st.integers(0, 3)),
)
schedules = st.lists(op, max_size=60)


@dataclass
class Device:
    user: str
    name: str
    inboxes: dict[str, Inbox]
    connected: bool = False
    wire: list[Message] = field(default_factory=list)


class Run:
    """The system under test and its reference, stepped op by op."""

    def __init__(self, store: Store) -> None:
        self.server = ChatServer(store)
        for conv, members in CONVS.items():
            for user in members:
                self.server.join(conv, user)
        self.devices = [
            Device(u, d, {c: Inbox(c) for c, ms in CONVS.items() if u in ms}) for u, d in DEVICES
        ]
        self.reference: dict[str, list[tuple[str, str, str]]] = {c: [] for c in CONVS}
        self.marks: dict[tuple[str, str], int] = {}  # (user, conv) -> delivered mark seen
        for dev in self.devices:
            self.connect(dev)

    def connect(self, dev: Device) -> None:
        if not dev.connected:
            cursors = {c: box.cursor for c, box in dev.inboxes.items()}
            dev.wire.extend(self.server.connect(dev.user, dev.name, cursors))
            dev.connected = True

    def step(self, operation: tuple[object, ...]) -> None:
        kind, i = operation[0], operation[1]
        assert isinstance(i, int)
        dev = self.devices[i]
        if kind == "send":
            conv = list(CONVS)[int(operation[2])]  # type: ignore[call-overload]
            if dev.user not in CONVS[conv]:
                return
            cmid, body = f"{dev.user}-{operation[3]}", f"{dev.user} says {operation[3]}"
            msg, targets = self.server.send(dev.user, conv, cmid, body)
            if (dev.user, cmid, body) not in self.reference[conv]:
                self.reference[conv].append((dev.user, cmid, body))
            for target in self.devices:
                if (target.user, target.name) in targets:
                    target.wire.append(msg)
        elif kind in ("deliver", "drop") and dev.wire:
            frame_i = int(operation[2]) % len(dev.wire)  # type: ignore[call-overload]
            frame = (
                dev.wire[frame_i] if kind == "deliver" and operation[3] else dev.wire.pop(frame_i)
            )
            if kind == "deliver":
                box = dev.inboxes[frame.conv]
                box.receive(frame)
                if dev.connected:
                    self.server.ack(dev.user, dev.name, frame.conv, box.cursor)
        elif kind == "disconnect" and dev.connected:
            self.server.disconnect(dev.user, dev.name)
            dev.connected, dev.wire = False, []
        elif kind == "logout" and dev.name in self.server.receipts.devices(dev.user):
            self.server.detach(dev.user, dev.name)
            dev.connected, dev.wire = False, []
        elif kind == "connect":
            self.connect(dev)
        elif kind == "gap" and dev.connected:
            for conv, box in dev.inboxes.items():
                gap = box.missing()
                if gap:
                    dev.wire.extend(self.server.fetch(conv, *gap))
        self.check_receipts()

    def check_receipts(self) -> None:
        """Acks never run ahead of what a device showed; a user's delivered mark never falls,
        and when it rises every device of the user registered at that moment has shown the
        messages up to it; a receipt counts the users whose mark reaches the message."""
        for dev in self.devices:
            for conv, box in dev.inboxes.items():
                assert self.server.receipts.acked(dev.user, dev.name, conv) <= box.cursor
        for user in USERS:
            registered = self.server.receipts.devices(user)
            for conv in self.server.conversations(user):
                mark, seen = (
                    self.server.receipts.delivered(user, conv),
                    self.marks.get((user, conv), 0),
                )
                assert mark >= seen, (user, conv)
                if mark > seen:
                    assert all(
                        d.inboxes[conv].cursor >= mark
                        for d in self.devices
                        if d.user == user and d.name in registered
                    ), (user, conv, mark)
                self.marks[(user, conv)] = mark
        for conv in CONVS:
            for seq in range(1, self.server.store.last_seq(conv) + 1):
                r = self.server.receipt(conv, seq)
                sender = self.server.fetch(conv, seq, seq)[0].sender
                to = [u for u in CONVS[conv] if u != sender]
                assert r.delivered_to == sum(self.marks[(u, conv)] >= seq for u in to)
                assert (r.state == "delivered") == (r.delivered_to == len(to))

    def finish(self) -> None:
        """Reconnect everyone, deliver every frame in flight, then compare with the reference."""
        for dev in self.devices:
            if dev.connected:
                self.server.disconnect(dev.user, dev.name)
                dev.connected = False
            self.connect(dev)
            while dev.wire:
                frame = dev.wire.pop(0)
                dev.inboxes[frame.conv].receive(frame)
        for dev in self.devices:
            for conv, box in dev.inboxes.items():
                shown = [(m.sender, m.client_msg_id, m.body) for m in box.shown]
                assert shown == self.reference[conv], (dev.name, conv)
                assert [m.seq for m in box.shown] == list(range(1, len(shown) + 1))
                assert box.buffered == 0 and box.missing() is None
