"""A customer's visit on the floor, as the rulebook tells it (R-FLOOR-2..5):
the front desk greets and logs them, the channel assistant decides who owns
them (判客), the next consultant receives them, they sign in, and a viewing
confirmation form (or a site manager's exemption) closes the visit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.rules.claims import Source
from tests.api.floor_support import Floor
from tests.conftest import payload
from tests.support import body

TODAY = "2026-11-27"  # the clock fixture stands at 10:00 Shanghai
PHONE = "138 1234 5678"


@pytest.fixture
def floor(api) -> Floor:
    return Floor(api)


def channel_registration(api, phone: str = PHONE, visit_at: str = "2026-11-27T09:50:00+08:00"):
    channel = api.registrant(Source.CHANNEL, name="好房渠道")
    r = api.register(channel, body(phone=phone, visit_at=visit_at))
    assert r.status_code == 201, r.body
    return channel, payload(r)["registration_id"]


def test_a_channel_customer_walks_the_whole_floor(api, floor, clock):
    """R-FLOOR-2..5: greeted and logged, owner decided, received in turn,
    signed in, form filed, departure logged: the form is no longer due."""
    first, second = floor.consultants(2)
    floor.on_duty(TODAY, first, second)
    channel, registration_id = channel_registration(api)

    visit = floor.arrive(phone="13812345678", party_size=2, accompanied_by=channel.registrant_id)
    assert visit["customer"] == {"name": None, "phone_masked": "138****5678"}
    assert visit["form_state"] == "not_required"

    r = floor.decide(visit["id"], registration_id)
    assert r.status_code == 201, r.body
    decided = payload(r)
    assert decided["decision"]["registration_id"] == registration_id
    assert decided["decision"]["registrant_id"] == channel.registrant_id
    assert decided["decision"]["decided_by"] == floor.assistant.id
    assert decided["form_state"] == "pending"
    assert decided["form_due_at"] == "2026-11-28T00:00:00+08:00"

    r = floor.assign(visit["id"])
    assert r.status_code == 201, r.body
    assert payload(r)["consultant"]["id"] == first.id

    r = floor.assistant.post(
        f"/v1/visits/{visit['id']}/sign-ins",
        {"households": [{"name": "王先生", "phone": "+86 138-1234-5678"}]},
    )
    assert r.status_code == 201, r.body
    assert [v["customer"]["name"] for v in payload(r)["data"]] == ["王先生"]

    clock.shift(timedelta(minutes=50))
    r = first.post(f"/v1/visits/{visit['id']}/form", {"note": "看了3号楼"})
    assert r.status_code == 201, r.body
    assert payload(r)["form"]["filed_by"] == first.id
    assert payload(r)["form_state"] == "filed"

    r = floor.desk.post(f"/v1/visits/{visit['id']}/departure", {})
    assert r.status_code == 200, r.body
    assert payload(r)["departed_at"] == "2026-11-27T10:50:00+08:00"

    r = floor.assistant.get(f"/v1/forms?date={TODAY}")
    forms = payload(r)
    assert [v["id"] for v in forms["filed"]] == [visit["id"]]
    assert forms["overdue"] == forms["pending"] == []


def test_the_front_desk_sees_the_visit_by_day_and_by_customer(api, floor):
    """R-FLOOR-2: the visitor log is looked up by local day and by phone."""
    visit = floor.arrive(phone=PHONE)
    floor.arrive()  # a visitor who gave no phone
    by_day = payload(floor.desk.get(f"/v1/visits?date={TODAY}"))
    assert len(by_day["data"]) == 2
    assert payload(floor.desk.get("/v1/visits?date=2026-11-26"))["data"] == []
    r = floor.assistant.post("/v1/visit-lookups", {"phone": "13812345678"})
    assert [v["id"] for v in payload(r)["data"]] == [visit["id"]]
    assert "13812345678" not in r.body.decode()


def test_an_arrival_just_after_midnight_belongs_to_that_shanghai_day(api, floor, clock):
    """Shanghai time decides the day: 00:30 on the 28th is 16:30 UTC on the 27th."""
    clock.move_to("2026-11-27T16:30:00+00:00")
    visit = floor.arrive()
    assert visit["date"] == "2026-11-28"
    assert payload(floor.desk.get("/v1/visits?date=2026-11-28"))["data"][0]["id"] == visit["id"]
    assert payload(floor.desk.get("/v1/visits?date=2026-11-27"))["data"] == []


def test_a_retried_arrival_with_the_same_key_is_one_visit(api, floor):
    doc = {"party_size": 3, "greeted": True}
    first = floor.desk.post("/v1/visits", doc, key="tablet-1-0001")
    again = floor.desk.post("/v1/visits", doc, key="tablet-1-0001")
    assert first.status_code == again.status_code == 201
    assert payload(first)["id"] == payload(again)["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(payload(floor.desk.get("/v1/visits"))["data"]) == 1
    other = floor.desk.post("/v1/visits", {**doc, "party_size": 4}, key="tablet-1-0001")
    assert other.status_code == 422
    assert payload(other)["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_an_arrival_in_the_future_is_refused(api, floor):
    r = floor.desk.post(
        "/v1/visits", {"party_size": 1, "greeted": True, "arrived_at": "2026-11-27T12:00:00+08:00"}
    )
    assert r.status_code == 400
    assert payload(r)["error"]["fields"][0]["field"] == "arrived_at"


def test_a_departure_logged_twice_keeps_the_first(api, floor, clock):
    visit = floor.arrive()
    clock.shift(timedelta(minutes=30))
    floor.desk.post(f"/v1/visits/{visit['id']}/departure", {})
    clock.shift(timedelta(minutes=30))
    r = floor.desk.post(f"/v1/visits/{visit['id']}/departure", {})
    assert r.status_code == 200
    assert payload(r)["departed_at"] == "2026-11-27T10:30:00+08:00"


def test_a_departure_before_the_arrival_is_refused(api, floor):
    visit = floor.arrive()
    r = floor.desk.post(
        f"/v1/visits/{visit['id']}/departure", {"departed_at": "2026-11-27T09:00:00+08:00"}
    )
    assert r.status_code == 400
    assert payload(r)["error"]["fields"][0]["field"] == "departed_at"


def test_a_group_of_two_households_becomes_two_customers(api, floor):
    """R-FLOOR-4: each household signs in with its own phone, on its own visit,
    and owes its own form."""
    visit = floor.arrive(party_size=4)
    r = floor.assistant.post(
        f"/v1/visits/{visit['id']}/sign-ins",
        {
            "households": [
                {"name": "王先生", "phone": "13812345678"},
                {"name": "李女士", "phone": "13987654321"},
            ]
        },
    )
    assert r.status_code == 201, r.body
    signed = payload(r)["data"]
    assert signed[0]["id"] == visit["id"]
    assert signed[1]["id"] != visit["id"]
    assert {v["group_id"] for v in signed} == {visit["id"]}
    assert [v["customer"]["phone_masked"] for v in signed] == ["138****5678", "139****4321"]
    assert len(payload(floor.desk.get("/v1/visits"))["data"]) == 2
    for phone, visit_id in (("13812345678", signed[0]["id"]), ("13987654321", signed[1]["id"])):
        found = payload(floor.assistant.post("/v1/visit-lookups", {"phone": phone}))["data"]
        assert [v["id"] for v in found] == [visit_id]


def test_the_household_whose_phone_was_logged_stays_on_the_visit(api, floor):
    visit = floor.arrive(phone="13987654321", party_size=2)
    r = floor.assistant.post(
        f"/v1/visits/{visit['id']}/sign-ins",
        {
            "households": [
                {"name": "王先生", "phone": "13812345678"},
                {"name": "李女士", "phone": "139 8765 4321"},
            ]
        },
    )
    signed = payload(r)["data"]
    assert signed[0]["id"] == visit["id"]
    assert signed[0]["customer"]["name"] == "李女士"


def test_a_visit_signs_in_once_and_a_repeat_answers_the_same_visits(api, floor):
    """R-FLOOR-4: a lost reply's retry gets the visits it made; another group
    cannot sign in on a signed visit."""
    visit = floor.arrive()
    doc = {
        "households": [{"name": "王先生", "phone": PHONE}, {"name": "李", "phone": "13987654321"}]
    }
    first = floor.assistant.post(f"/v1/visits/{visit['id']}/sign-ins", doc)
    again = floor.assistant.post(f"/v1/visits/{visit['id']}/sign-ins", doc)
    assert (first.status_code, again.status_code) == (201, 200)
    assert [v["id"] for v in payload(again)["data"]] == [v["id"] for v in payload(first)["data"]]
    assert len(payload(floor.desk.get("/v1/visits"))["data"]) == 2
    other = {"households": [{"name": "赵", "phone": "13700000000"}]}
    r = floor.assistant.post(f"/v1/visits/{visit['id']}/sign-ins", other)
    assert r.status_code == 409
    assert payload(r)["error"] == {
        "code": "ALREADY_RECORDED",
        "rule": "R-FLOOR-4",
        "message": "The visit is already signed in.",
    }


def test_the_second_household_is_received_by_the_same_consultant_and_files_its_form(api, floor):
    """R-FLOOR-4/5: the other household is a customer of its own: decided on
    its own visit, its form filed by the consultant who received the group."""
    (consultant,) = floor.consultants(1)
    floor.on_duty(TODAY, consultant)
    _, first_registration = channel_registration(api)
    _, second_registration = channel_registration(api, phone="13987654321")
    visit = floor.arrive(phone=PHONE, party_size=2)
    floor.decide(visit["id"], first_registration)
    floor.assign(visit["id"])
    r = floor.assistant.post(
        f"/v1/visits/{visit['id']}/sign-ins",
        {
            "households": [
                {"name": "王先生", "phone": PHONE},
                {"name": "李女士", "phone": "13987654321"},
            ]
        },
    )
    sibling = payload(r)["data"][1]
    assert sibling["consultant_id"] == consultant.id
    assert sibling["decision"] is None  # their own customer: decided on their own visit
    r = floor.decide(sibling["id"], second_registration)
    assert r.status_code == 201, r.body
    assert payload(r)["form_state"] == "pending"
    r = consultant.post(f"/v1/visits/{sibling['id']}/form", {"note": "看了样板间"})
    assert r.status_code == 201, r.body
    assert payload(r)["form_state"] == "filed"


def test_one_phone_twice_in_a_group_is_refused(api, floor):
    visit = floor.arrive()
    doc = {"households": [{"name": "王", "phone": PHONE}, {"name": "李", "phone": "13812345678"}]}
    r = floor.assistant.post(f"/v1/visits/{visit['id']}/sign-ins", doc)
    assert r.status_code == 400


def test_an_unknown_visit_is_404(api, floor):
    r = floor.desk.post("/v1/visits/vi_nope/departure", {})
    assert r.status_code == 404
    assert payload(r)["error"]["code"] == "NOT_FOUND"


def test_a_decided_customer_cannot_be_signed_off_their_visit(api, floor):
    """R-FLOOR-2/4: the 判客 decision is about the visit's customer; a sign-in
    that leaves them out would move the decision onto someone else."""
    channel, registration_id = channel_registration(api)
    visit = floor.arrive(phone=PHONE, accompanied_by=channel.registrant_id)
    floor.decide(visit["id"], registration_id)
    r = floor.assistant.post(
        f"/v1/visits/{visit['id']}/sign-ins",
        {"households": [{"name": "李女士", "phone": "13987654321"}]},
    )
    assert r.status_code == 400
    assert payload(r)["error"]["fields"][0]["field"] == "households"


def test_a_consultant_reads_only_the_visits_they_received(api, floor):
    """A visit names its customer: the receiving consultant and the floor
    roles read it; another consultant gets 404, the same answer as for a
    visit that does not exist (not yours looks like none)."""
    receiver, other = floor.consultants(2)
    floor.on_duty(TODAY, receiver, other)
    _, registration_id = channel_registration(api)
    visit = floor.arrive(phone="13812345678")
    assert floor.decide(visit["id"], registration_id).status_code == 201
    assert floor.assign(visit["id"]).status_code == 201
    path = f"/v1/visits/{visit['id']}"

    mine = receiver.get(path)
    assert mine.status_code == 200, mine.body
    assert payload(mine)["consultant_id"] == receiver.id
    for reader in (floor.desk, floor.assistant, floor.admin, floor.manager, floor.site_manager):
        assert reader.get(path).status_code == 200, reader.member.role

    theirs = other.get(path)
    missing = other.get("/v1/visits/vi_01KB0ZQ8S6W6MJ3X1P9T4V5N7C")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.body == missing.body
    assert "王先生" not in theirs.body.decode() and "5678" not in theirs.body.decode()


def test_a_consultant_reads_no_visit_before_it_is_received(api, floor):
    (consultant,) = floor.consultants(1)
    visit = floor.arrive(phone="13812345678")
    assert consultant.get(f"/v1/visits/{visit['id']}").status_code == 404
