"""docs/openapi.yaml for 隐号报备 (docs/decisions/0013): a registration by
``phone_masked``, its refusals both ways, its resolution at the visit, the
masked claim a 判客 lookup shows and its resolution by phone and name, each
answer produced by a real request and conforming to the spec. The checks are
test_openapi's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services.floor.visits import Visits
from chalicelib.services.registration.intake import MAX_BODY_BYTES
from chalicelib.store import Store
from tests.api.test_openapi import (
    CONSULTANT_REGISTRATIONS,
    EVENTS,
    LOOKUPS,
    REGISTRATION,
    REGISTRATIONS,
    VISITED,
    Case,
    Ctx,
    answered_as_declared,
    boom,
    fail_once,
    settle,
    spec,  # noqa: F401 (the fixture)
    staff_post,
    walk_in_doc,
)
from tests.api.test_openapi_floor import SIGN_INS, VISITS, arrival, call, on, token
from tests.conftest import payload
from tests.support import body

POST = "POST"
GET = "GET"
COMING = "2026-11-27T12:00:00+08:00"  # the clock stands at 10:00 Shanghai


def masked(mask: str = "138****5678", name: str = "王先生", **extra: Any) -> dict[str, Any]:
    return {"customer": {"name": name, "phone_masked": mask}, "visit_at": VISITED, **extra}


def held(ctx: Ctx, mask: str = "138****5678") -> tuple[Any, str]:
    """A channel's masked registration holding ``mask``: (registrant, id)."""
    who = ctx.api.registrant(Source.CHANNEL)
    r = ctx.api.register(who, masked(mask))
    assert r.status_code == 201, r.body
    return who, str(payload(r)["registration_id"])


def error_code(r: Any) -> tuple[str, str | None]:
    error = payload(r)["error"]
    return error["code"], error["rule"]


# POST /v1/registrations


def masked_created(ctx: Ctx) -> list[Any]:
    channel = ctx.api.registrant(Source.CHANNEL)
    agency = ctx.api.registrant(Source.DISTRIBUTION)
    unit = ctx.api.registrant(Source.ECOMMERCE)
    answers = [
        ctx.api.register(channel, masked(note="came with his wife")),
        ctx.api.register(agency, masked("+86 139-****-1111", "李女士", visit_at=COMING)),
        ctx.api.register(unit, {"customer": {"name": "赵", "phone_masked": "137****0000"}}),
    ]
    for r in answers:
        doc = payload(r)
        assert (doc["status"], doc["protection"]) == ("provisional", None), r.body
        assert doc["visit_window"] is not None
    assert payload(answers[1])["customer"]["phone_masked"] == "139****1111"
    return answers


def masked_replayed(ctx: Ctx) -> list[Any]:
    channel = ctx.api.registrant(Source.CHANNEL)
    first = ctx.api.register(channel, masked(), key="k-masked")
    again = ctx.api.register(channel, masked(), key="k-masked")
    assert again.body == first.body
    return [first, again]


def masked_refused(ctx: Ctx) -> list[Any]:
    """A masked registration meets a live claim on its mask: another masked
    one, a protected customer of a matching number, a matching number
    registered less than 30 seconds ago."""
    holder, _ = held(ctx)
    other = ctx.api.registrant(Source.ECOMMERCE)
    second_mask = ctx.api.register(other, masked(name="李女士"))
    protected = ctx.api.register(ctx.api.registrant(Source.CHANNEL), body("13900001111", VISITED))
    assert protected.status_code == 201, protected.body
    just_now = ctx.api.register(other, masked("139****1111"))
    ctx.clock.shift(60)
    still_protected = ctx.api.register(other, masked("139****1111"))
    answers = [second_mask, just_now, still_protected]
    for r in answers:
        assert error_code(r) == ("MASKED_CLAIM_MATCH", "R-DUP-1"), r.body
        assert holder.registrant_id not in r.body.decode()
    return answers


