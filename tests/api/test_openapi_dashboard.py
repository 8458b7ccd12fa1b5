"""docs/openapi.yaml for the managers' 看板: every response it declares is
produced by a real request, and conforms. The checks are test_openapi's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services import container
from chalicelib.services.dashboard import Dashboard
from tests.api.test_openapi import Case, Ctx, answered_as_declared, spec  # noqa: F401 (the fixture)
from tests.api.test_openapi_floor import Route, arrival, call, decided_visit, shared_cases
from tests.conftest import payload
from tests.support import body, shanghai

DASHBOARD = "/v1/dashboard"
GET = "GET"


def with_everything(ctx: Ctx) -> Any:
    """Registrations accepted and refused, visits decided, a fine proposed,
    a day the sweep recorded, a customer in the pool: every part filled."""
    decided_visit(ctx)  # a channel's registration, its arrival and 判客
    refused = ctx.api.register(
        ctx.api.registrant(Source.CHANNEL),
        body(phone="13812345678", visit_at="2026-11-27T09:40:00+08:00"),
    )
    assert refused.status_code == 409, refused.body
    arrival(ctx, greeted=False)  # R-FINE-2 proposed
    ctx.clock.move_to(shanghai("2026-11-28 00:30"))
    container.sweep().run(datetime.now(UTC).replace(microsecond=0))
    r = call(ctx, GET, f"{DASHBOARD}?days=7", Role.SALES_MANAGER)
    doc = payload(r)
    assert doc["floor"]["days"][-2]["recorded"] and doc["registrations"]["refusals"]
    return r


def for_each_manager(ctx: Ctx) -> list[Any]:
    return [call(ctx, GET, DASHBOARD, role) for role in (Role.SITE_MANAGER, Role.PARTY_A_ADMIN)]


def bad_period(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, GET, f"{DASHBOARD}?days={days}", Role.SALES_MANAGER) for days in ("0", "32", "x")
    ]


ROUTE = Route(GET, DASHBOARD, Role.SALES_MANAGER, Role.CONSULTANT, (Dashboard, "build"))
DASHBOARD_CASES = [
    Case(GET, DASHBOARD, 200, with_everything),
    Case(GET, DASHBOARD, 200, for_each_manager),
    Case(GET, DASHBOARD, 400, bad_period),
    *shared_cases(ROUTE),
]


@pytest.mark.parametrize("case", DASHBOARD_CASES, ids=lambda c: c.id)
def test_dashboard_responses_conform_to_the_spec(spec, api, clock, monkeypatch, case):  # noqa: F811
    answered_as_declared(spec, case, Ctx(api, clock, monkeypatch))
