"""Idempotency-Key (API.md): replay, reuse with another body, in progress, crash recovery."""

from datetime import timedelta

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.phone import customer_key
from chalicelib.settings import settings
from chalicelib.store import Store
from tests.conftest import payload
from tests.support import body, snapshot

VISIT = "2026-11-27T09:30:00+08:00"


def claims_of(store, phone="13812345678"):
    customer = store.get_customer(customer_key(phone, settings().phone_hmac_key))
    return customer.claims if customer else ()


def test_retry_with_same_key_and_body_replays_the_same_answer_and_changes_nothing(api):
    channel = api.registrant(Source.CHANNEL)
    first = api.register(channel, body(visit_at=VISIT), key="order-42")
    before = snapshot()
    again = api.register(channel, body(visit_at=VISIT), key="order-42")
    assert (again.status_code, again.body) == (first.status_code, first.body)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert snapshot() == before
    assert len(claims_of(api.store)) == 1


def test_retry_of_a_refusal_replays_the_refusal(api):
    a, b = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    api.register(a, body(visit_at=VISIT))
    first = api.register(b, body(visit_at=VISIT), key="k-1")
    again = api.register(b, body(visit_at=VISIT), key="k-1")
    assert first.status_code == again.status_code == 409
    assert first.body == again.body


def test_retry_replays_even_after_the_protection_state_changed(api, clock):
    """The replay is the first answer, not a new decision."""
    channel = api.registrant(Source.CHANNEL)
    first = api.register(channel, body(visit_at=VISIT), key="k-1")
    clock.shift(timedelta(hours=23, minutes=59))
    again = api.register(channel, body(visit_at=VISIT), key="k-1", signed_at=None)
    assert again.body == first.body


def test_same_key_with_another_body_is_refused_422(api):
    channel = api.registrant(Source.CHANNEL)
    api.register(channel, body(visit_at=VISIT), key="k-1")
    r = api.register(channel, body("13900000000", VISIT), key="k-1")
    assert r.status_code == 422
    assert payload(r)["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert claims_of(api.store, "13900000000") == ()


def test_same_body_in_another_format_is_the_same_request(api):
    """The body is compared as data: spacing and key order do not matter."""
    channel = api.registrant(Source.CHANNEL)
    first = api.register(
        channel,
        None,
        key="k-1",
        raw=(
            b'{"customer": {"name": "\xe7\x8e\x8b", "phone": "13812345678"}, "visit_at": "'
            + VISIT.encode()
            + b'"}'
        ),
    )
    again = api.register(
        channel,
        None,
        key="k-1",
        raw=(
            b'{"visit_at":"'
            + VISIT.encode()
            + b'","customer":{"phone":"13812345678","name":"\\u738b"}}'
        ),
    )
    assert again.status_code == 201
    assert again.body == first.body


def test_keys_are_per_registrant(api):
    a, b = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    assert api.register(a, body("13800000001", VISIT), key="same").status_code == 201
    assert api.register(b, body("13800000002", VISIT), key="same").status_code == 201


def test_key_may_be_reused_after_24_hours(api, clock):
    channel = api.registrant(Source.CHANNEL)
    api.register(channel, body("13800000001", VISIT), key="daily")
    clock.shift(timedelta(hours=24))
    r = api.register(channel, body("13800000002", "2026-11-28T09:30:00+08:00"), key="daily")
    assert r.status_code == 201
    assert payload(r)["customer"]["phone_masked"] == "138****0002"


class Crash(RuntimeError):
    pass


@pytest.fixture
def dies_after_decision(monkeypatch):
    """The function dies after the customer write, before its records are saved."""
    calls = []
    original = Store.save_acceptance

    def die_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise Crash("lambda timed out")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Store, "save_acceptance", die_once)


