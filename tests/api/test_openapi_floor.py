"""docs/openapi.yaml for the floor operations: every response it declares is
produced by a real request, and conforms. The checks are test_openapi's."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services.floor.daily_report import DailyReport
from chalicelib.services.floor.ownership import Ownership
from chalicelib.services.floor.rotation import Rotation
from chalicelib.services.floor.visits import Visits
from chalicelib.services.people import staff as staff_service
from chalicelib.services.people.portfolio import Portfolio
from chalicelib.services.reclaim.deals import Deals
from chalicelib.services.reclaim.pool import Pool
from chalicelib.services.registration.intake import MAX_BODY_BYTES
from chalicelib.store import Store
from tests.adversarial.routes import concrete
from tests.api.test_openapi import (
    Case,
    Ctx,
    answered_as_declared,
    boom,
    fail_once,
    spec,  # noqa: F401 (the fixture)
)
from tests.conftest import payload
from tests.support import body

TODAY = "2026-11-27"
VISITS = "/v1/visits"
VISIT = "/v1/visits/{visit_id}"
DEPARTURE = "/v1/visits/{visit_id}/departure"
DECISIONS = "/v1/visits/{visit_id}/decisions"
SIGN_INS = "/v1/visits/{visit_id}/sign-ins"
ASSIGNMENT = "/v1/visits/{visit_id}/assignment"
FORM = "/v1/visits/{visit_id}/form"
EXEMPTION = "/v1/visits/{visit_id}/exemption"
VISIT_LOOKUPS = "/v1/visit-lookups"
FORMS = "/v1/forms"
ROSTER = "/v1/rosters/{day}"
REPORT = "/v1/reports/daily"
POOL = "/v1/pool"
POOL_ASSIGNMENTS = "/v1/pool/assignments"
DEALS = "/v1/deals"
MY_CUSTOMERS = "/v1/staff/me/customers"


# -- calling as a role ----------------------------------------------------------


def token(ctx: Ctx, role: Role) -> tuple[str, str]:
    now = datetime.now(UTC)
    member = staff_service.create_staff(ctx.api.store, role.value, role, now)
    return member.staff_id, staff_service.issue_token(ctx.api.store, member.staff_id, now).token


def call(
    ctx: Ctx,
    method: str,
    path: str,
    role: Role | None,
    doc: Any = None,
    *,
    raw: bytes | None = None,
    content_type: str = "application/json",
    tok: str | None = None,
) -> Any:
    headers: dict[str, str] = {}
    if role is not None or tok is not None:
        headers["Authorization"] = f"Bearer {tok or token(ctx, role)[1]}"  # type: ignore[arg-type]
    if method == "GET":
        return ctx.api.client.http.get(path, headers=headers)
    headers["Content-Type"] = content_type
    data = raw if raw is not None else json.dumps(doc if doc is not None else {}).encode()
    return ctx.api.client.http.request(method, path, headers=headers, body=data)


def arrival(ctx: Ctx, **doc: Any) -> str:
    r = call(ctx, "POST", VISITS, Role.FRONT_DESK, {"party_size": 1, "greeted": True, **doc})
    assert r.status_code == 201, r.body
    return str(payload(r)["id"])


def on(path: str, visit_id: str = "vi_x", day: str = TODAY, fine_id: str = "fn_x") -> str:
    return path.replace("{visit_id}", visit_id).replace("{day}", day).replace("{fine_id}", fine_id)


def decided_visit(ctx: Ctx, phone: str = "13812345678") -> tuple[str, str]:
    """A channel customer's visit, owner decided: (visit id, registration id)."""
    channel = ctx.api.registrant(Source.CHANNEL)
    r = ctx.api.register(channel, body(phone=phone, visit_at="2026-11-27T09:30:00+08:00"))
    registration_id = payload(r)["registration_id"]
    visit_id = arrival(ctx, phone=phone)
    r = call(
        ctx,
        "POST",
        on(DECISIONS, visit_id),
        Role.CHANNEL_ASSISTANT,
        {"registration_id": registration_id},
    )
    assert r.status_code == 201, r.body
    return visit_id, registration_id


