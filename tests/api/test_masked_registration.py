"""隐号报备 through the API (decision 0013): a registration by mask holds the
mask until the visit makes the number known, and conflicts both ways with
full-number claims, never naming the holder."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.rules.claims import Source
from tests.api.floor_support import Floor
from tests.conftest import payload
from tests.support import body

VISIT = "2026-11-27T09:30:00+08:00"  # the clock stands at 10:00 Shanghai


def masked(mask: str = "138****5678", name: str = "王先生", **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"customer": {"name": name, "phone_masked": mask}, "visit_at": VISIT}
    doc.update(extra)
    return doc


def test_masked_registration_is_held_for_24_hours(api):
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, masked())
    assert r.status_code == 201, r.body
    doc = payload(r)
    assert doc["status"] == "provisional"
    assert doc["protection"] is None
    assert doc["customer"] == {"name": "王先生", "phone_masked": "138****5678"}
    assert doc["visit_window"] == {
        "opens_at": "2026-11-27T10:00:00+08:00",
        "closes_at": "2026-11-28T10:00:00+08:00",
    }


def test_unresolved_masked_claim_lapses_at_the_exact_end_of_its_hold(api, clock):
    channel, other = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    rid = payload(api.register(channel, masked()))["registration_id"]
    clock.move_to("2026-11-28T09:59:59+08:00")
    assert payload(api.get(channel, f"/v1/registrations/{rid}"))["status"] == "provisional"
    late = body(visit_at="2026-11-28T09:00:00+08:00")
    r = api.register(other, late)
    assert payload(r)["error"]["code"] == "MASKED_CLAIM_MATCH"
    clock.move_to("2026-11-28T10:00:00+08:00")
    assert payload(api.get(channel, f"/v1/registrations/{rid}"))["status"] == "lapsed"
    assert api.register(other, late).status_code == 201


def test_full_number_registration_is_refused_while_a_matching_mask_is_held(api):
    holder, other = api.registrant(Source.CHANNEL, name="渠道甲"), api.registrant(Source.CHANNEL)
    assert api.register(holder, masked()).status_code == 201
    r = api.register(other, body(visit_at=VISIT))
    assert r.status_code == 409
    error = payload(r)["error"]
    assert (error["code"], error["rule"]) == ("MASKED_CLAIM_MATCH", "R-DUP-1")
    for leak in (holder.registrant_id, "渠道甲", "王"):
        assert leak not in r.body.decode()


def test_masked_registration_is_refused_while_a_matching_number_is_protected(api, clock):
    first, second = api.registrant(Source.CHANNEL), api.registrant(Source.DISTRIBUTION)
    assert api.register(first, body(visit_at=VISIT)).status_code == 201
    clock.shift(60)  # past the moment a full-number registration may still be deciding
    r = api.register(second, masked(visit_at="2026-11-27T12:00:00+08:00"))
    assert r.status_code == 409
    assert payload(r)["error"]["code"] == "MASKED_CLAIM_MATCH"


def test_a_second_masked_registration_of_the_same_mask_is_refused(api):
    """Even under another name: the mask may be the same customer."""
    a, b = api.registrant(Source.CHANNEL), api.registrant(Source.ECOMMERCE)
    assert api.register(a, masked()).status_code == 201
    r = api.register(b, masked(name="李女士"))
    assert payload(r)["error"]["code"] == "MASKED_CLAIM_MATCH"


def test_another_mask_is_another_customer(api):
    a, b = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    assert api.register(a, masked("138****5678")).status_code == 201
    assert api.register(b, masked("139****5678")).status_code == 201
    assert api.register(b, body("138 0000 5679", VISIT)).status_code == 201


def test_a_masked_registration_just_after_a_matching_full_number_is_refused(api, clock):
    """The full-number registration may still be deciding for 30 s after it
    noted itself on the mask; the masked one is refused meanwhile."""
    channel, other = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    assert api.register(channel, body("138 0000 5678", VISIT)).status_code == 201
    clock.shift(29)
    assert payload(api.register(other, masked()))["error"]["code"] == "MASKED_CLAIM_MATCH"


def test_masked_and_full_body_rules(api):
    channel = api.registrant(Source.CHANNEL)
    both = {"customer": {"name": "王", "phone": "13812345678", "phone_masked": "138****5678"}}
    r = api.register(channel, {**both, "visit_at": VISIT})
    assert (r.status_code, payload(r)["error"]["code"]) == (400, "VALIDATION_ERROR")
    neither = {"customer": {"name": "王"}, "visit_at": VISIT}
    assert api.register(channel, neither).status_code == 400
    for bad in ("138****567", "123****5678", "138***35678", "13812345678"):
        r = api.register(channel, masked(bad))
        assert (r.status_code, payload(r)["error"]["code"]) == (400, "INVALID_PHONE"), bad
    assert api.register(channel, masked("+86 138-****-5678")).status_code == 201


def test_retried_masked_registration_replays_and_is_held_once(api):
    channel = api.registrant(Source.CHANNEL)
    first = api.register(channel, masked(), key="m-1")
    again = api.register(channel, masked(), key="m-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.body == again.body
    assert api.register(channel, masked(), key="m-2").status_code == 409


def test_masked_channel_claim_resolved_at_arrival_is_protected_from_registration(api, clock):
    """R-PROT-2: once the number is known and the surname matches, the claim
    is the channel's 60-day protection, counted from its registration."""
    floor = Floor(api)
    channel, other = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    rid = payload(api.register(channel, masked()))["registration_id"]
    clock.shift(3600)
    floor.arrive(phone="13812345678", name="王小明")
    doc = payload(api.get(channel, f"/v1/registrations/{rid}"))
    assert doc["status"] == "protected"
    assert doc["protection"] == {
        "ordinal": 1,
        "starts_at": "2026-11-27T10:00:00+08:00",
        "ends_at": "2027-01-26T10:00:00+08:00",
    }
    r = api.register(other, body(visit_at="2026-11-27T10:30:00+08:00"))
    assert payload(r)["error"]["code"] == "DUPLICATE_LIVE_CLAIM"
    clock.shift(60)
    events = payload(api.get(channel, "/v1/events"))["data"]
    assert [e["type"] for e in events] == ["registration.protected"]


