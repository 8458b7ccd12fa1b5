"""Workers racing for one registrant's deliveries (decision 0010): the
stream's handler and the minute's job, or two runs of the job, at the same
instant. On dynalite (atomic conditional writes): a worker takes a
delivery with a conditional write on its version before sending it, so
each event reaches the receiver once, in feed order."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest

from chalicelib.services.delivery.service import Deliveries
from chalicelib.settings import settings
from chalicelib.store import Store
from chalicelib.store.mapping import event_item
from tests.jobs.test_deliveries import Receiver, event, later, registrant_with_endpoint

pytestmark = pytest.mark.dynalite

ROUNDS = 20
WORKERS = 4
EVENTS = 5


def at_once(work: list[Callable[[], object]]) -> None:
    barrier = threading.Barrier(len(work))
    failures: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        barrier.wait(30)
        try:
            job()
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures


def test_workers_racing_for_a_registrants_queue_send_each_event_once_in_order(
    dynalite: Store, tight_switching: None
) -> None:
    with Receiver() as receiver:
        for _ in range(ROUNDS):
            receiver.requests.clear()
            receiver.accepted.clear()
            who = registrant_with_endpoint(dynalite, receiver.url)
            made = [event(who, n, later(n)) for n in range(1, EVENTS + 1)]
            workers = [Deliveries(dynalite, settings()) for _ in range(WORKERS)]
            records = [
                {"eventName": "INSERT", "dynamodb": {"NewImage": event_item(e).serialize()}}
                for _, e in made
            ]
            jobs: list[Callable[[], object]] = [
                lambda w=workers[0], r=records: w.on_stream(r, later(60)),
                lambda w=workers[1], r=records: w.on_stream(r, later(60)),
                lambda w=workers[2]: w.run(later(60)),
                lambda w=workers[3]: w.run(later(60)),
            ]
            at_once(jobs)
            sent = [h["Event-Id"] for h, _ in receiver.requests]
            assert Counter(sent).most_common(1)[0][1] == 1, "an event was sent twice"
            assert sent == [e.event_id for _, e in made], "not in feed order"
            deliveries = dynalite.list_deliveries(who.registrant_id, None, 100)
            assert len(deliveries) == EVENTS
            assert {d.attempts for d in deliveries} == {1}