def received_visit(ctx: Ctx) -> tuple[str, str]:
    """A decided visit assigned to a consultant: (visit id, the consultant's token)."""
    visit_id, _ = decided_visit(ctx)
    consultant_id, consultant_token = token(ctx, Role.CONSULTANT)
    call(ctx, "PUT", on(ROSTER), Role.SALES_MANAGER, {"consultants": [consultant_id]})
    r = call(ctx, "POST", on(ASSIGNMENT, visit_id), Role.FRONT_DESK, {})
    assert r.status_code == 201, r.body
    return visit_id, consultant_token


# -- the specific answers --------------------------------------------------------


def arrival_created(ctx: Ctx) -> list[Any]:
    agency = ctx.api.registrant(Source.DISTRIBUTION)
    doc = {
        "party_size": 2,
        "greeted": False,
        "phone": "138 1234 5678",
        "accompanied_by": agency.registrant_id,
    }
    first = call(ctx, "POST", VISITS, Role.FRONT_DESK, doc)
    _, desk = token(ctx, Role.FRONT_DESK)
    ctx.api.client.http.post(
        VISITS,
        headers={
            "Authorization": f"Bearer {desk}",
            "Content-Type": "application/json",
            "Idempotency-Key": "k-1",
        },
        body=json.dumps(doc).encode(),
    )
    replayed = ctx.api.client.http.post(
        VISITS,
        headers={
            "Authorization": f"Bearer {desk}",
            "Content-Type": "application/json",
            "Idempotency-Key": "k-1",
        },
        body=json.dumps(doc).encode(),
    )
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    return [first, replayed]


def arrival_invalid(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, "POST", VISITS, Role.FRONT_DESK, {"party_size": 0, "greeted": True}),
        call(
            ctx,
            "POST",
            VISITS,
            Role.FRONT_DESK,
            {"party_size": 1, "greeted": True, "phone": "010-1"},
        ),
        call(
            ctx,
            "POST",
            VISITS,
            Role.FRONT_DESK,
            {"party_size": 1, "greeted": True, "led_in_by": "stf_nobody"},
        ),
    ]


def arrival_key_reused(ctx: Ctx) -> Any:
    _, desk = token(ctx, Role.FRONT_DESK)
    headers = {
        "Authorization": f"Bearer {desk}",
        "Content-Type": "application/json",
        "Idempotency-Key": "k-1",
    }
    http = ctx.api.client.http
    http.post(VISITS, headers=headers, body=b'{"party_size": 1, "greeted": true}')
    return http.post(VISITS, headers=headers, body=b'{"party_size": 2, "greeted": true}')


def visits_listed(ctx: Ctx) -> list[Any]:
    decided_visit(ctx)
    return [
        call(ctx, "GET", VISITS, Role.FRONT_DESK),
        call(ctx, "GET", f"{VISITS}?date=2026-11-26", Role.SALES_ADMIN),
    ]


def visit_read(ctx: Ctx) -> list[Any]:
    """The receiving consultant and the floor roles read the visit."""
    visit_id, consultant = received_visit(ctx)
    call(ctx, "POST", on(FORM, visit_id), None, {"note": "ok"}, tok=consultant)
    return [
        call(ctx, "GET", on(VISIT, visit_id), None, tok=consultant),
        call(ctx, "GET", on(VISIT, visit_id), Role.SALES_ADMIN),
    ]


def visit_not_found(ctx: Ctx) -> list[Any]:
    """None such, or (to a consultant) one another consultant received."""
    visit_id, _ = received_visit(ctx)
    return [
        call(ctx, "GET", on(VISIT, "vi_missing"), Role.FRONT_DESK),
        call(ctx, "GET", on(VISIT, visit_id), Role.CONSULTANT),
    ]


def departed(ctx: Ctx) -> Any:
    return call(ctx, "POST", on(DEPARTURE, arrival(ctx)), Role.FRONT_DESK, {})


