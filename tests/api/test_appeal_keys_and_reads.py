"""A registrant's Idempotency-Key files at most one appeal (R-APPEAL-3,
decision 0012 amended): the key is taken in the idempotency table first, so
reusing it for an appeal of another decision is 422 like a registration's;
and the appellant reads its appeal back with a signed GET."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.records import StoredAnswer
from chalicelib.services.floor.appeals import _File, _hash
from tests.api.floor_support import Floor
from tests.api.test_appeals import appeal
from tests.conftest import Api, payload
from tests.support import body, encode

PHONES = ("13812345678", "13987654321")


@pytest.fixture
def floor(api: Api) -> Floor:
    return Floor(api)


@pytest.fixture
def passed_over_twice(api: Api, floor: Floor, clock: Any) -> dict[str, Any]:
    """Two customers, each registered first by 鲁信 (ended), held by 链家, and
    brought by 鲁信 to a 判客 decision for 链家: two decisions 鲁信 may appeal."""
    first = api.registrant(Source.CHANNEL, name="鲁信渠道")
    second = api.registrant(Source.CHANNEL, name="链家渠道")
    for phone in PHONES:
        r = api.register(first, body(phone=phone, visit_at="2026-11-27T09:30:00+08:00"))
        assert r.status_code == 201, r.body
    clock.shift(timedelta(days=61))
    for phone in PHONES:
        r = api.register(second, body(phone=phone, visit_at="2027-01-27T09:30:00+08:00"))
        assert r.status_code == 201, r.body
        visit = floor.arrive(phone=phone, accompanied_by=first.registrant_id)
        r = floor.decide(visit["id"], payload(r)["registration_id"])
        assert r.status_code == 201, r.body
    return {"claimant": first, "holder": second}


def appeals_of(floor: Floor) -> list[dict[str, Any]]:
    return list(payload(floor.site_manager.get("/v1/appeals?state=pending"))["data"])


# -- one key, one appeal -----------------------------------------------------------


def test_a_key_reused_for_an_appeal_of_another_decision_is_422(api, floor, passed_over_twice):
    who = passed_over_twice["claimant"]
    first = appeal(api, who, {"phone": PHONES[0], "reason": "客户由我司带访"}, key="k-1")
    assert first.status_code == 201, first.body
    other = appeal(api, who, {"phone": PHONES[1], "reason": "客户由我司带访"}, key="k-1")
    assert other.status_code == 422, other.body
    assert payload(other)["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert [a["appeal_id"] for a in appeals_of(floor)] == [payload(first)["appeal_id"]]
    # its own key files it
    assert appeal(api, who, {"phone": PHONES[1], "reason": "客户由我司带访"}).status_code == 201


def test_the_same_key_and_body_replays_the_first_answer_even_after_it_was_answered(
    api, floor, passed_over_twice
):
    who = passed_over_twice["claimant"]
    doc = {"phone": PHONES[0], "reason": "客户由我司带访"}
    first = appeal(api, who, doc, key="k-1")
    decided = floor.site_manager.post(
        f"/v1/appeals/{payload(first)['appeal_id']}/decision",
        {"outcome": "upheld", "reason": "报备在先"},
    )
    assert decided.status_code == 200, decided.body
    again = appeal(api, who, doc, key="k-1")
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (201, "true")
    assert payload(again) == payload(first)  # as first filed
    assert payload(again)["state"] == "pending"


def test_a_key_used_for_a_registration_is_not_reused_for_an_appeal(api, passed_over_twice):
    who = passed_over_twice["claimant"]
    r = api.register(
        who, body(phone="13700000001", visit_at="2027-01-27T09:30:00+08:00"), key="k-9"
    )
    assert r.status_code == 201, r.body
    reused = appeal(api, who, {"phone": PHONES[0], "reason": "客户由我司带访"}, key="k-9")
    assert reused.status_code == 422
    assert payload(reused)["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_a_refused_appeal_gives_its_key_back(api, passed_over_twice):
    """Nothing was filed under it: the key files the next appeal."""
    who = passed_over_twice["claimant"]
    doc = {"phone": PHONES[0], "reason": "客户由我司带访"}
    missing = appeal(api, who, {**doc, "decision_id": "dc_nothing"}, key="k-1")
    assert missing.status_code == 404
    assert appeal(api, who, doc, key="k-1").status_code == 201


def test_a_key_still_filing_is_409_in_progress(api, passed_over_twice):
    """A request holding the key has not answered yet (it may still be
    running): the same body is told to retry."""
    who = passed_over_twice["claimant"]
    doc = {"phone": PHONES[0], "reason": "客户由我司带访"}
    api.store.reserve_answer(reservation(who, doc, "k-1"), stale_before=datetime.now(UTC))
    r = appeal(api, who, doc, key="k-1")
    assert r.status_code == 409
    assert payload(r)["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert r.headers["Retry-After"] == "1"


def reservation(who: Any, doc: dict[str, Any], key: str) -> StoredAnswer:
    """What a filing of ``doc`` with ``key`` holds while it runs."""
    asked = _File.model_validate_json(encode(doc)).model_dump(mode="json")
    return StoredAnswer(who.registrant_id, key, _hash(asked), None, None, datetime.now(UTC))


# -- the appellant reads it back ----------------------------------------------------


def test_the_appellant_reads_its_appeal_its_answer_and_times_in_shanghai(
    api, floor, passed_over_twice
):
    who = passed_over_twice["claimant"]
    filed = payload(appeal(api, who, {"phone": PHONES[0], "reason": "客户由我司带访"}))
    path = f"/v1/appeals/{filed['appeal_id']}"
    r = api.get(who, path)
    assert r.status_code == 200, r.body
    doc = payload(r)
    assert (doc["state"], doc["answer"]) == ("pending", None)
    assert doc["filed_at"].endswith("+08:00") and doc["decided_at"].endswith("+08:00")
    assert "holder_id" not in doc
    assert passed_over_twice["holder"].registrant_id.encode() not in r.body
    floor.site_manager.post(f"{path}/decision", {"outcome": "upheld", "reason": "报备在先"})
    doc = payload(api.get(who, path))
    assert doc["state"] == "upheld"
    assert doc["answer"]["outcome"] == "upheld" and doc["answer"]["reason"] == "报备在先"
    assert doc["answer"]["at"].endswith("+08:00")


def test_a_reversed_appeal_names_the_appellants_new_registration(api, floor, passed_over_twice):
    who = passed_over_twice["claimant"]
    filed = payload(appeal(api, who, {"phone": PHONES[0], "reason": "客户由我司带访"}))
    path = f"/v1/appeals/{filed['appeal_id']}"
    r = floor.site_manager.post(f"{path}/decision", {"outcome": "reversed", "reason": "监控为证"})
    assert r.status_code == 200, r.body
    doc = payload(api.get(who, path))
    assert doc["state"] == "reversed" and doc["answer"]["reason"] == "监控为证"
    mine = api.get(who, f"/v1/registrations/{doc['new_registration_id']}")
    assert mine.status_code == 200


def test_an_appeal_the_sales_manager_filed_is_read_by_its_appellant(api, floor, passed_over_twice):
    who = passed_over_twice["claimant"]
    doc = {"phone": PHONES[0], "reason": "经理代申诉", "claimant_id": who.registrant_id}
    r = floor.manager.post("/v1/appeals", doc)
    assert r.status_code == 201, r.body
    assert api.get(who, f"/v1/appeals/{payload(r)['appeal_id']}").status_code == 200


def test_another_registrants_appeal_is_404_like_a_missing_one(api, passed_over_twice):
    who, holder = passed_over_twice["claimant"], passed_over_twice["holder"]
    filed = payload(appeal(api, who, {"phone": PHONES[0], "reason": "客户由我司带访"}))
    theirs = api.get(holder, f"/v1/appeals/{filed['appeal_id']}")
    missing = api.get(holder, "/v1/appeals/ap_nothing")
    assert theirs.status_code == missing.status_code == 404
    assert payload(theirs)["error"] == payload(missing)["error"]


def test_reading_an_appeal_must_be_signed(api, passed_over_twice):
    who = passed_over_twice["claimant"]
    filed = payload(appeal(api, who, {"phone": PHONES[0], "reason": "客户由我司带访"}))
    r = api.client.http.get(
        f"/v1/appeals/{filed['appeal_id']}", headers={"X-Registrant-Id": who.registrant_id}
    )
    assert r.status_code == 401
