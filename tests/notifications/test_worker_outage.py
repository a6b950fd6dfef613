"""A send-stage worker waits out a Redis outage and goes on: QueueUnavailable (or the client's
connection error) ended the worker process, where a worker loop is to wait and try again."""

from __future__ import annotations

import threading
import time
from typing import Any

from designpatterns_ref.notifications import Notification, Pipeline
from designpatterns_ref.notifications.worker import run_worker


def _start_worker(url: str, name: str, result: dict[str, Any]) -> threading.Thread:
    """``run_worker`` in a thread; its count handled (or its error) lands in ``result``."""

    def work() -> None:
        try:
            result["handled"] = run_worker(url, name, "w", idle=0.5, claim_idle=0.2)
        except BaseException as exc:  # the failure to report, from the worker's thread
            result["error"] = exc

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    return worker


def _one_message_is_sent(
    url: str, name: str, worker: threading.Thread, result: dict[str, Any]
) -> None:
    """Produce one notification through the worker's queues (made anew: the server came back
    empty) and check the worker sends it, then ends, having handled one."""
    import redis

    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    out = RedisStreamQueue(url, f"{name}:out", consumer="producer")
    RedisStreamQueue(url, f"{name}:dead", consumer="producer")
    p = Pipeline(clock=time.time, outgoing=out, keep_receipts=False)
    p.templates.add("t", "hello {n}")
    p.register_user("ada")
    p.add_device("ada", "fcm", "tok")
    assert p.accept(Notification("k1", "t", ("ada",), {"n": "1"}, ("fcm",)))
    while p.expand_batch(64):
        pass
    worker.join(timeout=30)
    assert not worker.is_alive() and result == {"handled": 1}
    r = redis.Redis.from_url(url)
    assert r.lrange(f"{name}:phone", 0, -1) == [b"tok\nhello 1"]
    r.close()


def test_a_worker_waits_out_an_outage_and_sends_what_comes_after(own_redis: Any) -> None:
    result: dict[str, Any] = {}
    worker = _start_worker(own_redis.url, "wo", result)
    time.sleep(0.2)
    own_redis.stop()
    time.sleep(1.5)  # three times ``idle``: an outage is no idle time, nor the worker's end
    assert worker.is_alive(), result
    own_redis.restart()  # no persistence: the server comes back empty, so the queues anew
    _one_message_is_sent(own_redis.url, "wo", worker, result)


def test_a_worker_started_during_an_outage_waits_for_the_server(own_redis: Any) -> None:
    result: dict[str, Any] = {}
    own_redis.stop()
    worker = _start_worker(own_redis.url, "ws", result)
    time.sleep(1.5)  # three times ``idle``: the worker waits for the server
    assert worker.is_alive(), result
    own_redis.restart()
    _one_message_is_sent(own_redis.url, "ws", worker, result)
