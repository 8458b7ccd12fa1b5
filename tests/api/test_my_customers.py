"""A consultant's own customers (GET /v1/staff/me/customers): whom they own
now (R-RECLAIM-1), how each stands (R-PROT-2 judged at read time), and when
the monthly reclaim would take them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services import container
from tests.api.floor_support import Floor, Person, person, walk_in
from tests.conftest import payload
from tests.support import body, shanghai

MINE = "/v1/staff/me/customers"
PHONE = "13812345678"


@pytest.fixture
def floor(api) -> Floor:
    return Floor(api)


def mine(consultant: Person, query: str = "") -> list[dict]:
    r = consultant.get(MINE + query)
    assert r.status_code == 200, r.body
    return list(payload(r)["data"])


def received_on_the_floor(api, floor: Floor, consultant: Person, phone: str = PHONE) -> None:
    """A channel's customer, judged and assigned to ``consultant`` in turn
    (R-FLOOR-2, R-FLOOR-3) at 10:00 on 27 November."""
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(phone=phone, visit_at="2026-11-27T09:30:00+08:00"))
    assert r.status_code == 201, r.body
    visit = floor.arrive(phone=phone)
    assert floor.decide(visit["id"], payload(r)["registration_id"]).status_code == 201
    floor.on_duty("2026-11-27", consultant)
    assert floor.assign(visit["id"]).status_code == 201


def reclaim_at(clock, local: str) -> dict[str, int]:
    clock.move_to(shanghai(local))
    return container.reclaim().run(datetime.now(UTC))


def test_assigned_customer_appears_in_consultants_list(api, floor):
    """R-FLOOR-3: the customer received in turn is the consultant's, with the
    channel's protection live (R-PROT-2) and the reclaim run three calendar
    months after the visit (R-RECLAIM-1)."""
    (zhang,) = floor.consultants(1)
    received_on_the_floor(api, floor, zhang)
    (entry,) = mine(zhang)
    assert entry == {
        "customer_id": entry["customer_id"],
        "name": "王先生",  # as the channel registered them
        "phone_masked": "138****5678",
        "since": "2026-11-27T10:00:00+08:00",
        "how": "floor",
        "last_visit_at": "2026-11-27T10:00:00+08:00",
        "protection": {
            "ordinal": 1,
            "starts_at": "2026-11-27T10:00:00+08:00",
            "ends_at": "2027-01-26T10:00:00+08:00",
        },
        "state": "protected",
        "reclaim_at": "2027-03-01T02:00:00+08:00",
    }
    assert PHONE not in str(entry)


def test_a_walk_in_is_listed_as_the_consultants_own_unprotected_customer(api, clock):
    """R-REG-1: a walk-in has no recommender: nobody's protection."""
    zhang = person(api, Role.CONSULTANT)
    walk_in(clock, zhang, "2026-11-30")
    (entry,) = mine(zhang)
    assert (entry["how"], entry["since"]) == ("walk_in", "2026-11-30T09:30:00+08:00")
    assert (entry["state"], entry["protection"]) == ("unprotected", None)
    assert entry["reclaim_at"] == "2027-03-01T02:00:00+08:00"
    assert entry["name"] == "王先生"  # the name the consultant registered (not only the phone)


def test_reclaimed_customer_leaves_the_list(api, clock):
    """R-RECLAIM-1: the 1 March run takes a 30 November walk-in into the pool."""
    zhang = person(api, Role.CONSULTANT)
    walk_in(clock, zhang, "2026-11-30")
    assert reclaim_at(clock, "2027-02-01 02:00").get("reclaimed", 0) == 0
    assert len(mine(zhang)) == 1
    assert reclaim_at(clock, "2027-03-01 02:00")["reclaimed"] == 1
    assert mine(zhang) == []


def test_a_customer_assigned_from_the_pool_is_listed_for_the_new_consultant_only(api, clock):
    """R-RECLAIM-1: the sales manager gives the pooled customer to Li."""
    zhang, li = person(api, Role.CONSULTANT), person(api, Role.CONSULTANT)
    manager = person(api, Role.SALES_MANAGER)
    walk_in(clock, zhang, "2026-11-30")
    reclaim_at(clock, "2027-03-01 02:00")
    clock.move_to(shanghai("2027-03-02 09:00"))
    (pooled,) = payload(manager.get("/v1/pool"))["data"]
    doc = {"assignments": [{"customer_id": pooled["customer_id"], "consultant_id": li.id}]}
    assert payload(manager.post("/v1/pool/assignments", doc))["data"][0]["assigned"] is True
    assert mine(zhang) == []
    (entry,) = mine(li)
    assert entry["customer_id"] == pooled["customer_id"]
    assert (entry["how"], entry["since"]) == ("pool", "2027-03-02T09:00:00+08:00")
    # stale already (last visit 30 November): the first run after the
    # assignment takes them back, unless they visit or buy before it
    assert entry["reclaim_at"] == "2027-04-01T02:00:00+08:00"
    assert reclaim_at(clock, "2027-04-01 02:00")["reclaimed"] == 1
    assert mine(li) == []


