"""docs/openapi.yaml for the fines ledger: every response it declares is
produced by a real request, and conforms. The checks are test_openapi's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services.fines.ledger import Fines
from chalicelib.services.registration.ratelimit import RateLimiter
from tests.api.test_openapi import Case, Ctx, answered_as_declared, spec  # noqa: F401 (the fixture)
from tests.api.test_openapi_floor import Route, arrival, call, on, shared_cases, token
from tests.conftest import payload
from tests.support import signed_headers

FINES = "/v1/fines"
DECISION = "/v1/fines/{fine_id}/decision"
APPEAL = "/v1/fines/{fine_id}/appeal"
APPEAL_DECISION = "/v1/fines/{fine_id}/appeal-decision"
STATEMENT = "/v1/fines/statement"
POST, GET = "POST", "GET"


def recorded(ctx: Ctx, kind: str = "R-FINE-3") -> tuple[str, str]:
    """A fine due from a consultant: (fine id, the consultant's token)."""
    consultant_id, consultant = token(ctx, Role.CONSULTANT)
    r = call(ctx, POST, FINES, Role.SALES_MANAGER, {"kind": kind, "payer_id": consultant_id})
    assert r.status_code == 201, r.body
    return str(payload(r)["id"]), consultant


def proposed(ctx: Ctx) -> str:
    """R-FINE-2 proposed from a visit logged as not greeted: its id."""
    arrival(ctx, greeted=False)
    (fine,) = payload(call(ctx, GET, FINES, Role.SALES_MANAGER))["data"]
    return str(fine["id"])


def appealed(ctx: Ctx) -> str:
    fine_id, consultant = recorded(ctx)
    r = call(ctx, POST, on(APPEAL, fine_id=fine_id), None, {"reason": "理由"}, tok=consultant)
    assert r.status_code == 200, r.body
    return fine_id


def channel_fined(ctx: Ctx) -> tuple[str, Any]:
    """R-FINE-5 fined to a channel: (fine id, the registrant)."""
    channel = ctx.api.registrant(Source.CHANNEL)
    doc = {"kind": "R-FINE-5", "payer_id": channel.registrant_id, "note": "红帽子冒充客户"}
    r = call(ctx, POST, FINES, Role.SITE_MANAGER, doc)
    assert r.status_code == 201, r.body
    return str(payload(r)["id"]), channel


def signed_post(ctx: Ctx, path: str, registrant: Any, doc: Any) -> Any:
    raw = json.dumps(doc).encode()
    headers = signed_headers(registrant, raw, key="appeal-1")
    return ctx.api.client.http.post(path, headers=headers, body=raw)


def rate_limited(ctx: Ctx) -> None:
    ctx.monkeypatch.setattr(RateLimiter, "retry_after", lambda self, caller, now: 3)


# -- POST /v1/fines and GET /v1/fines ---------------------------------------------


def fine_recorded(ctx: Ctx) -> list[Any]:
    consultant_id, _ = token(ctx, Role.CONSULTANT)
    desk_id, _ = token(ctx, Role.FRONT_DESK)
    doc = {
        "kind": "R-FINE-1",
        "payer_id": consultant_id,
        "occurred_at": "2026-11-27T09:40:00+08:00",
        "visit_id": "vi_x",
        "phone": "138 1234 5678",
        "note": "带客未经前台",
    }
    return [
        call(ctx, POST, FINES, Role.FRONT_DESK, doc),
        call(ctx, POST, FINES, Role.CHANNEL_ASSISTANT, {"kind": "R-FINE-2", "payer_id": desk_id}),
    ]


def fine_invalid(ctx: Ctx) -> list[Any]:
    consultant_id, _ = token(ctx, Role.CONSULTANT)
    manager = Role.SALES_MANAGER
    return [
        call(ctx, POST, FINES, manager, {"kind": "R-FINE-9", "payer_id": consultant_id}),
        call(ctx, POST, FINES, manager, {"kind": "R-FINE-2", "payer_id": consultant_id}),
        call(ctx, POST, FINES, manager, {"kind": "R-FINE-5", "payer_id": "reg_nobody"}),
        call(
            ctx,
            POST,
            FINES,
            manager,
            {"kind": "R-FINE-1", "payer_id": consultant_id, "phone": "010-1"},
        ),
        call(
            ctx,
            POST,
            FINES,
            manager,
            {
                "kind": "R-FINE-1",
                "payer_id": consultant_id,
                "occurred_at": "2026-11-28T10:00:00+08:00",
            },
        ),
    ]


def waiting_listed(ctx: Ctx) -> list[Any]:
    proposed(ctx)
    appealed(ctx)
    return [
        call(ctx, GET, FINES, Role.SALES_MANAGER),
        call(ctx, GET, f"{FINES}?status=appealed&month=2026-11", Role.SITE_MANAGER),
    ]


def waiting_invalid(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, GET, f"{FINES}?month=2026-13", Role.SALES_MANAGER),
        call(ctx, GET, f"{FINES}?month=2026W01", Role.SALES_MANAGER),
        call(ctx, GET, f"{FINES}?status=due", Role.SALES_MANAGER),
    ]


