"""Events pushed to a registrant's endpoint (decision 0010), against a real
receiver on 127.0.0.1: signed like the registrant's own requests, an
``Event-Id`` per event, in feed order, retried on the backoff schedule for
24 hours (an injected clock: nothing sleeps), then dead-lettered; 410 Gone
disables the endpoint; a slow answer is a timeout; a run repeated sends
nothing twice."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.deliveries import EndpointStatus, Status
from chalicelib.rules.records import Event, Registrant
from chalicelib.rules.staff import Role, Staff
from chalicelib.services.delivery.schedule import BACKOFF, RETRY_FOR
from chalicelib.services.delivery.sender import Sender
from chalicelib.services.delivery.service import Deliveries
from chalicelib.settings import settings
from chalicelib.signing import verify
from chalicelib.store import Store
from chalicelib.store.mapping import event_item, event_position
from tests.support import make_registrant, shanghai

NOW = shanghai("2026-11-27 10:00")
ADMIN = Staff("st_admin", "管理员", Role.PARTY_A_ADMIN, True)


class Receiver:
    """An HTTP endpoint on 127.0.0.1 in a thread: it answers ``fail_first``
    requests 500, then 200 (or ``gone``: 410); with ``slow`` it holds each
    answer until released. It keeps every request, and the events it
    accepted after dropping a repeated Event-Id, in order."""

    def __init__(self) -> None:
        self.fail_first = 0
        self.gone = False
        self.slow = threading.Event()  # set: hold answers until ``release``
        self._release = threading.Event()
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.accepted: list[str] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.requests.append((dict(self.headers.items()), raw))
                    n = len(receiver.requests)
                if receiver.slow.is_set():
                    receiver._release.wait(10)
                status = 200
                if receiver.gone:
                    status = 410
                elif n <= receiver.fail_first:
                    status = 500
                else:
                    with receiver._lock:
                        event_id = self.headers["Event-Id"]
                        if event_id not in receiver._seen:
                            receiver._seen.add(event_id)
                            receiver.accepted.append(event_id)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/sales"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def service(store: Store, read_seconds: float = 5.0) -> Deliveries:
    return Deliveries(store, settings(), sender=Sender(connect=2.0, read=read_seconds))


def registrant_with_endpoint(
    store: Store, url: str, at: datetime = NOW, service_: Deliveries | None = None
) -> Registrant:
    who = make_registrant(Source.CHANNEL)
    store.put_registrant(who, at)
    (service_ or service(store)).set_endpoint(
        ADMIN, who.registrant_id, json.dumps({"url": url}).encode(), at
    )
    return who


def event(who: Registrant, n: int, at: datetime) -> tuple[str, Event]:
    """The ``n``-th event of ``who``'s feed, recorded at ``at`` (as the
    registration path and the sweep write them)."""
    e = Event(
        f"ev_{n:04d}_{who.registrant_id[-8:]}",
        "registration.protected",
        who.registrant_id,
        f"rg_{n:04d}",
        at,
        at,
    )
    event_item(e).save()
    return event_position(e), e


def later(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


# -- delivered -----------------------------------------------------------------------


def test_each_event_is_posted_signed_with_the_registrants_secret_and_its_event_id(
    tables: Store, receiver: Receiver
) -> None:
    who = registrant_with_endpoint(tables, receiver.url)
    _, e = event(who, 1, later(1))
    at = later(60)  # past the feed's settle delay
    counts = service(tables).run(at)
    assert counts["queued"] == 1 and counts["delivered"] == 1
    ((headers, raw),) = receiver.requests
    assert verify(who.secret, headers["X-Signature"], raw, at.timestamp())
    assert not verify("another secret", headers["X-Signature"], raw, at.timestamp())
    assert headers["Event-Id"] == e.event_id
    assert headers["X-Registrant-Id"] == who.registrant_id
    assert json.loads(raw) == {
        "id": e.event_id,
        "type": "registration.protected",
        "occurred_at": "2026-11-27T10:00:01+08:00",
        "registration_id": "rg_0001",
    }
    (delivery,) = tables.list_deliveries(who.registrant_id, None, 10)
    assert (delivery.status, delivery.attempts) == (Status.DELIVERED, 1)
    assert delivery.log[0].status_code == 200 and delivery.log[0].latency_ms >= 0


def test_events_arrive_in_feed_order_and_each_once_after_de_duplication(
    tables: Store, receiver: Receiver
) -> None:
    who = registrant_with_endpoint(tables, receiver.url)
    made = [event(who, n, later(n))[1].event_id for n in range(1, 6)]
    receiver.fail_first = 2
    deliveries = service(tables)
    at = later(60)
    for minute in range(6):  # the minute's job, as often as the backoff needs
        deliveries.run(at + sum(BACKOFF[: minute + 1], timedelta()))
    assert receiver.accepted == made
    assert [h["Event-Id"] for h, _ in receiver.requests][:3] == [made[0]] * 3


def test_a_run_repeated_sends_nothing_twice(tables: Store, receiver: Receiver) -> None:
    who = registrant_with_endpoint(tables, receiver.url)
    for n in range(1, 4):
        event(who, n, later(n))
    deliveries = service(tables)
    assert deliveries.run(later(60))["delivered"] == 3
    assert deliveries.run(later(60))["sent"] == 0
    assert deliveries.run(later(120))["sent"] == 0
    assert len(receiver.requests) == 3


def test_the_stream_queues_and_sends_at_once(tables: Store, receiver: Receiver) -> None:
    who = registrant_with_endpoint(tables, receiver.url)
    _, e = event(who, 1, later(1))
    image = event_item(e).serialize()
    records = [{"eventName": "INSERT", "dynamodb": {"NewImage": image}}]
    counts = service(tables).on_stream(records, later(1))
    assert (counts["queued"], counts["delivered"]) == (1, 1)
    # the minute's job finds it made, and sends nothing again
    assert service(tables).run(later(120))["sent"] == 0
    assert len(receiver.requests) == 1


def test_events_before_the_endpoint_was_set_are_not_pushed(
    tables: Store, receiver: Receiver
) -> None:
    who = make_registrant(Source.CHANNEL)
    tables.put_registrant(who, NOW)
    event(who, 1, later(-60))
    service(tables).set_endpoint(
        ADMIN, who.registrant_id, json.dumps({"url": receiver.url}).encode(), NOW
    )
    event(who, 2, later(5))
    service(tables).run(later(60))
    assert [h["Event-Id"] for h, _ in receiver.requests] == [f"ev_0002_{who.registrant_id[-8:]}"]


# -- retried, then dead-lettered -------------------------------------------------------


def test_a_failing_endpoint_is_retried_on_the_backoff_schedule_for_24_hours_then_dead_lettered(
    tables: Store, receiver: Receiver
) -> None:
    who = registrant_with_endpoint(tables, receiver.url)
    event(who, 1, later(1))
    receiver.fail_first = 10_000
    deliveries = service(tables)
    first = later(60)
    deliveries.run(first)
    times = [first]
    for _ in range(40):
        (pending,) = tables.list_deliveries(who.registrant_id, None, 1)
        if pending.status is not Status.PENDING:
            break
        assert deliveries.run(pending.next_attempt_at - timedelta(seconds=1))["sent"] == 0
        deliveries.run(pending.next_attempt_at)
        times.append(pending.next_attempt_at)
    (dead,) = tables.list_deliveries(who.registrant_id, None, 1)
    assert (dead.status, dead.reason) == (Status.DEAD, "retries exhausted")
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[: len(BACKOFF)] == list(BACKOFF)[: len(gaps)]
    assert times[-1] == first + RETRY_FOR  # the last attempt at the 24-hour mark
    assert len(receiver.requests) == len(times) == dead.attempts
    # dead-lettered: nothing more is sent, and the next event is not held
    event(who, 2, times[-1] + timedelta(seconds=1))
    receiver.fail_first = 0
    deliveries.run(times[-1] + timedelta(minutes=2))
    assert receiver.accepted == [f"ev_0002_{who.registrant_id[-8:]}"]


def test_a_slow_answer_is_a_timeout_and_tried_again(tables: Store, receiver: Receiver) -> None:
    who = registrant_with_endpoint(tables, receiver.url)
    event(who, 1, later(1))
    receiver.slow.set()
    deliveries = service(tables, read_seconds=0.3)
    assert deliveries.run(later(60))["failed"] == 1
    (delivery,) = tables.list_deliveries(who.registrant_id, None, 1)
    assert delivery.status is Status.PENDING
    assert delivery.log[-1].error == "timeout" and delivery.log[-1].status_code is None
    assert delivery.next_attempt_at == later(60) + BACKOFF[0]
    receiver.slow.clear()
    receiver._release.set()
    assert deliveries.run(delivery.next_attempt_at)["delivered"] == 1


def test_410_gone_dead_letters_the_delivery_and_disables_the_endpoint(
    tables: Store, receiver: Receiver
) -> None:
    who = registrant_with_endpoint(tables, receiver.url)
    event(who, 1, later(1))
    event(who, 2, later(2))
    receiver.gone = True
    deliveries = service(tables)
    counts = deliveries.run(later(60))
    assert counts["sent"] == 1  # the second is not tried
    endpoint = tables.get_endpoint(who.registrant_id)
    assert endpoint is not None and endpoint.status is EndpointStatus.DISABLED
    first, second = sorted(
        tables.list_deliveries(who.registrant_id, None, 10), key=lambda d: d.position
    )
    assert (first.status, first.reason) == (Status.DEAD, "gone")
    assert second.status is Status.PENDING
    assert deliveries.run(later(600))["sent"] == 0  # disabled: nothing is sent
    # set again: the endpoint resumes where it stopped
    receiver.gone = False
    deliveries.set_endpoint(
        ADMIN, who.registrant_id, json.dumps({"url": receiver.url}).encode(), later(700)
    )
    assert deliveries.run(later(760))["delivered"] == 1
    assert receiver.accepted == [second.event_id]


def test_a_replayed_delivery_is_sent_again(tables: Store, receiver: Receiver) -> None:
    who = registrant_with_endpoint(tables, receiver.url)
    _, e = event(who, 1, later(1))
    deliveries = service(tables)
    deliveries.run(later(60))
    doc = deliveries.replay(ADMIN, who.registrant_id, e.event_id, later(300))
    assert (doc["status"], doc["attempts"]) == ("pending", 1)
    assert deliveries.run(later(300))["delivered"] == 1
    assert [h["Event-Id"] for h, _ in receiver.requests] == [e.event_id, e.event_id]
    trail = [entry.action for entry in tables.audit_trail(f"registrant:{who.registrant_id}")]
    assert "delivery.replayed" in trail and "endpoint.set" in trail


def test_a_registrant_disabled_is_not_sent_to(tables: Store, receiver: Receiver) -> None:
    who = registrant_with_endpoint(tables, receiver.url)
    event(who, 1, later(1))
    tables.set_registrant_enabled(who.registrant_id, False)
    assert service(tables).run(later(60))["failed"] == 1
    assert receiver.requests == []
    (delivery,) = tables.list_deliveries(who.registrant_id, None, 1)
    assert delivery.log[-1].error == "registrant disabled"


# -- SSRF at send time ---------------------------------------------------------------


def test_the_send_connects_to_the_address_checked_and_names_the_host(
    tables: Store, receiver: Receiver
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    url = f"http://hooks.example.test:{port}/in"
    deliveries = Deliveries(tables, settings(), resolver=lambda host, p: ["127.0.0.1"])
    who = registrant_with_endpoint(tables, url, service_=deliveries)
    event(who, 1, later(1))
    assert deliveries.run(later(60))["delivered"] == 1
    ((headers, _),) = receiver.requests
    assert headers["Host"] == f"hooks.example.test:{port}"


def test_a_host_that_resolves_elsewhere_at_send_time_is_not_called(
    tables: Store, receiver: Receiver
) -> None:
    """DNS rebinding: allowed when set, resolving to a private address when sent."""
    port = receiver.url.split(":")[2].split("/")[0]
    answers = {"now": "127.0.0.1"}
    deliveries = Deliveries(tables, settings(), resolver=lambda host, p: [answers["now"]])
    who = registrant_with_endpoint(
        tables, f"http://hooks.example.test:{port}/in", service_=deliveries
    )
    event(who, 1, later(1))
    answers["now"] = "169.254.169.254"
    assert deliveries.run(later(60))["failed"] == 1
    assert receiver.requests == []
    (delivery,) = tables.list_deliveries(who.registrant_id, None, 1)
    assert delivery.status is Status.PENDING
    assert (delivery.log[-1].error or "").startswith("endpoint not allowed")


def test_a_redirect_is_not_followed(tables: Store) -> None:
    hits: list[str] = []

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.send_response(307)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/in"
        who = registrant_with_endpoint(tables, url)
        event(who, 1, later(1))
        assert service(tables).run(later(60))["failed"] == 1
        (delivery,) = tables.list_deliveries(who.registrant_id, None, 1)
        assert delivery.log[-1].status_code == 307 and delivery.status is Status.PENDING
        assert hits == ["/in"]
    finally:
        server.shutdown()
        server.server_close()
