"""503 UNAVAILABLE when the store throttles or fails: nothing half-written."""

import pytest
from botocore.awsrequest import AWSResponse

from chalicelib.rules.claims import Source
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
    for op in ("BatchGetItem", "PutItem", "BatchWriteItem"):
        client.meta.events.unregister(f"before-call.dynamodb.{op}", unique_id="throttle")


@pytest.mark.parametrize("operation", ["BatchGetItem", "PutItem"])
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