# -- decisions and appeals ------------------------------------------------------------


def fine_decided(ctx: Ctx) -> list[Any]:
    first = proposed(ctx)
    arrival(ctx, greeted=False)
    waiting = payload(call(ctx, GET, FINES, Role.SALES_MANAGER))["data"]
    second = next(f["id"] for f in waiting if f["id"] != first)
    return [
        call(ctx, POST, on(DECISION, fine_id=first), Role.SALES_MANAGER, {"action": "confirm"}),
        call(ctx, POST, on(DECISION, fine_id=second), Role.SITE_MANAGER, {"action": "dismiss"}),
    ]


def decision_invalid(ctx: Ctx) -> list[Any]:
    fine_id = proposed(ctx)
    target = on(DECISION, fine_id=fine_id)
    return [
        call(ctx, POST, target, Role.SALES_MANAGER, {"action": "approve"}),
        call(ctx, POST, target, Role.SALES_MANAGER, {}),
    ]


def decision_on_a_due_fine(ctx: Ctx) -> Any:
    fine_id, _ = recorded(ctx)
    return call(ctx, POST, on(DECISION, fine_id=fine_id), Role.SALES_MANAGER, {"action": "confirm"})


def fine_gone(path: str, role: Role, doc: dict[str, Any]) -> Any:
    def run(ctx: Ctx) -> Any:
        return [
            call(ctx, POST, on(path, fine_id="fn_gone"), role, doc),
            call(ctx, POST, on(path, fine_id="vi_not_a_fine"), role, doc),
        ]

    run.__name__ = "fine_gone"
    return run


def appeal_made(ctx: Ctx) -> list[Any]:
    fine_id, consultant = recorded(ctx)
    by_staff = call(
        ctx, POST, on(APPEAL, fine_id=fine_id), None, {"reason": "客户拒绝登记"}, tok=consultant
    )
    channel_fine, channel = channel_fined(ctx)
    signed = signed_post(ctx, on(APPEAL, fine_id=channel_fine), channel, {"reason": "不是我们的人"})
    return [by_staff, signed]


def appeal_invalid(ctx: Ctx) -> list[Any]:
    fine_id, consultant = recorded(ctx)
    target = on(APPEAL, fine_id=fine_id)
    return [
        call(ctx, POST, target, None, {}, tok=consultant),
        call(ctx, POST, target, None, {"reason": ""}, tok=consultant),
        call(ctx, POST, target, None, {"reason": "x" * 201}, tok=consultant),
        call(ctx, POST, target, None, {"reason": "a\u0000b"}, tok=consultant),
    ]


def appeal_by_another(ctx: Ctx) -> Any:
    fine_id, _ = recorded(ctx)
    return call(ctx, POST, on(APPEAL, fine_id=fine_id), Role.CONSULTANT, {"reason": "不是我"})


