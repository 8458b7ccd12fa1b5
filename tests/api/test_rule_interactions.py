"""Rule interactions the rulebook decides, through the API (issue 14, section 3):
a deal ends no protection (R-PROT-2, R-DUP-1; decision 0005); a distribution
hold visited inside its window does not lapse before 判客 (R-REG-3; decision
0004); an approval whose time has passed is refused (R-REG-1, R-REG-2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.phone import customer_key
from chalicelib.services import container
from chalicelib.settings import settings
from tests.api.floor_support import Floor
from tests.conftest import payload
from tests.support import body, shanghai

PHONE = "13812345678"


@pytest.fixture
def floor(api) -> Floor:
    return Floor(api)


def feed(api, who) -> list[tuple[str, str]]:
    events = payload(api.get(who, "/v1/events?limit=100"))["data"]
    return [(e["type"], e["occurred_at"]) for e in events]


def sweep() -> dict[str, int]:
    return container.sweep().run(datetime.now(UTC))


# -- a deal does not end a protection (R-PROT-2, R-DUP-1) ----------------------------


def test_a_deal_does_not_end_the_protection(api, floor, clock):
    """Channel A registers P (60 days); a deal is recorded 10 days later; 10
    days after that channel B is refused while A's protection lasts, and the
    channel assistant still sees A's claim live."""
    a = api.registrant(Source.CHANNEL, name="鲁信渠道")
    b = api.registrant(Source.CHANNEL, name="泉城渠道")
    r = api.register(a, body(phone=PHONE, visit_at="2026-11-27T09:30:00+08:00"))
    assert payload(r)["protection"]["ordinal"] == 1
    rg = payload(r)["registration_id"]
    clock.move_to(shanghai("2026-12-07 15:00"))
    deal = floor.manager.post("/v1/deals", {"phone": PHONE})
    assert (deal.status_code, payload(deal)["registration_id"]) == (201, rg)
    clock.move_to(shanghai("2026-12-17 11:00"))
    r = api.register(b, body(phone=PHONE, visit_at="2026-12-17T10:30:00+08:00"))
    assert r.status_code == 409, r.body
    assert (payload(r)["error"]["code"], payload(r)["error"]["rule"]) == (
        "DUPLICATE_LIVE_CLAIM",
        "R-DUP-1",
    )
    seen = payload(floor.assistant.post("/v1/customer-lookups", {"phone": PHONE}))
    assert [(c["registration_id"], c["status"]) for c in seen["live_claims"]] == [(rg, "converted")]
    assert payload(api.get(a, f"/v1/registrations/{rg}"))["status"] == "converted"


def test_after_a_bought_customers_protection_ends_the_ordinary_rules_decide(api, floor, clock):
    """Decision 0005: once the protection has ended, a recommendation of a
    customer who bought is the second recommendation (30 days, R-PROT-1/2);
    the deal stays credited to the first."""
    a = api.registrant(Source.CHANNEL)
    b = api.registrant(Source.CHANNEL)
    r = api.register(a, body(phone=PHONE, visit_at="2026-11-27T09:30:00+08:00"))
    rg = payload(r)["registration_id"]
    clock.move_to(shanghai("2026-12-07 15:00"))
    assert floor.manager.post("/v1/deals", {"phone": PHONE}).status_code == 201
    clock.move_to(shanghai("2027-01-26 10:00"))  # A's protection ends, exactly
    r = api.register(b, body(phone=PHONE, visit_at="2027-01-26T09:45:00+08:00"))
    assert r.status_code == 201, r.body
    assert payload(r)["protection"] == {
        "ordinal": 2,
        "starts_at": "2027-01-26T10:00:00+08:00",
        "ends_at": "2027-02-25T10:00:00+08:00",
    }
    assert payload(api.get(a, f"/v1/registrations/{rg}"))["status"] == "converted"


# -- a visited distribution hold does not lapse before 判客 (R-REG-3) ----------------


@pytest.fixture
def held(api, clock):
    """D registers Q at 09:00 for a visit at 10:00: the window opens at 09:30
    and closes at 09:00 the next day."""
    clock.move_to(shanghai("2026-11-27 09:00"))
    agency = api.registrant(Source.DISTRIBUTION, name="链家分销")
    r = api.register(agency, body(phone=PHONE, visit_at="2026-11-27T10:00:00+08:00"))
    assert r.status_code == 201, r.body
    assert payload(r)["visit_window"]["closes_at"] == "2026-11-28T09:00:00+08:00"
    return agency, payload(r)["registration_id"]


