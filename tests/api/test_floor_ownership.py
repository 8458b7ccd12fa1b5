"""判客 (R-FLOOR-2) and the distribution visit that confirms a hold (R-REG-3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.phone import customer_key
from chalicelib.services.container import reset
from chalicelib.settings import settings
from tests.api.floor_support import Floor
from tests.conftest import payload
from tests.support import body

PHONE = "13812345678"
# the clock fixture stands at 10:00 Shanghai; the agency's customer is coming at noon
COMING = "2026-11-27T12:00:00+08:00"


@pytest.fixture
def floor(api) -> Floor:
    return Floor(api)


@pytest.fixture
def held(api):
    """A distribution agency's provisional hold, registered at 10:00."""
    agency = api.registrant(Source.DISTRIBUTION, name="链家分销")
    r = api.register(agency, body(phone=PHONE, visit_at=COMING))
    assert r.status_code == 201, r.body
    assert payload(r)["status"] == "provisional"
    return agency, payload(r)["registration_id"]


def feed(api, who) -> list[dict]:
    return payload(api.get(who, "/v1/events"))["data"]


def test_a_distribution_visit_29_minutes_after_registering_is_not_recognized(
    api, floor, held, clock
):
    """R-REG-3: the visit must come at least 30 minutes after the registration.
    The visit stays logged; the hold is unchanged and lapses with its window."""
    agency, registration_id = held
    clock.shift(timedelta(minutes=29))
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)
    r = floor.decide(visit["id"], registration_id)
    assert r.status_code == 409
    assert payload(r)["error"]["code"] == "VISIT_NOT_RECOGNIZED"
    assert payload(r)["error"]["rule"] == "R-REG-3"
    assert payload(floor.desk.get(f"/v1/visits/{visit['id']}"))["decision"] is None
    assert payload(api.get(agency, f"/v1/registrations/{registration_id}"))["status"] == (
        "provisional"
    )
    clock.shift(timedelta(hours=24))
    assert payload(api.get(agency, f"/v1/registrations/{registration_id}"))["status"] == "lapsed"


def test_a_distribution_visit_inside_the_window_protects_from_the_visit(api, floor, held, clock):
    """R-REG-3 / R-PROT-2: accompanied, 30 minutes or more after registering
    and inside the window: 60 days of protection start at the arrival, and the
    agency's feed says registration.protected."""
    agency, registration_id = held
    clock.shift(timedelta(hours=2, minutes=5))  # arrives 12:05
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)
    clock.shift(timedelta(minutes=10))  # 判客 at 12:15
    r = floor.decide(visit["id"], registration_id)
    assert r.status_code == 201, r.body
    seen = payload(api.get(agency, f"/v1/registrations/{registration_id}"))
    assert seen["status"] == "protected"
    assert seen["protection"] == {
        "ordinal": 1,
        "starts_at": "2026-11-27T12:05:00+08:00",
        "ends_at": "2027-01-26T12:05:00+08:00",
    }
    assert seen["visit_window"] is None
    clock.shift(timedelta(minutes=5))  # past the feed's settle delay
    events = feed(api, agency)
    assert [(e["type"], e["occurred_at"]) for e in events] == [
        ("registration.protected", "2026-11-27T12:05:00+08:00")
    ]
    # a channel can no longer take the customer, even after the window closes
    clock.shift(timedelta(days=2))
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(phone=PHONE, visit_at="2026-11-29T12:00:00+08:00"))
    assert payload(r)["error"]["code"] == "DUPLICATE_LIVE_CLAIM"


def test_exactly_30_minutes_after_registering_is_recognized(api, floor, held, clock):
    """R-REG-3: the bound is inclusive: 10:30:00 counts for a 10:00:00 registration."""
    agency, registration_id = held
    clock.shift(timedelta(minutes=30))
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)
    assert floor.decide(visit["id"], registration_id).status_code == 201


