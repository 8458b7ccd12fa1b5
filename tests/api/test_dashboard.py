"""The managers' 看板 (issue 17): numbers right after a known set of
registrations, visits, fines and reclaims; local (Shanghai) days; retries
and second job runs counted once; managers only; and a cost in requests that
does not grow with the registrations of the period (docs/decisions/0009)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services import container
from tests.api.floor_support import Floor, person, walk_in
from tests.api.test_floor_decision_requests import Requests
from tests.conftest import payload
from tests.support import body, shanghai


@pytest.fixture
def floor(api) -> Floor:
    return Floor(api)


@pytest.fixture
def requests(api) -> Iterator[Requests]:
    counted = Requests(api.store._connection.client)
    yield counted
    counted.remove()


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def board(floor: Floor, days: int = 30) -> dict[str, Any]:
    r = floor.manager.get(f"/v1/dashboard?days={days}")
    assert r.status_code == 200, r.body
    return dict(payload(r))


def register_at(api, clock, who, phone: str, local: str, key: str = "auto") -> Any:
    """A channel's registration made at ``local`` (Shanghai) for a visit then."""
    clock.move_to(shanghai(local))
    visit_at = datetime.fromisoformat(local).isoformat() + "+08:00"
    return api.register(who, body(phone=phone, visit_at=visit_at), key=key)


def day_of(doc: dict[str, Any], series: list[int], day: str) -> int:
    return series[doc["days"].index(day)]


def test_registrations_per_registrant_per_local_day_accepted_and_refused_by_rule(api, clock, floor):
    """R-REG-2's counts, by the Shanghai day: 23:59:59 and 00:00 the next
    day are two days (both 27 November in UTC); a retried request, accepted
    or refused, is counted once, on the day it was decided."""
    east = api.registrant(Source.CHANNEL, name="东区渠道")
    west = api.registrant(Source.CHANNEL, name="西区渠道")
    late = "2026-11-27 23:59:59"
    first = register_at(api, clock, east, "13800000001", late, key="east-1")
    assert first.status_code == 201, first.body
    assert register_at(api, clock, west, "13800000001", late, key="west-1").status_code == 409
    clock.move_to(shanghai("2026-11-28 00:00"))
    same = body(phone="13800000001", visit_at="2026-11-27T23:59:59+08:00")
    for who, key, status in ((east, "east-1", 201), (west, "west-1", 409)):
        again = api.register(who, same, key=key)
        assert again.status_code == status  # the same request again: replayed, not decided
    assert register_at(api, clock, east, "13800000002", "2026-11-28 00:00").status_code == 201

    doc = board(floor)
    assert doc["today"] == "2026-11-28" and doc["days"][-1] == "2026-11-28"
    assert len(doc["days"]) == 30 and doc["days"][0] == "2026-10-30"
    rows = {r["name"]: r for r in doc["registrations"]["registrants"]}
    assert set(rows) == {"东区渠道", "西区渠道"}
    assert day_of(doc, rows["东区渠道"]["accepted"], "2026-11-27") == 1
    assert day_of(doc, rows["东区渠道"]["accepted"], "2026-11-28") == 1
    assert day_of(doc, rows["西区渠道"]["refused"], "2026-11-27") == 1
    assert rows["西区渠道"]["kind"] == "channel"
    assert day_of(doc, doc["registrations"]["accepted"], "2026-11-27") == 1
    assert day_of(doc, doc["registrations"]["refused"], "2026-11-27") == 1
    assert doc["registrations"]["refusals"] == [
        {"rule": "R-DUP-1", "code": "DUPLICATE_LIVE_CLAIM", "count": 1}
    ]
    assert sum(doc["registrations"]["accepted"]) == 2  # the retries added nothing
    assert sum(doc["registrations"]["refused"]) == 1


