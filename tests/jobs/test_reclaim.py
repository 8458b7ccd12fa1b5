"""The monthly reclaim (R-RECLAIM-1), the pool, and deals with their credit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.phone import customer_key
from chalicelib.rules.staff import Role
from chalicelib.services import container
from chalicelib.services.people import staff as staff_service
from chalicelib.settings import settings
from tests.api.floor_support import person, walk_in
from tests.conftest import payload
from tests.support import body, shanghai

PHONE = "13812345678"


def reclaim_at(clock, local: str) -> dict[str, int]:
    clock.move_to(shanghai(local))
    return container.reclaim().run(datetime.now(UTC).replace(microsecond=0))


def owner(api, phone: str = PHONE) -> str | None:
    customer = api.store.get_customer(customer_key(phone, settings().phone_hmac_key))
    return customer.consultant_at(datetime.now(UTC)) if customer else None


def in_pool(manager) -> list[dict]:
    r = manager.get("/v1/pool")
    assert r.status_code == 200, r.body
    return list(payload(r)["data"])


@pytest.fixture
def people(api):
    return {
        "zhang": person(api, Role.CONSULTANT, "顾问 张"),
        "li": person(api, Role.CONSULTANT, "顾问 李"),
        "manager": person(api, Role.SALES_MANAGER, "经理 陈"),
    }


def test_a_visit_on_30_november_is_reclaimed_on_1_march_not_1_february(api, clock, people):
    """R-RECLAIM-1: three calendar months: stale from 28 February."""
    walk_in(clock, people["zhang"], "2026-11-30")
    assert reclaim_at(clock, "2027-02-01 02:00").get("reclaimed", 0) == 0
    assert owner(api) == people["zhang"].id
    assert reclaim_at(clock, "2027-03-01 02:00")["reclaimed"] == 1
    assert owner(api) is None
    (entry,) = in_pool(people["manager"])
    assert entry["previous_consultant_id"] == people["zhang"].id
    assert entry["pooled_at"] == "2027-03-01T02:00:00+08:00"
    assert entry["phone_masked"] == "138****5678"


def test_a_visit_on_31_december_waits_for_the_1_april_run(api, clock, people):
    """R-RECLAIM-1: 31 December + 3 months is 31 March, after the 1 March run."""
    walk_in(clock, people["zhang"], "2026-12-31")
    assert reclaim_at(clock, "2027-03-01 02:00").get("reclaimed", 0) == 0
    assert reclaim_at(clock, "2027-04-01 02:00")["reclaimed"] == 1


def test_in_a_leap_year_30_november_is_stale_from_29_february(api, clock, people):
    walk_in(clock, people["zhang"], "2027-11-30")
    assert reclaim_at(clock, "2028-02-01 02:00").get("reclaimed", 0) == 0
    assert reclaim_at(clock, "2028-03-01 02:00")["reclaimed"] == 1


def test_a_missed_month_is_caught_up_as_of_the_missed_run(api, clock, people):
    """No run on 1 March: the 1 April run takes the customer, as of 1 March."""
    walk_in(clock, people["zhang"], "2026-11-30")
    reclaim_at(clock, "2027-02-01 02:00")
    assert reclaim_at(clock, "2027-04-01 02:00")["reclaimed"] == 1
    (entry,) = in_pool(people["manager"])
    assert entry["pooled_at"] == "2027-03-01T02:00:00+08:00"


def test_the_reclaim_run_twice_reclaims_once(api, clock, people):
    walk_in(clock, people["zhang"], "2026-11-30")
    assert reclaim_at(clock, "2027-03-01 02:00")["reclaimed"] == 1
    assert reclaim_at(clock, "2027-03-01 02:05").get("reclaimed", 0) == 0
    trail = api.store.audit_trail(f"customer:{customer_key(PHONE, settings().phone_hmac_key)}")
    assert [e.action for e in trail].count("customer.reclaimed") == 1


def test_a_customer_who_visited_again_is_not_reclaimed(api, clock, people):
    """The last visit counts: a visit in January moves the reclaim to May."""
    walk_in(clock, people["zhang"], "2026-11-30")
    channel = api.registrant(Source.CHANNEL)
    clock.move_to(shanghai("2027-01-15 10:00"))
    # the customer comes back, signed in on the floor
    desk = person(api, Role.FRONT_DESK)
    visit = payload(desk.post("/v1/visits", {"party_size": 1, "greeted": True}))
    assistant = person(api, Role.CHANNEL_ASSISTANT)
    r = assistant.post(
        f"/v1/visits/{visit['id']}/sign-ins", {"households": [{"name": "王", "phone": PHONE}]}
    )
    assert r.status_code == 201, r.body
    assert reclaim_at(clock, "2027-03-01 02:00").get("reclaimed", 0) == 0
    assert reclaim_at(clock, "2027-05-01 02:00")["reclaimed"] == 1
    assert channel


def test_a_bought_customer_is_never_reclaimed(api, clock, people):
    walk_in(clock, people["zhang"], "2026-11-30")
    clock.move_to(shanghai("2026-12-10 15:00"))
    r = people["zhang"].post("/v1/deals", {"phone": PHONE})
    assert r.status_code == 201, r.body
    assert reclaim_at(clock, "2027-03-01 02:00").get("read", 0) == 0
    assert reclaim_at(clock, "2028-03-01 02:00").get("reclaimed", 0) == 0
    assert owner(api) == people["zhang"].id


def test_the_pool_suggestion_skips_a_disabled_consultant(api, clock, people):
    """R-RECLAIM-1: round robin over the active consultants only."""
    for n in range(3):
        walk_in(clock, people["zhang"], "2026-11-30", f"1390000000{n}")
    reclaim_at(clock, "2027-03-01 02:00")
    staff_service.set_staff_enabled(api.store, people["zhang"].id, False, datetime.now(UTC))
    r = people["manager"].get("/v1/pool")
    view = payload(r)
    assert [c["id"] for c in view["consultants"]] == [people["li"].id]
    assert {e["suggested_consultant_id"] for e in view["data"]} == {people["li"].id}
    entry = view["data"][0]
    r = people["manager"].post(
        "/v1/pool/assignments",
        {
            "assignments": [
                {"customer_id": entry["customer_id"], "consultant_id": people["zhang"].id}
            ]
        },
    )
    assert r.status_code == 400
    assert payload(r)["error"]["fields"][0]["field"] == "assignments.0.consultant_id"


def test_the_round_robin_alternates_over_active_consultants(api, clock, people):
    for n in range(4):
        walk_in(clock, people["zhang"], "2026-11-30", f"1390000000{n}")
    reclaim_at(clock, "2027-03-01 02:00")
    suggested = [e["suggested_consultant_id"] for e in in_pool(people["manager"])]
    a, b = sorted([people["zhang"].id, people["li"].id])
    assert suggested == [a, b, a, b]


def test_bulk_assignment_from_the_pool(api, clock, people):
    for n in range(3):
        walk_in(clock, people["zhang"], "2026-11-30", f"1390000000{n}")
    reclaim_at(clock, "2027-03-01 02:00")
    clock.move_to(shanghai("2027-03-01 09:00"))
    pool = in_pool(people["manager"])
    doc = {
        "assignments": [
            {"customer_id": e["customer_id"], "consultant_id": e["suggested_consultant_id"]}
            for e in pool
        ]
    }
    r = people["manager"].post("/v1/pool/assignments", doc)
    assert r.status_code == 200, r.body
    assert all(a["assigned"] for a in payload(r)["data"])
    assert in_pool(people["manager"]) == []
    clock.move_to(shanghai("2027-03-01 09:05"))
    again = people["manager"].post("/v1/pool/assignments", doc)
    assert not any(a["assigned"] for a in payload(again)["data"])  # no longer in the pool


def test_a_deal_after_reassignment_is_credited_to_the_new_consultant_only(api, clock, people):
    """R-RECLAIM-1: the original consultant gets no share."""
    walk_in(clock, people["zhang"], "2026-11-30")
    reclaim_at(clock, "2027-03-01 02:00")
    clock.move_to(shanghai("2027-03-02 09:00"))
    (entry,) = in_pool(people["manager"])
    r = people["manager"].post(
        "/v1/pool/assignments",
        {"assignments": [{"customer_id": entry["customer_id"], "consultant_id": people["li"].id}]},
    )
    assert payload(r)["data"][0]["assigned"] is True
    clock.move_to(shanghai("2027-03-20 15:00"))
    r = people["zhang"].post("/v1/deals", {"phone": PHONE})
    assert r.status_code == 403  # no longer Zhang's customer
    r = people["li"].post("/v1/deals", {"phone": PHONE})
    assert r.status_code == 201, r.body
    assert payload(r)["consultant_id"] == people["li"].id
    assert payload(r)["registration_id"] is None  # no recommender's protection was live


def test_a_deal_converts_the_live_recommendation(api, clock, people):
    """R-PROT-2: the recommender whose protection is live at the deal is credited."""
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(phone=PHONE, visit_at="2026-11-27T09:30:00+08:00"))
    rg = payload(r)["registration_id"]
    clock.move_to(shanghai("2026-12-20 15:00"))
    r = people["manager"].post("/v1/deals", {"phone": "+86 138 1234 5678"})
    assert r.status_code == 201, r.body
    assert payload(r)["registration_id"] == rg
    assert payload(r)["registrant_id"] == channel.registrant_id
    assert payload(api.get(channel, f"/v1/registrations/{rg}"))["status"] == "converted"
    again = people["manager"].post("/v1/deals", {"phone": PHONE})
    assert payload(again)["error"]["code"] == "ALREADY_RECORDED"


def test_a_deal_after_the_protection_ended_credits_no_recommender(api, clock, people):
    channel = api.registrant(Source.CHANNEL)
    api.register(channel, body(phone=PHONE, visit_at="2026-11-27T09:30:00+08:00"))
    clock.move_to(shanghai("2027-01-26 10:00"))  # the protection's end, exactly
    r = people["manager"].post("/v1/deals", {"phone": PHONE})
    assert payload(r)["registration_id"] is None


def test_a_deal_for_an_unknown_customer_is_404(api, people):
    r = people["manager"].post("/v1/deals", {"phone": "13700000000"})
    assert r.status_code == 404