def test_retry_while_first_request_is_in_progress_gets_409_then_completes(
    api, clock, dies_after_decision
):
    """A request that died after its decisive write is completed by a retry:
    exactly one protection, one registration id, and the same answer afterwards."""
    channel = api.registrant(Source.CHANNEL)
    died = api.register(channel, body(visit_at=VISIT), key="k-1")
    assert died.status_code == 500
    assert payload(died)["error"]["code"] == "INTERNAL"
    clock.shift(timedelta(seconds=5))
    busy = api.register(channel, body(visit_at=VISIT), key="k-1")
    assert busy.status_code == 409
    assert payload(busy)["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert busy.headers["Retry-After"] == "1"
    clock.shift(timedelta(seconds=30))
    done = api.register(channel, body(visit_at=VISIT), key="k-1")
    assert done.status_code == 201
    doc = payload(done)
    assert doc["protection"]["starts_at"] == "2026-11-27T10:00:00+08:00"
    [claim] = claims_of(api.store)
    assert claim.registration_id == doc["registration_id"]
    again = api.register(channel, body(visit_at=VISIT), key="k-1")
    assert again.body == done.body
    listed = payload(api.get(channel, "/v1/registrations"))["data"]
    assert [r["registration_id"] for r in listed] == [doc["registration_id"]]


def test_other_registrants_are_refused_while_a_died_request_holds_the_customer(
    api, dies_after_decision
):
    """R-DUP-1 holds from the decisive write on, records or not."""
    a, b = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    assert api.register(a, body(visit_at=VISIT)).status_code == 500
    r = api.register(b, body(visit_at=VISIT))
    assert payload(r)["error"]["code"] == "DUPLICATE_LIVE_CLAIM"


def test_event_of_a_completed_request_lands_ahead_of_handed_out_cursors(
    api, clock, dies_after_decision
):
    """Polling never misses an event, even one written late by a retry."""
    channel = api.registrant(Source.CHANNEL)
    assert api.register(channel, body("13800000001", VISIT), key="dies").status_code == 500
    assert api.register(channel, body("13800000002", VISIT), key="lives").status_code == 201
    clock.shift(timedelta(seconds=31))
    page = payload(api.get(channel, "/v1/events"))
    assert len(page["data"]) == 1
    completed = api.register(channel, body("13800000001", VISIT), key="dies")
    assert completed.status_code == 201
    clock.shift(timedelta(seconds=31))
    later = payload(api.get(channel, f"/v1/events?cursor={page['next_cursor']}"))
    assert [e["registration_id"] for e in later["data"]] == [payload(completed)["registration_id"]]
    assert later["data"][0]["occurred_at"] == "2026-11-27T10:00:00+08:00"


def test_two_retries_completing_one_died_request_write_one_event(api, clock, dies_after_decision):
    channel = api.registrant(Source.CHANNEL)
    api.register(channel, body(visit_at=VISIT), key="k-1")
    clock.shift(timedelta(seconds=31))
    first = api.register(channel, body(visit_at=VISIT), key="k-1")
    second = api.register(channel, body(visit_at=VISIT), key="k-1")
    assert first.body == second.body
    clock.shift(timedelta(seconds=31))
    assert len(payload(api.get(channel, "/v1/events"))["data"]) == 1


def test_completion_that_fails_half_way_is_finished_by_the_next_retry(
    api, clock, dies_after_decision, monkeypatch
):
    """The records of a died request are completed even if the completion
    itself fails after the registration record: one event, the same answer."""
    from chalicelib.errors import StoreUnavailable

    channel = api.registrant(Source.CHANNEL)
    api.register(channel, body(visit_at=VISIT), key="k-1")
    clock.shift(timedelta(seconds=31))
    real_batch = Store._batch_put
    failures = []

    def fail_once(self, items):
        if not failures:
            failures.append(1)
            raise StoreUnavailable("throttled")
        return real_batch(self, items)

    monkeypatch.setattr(Store, "_batch_put", fail_once)
    broken = api.register(channel, body(visit_at=VISIT), key="k-1")
    assert broken.status_code == 503
    assert "Retry with the same Idempotency-Key" in payload(broken)["error"]["message"]
    clock.shift(timedelta(seconds=5))
    done = api.register(channel, body(visit_at=VISIT), key="k-1")
    assert done.status_code == 201
    clock.shift(timedelta(seconds=31))
    events = payload(api.get(channel, "/v1/events"))["data"]
    assert [e["registration_id"] for e in events] == [payload(done)["registration_id"]]
    assert len(claims_of(api.store)) == 1