def test_arrivals_and_judging_today_live_and_past_days_from_the_sweeps_snapshot(api, clock, floor):
    """R-FLOOR-2: today's arrivals are read as they are; once the day has
    ended the sweep puts its numbers, and a second run puts the same."""
    channel = api.registrant(Source.CHANNEL, name="东区渠道")
    r = api.register(channel, body(phone="13800000003", visit_at="2026-11-27T09:50:00+08:00"))
    registration_id = payload(r)["registration_id"]
    visit = floor.arrive(phone="13800000003", party_size=3)
    assert floor.decide(visit["id"], registration_id).status_code == 201
    retried = {"party_size": 2, "greeted": True}
    for _ in range(2):  # a retried arrival (the reply was lost) is the same visit
        assert floor.desk.post("/v1/visits", retried, key="arrival-1").status_code in (200, 201)

    today = board(floor)["floor"]["today"]
    assert (today["date"], today["live"], today["arrivals"], today["people"]) == (
        "2026-11-27",
        True,
        2,
        5,
    )
    assert today["decided"]["channel"] == 1

    clock.move_to(shanghai("2026-11-28 00:05"))
    container.sweep().run(now())
    container.sweep().run(now())
    doc = board(floor)
    yesterday = doc["floor"]["days"][-2]
    assert yesterday["date"] == "2026-11-27" and yesterday["recorded"] is True
    assert (yesterday["arrivals"], yesterday["people"]) == (2, 5)
    assert yesterday["decided"]["channel"] == 1
    assert doc["floor"]["today"]["arrivals"] == 0
    assert doc["floor"]["days"][0]["recorded"] is False  # before the dashboard kept any


def test_protections_ending_in_the_next_days_counted_once_by_the_sweep(api, clock, floor):
    """R-PROT-2: 60 days from 27 November 10:00 is 26 January 10:00; the
    sweep counts it when it records ending_soon, however often it runs."""
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(phone="13800000004", visit_at="2026-11-27T09:50:00+08:00"))
    assert r.status_code == 201
    clock.move_to(shanghai("2027-01-19 11:00"))
    container.sweep().run(now())
    container.sweep().run(now())
    clock.move_to(shanghai("2027-01-20 09:00"))
    ending = board(floor)["ending"]
    assert ending["days"][0]["date"] == "2027-01-20"
    assert len(ending["days"]) == 7
    assert {d["date"]: d["count"] for d in ending["days"]}["2027-01-26"] == 1
    assert ending["total"] == 1


def test_the_pool_by_the_month_customers_entered_it(api, clock, floor):
    """R-RECLAIM-1: +1 at reclaim (a second run adds nothing), -1 when assigned."""
    zhang = person(api, Role.CONSULTANT, "顾问 张")
    walk_in(clock, zhang, "2026-11-30", phone="13800000005")
    walk_in(clock, zhang, "2026-11-30", phone="13800000006")
    clock.move_to(shanghai("2027-03-01 02:00"))
    assert container.reclaim().run(now())["reclaimed"] == 2
    assert container.reclaim().run(now()).get("reclaimed", 0) == 0
    clock.move_to(shanghai("2027-04-15 10:00"))
    pool = board(floor)["pool"]
    assert pool == {"size": 2, "months": [{"month": "2027-03", "count": 2, "age_months": 1}]}

    customer_id = payload(floor.manager.get("/v1/pool"))["data"][0]["customer_id"]
    one = {"assignments": [{"customer_id": customer_id, "consultant_id": zhang.id}]}
    assert payload(floor.manager.post("/v1/pool/assignments", one))["data"][0]["assigned"]
    clock.shift(60)  # sent again a minute later: no longer in the pool
    assert not payload(floor.manager.post("/v1/pool/assignments", one))["data"][0]["assigned"]
    assert board(floor)["pool"]["size"] == 1


def test_fines_by_month_and_status_move_with_each_decision(api, clock, floor):
    """R-FINE-1/2: a proposal counts as proposed, then moves to due when a
    manager confirms it (sent twice: moved once); a recorded fine is due."""
    consultant = person(api, Role.CONSULTANT, "顾问 张")
    floor.arrive(led_in_by=consultant.id)  # R-FINE-1 proposed, 100 yuan
    floor.arrive(greeted=False)  # R-FINE-2 proposed, 30 yuan
    seen = floor.manager.post("/v1/fines", {"kind": "R-FINE-3", "payer_id": consultant.id})
    assert seen.status_code == 201
    proposals = payload(floor.manager.get("/v1/fines?status=proposed"))["data"]
    lead = next(p for p in proposals if p["rule"] == "R-FINE-1")
    for _ in range(2):
        r = floor.manager.post(f"/v1/fines/{lead['id']}/decision", {"action": "confirm"})
        assert r.status_code == 200, r.body

    months = board(floor)["fines"]["months"]
    assert [m["month"] for m in months] == [
        "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"
    ]  # fmt: skip
    november = months[-1]["statuses"]
    assert november["proposed"] == {"count": 1, "yuan": 30}
    assert november["due"] == {"count": 2, "yuan": 200}
    assert november["dismissed"] == {"count": 0, "yuan": 0}


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.SITE_MANAGER, Role.PARTY_A_ADMIN])
def test_the_three_managers_read_the_dashboard(api, role):
    assert person(api, role).get("/v1/dashboard").status_code == 200


