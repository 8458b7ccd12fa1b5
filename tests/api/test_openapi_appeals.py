"""docs/openapi.yaml for appeals of a 判客 decision (decision 0012): every
response it declares is produced by a real request, and conforms."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.records import StoredAnswer
from chalicelib.rules.staff import Role
from chalicelib.services.floor.appeals import Appeals, _File, _hash
from chalicelib.services.registration.ratelimit import RateLimiter
from chalicelib.store import Store
from tests.api.test_openapi import (  # noqa: F401 (spec: the fixture)
    Case,
    Ctx,
    answered_as_declared,
    boom,
    fail_once,
    spec,
)
from tests.api.test_openapi_floor import (
    DECISIONS,
    Route,
    arrival,
    call,
    on,
    shared_cases,
    token,
)
from tests.conftest import payload
from tests.support import body, signed_headers

APPEALS = "/v1/appeals"
ANSWER = "/v1/appeals/{appeal_id}/decision"
APPEAL = "/v1/appeals/{appeal_id}"
POST, GET = "POST", "GET"
PHONE = "13812345678"


def passed_over(ctx: Ctx) -> tuple[Any, Any, str]:
    """A first channel's claim ended; a second holds; the first brings the
    customer and the decision names the second: (claimant, holder, visit)."""
    first, second = ctx.api.registrant(Source.CHANNEL), ctx.api.registrant(Source.CHANNEL)
    r = ctx.api.register(first, body(phone=PHONE, visit_at="2026-11-27T09:30:00+08:00"))
    assert r.status_code == 201, r.body
    ctx.clock.shift(timedelta(days=61))
    r = ctx.api.register(second, body(phone=PHONE, visit_at="2027-01-27T09:30:00+08:00"))
    assert r.status_code == 201, r.body
    visit_id = arrival(ctx, phone=PHONE, accompanied_by=first.registrant_id)
    doc = {"registration_id": payload(r)["registration_id"]}
    r = call(ctx, POST, on(DECISIONS, visit_id), Role.CHANNEL_ASSISTANT, doc)
    assert r.status_code == 201, r.body
    return first, second, visit_id


def signed(ctx: Ctx, who: Any, doc: Any, key: str | None = "appeal-1") -> Any:
    raw = json.dumps(doc).encode()
    return ctx.api.client.http.post(APPEALS, headers=signed_headers(who, raw, key=key), body=raw)


def filed(ctx: Ctx) -> str:
    claimant, _, _ = passed_over(ctx)
    r = signed(ctx, claimant, {"phone": PHONE, "reason": "客户由我司带访"})
    assert r.status_code == 201, r.body
    return str(payload(r)["appeal_id"])


def appeal_filed(ctx: Ctx) -> list[Any]:
    claimant, _, _ = passed_over(ctx)
    doc = {"phone": PHONE, "reason": "客户由我司带访"}
    first = signed(ctx, claimant, doc)
    return [first, signed(ctx, claimant, doc)]  # the replay


def appeal_filed_by_the_manager(ctx: Ctx) -> Any:
    claimant, _, _ = passed_over(ctx)
    doc = {"phone": PHONE, "reason": "经理代申诉", "claimant_id": claimant.registrant_id}
    return call(ctx, POST, APPEALS, Role.SALES_MANAGER, doc)


def appeal_invalid(ctx: Ctx) -> list[Any]:
    claimant, _, _ = passed_over(ctx)
    return [
        signed(ctx, claimant, {"phone": PHONE}),
        signed(ctx, claimant, {"phone": "010-1", "reason": "x"}),
        signed(ctx, claimant, {"phone": PHONE, "reason": "x"}, key=None),
        call(ctx, POST, APPEALS, Role.SALES_MANAGER, {"phone": PHONE, "reason": "缺申诉方"}),
    ]


def appeal_unauthenticated(ctx: Ctx) -> Any:
    claimant, _, _ = passed_over(ctx)
    raw = json.dumps({"phone": PHONE, "reason": "x"}).encode()
    headers = signed_headers(claimant, raw, secret="0" * 32)
    return ctx.api.client.http.post(APPEALS, headers=headers, body=raw)


def appeal_not_yours(ctx: Ctx) -> list[Any]:
    passed_over(ctx)
    stranger = ctx.api.registrant(Source.CHANNEL)
    undecided = ctx.api.registrant(Source.CHANNEL)
    r = ctx.api.register(undecided, body(phone="13900000001", visit_at="2027-01-27T09:30:00+08:00"))
    assert r.status_code == 201, r.body
    return [
        signed(ctx, stranger, {"phone": PHONE, "reason": "x"}),
        signed(ctx, undecided, {"phone": "13900000001", "reason": "x"}),
    ]


def appeal_refused(ctx: Ctx) -> list[Any]:
    claimant, holder, _ = passed_over(ctx)
    doc = {"phone": PHONE, "reason": "客户由我司带访"}
    signed(ctx, claimant, doc)
    twice = signed(ctx, claimant, doc, key="appeal-2")
    by_holder = signed(ctx, holder, doc, key="appeal-3")
    ctx.clock.shift(timedelta(days=3))
    late = call(
        ctx, POST, APPEALS, Role.SALES_MANAGER, {**doc, "claimant_id": holder.registrant_id}
    )
    return [twice, by_holder, late]


def appeal_key_reused(ctx: Ctx) -> Any:
    claimant, _, _ = passed_over(ctx)
    signed(ctx, claimant, {"phone": PHONE, "reason": "一"})
    return signed(ctx, claimant, {"phone": PHONE, "reason": "二"})


def appeal_in_progress(ctx: Ctx) -> Any:
    """A request with this key is still filing: its reservation, made now."""
    claimant, _, _ = passed_over(ctx)
    doc = {"phone": PHONE, "reason": "客户由我司带访"}
    hashed = _hash(_File.model_validate_json(json.dumps(doc)).model_dump(mode="json"))
    now = datetime.now(UTC)
    ctx.api.store.reserve_answer(
        StoredAnswer(claimant.registrant_id, "appeal-1", hashed, None, None, now), stale_before=now
    )
    r = signed(ctx, claimant, doc)
    assert payload(r)["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
    return r


def appeal_rate_limited(ctx: Ctx) -> Any:
    claimant, _, _ = passed_over(ctx)
    ctx.monkeypatch.setattr(RateLimiter, "retry_after", lambda self, caller, now: 3)
    return signed(ctx, claimant, {"phone": PHONE, "reason": "x"})


def queue_read(ctx: Ctx) -> list[Any]:
    filed(ctx)
    return [
        call(ctx, GET, APPEALS, Role.SITE_MANAGER),
        call(ctx, GET, f"{APPEALS}?state=upheld", Role.SALES_MANAGER),
    ]


def queue_invalid(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, GET, f"{APPEALS}?state=maybe", Role.SITE_MANAGER),
        call(ctx, GET, f"{APPEALS}?page=2", Role.SITE_MANAGER),
    ]


def answered(ctx: Ctx) -> list[Any]:
    appeal_id = filed(ctx)
    target = ANSWER.replace("{appeal_id}", appeal_id)
    doc = {"outcome": "reversed", "reason": "监控显示带访"}
    _, manager = token(ctx, Role.SITE_MANAGER)
    return [  # the same answer again (a retry) is answered again
        call(ctx, POST, target, None, doc, tok=manager),
        call(ctx, POST, target, None, doc, tok=manager),
    ]


def answer_invalid(ctx: Ctx) -> list[Any]:
    target = ANSWER.replace("{appeal_id}", filed(ctx))
    return [
        call(ctx, POST, target, Role.SITE_MANAGER, {"outcome": "maybe", "reason": "x"}),
        call(ctx, POST, target, Role.SITE_MANAGER, {"outcome": "upheld"}),
    ]


def answer_missing(ctx: Ctx) -> list[Any]:
    doc = {"outcome": "upheld", "reason": "x"}
    return [
        call(ctx, POST, ANSWER.replace("{appeal_id}", "ap_gone"), Role.SITE_MANAGER, doc),
        call(ctx, POST, ANSWER.replace("{appeal_id}", "vi_x"), Role.SITE_MANAGER, doc),
    ]


def answer_refused(ctx: Ctx) -> Any:
    target = ANSWER.replace("{appeal_id}", filed(ctx))
    call(ctx, POST, target, Role.SITE_MANAGER, {"outcome": "upheld", "reason": "报备在先"})
    return call(ctx, POST, target, Role.SITE_MANAGER, {"outcome": "reversed", "reason": "改判"})


# GET /v1/appeals/{appeal_id}: the appellant, signed


def mine(ctx: Ctx) -> tuple[Any, str]:
    claimant, _, _ = passed_over(ctx)
    r = signed(ctx, claimant, {"phone": PHONE, "reason": "客户由我司带访"})
    assert r.status_code == 201, r.body
    return claimant, APPEAL.replace("{appeal_id}", payload(r)["appeal_id"])


def appeal_read(ctx: Ctx) -> list[Any]:
    claimant, path = mine(ctx)
    pending = ctx.api.get(claimant, path)
    call(ctx, POST, f"{path}/decision", Role.SITE_MANAGER, {"outcome": "upheld", "reason": "在先"})
    return [pending, ctx.api.get(claimant, path)]


def appeal_read_bad_query(ctx: Ctx) -> Any:
    claimant, path = mine(ctx)
    return ctx.api.get(claimant, f"{path}?verbose=1")


def appeal_read_unsigned(ctx: Ctx) -> Any:
    claimant, path = mine(ctx)
    return ctx.api.client.http.get(path, headers={"X-Registrant-Id": claimant.registrant_id})


def appeal_read_not_yours(ctx: Ctx) -> list[Any]:
    _, path = mine(ctx)
    stranger = ctx.api.registrant(Source.CHANNEL)
    return [ctx.api.get(stranger, path), ctx.api.get(stranger, "/v1/appeals/ap_nothing")]


def appeal_read_rate_limited(ctx: Ctx) -> Any:
    claimant, path = mine(ctx)
    ctx.monkeypatch.setattr(RateLimiter, "retry_after", lambda self, caller, now: 3)
    return ctx.api.get(claimant, path)


def appeal_read_internal(ctx: Ctx) -> Any:
    claimant, path = mine(ctx)
    ctx.monkeypatch.setattr(Appeals, "of_registrant", boom)
    return ctx.api.get(claimant, path)


def appeal_read_unavailable(ctx: Ctx) -> Any:
    claimant, path = mine(ctx)
    fail_once(ctx, Store, "get_appeal")
    return ctx.api.get(claimant, path)


ROUTES = [
    Route(POST, APPEALS, Role.SALES_MANAGER, Role.CHANNEL_ASSISTANT, (Appeals, "file")),
    Route(GET, APPEALS, Role.SITE_MANAGER, Role.CONSULTANT, (Appeals, "queue")),
    Route(POST, ANSWER, Role.SITE_MANAGER, Role.SALES_MANAGER, (Appeals, "answer")),
]
APPEAL_CASES = [
    Case(POST, APPEALS, 201, appeal_filed),
    Case(POST, APPEALS, 201, appeal_filed_by_the_manager),
    Case(POST, APPEALS, 400, appeal_invalid),
    Case(POST, APPEALS, 401, appeal_unauthenticated),
    Case(POST, APPEALS, 404, appeal_not_yours),
    Case(POST, APPEALS, 409, appeal_refused),
    Case(POST, APPEALS, 409, appeal_in_progress),
    Case(POST, APPEALS, 422, appeal_key_reused),
    Case(POST, APPEALS, 429, appeal_rate_limited),
    Case(GET, APPEAL, 200, appeal_read),
    Case(GET, APPEAL, 400, appeal_read_bad_query),
    Case(GET, APPEAL, 401, appeal_read_unsigned),
    Case(GET, APPEAL, 404, appeal_read_not_yours),
    Case(GET, APPEAL, 429, appeal_read_rate_limited),
    Case(GET, APPEAL, 500, appeal_read_internal),
    Case(GET, APPEAL, 503, appeal_read_unavailable),
    Case(GET, APPEALS, 200, queue_read),
    Case(GET, APPEALS, 400, queue_invalid),
    Case(POST, ANSWER, 200, answered),
    Case(POST, ANSWER, 400, answer_invalid),
    Case(POST, ANSWER, 404, answer_missing),
    Case(POST, ANSWER, 409, answer_refused),
]
for _route in ROUTES:
    APPEAL_CASES += shared_cases(_route)


@pytest.mark.parametrize("case", APPEAL_CASES, ids=lambda c: c.id)
def test_appeals_responses_conform_to_the_spec(spec, api, clock, monkeypatch, case):  # noqa: F811
    answered_as_declared(spec, case, Ctx(api, clock, monkeypatch))