def departure_invalid(ctx: Ctx) -> Any:
    return call(
        ctx, "POST", on(DEPARTURE, arrival(ctx)), Role.FRONT_DESK, {"departed_at": "yesterday"}
    )


def decision_created(ctx: Ctx) -> Any:
    agency = ctx.api.registrant(Source.DISTRIBUTION)
    r = ctx.api.register(agency, body(visit_at="2026-11-27T12:00:00+08:00"))
    ctx.clock.shift(timedelta(hours=1))
    visit_id = arrival(ctx, phone="13812345678", accompanied_by=agency.registrant_id)
    return call(
        ctx,
        "POST",
        on(DECISIONS, visit_id),
        Role.CHANNEL_ASSISTANT,
        {"registration_id": payload(r)["registration_id"]},
    )


def decision_repeated(ctx: Ctx) -> Any:
    visit_id, registration_id = decided_visit(ctx)
    return call(
        ctx,
        "POST",
        on(DECISIONS, visit_id),
        Role.CHANNEL_ASSISTANT,
        {"registration_id": registration_id},
    )


def decision_invalid(ctx: Ctx) -> Any:
    return call(ctx, "POST", on(DECISIONS, arrival(ctx)), Role.CHANNEL_ASSISTANT, {"x": 1})


def decision_refused(ctx: Ctx) -> list[Any]:
    agency = ctx.api.registrant(Source.DISTRIBUTION)
    r = ctx.api.register(agency, body(visit_at="2026-11-27T12:00:00+08:00"))
    held = payload(r)["registration_id"]
    too_soon = arrival(ctx, phone="13812345678", accompanied_by=agency.registrant_id)
    no_phone = arrival(ctx)
    visit_id, registration_id = decided_visit(ctx, "13900000001")
    assistant = Role.CHANNEL_ASSISTANT
    return [
        call(ctx, "POST", on(DECISIONS, too_soon), assistant, {"registration_id": held}),
        call(ctx, "POST", on(DECISIONS, no_phone), assistant, {"registration_id": held}),
        call(ctx, "POST", on(DECISIONS, visit_id), assistant, {"registration_id": held}),
        call(
            ctx,
            "POST",
            on(DECISIONS, visit_id),
            assistant,
            {"registration_id": registration_id, "replaces": "dc_x", "reason": "?"},
        ),
    ]


def signed_in(ctx: Ctx) -> Any:
    doc = {
        "households": [
            {"name": "王", "phone": "13812345678"},
            {"name": "李", "phone": "13900000001"},
        ]
    }
    return call(ctx, "POST", on(SIGN_INS, arrival(ctx)), Role.CONSULTANT, doc)


def sign_in_invalid(ctx: Ctx) -> list[Any]:
    visit_id = arrival(ctx)
    return [
        call(ctx, "POST", on(SIGN_INS, visit_id), Role.CHANNEL_ASSISTANT, {"households": []}),
        call(
            ctx,
            "POST",
            on(SIGN_INS, visit_id),
            Role.CHANNEL_ASSISTANT,
            {"households": [{"name": "王", "phone": "12"}]},
        ),
    ]


def sign_in_twice(ctx: Ctx) -> Any:
    visit_id = arrival(ctx)
    doc = {"households": [{"name": "王", "phone": "13812345678"}]}
    other = {"households": [{"name": "李", "phone": "13900000001"}]}
    call(ctx, "POST", on(SIGN_INS, visit_id), Role.CHANNEL_ASSISTANT, doc)
    return call(ctx, "POST", on(SIGN_INS, visit_id), Role.CHANNEL_ASSISTANT, other)


def sign_in_repeated(ctx: Ctx) -> Any:
    visit_id = arrival(ctx)
    doc = {
        "households": [
            {"name": "王", "phone": "13812345678"},
            {"name": "李", "phone": "13900000001"},
        ]
    }
    call(ctx, "POST", on(SIGN_INS, visit_id), Role.CHANNEL_ASSISTANT, doc)
    return call(ctx, "POST", on(SIGN_INS, visit_id), Role.CHANNEL_ASSISTANT, doc)