def test_other_consultants_customers_are_not_shown(api, clock):
    zhang, li = person(api, Role.CONSULTANT), person(api, Role.CONSULTANT)
    walk_in(clock, zhang, "2026-11-27", "13800000001")
    walk_in(clock, li, "2026-11-27", "13800000002")
    walk_in(clock, zhang, "2026-11-28", "13800000003")
    assert [e["phone_masked"] for e in mine(zhang)] == ["138****0003", "138****0001"]
    assert [e["phone_masked"] for e in mine(li)] == ["138****0002"]


def test_protection_ended_at_the_exact_instant_shows_unprotected(api, floor, clock):
    """R-PROT-2: over at its end instant, whether or not the sweep has run."""
    (zhang,) = floor.consultants(1)
    received_on_the_floor(api, floor, zhang)
    ends = shanghai("2027-01-26 10:00")
    clock.move_to(ends - timedelta(seconds=1))
    (entry,) = mine(zhang)
    assert entry["state"] == "protected"
    clock.move_to(ends)
    (entry,) = mine(zhang)
    assert (entry["state"], entry["protection"]) == ("unprotected", None)


def test_a_bought_customer_shows_converted_and_is_never_reclaimed(api, floor, clock):
    """R-RECLAIM-1: a deal keeps the customer the consultant's, with no reclaim."""
    (zhang,) = floor.consultants(1)
    received_on_the_floor(api, floor, zhang)
    clock.move_to(shanghai("2026-12-10 15:00"))
    assert zhang.post("/v1/deals", {"phone": PHONE}).status_code == 201
    (entry,) = mine(zhang)
    assert (entry["state"], entry["protection"], entry["reclaim_at"]) == ("converted", None, None)


def test_latest_visit_first_and_a_new_visit_moves_the_customer_up(api, floor, clock):
    """A visit moves the last visit, the order and the reclaim run (R-RECLAIM-1)."""
    zhang = person(api, Role.CONSULTANT)
    walk_in(clock, zhang, "2026-11-20", "13800000001")
    walk_in(clock, zhang, "2026-11-21", "13800000002")
    assert [e["phone_masked"] for e in mine(zhang)] == ["138****0002", "138****0001"]
    clock.move_to(shanghai("2026-11-27 10:00"))
    visit = floor.arrive()
    households = {"households": [{"name": "王", "phone": "13800000001"}]}
    assert floor.assistant.post(f"/v1/visits/{visit['id']}/sign-ins", households).status_code == 201
    first, second = mine(zhang)
    assert first["phone_masked"] == "138****0001"
    assert first["last_visit_at"] == "2026-11-27T10:00:00+08:00"
    assert first["reclaim_at"] == "2027-03-01T02:00:00+08:00"
    assert second["reclaim_at"] == "2027-03-01T02:00:00+08:00"
    assert first["how"] == "walk_in"  # still the walk-in's tenure


def test_the_list_pages_with_limit_and_cursor(api, clock):
    zhang = person(api, Role.CONSULTANT)
    for day in ("2026-11-20", "2026-11-21", "2026-11-22"):
        walk_in(clock, zhang, day, f"1380000{day[-2:]}00")
    r = payload(zhang.get(f"{MINE}?limit=2"))
    assert [e["phone_masked"] for e in r["data"]] == ["138****2200", "138****2100"]
    rest = payload(zhang.get(f"{MINE}?limit=2&cursor={r['next_cursor']}"))
    assert [e["phone_masked"] for e in rest["data"]] == ["138****2000"]
    assert rest["next_cursor"] is None
    assert payload(zhang.get(MINE))["next_cursor"] is None


@pytest.mark.parametrize("query", ["?limit=0", "?limit=101", "?cursor=%00", "?page=2"])
def test_a_bad_limit_cursor_or_parameter_is_refused(api, query):
    zhang = person(api, Role.CONSULTANT)
    r = zhang.get(MINE + query)
    assert r.status_code == 400, r.body
    assert payload(r)["error"]["code"] == "VALIDATION_ERROR"


def test_front_desk_may_not_read_my_customers(api):
    r = person(api, Role.FRONT_DESK).get(MINE)
    assert r.status_code == 403
    assert payload(r)["error"]["code"] == "FORBIDDEN"


def test_a_manager_may_not_read_them_either_and_nobody_without_a_token(api):
    assert person(api, Role.SALES_MANAGER).get(MINE).status_code == 403
    assert api.client.http.get(MINE).status_code == 401