def full_number_refused_by_a_mask(ctx: Ctx) -> list[Any]:
    holder, rid = held(ctx)
    channel = ctx.api.registrant(Source.CHANNEL)
    r = ctx.api.register(channel, body("+86 138-0000-5678", VISITED))
    assert error_code(r) == ("MASKED_CLAIM_MATCH", "R-DUP-1"), r.body
    for secret in (holder.registrant_id, holder.name, rid, "王"):
        assert secret not in r.body.decode(), f"the refusal names the holder: {secret}"
    return [r]


def bad_mask(ctx: Ctx) -> list[Any]:
    channel = ctx.api.registrant(Source.CHANNEL)
    invalid = [ctx.api.register(channel, masked(m)) for m in ("138****567", "123****5678")]
    for r in invalid:
        assert error_code(r) == ("INVALID_PHONE", None), r.body
        assert payload(r)["error"]["fields"][0]["field"] == "customer.phone_masked"
    both = {"name": "王", "phone": "13812345678", "phone_masked": "138****5678"}
    neither = {"name": "王"}
    shapes = [
        ctx.api.register(channel, {"customer": c, "visit_at": VISITED}) for c in (both, neither)
    ]
    for r in shapes:
        assert error_code(r) == ("VALIDATION_ERROR", None), r.body
    return invalid + shapes


def walk_in_refused_by_a_mask(ctx: Ctx) -> list[Any]:
    held(ctx, "138****5678")
    r = staff_post(ctx, CONSULTANT_REGISTRATIONS, Role.CONSULTANT, walk_in_doc(), "k-1")
    assert error_code(r) == ("MASKED_CLAIM_MATCH", "R-DUP-1"), r.body
    return [r]


# the visit resolves it


def arrival_with_name(ctx: Ctx) -> list[Any]:
    """The front desk types the phone and the name: the masked claim of that
    surname becomes the customer's (read back protected)."""
    who, rid = held(ctx)
    doc = {"party_size": 2, "greeted": True, "phone": "138 1234 5678", "name": "王小明"}
    r = call(ctx, POST, VISITS, Role.FRONT_DESK, doc)
    assert payload(r)["customer"] == {"name": "王小明", "phone_masked": "138****5678"}
    read = ctx.api.get(who, REGISTRATION.replace("{registration_id}", rid))
    assert payload(read)["status"] == "protected", read.body
    other = call(ctx, POST, VISITS, Role.FRONT_DESK, {**doc, "phone": "139 0000 2222"})
    return [r, other]


def sign_in_resolves(ctx: Ctx) -> list[Any]:
    who, rid = held(ctx)
    households = {"households": [{"name": "王先生", "phone": "13812345678"}]}
    r = call(ctx, POST, on(SIGN_INS, arrival(ctx)), Role.CHANNEL_ASSISTANT, households)
    read = ctx.api.get(who, REGISTRATION.replace("{registration_id}", rid))
    assert payload(read)["status"] == "protected", read.body
    return [r]


def read_masked(ctx: Ctx) -> list[Any]:
    """A masked registration read back: provisional, protected once
    resolved, lapsed when its hold closed unresolved."""
    who, rid = held(ctx)
    path = REGISTRATION.replace("{registration_id}", rid)
    provisional = ctx.api.get(who, path)
    arrival(ctx, phone="13812345678", name="王")
    protected = ctx.api.get(who, path)
    unresolved, other = held(ctx, "139****0000")
    ctx.clock.shift(24 * 3600)
    lapsed = ctx.api.get(unresolved, REGISTRATION.replace("{registration_id}", other))
    answers = [provisional, protected, lapsed]
    assert [payload(r)["status"] for r in answers] == ["provisional", "protected", "lapsed"]
    return answers


def masked_events(ctx: Ctx) -> list[Any]:
    who, _ = held(ctx)
    arrival(ctx, phone="13812345678", name="王")
    settle(ctx)
    r = ctx.api.get(who, EVENTS)
    assert [e["type"] for e in payload(r)["data"]] == ["registration.protected"], r.body
    return [r]


# 判客: the masked claim waiting on a number, and its resolution by phone and name

RESOLUTIONS = "/v1/masked-claims/resolutions"