def assigned(ctx: Ctx) -> Any:
    consultant_id, _ = token(ctx, Role.CONSULTANT)
    call(ctx, "PUT", on(ROSTER), Role.SALES_MANAGER, {"consultants": [consultant_id]})
    return call(ctx, "POST", on(ASSIGNMENT, arrival(ctx)), Role.FRONT_DESK, {})


def assignment_repeated(ctx: Ctx) -> Any:
    visit_id, _ = received_visit(ctx)
    return call(ctx, "POST", on(ASSIGNMENT, visit_id), Role.FRONT_DESK, {})


def assignment_invalid(ctx: Ctx) -> Any:
    return call(ctx, "POST", on(ASSIGNMENT, arrival(ctx)), Role.FRONT_DESK, {"skip": "all"})


def nobody_on_duty(ctx: Ctx) -> Any:
    return call(ctx, "POST", on(ASSIGNMENT, arrival(ctx)), Role.FRONT_DESK, {})


def form_filed(ctx: Ctx) -> Any:
    visit_id, consultant = received_visit(ctx)
    return call(ctx, "POST", on(FORM, visit_id), None, {"note": "看了样板间"}, tok=consultant)


def form_again(ctx: Ctx) -> Any:
    visit_id, consultant = received_visit(ctx)
    call(ctx, "POST", on(FORM, visit_id), None, {"note": "看了样板间"}, tok=consultant)
    return call(ctx, "POST", on(FORM, visit_id), None, {"note": "看了样板间"}, tok=consultant)


def form_invalid(ctx: Ctx) -> Any:
    visit_id, consultant = received_visit(ctx)
    return [
        call(ctx, "POST", on(FORM, visit_id), None, {"note": 5}, tok=consultant),
        call(ctx, "POST", on(FORM, visit_id), None, {"note": "  "}, tok=consultant),
        call(ctx, "POST", on(FORM, visit_id), None, {}, tok=consultant),
    ]


def form_refused(ctx: Ctx) -> list[Any]:
    visit_id, consultant = received_visit(ctx)
    call(ctx, "POST", on(EXEMPTION, visit_id), Role.SITE_MANAGER, {"kind": "gift_only"})
    return [call(ctx, "POST", on(FORM, visit_id), None, {"note": "看了样板间"}, tok=consultant)]


def form_by_another(ctx: Ctx) -> Any:
    visit_id, _ = received_visit(ctx)
    return call(ctx, "POST", on(FORM, visit_id), Role.CONSULTANT, {"note": "看了样板间"})


def exempted(ctx: Ctx) -> Any:
    visit_id, _ = decided_visit(ctx)
    return call(
        ctx,
        "POST",
        on(EXEMPTION, visit_id),
        Role.SITE_MANAGER,
        {"kind": "flyer_impostor", "note": "小红帽"},
    )


def exempted_again(ctx: Ctx) -> Any:
    visit_id, _ = decided_visit(ctx)
    call(ctx, "POST", on(EXEMPTION, visit_id), Role.SITE_MANAGER, {"kind": "gift_only"})
    return call(ctx, "POST", on(EXEMPTION, visit_id), Role.SITE_MANAGER, {"kind": "gift_only"})


def exemption_invalid(ctx: Ctx) -> Any:
    return call(ctx, "POST", on(EXEMPTION, arrival(ctx)), Role.SITE_MANAGER, {"kind": "vip"})


def exemption_refused(ctx: Ctx) -> Any:
    visit_id, consultant = received_visit(ctx)
    call(ctx, "POST", on(FORM, visit_id), None, {"note": "看了样板间"}, tok=consultant)
    return call(ctx, "POST", on(EXEMPTION, visit_id), Role.SITE_MANAGER, {"kind": "gift_only"})