@pytest.mark.parametrize(
    "role", [Role.CONSULTANT, Role.FRONT_DESK, Role.CHANNEL_ASSISTANT, Role.SALES_ADMIN]
)
def test_other_roles_are_refused_in_the_one_error_shape(api, role):
    r = person(api, role).get("/v1/dashboard")
    assert r.status_code == 403
    assert payload(r)["error"]["code"] == "FORBIDDEN"


def test_no_token_is_401_and_a_bad_period_is_400(api, floor):
    assert api.client.http.get("/v1/dashboard").status_code == 401
    for days in ("0", "32", "x", "-1"):
        r = floor.manager.get(f"/v1/dashboard?days={days}")
        assert r.status_code == 400
        assert payload(r)["error"]["code"] == "VALIDATION_ERROR"
    assert len(board(floor, days=1)["days"]) == 1


def test_the_cost_in_requests_is_the_same_for_2_and_for_40_registrations(
    api, clock, floor, requests
):
    """One Query per day of outcomes and counts kept as they happen: 40
    registrations, their refusals, visits and fines over the period cost the
    dashboard no more requests than 2."""
    channels = [api.registrant(Source.CHANNEL, name=f"渠道{i}") for i in range(2)]

    def busy(n: int, start: int) -> list[str]:
        for i in range(n):
            phone = f"1390000{start + i:04d}"
            day = f"2026-11-{10 + i % 15:02d}"
            clock.move_to(shanghai(f"{day} 10:00"))
            api.register(channels[i % 2], body(phone=phone, visit_at=f"{day}T09:50:00+08:00"))
            api.register(channels[1 - i % 2], body(phone=phone, visit_at=f"{day}T09:55:00+08:00"))
            floor.arrive(phone=phone, greeted=i % 3 != 0)
        clock.move_to(shanghai("2026-11-27 10:00"))
        container.sweep().run(now())
        return requests.of(lambda: floor.manager.get("/v1/dashboard?days=30"), 200)

    quiet = busy(2, 0)
    busier = busy(40, 100)
    assert busier == quiet
    # the caller's token, 30 days of outcomes, 2 scans of names, the floor's
    # days and today's visits, protections ending, the pool, the fines
    assert quiet.count("Query") == 30 + 5
    assert quiet == ["GetItem"] * 2 + ["Query"] * 30 + ["Scan"] * 2 + ["Query"] * 5


def test_a_pooled_customer_who_comes_back_leaves_the_pool_count_the_next_day(api, clock, floor):
    """R-RECLAIM-1: received again as a walk-in, the customer leaves the pool
    without an assignment; the first sweep after midnight puts the count right."""
    zhang = person(api, Role.CONSULTANT, "顾问 张")
    li = person(api, Role.CONSULTANT, "顾问 李")
    walk_in(clock, zhang, "2026-11-30", phone="13800000007")
    walk_in(clock, zhang, "2026-11-30", phone="13800000008")
    clock.move_to(shanghai("2027-03-01 02:00"))
    assert container.reclaim().run(now())["reclaimed"] == 2
    walk_in(clock, li, "2027-03-05", phone="13800000007")  # back, and li's now
    assert len(payload(floor.manager.get("/v1/pool"))["data"]) == 1
    assert board(floor)["pool"]["size"] == 2  # not counted as it happened
    clock.move_to(shanghai("2027-03-06 00:10"))  # the first sweep of the next day
    container.sweep().run(now())
    container.sweep().run(now())
    assert board(floor)["pool"] == {
        "size": 1,
        "months": [{"month": "2027-03", "count": 1, "age_months": 0}],
    }
