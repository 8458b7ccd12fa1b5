"""Query parameters an operation does not take are refused (400), like an
unknown body field; and the staff registration routes answer 413/415 as
the others do. Each answer conforms to docs/openapi.yaml."""

from __future__ import annotations

from typing import Any

import pytest

from app import app
from chalicelib.api.edge import QUERY_PARAMETERS
from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services.registration.intake import MAX_BODY_BYTES
from tests.adversarial.routes import concrete, role_for
from tests.api.test_openapi import Case, Ctx, answered_as_declared, spec  # noqa: F401 (the fixture)
from tests.api.test_openapi_floor import call, token
from tests.conftest import payload
from tests.support import body, encode

SIGNED = {"/v1/registrations", "/v1/registrations/{registration_id}", "/v1/events"}


def with_unknown_parameter(method: str, path: str) -> Any:
    def run(ctx: Ctx) -> Any:
        target = concrete(path) + "?x-unknown=1"
        if path in SIGNED:
            return ctx.api.get(ctx.api.registrant(Source.CHANNEL), target)
        return call(ctx, method, target, role_for(method, path), {})

    run.__name__ = "unknown_query_parameter"
    return run


def too_large(path: str) -> Any:
    def run(ctx: Ctx) -> Any:
        raw = b" " * (MAX_BODY_BYTES + 1)
        return call(ctx, "POST", path, role_for("POST", path), raw=raw)

    return run


def wrong_media_type(path: str) -> Any:
    def run(ctx: Ctx) -> Any:
        return call(ctx, "POST", path, role_for("POST", path), content_type="text/plain")

    return run


def consultant_key_reused(ctx: Ctx) -> Any:
    """A consultant's Idempotency-Key sent again with another body: 422."""
    _, tok = token(ctx, Role.CONSULTANT)
    headers = {
        "Authorization": f"Bearer {tok}",
        "Content-Type": "application/json",
        "Idempotency-Key": "walk-in-1",
    }
    first = body(phone="13812345678", visit_at="2026-11-27T09:30:00+08:00")
    ctx.api.client.http.post(WALK_INS, headers=headers, body=encode(first))
    other = body(phone="13912345678", visit_at="2026-11-27T09:30:00+08:00")
    return ctx.api.client.http.post(WALK_INS, headers=headers, body=encode(other))


WALK_INS = "/v1/consultant-registrations"
QUERY_CASES = [Case("POST", WALK_INS, 422, consultant_key_reused)]
QUERY_CASES += [
    Case("GET", p, 400, with_unknown_parameter("GET", p))
    for p in (
        "/v1/registrations/{registration_id}",
        "/v1/staff/me",
        "/v1/visits/{visit_id}",
        "/v1/pool",
    )
]
for _path in ("/v1/consultant-registrations", "/v1/late-approvals", "/v1/customer-lookups"):
    QUERY_CASES += [
        Case("POST", _path, 413, too_large(_path)),
        Case("POST", _path, 415, wrong_media_type(_path)),
    ]


@pytest.mark.parametrize("case", QUERY_CASES, ids=lambda c: c.id)
def test_these_answers_conform_to_the_spec(spec, api, clock, monkeypatch, case):  # noqa: F811
    answered_as_declared(spec, case, Ctx(api, clock, monkeypatch))


ROUTES = sorted((m, p) for p, methods in app.routes.items() for m in methods)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_a_query_parameter_it_does_not_take(
    api, clock, monkeypatch, method, path
):
    response = with_unknown_parameter(method, path)(Ctx(api, clock, monkeypatch))
    assert response.status_code == 400, response.body
    (field,) = payload(response)["error"]["fields"]
    assert field == {"field": "x-unknown", "message": "unknown query parameter"}


def test_the_parameters_a_route_takes_are_the_ones_it_documents(spec):  # noqa: F811
    for (method, path), names in QUERY_PARAMETERS.items():
        operation = spec["paths"][path][method.lower()]
        documented = {
            p.get("name") or spec_parameter(spec, p["$ref"])["name"]
            for p in operation.get("parameters", [])
            if (p.get("in") or spec_parameter(spec, p["$ref"])["in"]) == "query"
        }
        assert documented == names, (method, path)


def spec_parameter(spec: dict[str, Any], ref: str) -> dict[str, Any]:  # noqa: F811
    return dict(spec["components"]["parameters"][ref.rsplit("/", 1)[1]])


def test_a_staff_route_with_a_token_still_checks_parameters_first(api, clock, monkeypatch):
    _, tok = token(Ctx(api, clock, monkeypatch), Role.FRONT_DESK)
    r = api.client.http.get("/v1/staff/me?verbose=1", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 400
