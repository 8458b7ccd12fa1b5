"""503 UNAVAILABLE when the store throttles or fails: nothing half-written."""

from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from chalicelib.errors import Retry
from chalicelib.http import retry_advice
from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.store import Store, StoreUnavailable
from tests.api.floor_support import person
from tests.conftest import payload
from tests.support import body, snapshot

VISIT = "2026-11-27T09:30:00+08:00"


@pytest.fixture
def throttle(api):
    """Make one DynamoDB operation answer ProvisionedThroughputExceeded."""
    client = api.store._connection.client

    def install(operation: str):
        def refuse(**_):
            response = AWSResponse("https://dynamodb", 400, {}, None)
            return response, {
                "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }

        client.meta.events.register(
            f"before-call.dynamodb.{operation}", refuse, unique_id="throttle"
        )

    yield install
    client.meta.events.unregister("before-call.dynamodb.*", unique_id="throttle")
    for op in ("GetItem", "BatchGetItem", "PutItem", "BatchWriteItem"):
        client.meta.events.unregister(f"before-call.dynamodb.{op}", unique_id="throttle")


@pytest.mark.parametrize("operation", ["GetItem", "PutItem"])
def test_throttled_store_answers_503_with_retry_after_and_writes_nothing(api, throttle, operation):
    channel = api.registrant(Source.CHANNEL)
    before = snapshot()
    throttle(operation)
    r = api.register(channel, body(visit_at=VISIT), key="k-1")
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "5"
    assert payload(r)["error"]["code"] == "UNAVAILABLE"
    api.store._connection.client.meta.events.unregister(
        f"before-call.dynamodb.{operation}", unique_id="throttle"
    )
    assert snapshot() == before
    assert api.register(channel, body(visit_at=VISIT), key="k-1").status_code == 201


def test_outage_after_the_decision_says_retry_and_the_retry_gets_the_answer(api, throttle, clock):
    """The customer is already held: the 503 says so; the same key then completes it."""
    from datetime import timedelta

    channel = api.registrant(Source.CHANNEL)
    throttle("BatchWriteItem")
    r = api.register(channel, body(visit_at=VISIT), key="k-1")
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "30"
    assert "Retry with the same Idempotency-Key" in payload(r)["error"]["message"]
    api.store._connection.client.meta.events.unregister(
        "before-call.dynamodb.BatchWriteItem", unique_id="throttle"
    )
    clock.shift(timedelta(seconds=30))
    done = api.register(channel, body(visit_at=VISIT), key="k-1")
    assert done.status_code == 201
    listed = payload(api.get(channel, "/v1/registrations"))["data"]
    assert [x["registration_id"] for x in listed] == [payload(done)["registration_id"]]


# -- what a 503 tells the caller to do: only a keyed POST is told of its key --


def _down(*, ambiguous: bool = False) -> Any:
    def down(self: Store, *args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("injected", ambiguous=ambiguous)

    return down


def _said(r: Any) -> str:
    assert r.status_code == 503, r.body
    assert payload(r)["error"]["code"] == "UNAVAILABLE"
    return str(payload(r)["error"]["message"])


def test_a_503_on_a_read_asks_for_no_idempotency_key(api, monkeypatch):
    """A GET has no key: its 503 says a read changes nothing; send it again."""
    channel = api.registrant(Source.CHANNEL)
    consultant = person(api, Role.CONSULTANT)
    monkeypatch.setattr(Store, "get_registrant", _down())
    monkeypatch.setattr(Store, "get_token", _down(ambiguous=True))
    for r in (api.get(channel, "/v1/registrations"), consultant.get("/v1/staff/me")):
        message = _said(r)
        assert "Idempotency-Key" not in message
        assert "a read changes nothing" in message
        assert r.headers["Retry-After"] == "5"


def test_a_503_on_a_change_without_a_key_says_what_is_true(api, monkeypatch):
    """A staff change with no key cannot be 'retried with the same key':
    nothing written, send it again; or it may have been made, look first."""
    assistant = person(api, Role.CHANNEL_ASSISTANT)
    admin = person(api, Role.PARTY_A_ADMIN)
    monkeypatch.setattr(Store, "get_customer", _down())
    monkeypatch.setattr(Store, "put_registrant", _down(ambiguous=True))
    refused = _said(assistant.post("/v1/customer-lookups", {"phone": "13812345678"}))
    unsure = _said(admin.post("/v1/registrants", {"kind": "channel", "name": "鲁信渠道"}))
    assert "Idempotency-Key" not in refused + unsure
    assert "nothing was written" in refused
    assert "it may have been made" in unsure and "Read the current state" in unsure


def test_a_503_on_a_keyed_post_says_retry_with_the_same_key(api, throttle, monkeypatch):
    """The registration POST, and an arrival logged with a key, keep their
    answers: their 503 still says to retry with the same Idempotency-Key."""
    channel = api.registrant(Source.CHANNEL)
    desk = person(api, Role.FRONT_DESK)
    throttle("PutItem")
    registration = _said(api.register(channel, body(visit_at=VISIT), key="k-1"))
    assert "Retry with the same Idempotency-Key" in registration
    monkeypatch.setattr(Store, "save_visit", _down(ambiguous=True))
    arrival = {"party_size": 1, "greeted": True}
    keyed = _said(desk.post("/v1/visits", arrival, key="k-2"))
    unkeyed = _said(desk.post("/v1/visits", arrival))
    assert "Retry with the same Idempotency-Key" in keyed
    assert "Idempotency-Key" not in unkeyed


def test_a_503_on_a_registrants_appeal_says_retry_with_the_same_key(api, throttle):
    """An appeal filed by a registrant reserves its key first (decision 0012)."""
    import json

    from tests.support import signed_headers

    channel = api.registrant(Source.CHANNEL)
    raw = json.dumps({"phone": "13812345678", "reason": "我们先带看"}).encode()
    throttle("PutItem")
    headers = signed_headers(channel, raw, key="appeal-1")
    said = _said(api.client.http.post("/v1/appeals", headers=headers, body=raw))
    assert "Retry with the same Idempotency-Key" in said


def test_retry_advice_by_method_and_key():
    assert retry_advice("GET", keyed=False) is Retry.READ
    assert retry_advice("GET", keyed=True) is Retry.READ
    assert retry_advice("POST", keyed=True) is Retry.SAME_KEY
    assert retry_advice("POST", keyed=False) is Retry.RESEND
    assert retry_advice("PUT", keyed=False) is Retry.RESEND