def test_a_visit_when_the_window_closes_is_not_recognized(api, floor, held, clock):
    """R-REG-3: the window is half-open: arriving at its very end is too late."""
    agency, registration_id = held
    clock.shift(timedelta(hours=24))
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)
    r = floor.decide(visit["id"], registration_id)
    assert payload(r)["error"]["code"] == "VISIT_NOT_RECOGNIZED"


def test_a_distribution_visit_without_the_agency_is_not_recognized(api, floor, held, clock):
    """R-FLOOR-1 / R-REG-3: the agency registers first, then brings the
    customer; a customer who comes without it confirms nothing."""
    _agency, registration_id = held
    clock.shift(timedelta(hours=1))
    visit = floor.arrive(phone=PHONE)
    r = floor.decide(visit["id"], registration_id)
    assert payload(r)["error"]["code"] == "VISIT_NOT_RECOGNIZED"
    assert "accompan" in payload(r)["error"]["message"]


def test_a_confirmed_hold_logged_before_the_window_closed_is_decided_after_it(
    api, floor, held, clock
):
    """The visit's arrival time counts, not the moment of 判客: a customer who
    arrived at 09:50 the next day is confirmed at 10:10, after the window."""
    agency, registration_id = held
    clock.shift(timedelta(hours=23, minutes=50))
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)
    clock.shift(timedelta(minutes=20))
    assert floor.decide(visit["id"], registration_id).status_code == 201


def test_the_decision_is_evidence_in_the_customers_trail(api, floor, held, clock):
    agency, registration_id = held
    clock.shift(timedelta(hours=1))
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)
    floor.decide(visit["id"], registration_id)
    r = floor.assistant.post("/v1/customer-lookups", {"phone": PHONE})
    history = payload(r)["history"]
    decided = [h for h in history if h["action"] == "ownership.decided"]
    assert len(decided) == 1
    assert decided[0]["registration_id"] == registration_id
    assert decided[0]["actor"] == floor.assistant.id
    assert decided[0]["rule"] == "R-FLOOR-2"
    assert visit["id"] in decided[0]["detail"]


def test_repeating_a_decision_answers_it_again_and_writes_nothing_new(api, floor, held, clock):
    """A retried 判客 (the reply was lost): the same decision, one event."""
    agency, registration_id = held
    clock.shift(timedelta(hours=1))
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)
    first = floor.decide(visit["id"], registration_id)
    clock.shift(timedelta(minutes=1))
    again = floor.decide(visit["id"], registration_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert payload(first)["decision"] == payload(again)["decision"]
    assert len(payload(again)["decisions"]) == 1
    clock.shift(timedelta(minutes=5))
    assert len(feed(api, agency)) == 1


def test_a_correction_points_at_the_decision_it_replaces(api, floor, clock):
    """R-FLOOR-2: decisions are never edited. A correction names the decision
    in force and a reason; naming an older one is refused."""
    ecommerce = api.registrant(Source.ECOMMERCE)
    r = api.register(ecommerce, body(phone=PHONE))
    ecommerce_registration = payload(r)["registration_id"]
    visit = floor.arrive(phone=PHONE)
    first = payload(floor.decide(visit["id"], ecommerce_registration))["decision"]

    r = floor.decide(visit["id"], ecommerce_registration, replaces="dc_other", reason="录错")
    assert payload(r)["error"]["code"] == "DECISION_SUPERSEDED"
    r = floor.decide(visit["id"], ecommerce_registration, replaces=first["id"])
    assert payload(r)["error"]["fields"][0]["field"] == "reason"

    clock.shift(timedelta(minutes=1))
    r = floor.decide(visit["id"], ecommerce_registration, replaces=first["id"], reason="复核")
    assert r.status_code == 201, r.body
    decisions = payload(r)["decisions"]
    assert decisions[0] == first  # untouched
    assert decisions[1]["replaces"] == first["id"]
    assert decisions[1]["reason"] == "复核"
    assert payload(r)["decision"] == decisions[1]
    # a decision that does not name the one in force is refused
    r = floor.decide(visit["id"], ecommerce_registration)
    assert payload(r)["error"]["code"] == "DECISION_SUPERSEDED"


def test_a_decision_must_name_a_live_claim_on_this_customer(api, floor, clock):
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(phone="13900000001", visit_at="2026-11-27T09:00:00+08:00"))
    someone_else = payload(r)["registration_id"]
    visit = floor.arrive(phone=PHONE)
    r = floor.decide(visit["id"], someone_else)
    assert r.status_code == 409
    assert payload(r)["error"]["code"] == "CLAIM_NOT_LIVE"
    assert payload(r)["error"]["rule"] == "R-FLOOR-2"