def test_masked_claim_is_not_resolved_to_another_surname(api, clock):
    floor = Floor(api)
    channel = api.registrant(Source.CHANNEL)
    rid = payload(api.register(channel, masked()))["registration_id"]
    floor.arrive(phone="13812345678", name="李女士")
    assert payload(api.get(channel, f"/v1/registrations/{rid}"))["status"] == "provisional"
    clock.move_to("2026-11-28T10:00:00+08:00")
    assert payload(api.get(channel, f"/v1/registrations/{rid}"))["status"] == "lapsed"


def test_masked_claim_is_resolved_at_sign_in(api):
    floor = Floor(api)
    channel = api.registrant(Source.CHANNEL)
    rid = payload(api.register(channel, masked()))["registration_id"]
    visit = floor.arrive()
    r = floor.assistant.post(
        f"/v1/visits/{visit['id']}/sign-ins",
        {"households": [{"name": "王先生", "phone": "138 1234 5678"}]},
    )
    assert r.status_code in (200, 201), r.body
    assert payload(api.get(channel, f"/v1/registrations/{rid}"))["status"] == "protected"


def test_masked_claim_over_the_recommendation_limit_lapses_at_its_visit(api, clock):
    """R-PROT-1 is counted on the customer the mask turned out to be."""
    floor = Floor(api)
    a, b, c = (api.registrant(Source.CHANNEL) for _ in range(3))
    assert api.register(a, body(visit_at=VISIT)).status_code == 201
    clock.move_to("2027-01-26T10:00:00+08:00")
    assert api.register(b, body(visit_at="2027-01-26T09:00:00+08:00")).status_code == 201
    clock.move_to("2027-02-25T10:00:00+08:00")
    rid = payload(api.register(c, masked(visit_at="2027-02-25T09:00:00+08:00")))["registration_id"]
    floor.arrive(phone="13812345678", name="王先生")
    assert payload(api.get(c, f"/v1/registrations/{rid}"))["status"] == "lapsed"
    clock.shift(60)
    events = payload(api.get(c, "/v1/events"))["data"]
    assert [e["type"] for e in events] == ["registration.lapsed"]


@pytest.mark.parametrize("source", [Source.DISTRIBUTION])
def test_masked_distribution_hold_keeps_its_r_reg_3_window(api, source):
    agency = api.registrant(source)
    r = api.register(agency, masked(visit_at="2026-11-27T12:00:00+08:00"))
    assert r.status_code == 201
    assert payload(r)["visit_window"] == {
        "opens_at": "2026-11-27T10:30:00+08:00",
        "closes_at": "2026-11-28T10:00:00+08:00",
    }


def test_customers_stored_before_masks_were_kept_are_noted_by_the_backfill(api, clock):
    """A store that held customers before masked registration: its customers
    are on no mask until `admin.py note-customers-on-masks` runs; after it, a
    masked registration matching a live claim is refused."""
    from chalicelib.services.registration.resolution import note_customers_on_masks
    from chalicelib.settings import settings
    from chalicelib.store.models import MaskItem

    first, second = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    assert api.register(first, body(visit_at=VISIT)).status_code == 201
    for item in MaskItem.scan():
        item.delete()  # as before masks were kept
    clock.shift(60)
    assert note_customers_on_masks(api.store, settings()) == 1
    assert note_customers_on_masks(api.store, settings()) == 1  # repeatable
    r = api.register(second, masked())
    assert payload(r)["error"]["code"] == "MASKED_CLAIM_MATCH"


def test_the_channel_assistant_sees_the_masked_claim_waiting_on_this_number(api):
    floor = Floor(api)
    channel = api.registrant(Source.CHANNEL, name="渠道甲")
    rid = payload(api.register(channel, masked()))["registration_id"]
    r = floor.assistant.post("/v1/customer-lookups", {"phone": "138 1234 5678"})
    waiting = payload(r)["masked_claim"]
    assert (waiting["registration_id"], waiting["holder_name"]) == (rid, "渠道甲")
    assert (waiting["status"], waiting["surname"]) == ("provisional", "王")
    assert waiting["until"] == "2026-11-28T10:00:00+08:00"
    other = floor.assistant.post("/v1/customer-lookups", {"phone": "138 1234 0000"})
    assert payload(other)["masked_claim"] is None
    desk = payload(floor.desk.post("/v1/customer-lookups", {"phone": "13812345678"}))
    assert desk == {"known": True, "call": "channel_assistant", "consultant": None}


