"""docs/openapi.yaml for 隐号报备 (docs/decisions/0013): a registration by
``phone_masked``, its refusals both ways, and its resolution at the visit,
each answer produced by a real request and conforming to the spec. The
checks are test_openapi's."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from tests.api.test_openapi import (
    CONSULTANT_REGISTRATIONS,
    EVENTS,
    REGISTRATION,
    REGISTRATIONS,
    VISITED,
    Case,
    Ctx,
    answered_as_declared,
    settle,
    spec,  # noqa: F401 (the fixture)
    staff_post,
    walk_in_doc,
)
from tests.api.test_openapi_floor import SIGN_INS, VISITS, arrival, call, on
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
]


@pytest.mark.parametrize("case", MASKED_CASES, ids=lambda c: c.id)
def test_masked_registration_responses_conform_to_the_spec(spec, api, clock, monkeypatch, case):  # noqa: F811
    answered_as_declared(spec, case, Ctx(api, clock, monkeypatch))