def appeal_of_anothers_fine_by_a_registrant(ctx: Ctx) -> Any:
    """Outside callers learn nothing of fines not theirs: 404, not 403."""
    fine_id, _ = recorded(ctx)
    channel = ctx.api.registrant(Source.CHANNEL)
    return signed_post(ctx, on(APPEAL, fine_id=fine_id), channel, {"reason": "不是我"})


def appeal_by_a_registrant_without_a_key(ctx: Ctx) -> Any:
    fine_id, channel = channel_fined(ctx)
    raw = json.dumps({"reason": "不是我们的人"}).encode()
    headers = signed_headers(channel, raw, key=None)
    return ctx.api.client.http.post(on(APPEAL, fine_id=fine_id), headers=headers, body=raw)


def appeal_twice(ctx: Ctx) -> Any:
    fine_id, consultant = recorded(ctx)
    target = on(APPEAL, fine_id=fine_id)
    call(ctx, POST, target, None, {"reason": "一"}, tok=consultant)
    return call(ctx, POST, target, None, {"reason": "二"}, tok=consultant)


def appeal_rate_limited(ctx: Ctx) -> Any:
    fine_id, channel = channel_fined(ctx)
    rate_limited(ctx)
    return signed_post(ctx, on(APPEAL, fine_id=fine_id), channel, {"reason": "不是我们的人"})


def appeal_answered(ctx: Ctx) -> list[Any]:
    first, second = appealed(ctx), appealed(ctx)
    return [
        call(
            ctx,
            POST,
            on(APPEAL_DECISION, fine_id=first),
            Role.SALES_MANAGER,
            {"outcome": "cancelled", "note": "监控为证"},
        ),
        call(
            ctx,
            POST,
            on(APPEAL_DECISION, fine_id=second),
            Role.SALES_MANAGER,
            {"outcome": "upheld"},
        ),
    ]


def appeal_decision_invalid(ctx: Ctx) -> Any:
    target = on(APPEAL_DECISION, fine_id=appealed(ctx))
    return call(ctx, POST, target, Role.SALES_MANAGER, {"outcome": "maybe"})


def appeal_decision_by_the_wrong_manager(ctx: Ctx) -> Any:
    """R-FINE-5 appeals are the site manager's."""
    fine_id, channel = channel_fined(ctx)
    signed_post(ctx, on(APPEAL, fine_id=fine_id), channel, {"reason": "不是我们的人"})
    target = on(APPEAL_DECISION, fine_id=fine_id)
    return call(ctx, POST, target, Role.SALES_MANAGER, {"outcome": "cancelled"})


def appeal_decision_without_appeal(ctx: Ctx) -> Any:
    fine_id, _ = recorded(ctx)
    target = on(APPEAL_DECISION, fine_id=fine_id)
    return call(ctx, POST, target, Role.SALES_MANAGER, {"outcome": "upheld"})


# -- statements -------------------------------------------------------------------------


def statement_read(ctx: Ctx) -> list[Any]:
    _, consultant = recorded(ctx)
    _, channel = channel_fined(ctx)
    mine = call(ctx, GET, STATEMENT, None, tok=consultant)
    payer = payload(mine)["payer_id"]
    return [
        mine,
        call(ctx, GET, f"{STATEMENT}?month=2026-11&format=csv", None, tok=consultant),
        call(ctx, GET, f"{STATEMENT}?payer={payer}", Role.SALES_MANAGER),
        call(ctx, GET, f"{STATEMENT}?payer={payer}&format=json", Role.PARTY_A_ADMIN),
        ctx.api.get(channel, STATEMENT),
    ]


def statement_invalid(ctx: Ctx) -> list[Any]:
    manager = Role.SALES_MANAGER
    return [
        call(ctx, GET, f"{STATEMENT}?month=11-2026", manager),
        call(ctx, GET, f"{STATEMENT}?format=xlsx", manager),
        call(ctx, GET, f"{STATEMENT}?payer=" + "x" * 65, manager),
        call(ctx, GET, f"{STATEMENT}?payer=a%20b", manager),
    ]


