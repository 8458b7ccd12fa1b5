"""判客 in at most five DynamoDB requests, the caller's authentication
included (docs/benchmarks.md, benchmarks/decision.py): requests are counted
by botocore's ``before-call`` event on the store's client, which every model
shares (tables.bind). Counts, never time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.rules.claims import Source
from tests.api.floor_support import Floor
from tests.conftest import payload
from tests.support import body

PHONE = "13812345678"
COMING = "2026-11-27T12:00:00+08:00"  # the clock stands at 10:00 Shanghai
AT_MOST = 5


class Requests:
    def __init__(self, client: Any) -> None:
        self.operations: list[str] = []
        self._events = client.meta.events
        self._events.register("before-call.dynamodb", self._seen, unique_id="decision-requests")

    def _seen(self, model: Any, **_: Any) -> None:
        self.operations.append(model.name)

    def remove(self) -> None:
        self._events.unregister("before-call.dynamodb", unique_id="decision-requests")

    def of(self, send: Callable[[], Any], status: int) -> list[str]:
        """The operations of one request, answered ``status``."""
        start = len(self.operations)
        answer = send()
        assert answer.status_code == status, answer.body
        return self.operations[start:]


@pytest.fixture
def requests(api) -> Iterator[Requests]:
    counted = Requests(api.store._connection.client)
    yield counted
    counted.remove()


@pytest.fixture
def floor(api) -> Floor:
    return Floor(api)


def test_confirming_a_distribution_hold_takes_five_requests(api, floor, requests, clock):
    """Token with visit; staff with customer and the agency's record; the
    customer (hold to protection); the visit; record, event and audit entry."""
    agency = api.registrant(Source.DISTRIBUTION)
    r = api.register(agency, body(phone=PHONE, visit_at=COMING))
    registration_id = payload(r)["registration_id"]
    clock.shift(timedelta(hours=1))
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)
    decide = lambda: floor.decide(visit["id"], registration_id)  # noqa: E731

    first = requests.of(decide, 201)
    assert first == ["BatchGetItem", "BatchGetItem", "PutItem", "PutItem", "BatchWriteItem"]
    assert len(first) <= AT_MOST
    # sent again (the reply was lost): the event already there is looked up
    assert requests.of(decide, 200) == ["BatchGetItem", "BatchGetItem", "GetItem"]
    clock.shift(timedelta(minutes=10))  # past the feed's settle delay: the same
    assert requests.of(decide, 200) == ["BatchGetItem", "BatchGetItem", "GetItem"]
    seen = payload(api.get(agency, f"/v1/registrations/{registration_id}"))
    assert seen["status"] == "protected"
    events = payload(api.get(agency, "/v1/events"))["data"]
    assert [e["type"] for e in events] == ["registration.protected"]


def test_deciding_for_a_channel_takes_four_requests(api, floor, requests):
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(phone=PHONE, visit_at="2026-11-27T09:30:00+08:00"))
    registration_id = payload(r)["registration_id"]
    visit = floor.arrive(phone=PHONE)
    decide = lambda: floor.decide(visit["id"], registration_id)  # noqa: E731

    assert requests.of(decide, 201) == ["BatchGetItem", "BatchGetItem", "PutItem", "BatchWriteItem"]
    # the same decision again: its audit entry is read with the customer
    assert requests.of(decide, 200) == ["BatchGetItem", "BatchGetItem"]


def test_a_refused_decision_takes_three_requests(api, floor, requests, clock):
    agency = api.registrant(Source.DISTRIBUTION)
    r = api.register(agency, body(phone=PHONE, visit_at=COMING))
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)  # too soon
    refused = requests.of(lambda: floor.decide(visit["id"], payload(r)["registration_id"]), 409)
    assert refused == ["BatchGetItem", "BatchGetItem", "PutItem"]  # and its audit entry


def test_a_caller_without_a_valid_token_costs_one_request(api, floor, requests):
    visit = floor.arrive(phone=PHONE)
    path = f"/v1/visits/{visit['id']}/decisions"
    doc = {"registration_id": "rg_x"}
    floor.assistant.token = floor.assistant.token.split(".")[0] + ".wrong"
    assert requests.of(lambda: floor.assistant.post(path, doc), 401) == ["BatchGetItem"]