def test_an_expired_protection_cannot_be_decided(api, floor, clock):
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(phone=PHONE, visit_at="2026-11-27T09:00:00+08:00"))
    registration_id = payload(r)["registration_id"]
    clock.shift(timedelta(days=61))
    visit = floor.arrive(phone=PHONE)
    r = floor.decide(visit["id"], registration_id)
    assert payload(r)["error"]["code"] == "CLAIM_NOT_LIVE"


def test_a_walk_in_is_not_the_channel_assistants_to_decide(api, floor):
    """R-FLOOR-2: natural customers are led by the consultant on duty."""
    (consultant,) = floor.consultants(1)
    r = consultant.post(
        "/v1/consultant-registrations",
        body(phone=PHONE, visit_at="2026-11-27T09:30:00+08:00"),
        key="walk-in-1",
    )
    walk_in = payload(r)["registration_id"]
    visit = floor.arrive(phone=PHONE)
    r = floor.decide(visit["id"], walk_in)
    assert payload(r)["error"]["code"] == "CLAIM_NOT_LIVE"


def test_a_visit_without_a_phone_cannot_be_decided(api, floor, held):
    _, registration_id = held
    visit = floor.arrive()
    r = floor.decide(visit["id"], registration_id)
    assert payload(r)["error"] == {
        "code": "CUSTOMER_UNKNOWN",
        "rule": "R-FLOOR-4",
        "message": "The visit has no customer yet: log the phone at arrival or sign the "
        "customer in.",
    }


def test_a_second_distribution_recommendation_gets_30_days_from_the_visit(api, floor, clock):
    """R-PROT-2: the second recommendation's protection is 30 days, from the visit."""
    channel = api.registrant(Source.CHANNEL)
    api.register(channel, body(phone=PHONE, visit_at="2026-11-27T09:00:00+08:00"))
    clock.shift(timedelta(days=60))  # the first protection has ended: 2027-01-26 10:00
    agency = api.registrant(Source.DISTRIBUTION)
    r = api.register(agency, body(phone=PHONE, visit_at="2027-01-26T14:00:00+08:00"))
    registration_id = payload(r)["registration_id"]
    clock.shift(timedelta(hours=4))
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)
    floor.decide(visit["id"], registration_id)
    seen = payload(api.get(agency, f"/v1/registrations/{registration_id}"))
    assert seen["protection"] == {
        "ordinal": 2,
        "starts_at": "2027-01-26T14:00:00+08:00",
        "ends_at": "2027-02-25T14:00:00+08:00",
    }


def test_a_decision_that_died_after_confirming_is_finished_by_its_retry(
    api, floor, held, clock, monkeypatch
):
    """The customer was confirmed, then the request died before the decision
    was recorded: the retry records it, and the event is written once."""
    from chalicelib.store import Store

    agency, registration_id = held
    clock.shift(timedelta(hours=1))
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)

    def dies(*_args, **_kwargs):
        raise RuntimeError("the function timed out")

    with monkeypatch.context() as m:
        m.setattr(Store, "save_visit", dies)
        assert floor.decide(visit["id"], registration_id).status_code == 500
    reset()
    key = customer_key(PHONE, settings().phone_hmac_key)
    (claim,) = api.store.get_customer(key).claims
    assert claim.confirmed_visit_id == visit["id"]
    r = floor.decide(visit["id"], registration_id)
    assert r.status_code == 201, r.body
    again = floor.decide(visit["id"], registration_id)
    assert again.status_code == 200
    clock.shift(timedelta(minutes=5))
    assert [e["type"] for e in feed(api, agency)] == ["registration.protected"]