def visits_looked_up(ctx: Ctx) -> Any:
    decided_visit(ctx)
    return call(ctx, "POST", VISIT_LOOKUPS, Role.CHANNEL_ASSISTANT, {"phone": "+8613812345678"})


def visit_lookup_invalid(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, "POST", VISIT_LOOKUPS, Role.FRONT_DESK, {"phone": "1"}),
        call(ctx, "POST", VISIT_LOOKUPS, Role.FRONT_DESK, {}),
    ]


def forms_listed(ctx: Ctx) -> Any:
    visit_id, consultant = received_visit(ctx)
    call(ctx, "POST", on(FORM, visit_id), None, {"note": "看了样板间"}, tok=consultant)
    decided_visit(ctx, "13900000002")
    return call(ctx, "GET", f"{FORMS}?date={TODAY}", Role.CHANNEL_ASSISTANT)


def bad_date(path: str, role: Role) -> Callable[[Ctx], Any]:
    def run(ctx: Ctx) -> Any:
        sep = "&" if "?" in path else "?"
        target = on(path, day="2026-13-01") if "{day}" in path else f"{path}{sep}date=27/11/2026"
        return call(ctx, "GET", target, role)

    run.__name__ = "bad_date"
    return run


def roster_set(ctx: Ctx) -> Any:
    a, _ = token(ctx, Role.CONSULTANT)
    b, _ = token(ctx, Role.CONSULTANT)
    return call(ctx, "PUT", on(ROSTER), Role.SITE_MANAGER, {"consultants": [a, b]})


def roster_invalid(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, "PUT", on(ROSTER), Role.SALES_MANAGER, {"consultants": ["stf_nobody"]}),
        call(ctx, "PUT", on(ROSTER, day="2026-11-26"), Role.SALES_MANAGER, {"consultants": []}),
        call(ctx, "PUT", on(ROSTER, day="tomorrow"), Role.SALES_MANAGER, {"consultants": []}),
    ]


def roster_read(ctx: Ctx) -> list[Any]:
    received_visit(ctx)
    return [
        call(ctx, "GET", on(ROSTER), Role.FRONT_DESK),
        call(ctx, "GET", on(ROSTER, day="2026-12-01"), Role.CHANNEL_ASSISTANT),
    ]


def report_read(ctx: Ctx) -> list[Any]:
    decided_visit(ctx)
    channel = ctx.api.registrant(Source.CHANNEL)
    ctx.api.register(channel, body(phone="13812345678", visit_at="2026-11-27T09:30:00+08:00"))
    return [
        call(ctx, "GET", f"{REPORT}?date={TODAY}", Role.SALES_ADMIN),
        call(ctx, "GET", f"{REPORT}?date={TODAY}&format=csv", Role.CHANNEL_ASSISTANT),
    ]


def pooled_customer(ctx: Ctx) -> tuple[str, str]:
    """A walk-in of 30 November reclaimed on 1 March: (customer id, consultant id)."""
    from chalicelib.services import container
    from tests.support import shanghai

    consultant_id, consultant = token(ctx, Role.CONSULTANT)
    ctx.clock.move_to(shanghai("2026-11-30 10:00"))
    r = ctx.api.client.http.post(
        "/v1/consultant-registrations",
        headers={
            "Authorization": f"Bearer {consultant}",
            "Content-Type": "application/json",
            "Idempotency-Key": "walk-in-1",
        },
        body=json.dumps(body(phone="13812345678", visit_at="2026-11-30T09:30:00+08:00")).encode(),
    )
    assert r.status_code == 201, r.body
    ctx.clock.move_to(shanghai("2027-03-01 02:00"))
    container.reclaim().run(datetime.now(UTC))
    ctx.clock.move_to(shanghai("2027-03-01 09:00"))
    pool = payload(call(ctx, "GET", POOL, Role.SALES_MANAGER))["data"]
    return pool[0]["customer_id"], consultant_id


def pool_listed(ctx: Ctx) -> Any:
    pooled_customer(ctx)
    return call(ctx, "GET", POOL, Role.SALES_MANAGER)


