"""Faults at the DynamoDB boundary (botocore's event hooks): throttling and
5xx from each call of a registration and of a 判客 decision on, and a reply
lost after its write committed. Expected: botocore's bounded retries, then
503 UNAVAILABLE with Retry-After; never a half-written state; the caller's
retry (same Idempotency-Key, after Retry-After) gets exactly one protection
and, asked again, the same answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib.rules.claims import Source
from chalicelib.rules.phone import customer_key
from chalicelib.rules.staff import Role
from chalicelib.settings import settings
from chalicelib.store.models import CounterItem
from tests.adversarial.faults import SERVER_ERROR, THROTTLE, Faults
from tests.api.floor_support import Floor, person
from tests.conftest import payload
from tests.support import body, empty_tables, shanghai

PHONE = "13812345678"
VISIT_AT = "2026-11-27T09:30:00+08:00"
# standard retry mode, 3 attempts a call (chalicelib/store/tables.py); a few
# calls of one request may each try before it gives up
MAX_FAULTED_ATTEMPTS = 3 * 4


@pytest.fixture
def faults(api) -> Iterator[Faults]:
    injected = Faults(api.store._connection.client)
    yield injected
    injected.remove()


def calls_made(faults: Faults, run: Any) -> int:
    before = len(faults.calls)
    run()
    return len(faults.calls) - before


def live_protections(api: Any) -> int:
    customer = api.store.get_customer(customer_key(PHONE, settings().phone_hmac_key))
    if customer is None:
        return 0
    now = customer.claims[0].created_at if customer.claims else None
    return sum(1 for c in customer.claims if c.protection is not None and now is not None)


def retry_after(response: Any) -> int:
    assert response.status_code == 503, response.body
    assert payload(response)["error"]["code"] == "UNAVAILABLE"
    return int(response.headers["Retry-After"])


def assert_one_protection_and_the_same_answer(api: Any, channel: Any, answer: Any) -> None:
    assert answer.status_code == 201, answer.body
    listed = payload(api.get(channel, "/v1/registrations"))["data"]
    assert [r["registration_id"] for r in listed] == [payload(answer)["registration_id"]]
    assert live_protections(api) == 1
    again = api.register(channel, body(phone=PHONE, visit_at=VISIT_AT), key="k-1")
    assert (again.status_code, payload(again)) == (201, payload(answer))


def reported(api: Any) -> dict[str, int]:
    """The day's totals in the daily channel report (R-REG-2), as the sales admin reads them."""
    admin = person(api, Role.SALES_ADMIN)
    report = payload(admin.get("/v1/reports/daily?date=2026-11-27"))
    return {k: report["totals"][k] for k in ("accepted", "refused")}


def registration_calls(api: Any, faults: Faults) -> int:
    """The calls of a registration, up to its answer: the last one writes its
    records with the audit entry the daily report counts."""
    channel = api.registrant(Source.CHANNEL)
    n = calls_made(faults, lambda: api.register(channel, body(phone=PHONE, visit_at=VISIT_AT)))
    assert faults.calls[-1] == "BatchWriteItem"  # the records and the audit entry
    empty_tables()
    return n


@pytest.mark.parametrize("fault", [THROTTLE, SERVER_ERROR], ids=["throttled", "5xx"])
def test_an_outage_from_any_call_of_a_registration_on(api, faults, clock, fault):
    """R-DUP-1 under failure: wherever the outage starts, 503 with
    Retry-After, and the retry completes exactly one protection, counted
    once in the day's report (R-REG-2)."""
    calls = registration_calls(api, faults)
    assert calls >= 2
    for k in range(1, calls + 1):
        empty_tables()
        clock.move_to(shanghai("2026-11-27 10:00"))
        channel = api.registrant(Source.CHANNEL)
        faults.outage_from(k, fault)
        faults.attempts = 0
        failed = api.register(channel, body(phone=PHONE, visit_at=VISIT_AT), key="k-1")
        wait = retry_after(failed)
        assert 3 <= faults.attempts <= MAX_FAULTED_ATTEMPTS, (k, faults.attempts)
        faults.clear()
        clock.shift(timedelta(seconds=wait))
        done = api.register(channel, body(phone=PHONE, visit_at=VISIT_AT), key="k-1")
        assert_one_protection_and_the_same_answer(api, channel, done)
        assert reported(api) == {"accepted": 1, "refused": 0}, k