def lookup_with_a_masked_claim(ctx: Ctx) -> list[Any]:
    """The channel assistant and a manager see the masked claim waiting on
    the number; the front desk is told to call the channel assistant."""
    holder, rid = held(ctx)
    full = [
        staff_post(ctx, LOOKUPS, role, {"phone": "+86 138-1234-5678"})
        for role in (Role.CHANNEL_ASSISTANT, Role.SALES_MANAGER)
    ]
    for r in full:
        waiting = payload(r)["masked_claim"]
        assert (waiting["registration_id"], waiting["holder_id"]) == (rid, holder.registrant_id)
        assert (waiting["status"], waiting["ordinal"], waiting["surname"]) == (
            "provisional",
            None,
            "王",
        )
    desk = staff_post(ctx, LOOKUPS, Role.FRONT_DESK, {"phone": "13812345678"})
    assert payload(desk) == {"known": True, "call": "channel_assistant", "consultant": None}
    other = staff_post(ctx, LOOKUPS, Role.CHANNEL_ASSISTANT, {"phone": "13900000000"})
    assert payload(other)["masked_claim"] is None
    return [*full, desk, other]


def resolve(ctx: Ctx, role: Role, doc: Any) -> Any:
    return staff_post(ctx, RESOLUTIONS, role, doc)


def resolution_outcomes(ctx: Ctx) -> list[Any]:
    """surname_differs (nothing changes), resolved (protected), none (again,
    and for a number no masked claim waits on), by either role."""
    who, rid = held(ctx)
    doc = {"phone": "138 1234 5678", "name": "李女士"}
    differs = resolve(ctx, Role.CHANNEL_ASSISTANT, doc)
    assert payload(differs)["outcome"] == "surname_differs", differs.body
    assert payload(differs)["claim"]["registration_id"] == rid
    assert payload(differs)["claim"]["status"] == "provisional"
    resolved = resolve(ctx, Role.CHANNEL_ASSISTANT, {**doc, "name": "王小明"})
    claim = payload(resolved)["claim"]
    assert payload(resolved)["outcome"] == "resolved", resolved.body
    assert (claim["registration_id"], claim["status"], claim["ordinal"]) == (rid, "protected", 1)
    assert payload(resolved)["refusal"] is None
    read = ctx.api.get(who, REGISTRATION.replace("{registration_id}", rid))
    assert payload(read)["status"] == "protected", read.body
    again = resolve(ctx, Role.FRONT_DESK, {**doc, "name": "王小明"})
    nothing = resolve(ctx, Role.FRONT_DESK, {"phone": "13900000000", "name": "赵"})
    for r in (again, nothing):
        assert payload(r) == {"outcome": "none", "claim": None, "refusal": None}, r.body
    return [differs, resolved, again, nothing]


def resolution_refused(ctx: Ctx) -> list[Any]:
    """The customer was recommended twice already (R-PROT-1): the masked
    registration lapses at its resolution."""

    def visit_now() -> str:
        return (datetime.now(UTC) - timedelta(minutes=5)).isoformat()

    for days in (61, 31):
        doc = body("138 1234 5678", visit_now())
        r = ctx.api.register(ctx.api.registrant(Source.CHANNEL), doc)
        assert r.status_code == 201, r.body
        ctx.clock.shift(timedelta(days=days))
    who = ctx.api.registrant(Source.CHANNEL)
    r = ctx.api.register(who, masked(visit_at=visit_now()))
    assert r.status_code == 201, r.body
    rid = payload(r)["registration_id"]
    refused = resolve(ctx, Role.CHANNEL_ASSISTANT, {"phone": "13812345678", "name": "王先生"})
    doc = payload(refused)
    assert (doc["outcome"], doc["claim"]["registration_id"]) == ("refused", rid), refused.body
    refusal = doc["refusal"]
    assert (refusal["code"], refusal["rule"]) == ("RECOMMENDATION_LIMIT", "R-PROT-1")
    read = ctx.api.get(who, REGISTRATION.replace("{registration_id}", rid))
    assert payload(read)["status"] == "lapsed", read.body
    return [refused]


