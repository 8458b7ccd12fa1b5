"""R-FLOOR-3: consultants on duty receive customers in turn (轮排)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.services.people import staff as staff_service
from tests.api.floor_support import Floor
from tests.conftest import payload

TODAY = "2026-11-27"


@pytest.fixture
def floor(api) -> Floor:
    return Floor(api)


def assigned(floor: Floor, **doc) -> str:
    visit = floor.arrive()
    r = floor.assign(visit["id"], **doc)
    assert r.status_code == 201, r.body
    return str(payload(r)["consultant"]["id"])


def test_customers_go_to_the_consultants_in_turn(api, floor):
    """R-FLOOR-3: A, B, C, then A again."""
    a, b, c = floor.consultants(3)
    floor.on_duty(TODAY, a, b, c)
    assert [assigned(floor) for _ in range(4)] == [a.id, b.id, c.id, a.id]


def test_an_off_duty_consultant_is_never_assigned(api, floor):
    """R-FLOOR-3: only the day's roster receives customers."""
    a, b, off = floor.consultants(3)
    floor.on_duty(TODAY, a, b)
    assert off.id not in {assigned(floor) for _ in range(6)}


def test_a_consultant_taken_off_duty_mid_day_is_not_assigned_again(api, floor):
    a, b = floor.consultants(2)
    floor.on_duty(TODAY, a, b)
    assert assigned(floor) == a.id
    floor.on_duty(TODAY, a)  # b leaves
    assert [assigned(floor) for _ in range(2)] == [a.id, a.id]


def test_a_disabled_consultant_is_passed_over_and_keeps_the_turn(api, floor):
    """R-FLOOR-3: a disabled account is never assigned; re-enabled, it is next."""
    a, b = floor.consultants(2)
    floor.on_duty(TODAY, a, b)
    staff_service.set_staff_enabled(api.store, a.id, False, datetime.now(UTC))
    visit = floor.arrive()
    r = floor.assign(visit["id"])
    assert payload(r)["consultant"]["id"] == b.id
    assert payload(r)["passed_over"] == [a.id]
    staff_service.set_staff_enabled(api.store, a.id, True, datetime.now(UTC))
    assert assigned(floor) == a.id


def test_a_skipped_consultant_gets_the_next_turn_back(api, floor):
    """R-FLOOR-3: a skip needs a reason, is logged, and the skipped consultant
    is first in line for the next customer."""
    a, b, c = floor.consultants(3)
    floor.on_duty(TODAY, a, b, c)
    visit = floor.arrive()
    r = floor.assign(visit["id"], skip=[{"consultant_id": a.id, "reason": "正在接待老客户"}])
    assert payload(r)["consultant"]["id"] == b.id
    assert payload(r)["skipped"] == [{"consultant_id": a.id, "reason": "正在接待老客户"}]
    assert assigned(floor) == a.id  # the turn comes back to A
    assert assigned(floor) == c.id
    roster = payload(floor.desk.get(f"/v1/rosters/{TODAY}"))
    assert roster["assignments"][0]["skipped"][0]["reason"] == "正在接待老客户"
    trail = api.store.audit_trail(f"visit:{visit['id']}")
    assert any("正在接待老客户" in (e.detail or "") for e in trail)


def test_a_skip_without_a_reason_is_refused(api, floor):
    (a,) = floor.consultants(1)
    floor.on_duty(TODAY, a)
    visit = floor.arrive()
    r = floor.assign(visit["id"], skip=[{"consultant_id": a.id, "reason": ""}])
    assert r.status_code == 400
    assert payload(r)["error"]["fields"][0]["field"] == "skip.0.reason"


def test_nobody_left_to_receive_is_a_409_with_the_rule(api, floor):
    (a,) = floor.consultants(1)
    floor.on_duty(TODAY, a)
    visit = floor.arrive()
    r = floor.assign(visit["id"], skip=[{"consultant_id": a.id, "reason": "午休"}])
    assert r.status_code == 409
    assert payload(r)["error"]["code"] == "NO_CONSULTANT_AVAILABLE"
    assert payload(r)["error"]["rule"] == "R-FLOOR-3"
    empty = floor.arrive()
    floor.on_duty(TODAY)
    assert payload(floor.assign(empty["id"]))["error"]["code"] == "NO_CONSULTANT_AVAILABLE"


def test_asking_again_for_the_same_visit_answers_the_same_consultant(api, floor):
    """A retried assignment (the reply was lost) never takes a second turn."""
    a, b = floor.consultants(2)
    floor.on_duty(TODAY, a, b)
    visit = floor.arrive()
    first = floor.assign(visit["id"])
    again = floor.assign(visit["id"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert payload(again)["consultant"]["id"] == a.id
    assert assigned(floor) == b.id
    assert payload(floor.desk.get(f"/v1/visits/{visit['id']}"))["consultant_id"] == a.id


def test_the_roster_survives_a_restart(api, floor):
    """The turn order lives in the store, not in a process."""
    from chalicelib.services.container import reset, rotation

    a, b = floor.consultants(2)
    floor.on_duty(TODAY, a, b)
    assert assigned(floor) == a.id
    reset()
    rotation()  # built anew outside a request: the test stage's tables
    assert assigned(floor) == b.id


def test_joining_consultants_go_to_the_back(api, floor):
    a, b, c = floor.consultants(3)
    floor.on_duty(TODAY, a, b)
    assert assigned(floor) == a.id  # queue now b, a
    roster = floor.on_duty(TODAY, c, a, b)
    assert [p["id"] for p in roster["queue"]] == [b.id, a.id, c.id]
    assert roster["next"]["id"] == b.id


def test_only_active_consultants_go_on_the_roster(api, floor):
    (a,) = floor.consultants(1)
    r = floor.manager.put(f"/v1/rosters/{TODAY}", {"consultants": [a.id, floor.desk.id]})
    assert r.status_code == 400
    assert payload(r)["error"]["fields"][0]["field"] == "consultants.1"


def test_a_past_days_roster_cannot_be_changed(api, floor):
    (a,) = floor.consultants(1)
    r = floor.manager.put("/v1/rosters/2026-11-26", {"consultants": [a.id]})
    assert r.status_code == 400