def pool_assigned(ctx: Ctx) -> Any:
    customer_id, consultant_id = pooled_customer(ctx)
    doc = {"assignments": [{"customer_id": customer_id, "consultant_id": consultant_id}]}
    return call(ctx, "POST", POOL_ASSIGNMENTS, Role.SALES_MANAGER, doc)


def pool_assignment_invalid(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, "POST", POOL_ASSIGNMENTS, Role.SALES_MANAGER, {"assignments": []}),
        call(
            ctx,
            "POST",
            POOL_ASSIGNMENTS,
            Role.SALES_MANAGER,
            {"assignments": [{"customer_id": "ab12", "consultant_id": "stf_nobody"}]},
        ),
    ]


def deal_recorded(ctx: Ctx) -> Any:
    decided_visit(ctx)
    return call(ctx, "POST", DEALS, Role.SALES_MANAGER, {"phone": "13812345678", "note": "首付"})


def deal_invalid(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, "POST", DEALS, Role.SALES_MANAGER, {"phone": "12"}),
        call(ctx, "POST", DEALS, Role.SALES_MANAGER, {}),
    ]


def deal_for_nobody(ctx: Ctx) -> Any:
    return call(ctx, "POST", DEALS, Role.SALES_MANAGER, {"phone": "13700000000"})


def deal_twice(ctx: Ctx) -> Any:
    decided_visit(ctx)
    call(ctx, "POST", DEALS, Role.SALES_MANAGER, {"phone": "13812345678"})
    return call(ctx, "POST", DEALS, Role.SALES_MANAGER, {"phone": "13812345678"})


def deal_by_another_consultant(ctx: Ctx) -> Any:
    decided_visit(ctx)
    return call(ctx, "POST", DEALS, Role.CONSULTANT, {"phone": "13812345678"})


def my_customers_listed(ctx: Ctx) -> list[Any]:
    """Two pages: a customer received on the floor (protected), then a
    walk-in who bought (converted)."""
    _, consultant = received_visit(ctx)
    headers = {
        "Authorization": f"Bearer {consultant}",
        "Content-Type": "application/json",
        "Idempotency-Key": "walk-in-1",
    }
    walk_in = body(phone="13900000001", visit_at="2026-11-27T09:30:00+08:00")
    ctx.api.client.http.post(
        "/v1/consultant-registrations", headers=headers, body=json.dumps(walk_in).encode()
    )
    first = call(ctx, "GET", f"{MY_CUSTOMERS}?limit=1", None, tok=consultant)
    cursor = payload(first)["next_cursor"]
    assert cursor is not None
    call(ctx, "POST", DEALS, None, {"phone": "13900000001"}, tok=consultant)
    return [first, call(ctx, "GET", f"{MY_CUSTOMERS}?cursor={cursor}", None, tok=consultant)]


def my_customers_bad_query(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, "GET", f"{MY_CUSTOMERS}?limit=0", Role.CONSULTANT),
        call(ctx, "GET", f"{MY_CUSTOMERS}?cursor=%25%25", Role.CONSULTANT),
        call(ctx, "GET", f"{MY_CUSTOMERS}?page=2", Role.CONSULTANT),
    ]


# -- the answers every floor operation shares --------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    allowed: Role
    forbidden: Role | None
    service: tuple[type, str]  # what breaks for the 500


