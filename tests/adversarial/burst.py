"""The launch-day burst: many registrants registering many phones at once,
through the HTTP layer (Chalice's own threaded local server, in this
process) against whatever store the settings name (dynalite for the test
and the benchmark). Shared by tests/adversarial/test_burst.py and
benchmarks/burst.py."""

from __future__ import annotations

import http.client
import json
import queue
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from chalice.config import Config
from chalice.local import CustomLocalChalice, LocalChalice, LocalDevServer, ThreadedHTTPServer

from chalicelib.rules.records import Registrant
from tests.support import signed_headers


@dataclass(frozen=True)
class Reply:
    registrant_id: str
    phone: str
    status: int
    registration_id: str | None


class _NoDelayServer(ThreadedHTTPServer):
    """Replies leave at once: http.server writes headers and body apart, and
    Nagle's algorithm would hold the body for the client's delayed ACK
    (~40 ms a request on a kept-alive connection)."""

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


@contextmanager
def served(app: object) -> Iterator[int]:
    """The app on a free port of 127.0.0.1, until the block ends."""
    original = app.__class__
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    # what chalice.local.create_local_server does: current_request per thread
    CustomLocalChalice.__bases__ = (LocalChalice, original)
    app.__class__ = CustomLocalChalice
    server = LocalDevServer(
        app,  # type: ignore[arg-type]
        Config.create(),
        "127.0.0.1",
        port,
        server_cls=_NoDelayServer,
    )
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.shutdown()
        server.server.server_close()
        app.__class__ = original  # create_local_server made current_request per thread


def burst(
    port: int, registrants: list[Registrant], phones: list[str], total: int, threads: int
) -> tuple[list[Reply], float]:
    """``total`` registrations, each of a random phone by a random registrant,
    from ``threads`` threads with a kept-alive connection each: (the replies,
    seconds)."""
    rng = random.Random(7)
    work: queue.Queue[tuple[Registrant, str, int]] = queue.Queue()
    for n in range(total):
        work.put((rng.choice(registrants), rng.choice(phones), n))
    replies: list[Reply] = []
    lock = threading.Lock()

    def worker(_: int, ready: Callable[[], object]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        ready()
        while True:
            try:
                registrant, phone, n = work.get_nowait()
            except queue.Empty:
                break
            for _ in range(5):  # a dropped connection: reconnect, retry with the same key
                try:
                    reply = _register(connection, registrant, phone, f"burst-{n}")
                    break
                except (ConnectionError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            else:
                raise RuntimeError(f"request {n} failed five times")
            with lock:
                replies.append(reply)
        connection.close()

    seconds = timed_together(threads, worker)
    return replies, seconds


def timed_together(threads: int, target: Callable[[int, Callable[[], object]], None]) -> float:
    """Run ``target(t, ready)`` on ``threads`` threads, each calling ``ready()``
    once set up: the seconds from all being ready to all being done."""
    barrier = threading.Barrier(threads + 1)
    pool = [threading.Thread(target=target, args=(t, barrier.wait)) for t in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in pool:
        thread.join()
    return time.perf_counter() - began


def _register(
    connection: http.client.HTTPConnection, registrant: Registrant, phone: str, key: str
) -> Reply:
    visit = datetime.now(UTC).replace(microsecond=0).isoformat()
    raw = json.dumps({"customer": {"name": "客户", "phone": phone}, "visit_at": visit}).encode()
    headers = signed_headers(registrant, raw, key=key)
    connection.request("POST", "/v1/registrations", body=raw, headers=headers)
    response = connection.getresponse()
    doc = json.loads(response.read())
    return Reply(registrant.registrant_id, phone, response.status, doc.get("registration_id"))