def test_a_lost_reply_on_any_call_of_a_registration(api, faults, clock):
    """The write committed, its answer never came back: the retry with the
    same key gets one protection, never two, and then always the same
    answer; the day's report counts it once (R-REG-2)."""
    calls = registration_calls(api, faults)
    for k in range(1, calls + 1):
        empty_tables()
        clock.move_to(shanghai("2026-11-27 10:00"))
        channel = api.registrant(Source.CHANNEL)
        faults.lose_reply_of(k)
        failed = api.register(channel, body(phone=PHONE, visit_at=VISIT_AT), key="k-1")
        clock.shift(timedelta(seconds=retry_after(failed)))
        done = api.register(channel, body(phone=PHONE, visit_at=VISIT_AT), key="k-1")
        assert_one_protection_and_the_same_answer(api, channel, done)
        assert reported(api) == {"accepted": 1, "refused": 0}, k


def test_the_daily_report_does_not_need_the_counters_table(api):
    """R-REG-2: the day's outcomes are counted from the audit trail that
    every registration writes with its records: with the counters table
    down, registrations are answered and the report counts them."""
    client = api.store._connection.client
    asked: list[str] = []

    def counters_down(request: Any, **_: Any) -> None:
        if CounterItem.Meta.table_name.encode() in (request.body or b""):
            asked.append(request.headers.get("X-Amz-Target", b"").decode())
            raise EndpointConnectionError(endpoint_url="https://dynamodb (counters down)")

    client.meta.events.register("before-send.dynamodb", counters_down, unique_id="counters")
    try:
        channel, rival = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
        assert api.register(channel, body(phone=PHONE, visit_at=VISIT_AT)).status_code == 201
        assert api.register(rival, body(phone=PHONE, visit_at=VISIT_AT)).status_code == 409
        assert reported(api) == {"accepted": 1, "refused": 1}
    finally:
        client.meta.events.unregister("before-send.dynamodb", unique_id="counters")
    assert asked == []  # neither a registration nor the report asks it


def decided_once(api: Any, visit_id: str) -> None:
    visit = api.store.get_visit(visit_id)
    assert visit is not None and len(visit.decisions) == 1
    trail = [e.action for e in api.store.audit_trail(f"visit:{visit_id}")]
    assert trail.count("ownership.decided") <= 1


@pytest.mark.parametrize("fault", [THROTTLE, SERVER_ERROR, None], ids=["throttled", "5xx", "lost"])
def test_an_outage_during_an_ownership_decision(api, faults, clock, fault):
    """判客 (R-FLOOR-2) under failure: 503, then the assistant's retry records
    the decision once, with the customer confirmed once."""

    def setup() -> tuple[Floor, str, str]:
        floor = Floor(api)
        channel = api.registrant(Source.CHANNEL)
        r = api.register(channel, body(phone=PHONE, visit_at=VISIT_AT))
        visit = floor.arrive(phone=PHONE)
        return floor, visit["id"], payload(r)["registration_id"]

    floor, visit_id, registration_id = setup()
    doc = {"registration_id": registration_id}
    path = f"/v1/visits/{visit_id}/decisions"
    calls = calls_made(faults, lambda: floor.assistant.post(path, doc))
    for k in range(1, calls + 1):
        empty_tables()
        clock.move_to(shanghai("2026-11-27 10:00"))
        floor, visit_id, registration_id = setup()
        path = f"/v1/visits/{visit_id}/decisions"
        doc = {"registration_id": registration_id}
        if fault is None:
            faults.lose_reply_of(k)
        else:
            faults.outage_from(k, fault)
        failed = floor.assistant.post(path, doc)
        wait = retry_after(failed)
        faults.clear()
        clock.shift(timedelta(seconds=wait))
        done = floor.assistant.post(path, doc)
        assert done.status_code in (200, 201), (k, done.body)
        decided_once(api, visit_id)