def test_the_channel_assistant_resolves_a_masked_claim_by_phone_and_name(api):
    floor = Floor(api)
    channel = api.registrant(Source.CHANNEL)
    rid = payload(api.register(channel, masked()))["registration_id"]
    path = "/v1/masked-claims/resolutions"
    differs = payload(floor.assistant.post(path, {"phone": "13812345678", "name": "李"}))
    assert (differs["outcome"], differs["claim"]["registration_id"]) == ("surname_differs", rid)
    done = floor.assistant.post(path, {"phone": "13812345678", "name": "王小明"})
    assert done.status_code == 200
    assert payload(done)["outcome"] == "resolved"
    assert payload(done)["claim"]["status"] == "protected"
    again = payload(floor.assistant.post(path, {"phone": "13812345678", "name": "王小明"}))
    assert again["outcome"] == "none"  # resolved before: the mask holds nothing now
    assert payload(api.get(channel, f"/v1/registrations/{rid}"))["status"] == "protected"
    lookup = payload(floor.assistant.post("/v1/customer-lookups", {"phone": "13812345678"}))
    assert [c["registration_id"] for c in lookup["live_claims"]] == [rid]
    assert lookup["masked_claim"] is None
    assert "registration.resolved" in [e["action"] for e in lookup["history"]]


def test_only_the_front_desk_and_the_channel_assistant_resolve(api):
    floor = Floor(api)
    doc = {"phone": "13812345678", "name": "王"}
    assert floor.manager.post("/v1/masked-claims/resolutions", doc).status_code == 403
    assert floor.desk.post("/v1/masked-claims/resolutions", doc).status_code == 200
    bad = floor.desk.post("/v1/masked-claims/resolutions", {"phone": "12345", "name": "王"})
    assert payload(bad)["error"]["code"] == "INVALID_PHONE"


def test_a_second_masked_registration_after_a_resolution_is_refused(api, clock):
    """The resolved customer is one of the mask's: its live claim refuses the
    next masked registration of the mask (found by a helper's review)."""
    floor = Floor(api)
    first, second = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    assert api.register(first, masked()).status_code == 201
    floor.arrive(phone="13812345678", name="王小明")
    clock.shift(120)
    r = api.register(second, masked(visit_at="2026-11-27T10:01:00+08:00"))
    assert payload(r)["error"]["code"] == "MASKED_CLAIM_MATCH"


def test_a_walk_in_sharing_the_mask_is_registered_once_judged_another_person(api, clock):
    """The masked claim is 王's; 李, whose number shares the mask, is refused
    until the front desk (or 判客) finds the surname differs; then 李's number,
    and only it, may be registered while the masked claim keeps holding."""
    floor = Floor(api)
    holder, other = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    rid = payload(api.register(holder, masked()))["registration_id"]
    clock.shift(60)
    li = body("138 0000 5678", "2026-11-27T10:00:00+08:00")
    assert payload(api.register(other, li))["error"]["code"] == "MASKED_CLAIM_MATCH"
    floor.arrive(phone="13800005678", name="李女士")
    assert api.register(other, li).status_code == 201
    wang = body("138 1111 5678", "2026-11-27T10:00:00+08:00")
    assert payload(api.register(other, wang))["error"]["code"] == "MASKED_CLAIM_MATCH"
    assert payload(api.get(holder, f"/v1/registrations/{rid}"))["status"] == "provisional"
    lookup = payload(floor.assistant.post("/v1/customer-lookups", {"phone": "13800005678"}))
    assert (lookup["masked_claim"]["registration_id"], lookup["masked_claim"]["excluded"]) == (
        rid,
        True,
    )
    assert "masked_claim.not_this_customer" in [e["action"] for e in lookup["history"]]
    waiting = payload(floor.assistant.post("/v1/customer-lookups", {"phone": "13811115678"}))
    assert (waiting["masked_claim"]["registration_id"], waiting["masked_claim"]["excluded"]) == (
        rid,
        False,
    )


def test_a_new_masked_hold_forgets_who_was_judged_another_person(api, clock):
    floor = Floor(api)
    a, b, c = (api.registrant(Source.CHANNEL) for _ in range(3))
    api.register(a, masked())
    floor.arrive(phone="13800005678", name="李女士")
    clock.move_to("2026-11-28T10:00:00+08:00")  # a's hold lapses
    assert api.register(b, masked(visit_at="2026-11-28T09:00:00+08:00")).status_code == 201
    clock.shift(60)
    li = body("138 0000 5678", "2026-11-28T10:00:00+08:00")
    assert payload(api.register(c, li))["error"]["code"] == "MASKED_CLAIM_MATCH"