ROUTES = [
    Route("POST", VISITS, Role.FRONT_DESK, Role.CONSULTANT, (Visits, "log_arrival")),
    Route("GET", VISITS, Role.FRONT_DESK, Role.CONSULTANT, (Visits, "on_day")),
    Route("GET", VISIT, Role.FRONT_DESK, None, (Visits, "visit")),
    Route("POST", DEPARTURE, Role.FRONT_DESK, Role.CHANNEL_ASSISTANT, (Visits, "log_departure")),
    Route("POST", DECISIONS, Role.CHANNEL_ASSISTANT, Role.FRONT_DESK, (Ownership, "decide")),
    Route("POST", SIGN_INS, Role.CHANNEL_ASSISTANT, Role.FRONT_DESK, (Visits, "sign_in")),
    Route("POST", ASSIGNMENT, Role.FRONT_DESK, Role.CONSULTANT, (Rotation, "assign")),
    Route("POST", FORM, Role.CONSULTANT, Role.CHANNEL_ASSISTANT, (Visits, "file_form")),
    Route("POST", EXEMPTION, Role.SITE_MANAGER, Role.SALES_MANAGER, (Visits, "sign_exemption")),
    Route("POST", VISIT_LOOKUPS, Role.FRONT_DESK, Role.CONSULTANT, (Visits, "of_customer")),
    Route("GET", FORMS, Role.CHANNEL_ASSISTANT, Role.FRONT_DESK, (Visits, "forms")),
    Route("PUT", ROSTER, Role.SALES_MANAGER, Role.FRONT_DESK, (Rotation, "set_roster")),
    Route("GET", ROSTER, Role.FRONT_DESK, Role.CONSULTANT, (Rotation, "roster")),
    Route("GET", REPORT, Role.SALES_ADMIN, Role.FRONT_DESK, (DailyReport, "build")),
    Route("GET", POOL, Role.SALES_MANAGER, Role.CONSULTANT, (Pool, "view")),
    Route("POST", POOL_ASSIGNMENTS, Role.SALES_MANAGER, Role.SITE_MANAGER, (Pool, "assign")),
    Route("POST", DEALS, Role.SALES_MANAGER, Role.FRONT_DESK, (Deals, "record")),
    Route("GET", MY_CUSTOMERS, Role.CONSULTANT, Role.FRONT_DESK, (Portfolio, "mine")),
]


def shared_cases(route: Route) -> list[Case]:
    target = concrete(on(route.path)) + ("?date=" + TODAY if route.path == REPORT else "")

    def unauthenticated(ctx: Ctx) -> Any:
        return call(ctx, route.method, target, None)

    def forbidden(ctx: Ctx) -> Any:
        return call(ctx, route.method, target, route.forbidden)

    def too_large(ctx: Ctx) -> Any:
        return call(ctx, route.method, target, route.allowed, raw=b" " * (MAX_BODY_BYTES + 1))

    def wrong_media_type(ctx: Ctx) -> Any:
        return call(ctx, route.method, target, route.allowed, content_type="text/plain")

    def internal(ctx: Ctx) -> Any:
        cls, name = route.service
        ctx.monkeypatch.setattr(cls, name, boom)
        return call(ctx, route.method, target, route.allowed)

    def unavailable(ctx: Ctx) -> Any:
        _, tok = token(ctx, route.allowed)
        fail_once(ctx, Store, "get_token")
        return call(ctx, route.method, target, None, tok=tok)

    runs: list[tuple[int, Callable[[Ctx], Any]]] = [
        (401, unauthenticated),
        (500, internal),
        (503, unavailable),
    ]
    if route.forbidden is not None:
        runs.append((403, forbidden))
    if route.method != "GET":
        runs += [(413, too_large), (415, wrong_media_type)]
    return [Case(route.method, route.path, status, run) for status, run in runs]