def statement_of_another(ctx: Ctx) -> list[Any]:
    consultant_id, _ = token(ctx, Role.CONSULTANT)
    channel = ctx.api.registrant(Source.CHANNEL)
    return [
        call(ctx, GET, f"{STATEMENT}?payer={consultant_id}", Role.CONSULTANT),
        call(ctx, GET, f"{STATEMENT}?payer={consultant_id}", Role.SALES_ADMIN),
        ctx.api.get(channel, f"{STATEMENT}?payer={consultant_id}"),
    ]


def statement_rate_limited(ctx: Ctx) -> Any:
    channel = ctx.api.registrant(Source.CHANNEL)
    rate_limited(ctx)
    return ctx.api.get(channel, STATEMENT)


ROUTES = [
    Route(POST, FINES, Role.FRONT_DESK, Role.CONSULTANT, (Fines, "record")),
    Route(GET, FINES, Role.SALES_MANAGER, Role.CHANNEL_ASSISTANT, (Fines, "waiting")),
    Route(POST, DECISION, Role.SALES_MANAGER, Role.FRONT_DESK, (Fines, "decide")),
    Route(POST, APPEAL, Role.CONSULTANT, None, (Fines, "appeal")),
    Route(POST, APPEAL_DECISION, Role.SITE_MANAGER, Role.CONSULTANT, (Fines, "decide_appeal")),
    Route(GET, STATEMENT, Role.CONSULTANT, None, (Fines, "statement")),
]
FINE_CASES = [
    Case(POST, FINES, 201, fine_recorded),
    Case(POST, FINES, 400, fine_invalid),
    Case(GET, FINES, 200, waiting_listed),
    Case(GET, FINES, 400, waiting_invalid),
    Case(POST, DECISION, 200, fine_decided),
    Case(POST, DECISION, 400, decision_invalid),
    Case(POST, DECISION, 404, fine_gone(DECISION, Role.SALES_MANAGER, {"action": "confirm"})),
    Case(POST, DECISION, 409, decision_on_a_due_fine),
    Case(POST, APPEAL, 200, appeal_made),
    Case(POST, APPEAL, 400, appeal_invalid),
    Case(POST, APPEAL, 400, appeal_by_a_registrant_without_a_key),
    Case(POST, APPEAL, 404, appeal_of_anothers_fine_by_a_registrant),
    Case(POST, APPEAL, 403, appeal_by_another),
    Case(POST, APPEAL, 404, fine_gone(APPEAL, Role.CONSULTANT, {"reason": "x"})),
    Case(POST, APPEAL, 409, appeal_twice),
    Case(POST, APPEAL, 429, appeal_rate_limited),
    Case(POST, APPEAL_DECISION, 200, appeal_answered),
    Case(POST, APPEAL_DECISION, 400, appeal_decision_invalid),
    Case(POST, APPEAL_DECISION, 403, appeal_decision_by_the_wrong_manager),
    Case(
        POST,
        APPEAL_DECISION,
        404,
        fine_gone(APPEAL_DECISION, Role.SALES_MANAGER, {"outcome": "upheld"}),
    ),
    Case(POST, APPEAL_DECISION, 409, appeal_decision_without_appeal),
    Case(GET, STATEMENT, 200, statement_read),
    Case(GET, STATEMENT, 400, statement_invalid),
    Case(GET, STATEMENT, 403, statement_of_another),
    Case(GET, STATEMENT, 429, statement_rate_limited),
]
for _route in ROUTES:
    FINE_CASES += shared_cases(_route)


@pytest.mark.parametrize("case", FINE_CASES, ids=lambda c: c.id)
def test_fines_responses_conform_to_the_spec(spec, api, clock, monkeypatch, case):  # noqa: F811
    answered_as_declared(spec, case, Ctx(api, clock, monkeypatch))
