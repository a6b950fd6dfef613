"""One BedCapacity shared by threads (as the API's worker threads share it).

Threads released together issue random commands, heartbeats and dashboard reads on one
service over a SQLite file. Afterwards the log, replayed in order with each command's
allowed starting statuses, must accept every event it holds; the live projection must equal
that replay and the brute-force recount; and every snapshot read on the way must have had
counts adding up to the beds of each home.
"""

from __future__ import annotations

import random
import threading
from typing import Any

from designpatterns_ref.capacity import (
    BedCapacity,
    CapacityError,
    SQLiteEventLog,
    Topology,
    recount,
)

SPEC = {"north": {"elm": {"a": 3, "b": 2}}, "south": {"oak": {"a": 2}}}
ALLOWED_FROM = {
    "admitted": ("free", "reserved"),
    "discharged": ("occupied",),
    "blocked": ("free",),
    "reserved": ("free",),
    "released": ("cleaning", "reserved"),
    "transferred": ("occupied",),
}
COMMANDS = ("admit", "discharge", "block", "reserve", "release", "transfer")


def test_threads_sharing_a_service_leave_a_log_a_replay_accepts(tmp_path: Any) -> None:
    topo = Topology(SPEC)
    svc = BedCapacity(topo, SQLiteEventLog(f"{tmp_path}/beds.db"))
    beds = topo.beds()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []
    totals: list[bool] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        try:
            for _ in range(400):
                bed = rng.choice(beds)
                command = rng.choice(COMMANDS)
                try:
                    if command == "transfer":
                        svc.transfer(bed, rng.choice(["a", "b"]))
                    else:
                        getattr(svc, command)(bed)
                except CapacityError:
                    pass  # refused with its reason: the bed was not in a state for it
                if rng.random() < 0.1:
                    svc.heartbeat(bed.split("/")[0])
                if rng.random() < 0.2:
                    snap = svc.snapshot()
                    homes = snap["homes"]
                    assert isinstance(homes, list)
                    totals.extend(
                        sum(h[s] for s in ("free", "occupied", "cleaning", "reserved"))
                        == len([b for b in beds if b.startswith(h["home"] + "/")])
                        for h in homes
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert totals and all(totals)
    # The log in arrival order is a sequence of valid commands; so is its order by time.
    events = list(svc.log.read())
    assert events
    for order in (events, sorted(events, key=lambda e: e.key)):
        status = dict.fromkeys(beds, "free")
        for e in order:
            assert status[e.bed] in ALLOWED_FROM[e.kind], f"{e} applied to a {status[e.bed]} bed"
            for bed, new in e.effects():
                if bed != e.bed:
                    assert status[bed] == "free", f"{e} moved into a {status[bed]} bed"
                status[bed] = new
        assert status == svc.projection.status
    assert svc.projection.state()[1] == recount(topo, events)
    svc.log.close()