POST, GET, PUT = "POST", "GET", "PUT"
FLOOR_CASES = [
    Case(POST, VISITS, 201, arrival_created),
    Case(POST, VISITS, 400, arrival_invalid),
    Case(POST, VISITS, 422, arrival_key_reused),
    Case(GET, VISITS, 200, visits_listed),
    Case(GET, VISITS, 400, bad_date(VISITS, Role.FRONT_DESK)),
    Case(GET, VISIT, 200, visit_read),
    Case(GET, VISIT, 404, visit_not_found),
    Case(POST, DEPARTURE, 200, departed),
    Case(POST, DEPARTURE, 400, departure_invalid),
    Case(POST, DECISIONS, 201, decision_created),
    Case(POST, DECISIONS, 200, decision_repeated),
    Case(POST, DECISIONS, 400, decision_invalid),
    Case(POST, DECISIONS, 409, decision_refused),
    Case(POST, SIGN_INS, 201, signed_in),
    Case(POST, SIGN_INS, 400, sign_in_invalid),
    Case(POST, SIGN_INS, 409, sign_in_twice),
    Case(POST, SIGN_INS, 200, sign_in_repeated),
    Case(POST, ASSIGNMENT, 201, assigned),
    Case(POST, ASSIGNMENT, 200, assignment_repeated),
    Case(POST, ASSIGNMENT, 400, assignment_invalid),
    Case(POST, ASSIGNMENT, 409, nobody_on_duty),
    Case(POST, FORM, 201, form_filed),
    Case(POST, FORM, 200, form_again),
    Case(POST, FORM, 400, form_invalid),
    Case(POST, FORM, 409, form_refused),
    Case(POST, EXEMPTION, 201, exempted),
    Case(POST, EXEMPTION, 200, exempted_again),
    Case(POST, EXEMPTION, 400, exemption_invalid),
    Case(POST, EXEMPTION, 409, exemption_refused),
    Case(POST, VISIT_LOOKUPS, 200, visits_looked_up),
    Case(POST, VISIT_LOOKUPS, 400, visit_lookup_invalid),
    Case(GET, FORMS, 200, forms_listed),
    Case(GET, FORMS, 400, bad_date(FORMS, Role.CHANNEL_ASSISTANT)),
    Case(PUT, ROSTER, 200, roster_set),
    Case(PUT, ROSTER, 400, roster_invalid),
    Case(GET, ROSTER, 200, roster_read),
    Case(GET, ROSTER, 400, bad_date(ROSTER, Role.FRONT_DESK)),
    Case(GET, REPORT, 200, report_read),
    Case(GET, REPORT, 400, bad_date(REPORT, Role.SALES_ADMIN)),
]
# a valid body for each, so that only the missing visit is wrong
_VALID_BODIES: dict[str, Any] = {
    DEPARTURE: {},
    DECISIONS: {"registration_id": "rg_x"},
    SIGN_INS: {"households": [{"name": "王", "phone": "13812345678"}]},
    ASSIGNMENT: {},
    FORM: {"note": "看了样板间"},
    EXEMPTION: {"kind": "gift_only"},
}


def visit_gone(path: str) -> Callable[[Ctx], Any]:
    def run(ctx: Ctx) -> Any:
        return call(ctx, POST, on(path, "vi_gone"), _allowed(path), _VALID_BODIES[path])

    run.__name__ = "visit_gone"
    return run


for _path in _VALID_BODIES:
    FLOOR_CASES.append(Case(POST, _path, 404, visit_gone(_path)))
FLOOR_CASES.append(Case(POST, FORM, 403, form_by_another))
FLOOR_CASES += [
    Case(GET, POOL, 200, pool_listed),
    Case(POST, POOL_ASSIGNMENTS, 200, pool_assigned),
    Case(POST, POOL_ASSIGNMENTS, 400, pool_assignment_invalid),
    Case(POST, DEALS, 201, deal_recorded),
    Case(POST, DEALS, 400, deal_invalid),
    Case(POST, DEALS, 404, deal_for_nobody),
    Case(POST, DEALS, 409, deal_twice),
    Case(POST, DEALS, 403, deal_by_another_consultant),
    Case(GET, MY_CUSTOMERS, 200, my_customers_listed),
    Case(GET, MY_CUSTOMERS, 400, my_customers_bad_query),
]
for _route in ROUTES:
    FLOOR_CASES += shared_cases(_route)


def _allowed(path: str) -> Role:
    return next(r.allowed for r in ROUTES if r.path == path and r.method == POST)


@pytest.mark.parametrize("case", FLOOR_CASES, ids=lambda c: c.id)
def test_floor_responses_conform_to_the_spec(spec, api, clock, monkeypatch, case):  # noqa: F811
    answered_as_declared(spec, case, Ctx(api, clock, monkeypatch))