def test_a_hold_visited_inside_its_window_does_not_lapse_before_the_decision(
    api, floor, held, clock
):
    """The issue's reproduction: arrival with D at 08:50, the sweep at 09:01
    records no lapse, channel B is refused at 09:04 (R-DUP-1), and 判客 at
    09:10 confirms D from 08:50."""
    agency, rg = held
    clock.move_to(shanghai("2026-11-28 08:50"))
    visit = floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)
    clock.move_to(shanghai("2026-11-28 09:01"))
    assert sweep().get("lapsed", 0) == 0
    clock.move_to(shanghai("2026-11-28 09:04"))
    assert payload(api.get(agency, f"/v1/registrations/{rg}"))["status"] == "provisional"
    seen = payload(floor.assistant.post("/v1/customer-lookups", {"phone": PHONE}))
    assert [(c["registration_id"], c["until"]) for c in seen["live_claims"]] == [
        (rg, "2026-11-29T00:00:00+08:00")  # until 判客 can no longer confirm the visit
    ]
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(phone=PHONE, visit_at="2026-11-28T09:00:00+08:00"))
    assert (r.status_code, payload(r)["error"]["rule"]) == (409, "R-DUP-1")
    clock.move_to(shanghai("2026-11-28 09:10"))
    r = floor.decide(visit["id"], rg)
    assert r.status_code == 201, r.body
    protection = payload(api.get(agency, f"/v1/registrations/{rg}"))["protection"]
    assert protection["starts_at"] == "2026-11-28T08:50:00+08:00"
    clock.move_to(shanghai("2026-11-29 01:00"))
    assert sweep().get("lapsed", 0) == 0
    clock.shift(timedelta(minutes=1))
    assert feed(api, agency) == [("registration.protected", "2026-11-28T08:50:00+08:00")]


def test_a_hold_whose_visit_is_signed_in_inside_the_window_is_kept_too(api, floor, held, clock):
    """R-REG-3 / R-FLOOR-4: the phone may come at the sign-in rather than at
    the arrival; signed in before the window closed, the visit keeps the hold."""
    agency, rg = held
    clock.move_to(shanghai("2026-11-28 08:50"))
    visit = floor.arrive(accompanied_by=agency.registrant_id)
    clock.move_to(shanghai("2026-11-28 08:55"))
    households = {"households": [{"name": "王先生", "phone": PHONE}]}
    r = floor.assistant.post(f"/v1/visits/{visit['id']}/sign-ins", households)
    assert r.status_code == 201, r.body
    clock.move_to(shanghai("2026-11-28 09:01"))
    assert sweep().get("lapsed", 0) == 0
    assert payload(api.get(agency, f"/v1/registrations/{rg}"))["status"] == "provisional"
    clock.move_to(shanghai("2026-11-28 09:10"))
    assert floor.decide(visit["id"], rg).status_code == 201


def test_an_unvisited_hold_lapses_when_its_window_closes(api, floor, held, clock):
    """R-REG-3: unchanged for a hold nobody brought the customer for."""
    agency, rg = held
    clock.move_to(shanghai("2026-11-28 09:01"))
    assert sweep()["lapsed"] == 1
    assert payload(api.get(agency, f"/v1/registrations/{rg}"))["status"] == "lapsed"
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(phone=PHONE, visit_at="2026-11-28T09:00:00+08:00"))
    assert r.status_code == 201, r.body


def test_a_visited_hold_left_undecided_lapses_at_the_end_of_the_visits_day(api, floor, held, clock):
    """R-REG-3 / R-FLOOR-2: 判客 confirms on the visit's own day; after that
    the hold lapses, once, and the customer is free."""
    agency, rg = held
    clock.move_to(shanghai("2026-11-28 08:50"))
    floor.arrive(phone=PHONE, accompanied_by=agency.registrant_id)
    clock.move_to(shanghai("2026-11-28 23:59"))
    assert sweep().get("lapsed", 0) == 0
    clock.move_to(shanghai("2026-11-29 00:00"))
    assert sweep()["lapsed"] == 1
    clock.shift(timedelta(minutes=1))
    assert feed(api, agency) == [("registration.lapsed", "2026-11-29T00:00:00+08:00")]
    assert payload(api.get(agency, f"/v1/registrations/{rg}"))["status"] == "lapsed"


# -- an approval that would unlock nothing (R-REG-1, R-REG-2) -----------------------


def test_an_approval_whose_time_has_passed_is_refused(api, floor, clock):
    """R-REG-2: at 10:00 on the 27th, a visit of the 25th could be entered late
    only until 18:00 on the 26th: the approval is refused, and nothing is kept."""
    channel = api.registrant(Source.CHANNEL)
    doc = {
        "phone": PHONE,
        "registrant_id": channel.registrant_id,
        "visit_date": "2026-11-25",
        "reason": "系统故障，当天未能录入",
    }
    r = floor.manager.post("/v1/late-approvals", doc)
    assert r.status_code == 409, r.body
    error = payload(r)["error"]
    assert (error["code"], error["rule"]) == ("REGISTRATION_TOO_LATE", "R-REG-2")
    assert "2026-11-25" in error["message"]
    assert api.store.get_customer(customer_key(PHONE, settings().phone_hmac_key)) is None
    # the day before's visit is still approvable until 18:00 today
    r = floor.manager.post("/v1/late-approvals", {**doc, "visit_date": "2026-11-26"})
    assert (r.status_code, payload(r)["valid_until"]) == (201, "2026-11-27T18:00:00+08:00")


def test_a_consultants_approval_at_its_cutoff_cites_r_reg_1(api, floor, clock):
    """R-REG-1: the consultant's late rule; at 18:00 exactly it is too late."""
    (consultant,) = floor.consultants(1)
    clock.move_to(shanghai("2026-11-27 18:00"))
    doc = {
        "phone": PHONE,
        "registrant_id": consultant.id,
        "visit_date": "2026-11-26",
        "reason": "系统故障",
    }
    r = floor.manager.post("/v1/late-approvals", doc)
    assert (r.status_code, payload(r)["error"]["rule"]) == (409, "R-REG-1")