def test_an_arrival_logged_after_the_window_closed_and_dated_back_is_not_recognized(
    api, floor, held, clock
):
    """R-REG-3: the window is about when the visit happened, and a time typed
    in after the window closed proves nothing."""
    agency, registration_id = held
    clock.shift(timedelta(hours=24, minutes=30))  # the window closed at 10:00 today
    visit = floor.arrive(
        phone=PHONE, accompanied_by=agency.registrant_id, arrived_at="2026-11-28T09:55:00+08:00"
    )
    r = floor.decide(visit["id"], registration_id)
    assert payload(r)["error"]["code"] == "VISIT_NOT_RECOGNIZED"
    assert "logged after" in payload(r)["error"]["message"]


def test_a_distribution_visit_decided_on_a_later_day_is_not_recognized(api, floor, held, clock):
    """R-REG-3: 判客 happens at the visit; a hold is not revived days later."""
    agency, registration_id = held
    clock.shift(timedelta(hours=1))
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)
    clock.move_to("2026-11-28T00:00:00+08:00")
    r = floor.decide(visit["id"], registration_id)
    assert payload(r)["error"]["code"] == "VISIT_NOT_RECOGNIZED"


def test_an_outage_after_the_confirmation_says_the_decision_stands(
    api, floor, held, clock, monkeypatch
):
    """The customer is protected already: the 503 says so and how to finish,
    and sending the decision again finishes it."""
    from chalicelib.errors import StoreUnavailable
    from chalicelib.store import Store

    agency, registration_id = held
    clock.shift(timedelta(hours=1))
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)

    def down(*_args, **_kwargs):
        raise StoreUnavailable("injected")

    with monkeypatch.context() as m:
        m.setattr(Store, "save_visit", down)
        r = floor.decide(visit["id"], registration_id)
    assert r.status_code == 503
    assert "decision was taken" in payload(r)["error"]["message"]
    assert floor.decide(visit["id"], registration_id).status_code == 201
    seen = payload(api.get(agency, f"/v1/registrations/{registration_id}"))
    assert seen["status"] == "protected"


def test_an_event_whose_write_failed_lands_ahead_of_cursors_when_retried(
    api, floor, held, clock, monkeypatch
):
    """The feed never misses (decision 0002): a registration.protected event
    whose first write failed is written after every cursor handed out since."""
    from chalicelib.errors import StoreUnavailable
    from chalicelib.store import Store
    from chalicelib.store.models import EventItem

    agency, registration_id = held
    r = api.register(agency, body(phone="13900000009", visit_at=COMING))
    other_registration = payload(r)["registration_id"]
    clock.shift(timedelta(hours=1))
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)
    other_visit = floor.arrive(phone="13900000009", accompanied_by=agency.registrant_id)

    def down(self, *args, **kwargs):
        raise StoreUnavailable("injected")

    with monkeypatch.context() as m:
        m.setattr(EventItem, "save", down)
        # the event's first write goes with the record and the audit entry
        m.setattr(Store, "save_decision_records", down)
        assert floor.decide(visit["id"], registration_id).status_code == 503
    # a later event, and the agency reads its feed: its cursor moves past the
    # moment the failed event was stamped with
    clock.shift(timedelta(minutes=1))
    assert floor.decide(other_visit["id"], other_registration).status_code == 201
    clock.shift(timedelta(minutes=5))
    first = payload(api.get(agency, "/v1/events"))
    assert [e["registration_id"] for e in first["data"]] == [other_registration]
    r = floor.decide(visit["id"], registration_id)
    assert r.status_code == 200, r.body  # the decision was recorded; the retry finishes it
    clock.shift(timedelta(minutes=5))
    later = payload(api.get(agency, f"/v1/events?cursor={first['next_cursor']}"))
    assert [(e["type"], e["registration_id"]) for e in later["data"]] == [
        ("registration.protected", registration_id)
    ]