def resolution_invalid(ctx: Ctx) -> list[Any]:
    validation = [
        resolve(ctx, Role.CHANNEL_ASSISTANT, doc)
        for doc in (
            {"phone": "13812345678"},
            {"phone": "13812345678", "name": ""},
            {"phone": "13812345678", "name": "王" * 65},
            {"phone": "13812345678", "name": "王\n"},
            {"phone": "13812345678", "name": "王", "visit_id": "vi_x"},
            {"phone": 13812345678, "name": "王"},
            [],
        )
    ]
    for r in validation:
        assert error_code(r) == ("VALIDATION_ERROR", None), r.body
    phone = resolve(ctx, Role.FRONT_DESK, {"phone": "12345", "name": "王"})
    assert error_code(phone) == ("INVALID_PHONE", None), phone.body
    return [*validation, phone]


def resolution_unauthenticated(ctx: Ctx) -> Any:
    return ctx.api.client.http.post(
        RESOLUTIONS,
        headers={"Content-Type": "application/json"},
        body=json.dumps({"phone": "13812345678", "name": "王"}).encode(),
    )


def resolution_forbidden(ctx: Ctx) -> list[Any]:
    doc = {"phone": "13812345678", "name": "王"}
    return [
        resolve(ctx, role, doc)
        for role in (Role.CONSULTANT, Role.SALES_ADMIN, Role.SALES_MANAGER, Role.SITE_MANAGER)
    ]


def resolution_too_large(ctx: Ctx) -> Any:
    headers = {"Authorization": f"Bearer {token(ctx, Role.CHANNEL_ASSISTANT)[1]}"}
    headers["Content-Type"] = "application/json"
    raw = b" " * (MAX_BODY_BYTES + 1)
    return ctx.api.client.http.post(RESOLUTIONS, headers=headers, body=raw)


def resolution_not_json(ctx: Ctx) -> Any:
    headers = {"Authorization": f"Bearer {token(ctx, Role.CHANNEL_ASSISTANT)[1]}"}
    headers["Content-Type"] = "text/plain"
    return ctx.api.client.http.post(RESOLUTIONS, headers=headers, body=b"13812345678")


def resolution_internal(ctx: Ctx) -> Any:
    ctx.monkeypatch.setattr(Visits, "resolve_masked", boom)
    return resolve(ctx, Role.CHANNEL_ASSISTANT, {"phone": "13812345678", "name": "王"})


def resolution_unavailable(ctx: Ctx) -> Any:
    held(ctx)
    fail_once(ctx, Store, "get_mask")
    return resolve(ctx, Role.CHANNEL_ASSISTANT, {"phone": "13812345678", "name": "王"})


MASKED_CASES = [
    Case(POST, REGISTRATIONS, 201, masked_created),
    Case(POST, REGISTRATIONS, 201, masked_replayed),
    Case(POST, REGISTRATIONS, 409, masked_refused),
    Case(POST, REGISTRATIONS, 409, full_number_refused_by_a_mask),
    Case(POST, REGISTRATIONS, 400, bad_mask),
    Case(POST, CONSULTANT_REGISTRATIONS, 409, walk_in_refused_by_a_mask),
    Case(POST, VISITS, 201, arrival_with_name),
    Case(POST, SIGN_INS, 201, sign_in_resolves),
    Case(GET, REGISTRATION, 200, read_masked),
    Case(GET, EVENTS, 200, masked_events),
    Case(POST, LOOKUPS, 200, lookup_with_a_masked_claim),
    Case(POST, RESOLUTIONS, 200, resolution_outcomes),
    Case(POST, RESOLUTIONS, 200, resolution_refused),
    Case(POST, RESOLUTIONS, 400, resolution_invalid),
    Case(POST, RESOLUTIONS, 401, resolution_unauthenticated),
    Case(POST, RESOLUTIONS, 403, resolution_forbidden),
    Case(POST, RESOLUTIONS, 413, resolution_too_large),
    Case(POST, RESOLUTIONS, 415, resolution_not_json),
    Case(POST, RESOLUTIONS, 500, resolution_internal),
    Case(POST, RESOLUTIONS, 503, resolution_unavailable),
]


@pytest.mark.parametrize("case", MASKED_CASES, ids=lambda c: c.id)
def test_masked_registration_responses_conform_to_the_spec(spec, api, clock, monkeypatch, case):  # noqa: F811
    answered_as_declared(spec, case, Ctx(api, clock, monkeypatch))
