"""Appeals of a 判客 decision (申诉, decision 0012: R-APPEAL-1..6), through
the API as the registrants, the sales manager and the site manager call it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.records import Registrant
from tests.api.floor_support import Floor
from tests.conftest import Api, payload
from tests.support import body, encode, signed_headers

PHONE = "13812345678"


def appeal(api: Api, who: Registrant, doc: Any, *, key: str | None = "auto") -> Any:
    raw = encode(doc)
    return api.client.http.post("/v1/appeals", headers=signed_headers(who, raw, key=key), body=raw)


def feed(api: Api, who: Registrant) -> list[dict[str, Any]]:
    return payload(api.get(who, "/v1/events"))["data"]


@pytest.fixture
def floor(api: Api) -> Floor:
    return Floor(api)


@pytest.fixture
def passed_over(api: Api, floor: Floor, clock: Any) -> dict[str, Any]:
    """鲁信 registered the customer first (60 days, now ended); 链家 holds the
    second recommendation (30 days). 鲁信 brings the customer; the channel
    assistant decides for 链家."""
    first = api.registrant(Source.CHANNEL, name="鲁信渠道")
    second = api.registrant(Source.CHANNEL, name="链家渠道")
    r = api.register(first, body(phone=PHONE, visit_at="2026-11-27T09:30:00+08:00"))
    assert r.status_code == 201, r.body
    clock.shift(timedelta(days=61))  # 2027-01-27 10:00: the first protection ended
    r = api.register(second, body(phone=PHONE, visit_at="2027-01-27T09:30:00+08:00"))
    assert r.status_code == 201, r.body
    holder_registration = payload(r)["registration_id"]
    visit = floor.arrive(phone=PHONE, accompanied_by=first.registrant_id)
    r = floor.decide(visit["id"], holder_registration)
    assert r.status_code == 201, r.body
    return {
        "claimant": first,
        "holder": second,
        "holder_registration": holder_registration,
        "visit": visit["id"],
    }


def lookup(floor: Floor) -> dict[str, Any]:
    r = floor.assistant.post("/v1/customer-lookups", {"phone": PHONE})
    assert r.status_code == 200, r.body
    return dict(payload(r))


def test_a_passed_over_registrant_appeals_and_the_lookup_shows_it(api, floor, passed_over):
    r = appeal(api, passed_over["claimant"], {"phone": PHONE, "reason": "客户由我司带访"})
    assert r.status_code == 201, r.body
    filed = payload(r)
    assert filed["state"] == "pending"
    assert filed["claimant_id"] == passed_over["claimant"].registrant_id
    assert "holder_id" not in filed  # a registrant never learns who holds the customer
    assert passed_over["holder"].registrant_id.encode() not in r.body
    appeals = lookup(floor)["appeals"]
    assert [(a["appeal_id"], a["state"]) for a in appeals] == [(filed["appeal_id"], "pending")]
    assert appeals[0]["holder_registration_id"] == passed_over["holder_registration"]
    queue = payload(floor.site_manager.get("/v1/appeals?state=pending"))["data"]
    assert [a["appeal_id"] for a in queue] == [filed["appeal_id"]]


def test_the_same_request_again_is_answered_as_the_first(api, passed_over):
    """R-APPEAL-3 and API.md: same key and body replay; same key, other body 422."""
    who = passed_over["claimant"]
    doc = {"phone": PHONE, "reason": "客户由我司带访"}
    first = appeal(api, who, doc, key="k-1")
    again = appeal(api, who, doc, key="k-1")
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert payload(again) == payload(first)
    other = appeal(api, who, {**doc, "reason": "换个理由"}, key="k-1")
    assert other.status_code == 422
    assert payload(other)["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_nobody_appeals_twice(api, floor, passed_over):
    """R-APPEAL-3: once per decision and passed-over claimant, whoever files."""
    who = passed_over["claimant"]
    assert appeal(api, who, {"phone": PHONE, "reason": "一"}).status_code == 201
    r = appeal(api, who, {"phone": PHONE, "reason": "二"})
    assert r.status_code == 409
    assert payload(r)["error"] == {
        "code": "APPEAL_EXISTS",
        "rule": "R-APPEAL-3",
        "message": payload(r)["error"]["message"],
    }
    doc = {"phone": PHONE, "reason": "经理代申诉", "claimant_id": who.registrant_id}
    r = floor.manager.post("/v1/appeals", doc)
    assert r.status_code == 409
    assert payload(r)["error"]["rule"] == "R-APPEAL-3"


def test_the_holder_and_strangers_may_not_appeal(api, passed_over):
    """R-APPEAL-1: only a passed-over claim; a stranger learns nothing (404)."""
    r = appeal(api, passed_over["holder"], {"phone": PHONE, "reason": "我也申诉"})
    assert r.status_code == 409
    assert payload(r)["error"]["code"] == "NOT_PASSED_OVER"
    assert payload(r)["error"]["rule"] == "R-APPEAL-1"
    stranger = api.registrant(Source.CHANNEL, name="路人渠道")
    r = appeal(api, stranger, {"phone": PHONE, "reason": "?"})
    assert r.status_code == 404


def test_an_appeal_after_three_days_is_refused(api, passed_over, clock):
    """R-APPEAL-2: within 3 local days of the decision, the end exclusive."""
    clock.shift(timedelta(days=3))
    r = appeal(api, passed_over["claimant"], {"phone": PHONE, "reason": "晚了"})
    assert r.status_code == 409
    assert payload(r)["error"]["code"] == "APPEAL_WINDOW_CLOSED"
    assert payload(r)["error"]["rule"] == "R-APPEAL-2"


def test_only_the_sales_manager_appeals_for_a_registrant(api, floor, passed_over):
    doc = {"phone": PHONE, "reason": "代申诉", "claimant_id": passed_over["claimant"].registrant_id}
    assert floor.assistant.post("/v1/appeals", doc).status_code == 403
    r = floor.manager.post("/v1/appeals", doc)
    assert r.status_code == 201, r.body
    assert payload(r)["filed_by"] == floor.manager.id


def test_a_reversal_moves_the_protection_to_the_appellant_as_of_the_decision(
    api, floor, passed_over, clock
):
    """R-APPEAL-6: the holder's protection ends at the decision and stops
    counting; the appellant's starts there with the holder's ordinal (2nd:
    30 days), on the customer, the visit, both feeds and the audit trail."""
    claimant, holder = passed_over["claimant"], passed_over["holder"]
    filed = payload(appeal(api, claimant, {"phone": PHONE, "reason": "客户由我司带访"}))
    visit = payload(floor.assistant.get(f"/v1/visits/{passed_over['visit']}"))
    decided_at = visit["decision"]["decided_at"]
    clock.shift(timedelta(hours=5))
    path = f"/v1/appeals/{filed['appeal_id']}/decision"
    doc = {"outcome": "reversed", "reason": "监控显示鲁信带访"}
    assert floor.manager.post(path, doc).status_code == 403  # the site manager answers
    r = floor.site_manager.post(path, doc)
    assert r.status_code == 200, r.body
    answer = payload(r)
    assert answer["state"] == "reversed"
    assert answer["answer"]["outcome"] == "reversed"
    moved = answer["new_registration_id"]
    mine = payload(api.get(claimant, f"/v1/registrations/{moved}"))
    assert mine["status"] == "protected"
    assert mine["protection"]["starts_at"] == decided_at
    assert mine["protection"]["ordinal"] == 2
    assert mine["protection"]["ends_at"] == "2027-02-26T10:00:00+08:00"
    theirs = payload(api.get(holder, f"/v1/registrations/{passed_over['holder_registration']}"))
    assert theirs["status"] == "expired"
    found = lookup(floor)
    assert found["live_claims"][0]["holder_id"] == claimant.registrant_id
    assert found["recommendations"] == 2
    assert found["appeals"][0]["state"] == "reversed"
    assert "appeal.reversed" in [e["action"] for e in found["history"]]
    in_force = payload(floor.assistant.get(f"/v1/visits/{passed_over['visit']}"))["decision"]
    assert in_force["registration_id"] == moved
    clock.shift(timedelta(minutes=1))  # past the feed's settle delay
    assert {e["type"] for e in feed(api, claimant)} >= {"appeal.reversed", "registration.protected"}
    assert "appeal.reversed" in {e["type"] for e in feed(api, holder)}
    # the same answer again is answered again; another is refused
    assert floor.site_manager.post(path, doc).status_code == 200
    r = floor.site_manager.post(path, {"outcome": "upheld", "reason": "改主意"})
    assert r.status_code == 409
    assert payload(r)["error"]["rule"] == "R-APPEAL-5"
    assert payload(floor.site_manager.get("/v1/appeals"))["data"] == []


def test_an_upheld_appeal_changes_no_ownership(api, floor, passed_over, clock):
    claimant = passed_over["claimant"]
    filed = payload(appeal(api, claimant, {"phone": PHONE, "reason": "客户由我司带访"}))
    r = floor.site_manager.post(
        f"/v1/appeals/{filed['appeal_id']}/decision", {"outcome": "upheld", "reason": "报备在先"}
    )
    assert r.status_code == 200, r.body
    assert payload(r)["state"] == "upheld"
    assert lookup(floor)["live_claims"][0]["holder_id"] == passed_over["holder"].registrant_id
    clock.shift(timedelta(minutes=1))
    assert "appeal.upheld" in {e["type"] for e in feed(api, claimant)}
    upheld = payload(floor.site_manager.get("/v1/appeals?state=upheld"))["data"]
    assert [a["appeal_id"] for a in upheld] == [filed["appeal_id"]]


def test_an_appeal_of_a_corrected_decision_is_superseded(api, floor, passed_over):
    """R-APPEAL-4: a correction replaced the decision before the appeal."""
    visit = payload(floor.assistant.get(f"/v1/visits/{passed_over['visit']}"))
    decision_id = visit["decision"].get("id") or visit["decision"]["decision_id"]
    r = floor.decide(
        passed_over["visit"],
        passed_over["holder_registration"],
        replaces=decision_id,
        reason="复核",
    )
    assert r.status_code == 201, r.body
    doc = {"phone": PHONE, "reason": "申诉旧判", "decision_id": decision_id}
    r = appeal(api, passed_over["claimant"], doc)
    assert r.status_code == 409, r.body
    assert payload(r)["error"]["code"] == "DECISION_SUPERSEDED"
    assert payload(r)["error"]["rule"] == "R-APPEAL-4"


def test_an_unknown_state_in_the_queue_is_a_validation_error(floor):
    r = floor.site_manager.get("/v1/appeals?state=maybe")
    assert r.status_code == 400
    assert json.loads(r.body)["error"]["fields"][0]["field"] == "state"


@pytest.mark.parametrize("outcome", ["reversed", "upheld"])
def test_an_answer_finished_late_puts_its_events_ahead_of_every_cursor(
    api, floor, passed_over, clock, monkeypatch, outcome
):
    """The answer's records failed; the site manager sends it again two minutes
    later, past the feed's settle delay. A registrant that polled meanwhile
    (its cursor at the end of its feed) still receives the answer's events."""
    from chalicelib.errors import StoreUnavailable
    from chalicelib.store import Store

    claimant = passed_over["claimant"]
    filed = payload(appeal(api, claimant, {"phone": PHONE, "reason": "客户由我司带访"}))
    clock.shift(timedelta(minutes=1))
    before = payload(api.get(claimant, "/v1/events"))
    cursor = before["next_cursor"]
    path = f"/v1/appeals/{filed['appeal_id']}/decision"
    doc = {"outcome": outcome, "reason": "核实"}

    def fails(*args, **kwargs):
        raise StoreUnavailable("the records could not be written")

    with monkeypatch.context() as patch:
        patch.setattr(Store, "save_reversal_records", fails)
        assert floor.site_manager.post(path, doc).status_code == 503
    clock.shift(timedelta(seconds=10))  # the claimant's feed moves on meanwhile
    other = body(phone="13900001111", visit_at="2027-01-27T09:30:00+08:00")
    assert api.register(claimant, other).status_code == 201
    clock.shift(timedelta(minutes=1))
    polled = payload(api.get(claimant, f"/v1/events?cursor={cursor}"))
    assert [e["type"] for e in polled["data"]] == ["registration.protected"]
    cursor = polled["next_cursor"]  # past the answer's time
    clock.shift(timedelta(minutes=1))
    assert floor.site_manager.post(path, doc).status_code == 200
    assert floor.site_manager.post(path, doc).status_code == 200  # again: once in the feed
    clock.shift(timedelta(minutes=1))
    after = payload(api.get(claimant, f"/v1/events?cursor={cursor}"))["data"]
    assert [e["type"] for e in after].count(f"appeal.{outcome}") == 1
