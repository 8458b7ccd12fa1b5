"""docs/openapi.yaml for Party A's administration: every response it declares is
produced by a real request, and conforms. The checks are test_openapi's."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services.people.party_a import PartyA
from tests.api.test_openapi import Case, Ctx, answered_as_declared, spec  # noqa: F401 (the fixture)
from tests.api.test_openapi_floor import Route, call, shared_cases, token
from tests.api.test_openapi_query import with_unknown_parameter
from tests.conftest import payload

REGISTRANTS = "/v1/registrants"
REGISTRANT_ENABLED = "/v1/registrants/{registrant_id}/enabled"
REGISTRANT_SECRET = "/v1/registrants/{registrant_id}/secret"
BROKERS = "/v1/brokers"
REVOCATION = "/v1/brokers/{broker_id}/revocation"
STAFF = "/v1/staff"
STAFF_ENABLED = "/v1/staff/{staff_id}/enabled"
DIRECTORY = "/v1/staff/directory"
TOKENS = "/v1/staff/{staff_id}/tokens"
POST, GET = "POST", "GET"
ADMIN = Role.PARTY_A_ADMIN
CARD = "37010219800101001X"
BROKER = {"name": "经纪人 李", "phone": "139 0000 0001", "id_card": CARD}


def at(path: str, some_id: str) -> str:
    """``path`` with its one id filled in."""
    head, _, rest = path.partition("{")
    return head + some_id + rest.partition("}")[2]


def registrant_id(ctx: Ctx) -> str:
    return ctx.api.registrant(Source.CHANNEL).registrant_id


def broker_id(ctx: Ctx) -> str:
    r = call(ctx, POST, BROKERS, ADMIN, BROKER)
    assert r.status_code == 201, r.body
    return str(payload(r)["id"])


# -- registrants ----------------------------------------------------------------------


def registrants_listed(ctx: Ctx) -> list[Any]:
    empty = call(ctx, GET, REGISTRANTS, ADMIN)
    for kind in (Source.CHANNEL, Source.DISTRIBUTION, Source.ECOMMERCE):
        ctx.api.registrant(kind)
    return [empty, call(ctx, GET, REGISTRANTS, ADMIN)]


def registrant_created(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, POST, REGISTRANTS, ADMIN, {"kind": kind, "name": "渠道甲"})
        for kind in ("channel", "distribution", "ecommerce")
    ]


def registrant_invalid(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, POST, REGISTRANTS, ADMIN, {"kind": "broker", "name": "x"}),
        call(ctx, POST, REGISTRANTS, ADMIN, {"kind": "channel", "name": "x" * 65}),
        call(ctx, POST, REGISTRANTS, ADMIN, {"kind": "channel", "name": "x", "secret": "s"}),
        call(ctx, POST, REGISTRANTS, ADMIN, raw=b"{not json"),
        call(ctx, POST, REGISTRANTS + "?dry_run=1", ADMIN, {"kind": "channel", "name": "x"}),
    ]


def registrant_switched(ctx: Ctx) -> list[Any]:
    target = at(REGISTRANT_ENABLED, registrant_id(ctx))
    return [
        call(ctx, POST, target, ADMIN, {"enabled": False}),
        call(ctx, POST, target, ADMIN, {"enabled": True}),
    ]


def registrant_switch_invalid(ctx: Ctx) -> list[Any]:
    target = at(REGISTRANT_ENABLED, registrant_id(ctx))
    return [
        call(ctx, POST, target, ADMIN, {"enabled": "no"}),
        call(ctx, POST, target, ADMIN, {}),
    ]


def gone(what: str, path: str, doc: dict[str, Any], *ids: str) -> Any:
    """A POST to ``path`` for each of ``ids``, none of which exists: 404."""

    def run(ctx: Ctx) -> list[Any]:
        return [call(ctx, POST, at(path, some_id), ADMIN, doc) for some_id in ids]

    run.__name__ = f"{what}_gone"
    return run


def registrant_gone(path: str, doc: dict[str, Any]) -> Any:
    return gone("registrant", path, doc, "reg_gone", "a%20b")


def secret_rotated(ctx: Ctx) -> list[Any]:
    target = at(REGISTRANT_SECRET, registrant_id(ctx))
    return [
        call(ctx, POST, target, ADMIN, {}),
        call(ctx, POST, target, ADMIN, {"at_once": True}),
    ]


def rotation_invalid(ctx: Ctx) -> list[Any]:
    target = at(REGISTRANT_SECRET, registrant_id(ctx))
    return [
        call(ctx, POST, target, ADMIN, {"at_once": "yes"}),
        call(ctx, POST, target, ADMIN, {"overlap_hours": 1}),
    ]


# -- brokers ----------------------------------------------------------------------------


def brokers_listed(ctx: Ctx) -> list[Any]:
    empty = call(ctx, GET, BROKERS, ADMIN)
    broker_id(ctx)
    ctx.clock.shift(1)
    revoked = broker_id(ctx)
    call(ctx, POST, at(REVOCATION, revoked), ADMIN, {})
    call(ctx, POST, BROKERS, ADMIN, {**BROKER, "expires_at": "2027-01-01T00:00:00+08:00"})
    ctx.clock.shift(1)
    return [empty, call(ctx, GET, BROKERS, ADMIN)]


def broker_certified(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, POST, BROKERS, ADMIN, BROKER),
        call(ctx, POST, BROKERS, ADMIN, {**BROKER, "expires_at": "2027-11-27T10:00:00Z"}),
    ]


RECOMMENDERS = "/v1/recommenders"


def recommenders_listed(ctx: Ctx) -> list[Any]:
    empty = call(ctx, GET, RECOMMENDERS, Role.FRONT_DESK)
    for kind in (Source.CHANNEL, Source.DISTRIBUTION, Source.ECOMMERCE):
        ctx.api.registrant(kind)
    call(ctx, POST, BROKERS, ADMIN, BROKER)
    return [empty, call(ctx, GET, RECOMMENDERS, Role.CONSULTANT)]


def broker_invalid(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, POST, BROKERS, ADMIN, {**BROKER, "phone": "010-1234"}),
        call(ctx, POST, BROKERS, ADMIN, {**BROKER, "id_card": "1234"}),
        call(ctx, POST, BROKERS, ADMIN, {**BROKER, "expires_at": "2026-11-27T09:00:00+08:00"}),
        call(ctx, POST, BROKERS, ADMIN, {**BROKER, "expires_at": 1800000000}),
        call(ctx, POST, BROKERS, ADMIN, {**BROKER, "expires_at": "9999-12-31T20:00:00-08:00"}),
        call(ctx, POST, BROKERS, ADMIN, {"name": "李"}),
    ]


def broker_revoked(ctx: Ctx) -> list[Any]:
    target = at(REVOCATION, broker_id(ctx))
    ctx.clock.shift(1)
    return [call(ctx, POST, target, ADMIN, {}), call(ctx, POST, target, ADMIN, {})]


def revocation_invalid(ctx: Ctx) -> Any:
    return call(ctx, POST, at(REVOCATION, broker_id(ctx)), ADMIN, {"reason": "x"})


broker_gone = gone("broker", REVOCATION, {}, "brk_gone", "x" * 65)


# -- staff -------------------------------------------------------------------------------


def staff_listed(ctx: Ctx) -> Any:
    token(ctx, Role.CONSULTANT)
    return call(ctx, GET, STAFF, ADMIN)


def directory_listed(ctx: Ctx) -> list[Any]:
    token(ctx, Role.CONSULTANT)
    return [
        call(ctx, GET, DIRECTORY, Role.SALES_MANAGER),
        call(ctx, GET, DIRECTORY + "?role=consultant", Role.SITE_MANAGER),
    ]


def directory_invalid(ctx: Ctx) -> Any:
    return call(ctx, GET, DIRECTORY + "?role=owner", Role.SALES_MANAGER)


def staff_created(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, POST, STAFF, ADMIN, {"name": "顾问 张", "role": "consultant"}),
        call(ctx, POST, STAFF, ADMIN, {"name": "甲方 吴", "role": "party_a_admin"}),
    ]


def staff_invalid(ctx: Ctx) -> list[Any]:
    return [
        call(ctx, POST, STAFF, ADMIN, {"name": "x", "role": "owner"}),
        call(ctx, POST, STAFF, ADMIN, {"name": "", "role": "consultant"}),
        call(ctx, POST, STAFF, ADMIN, {"name": "x", "role": "consultant", "token": "t"}),
    ]


def staff_switched(ctx: Ctx) -> list[Any]:
    member, _ = token(ctx, Role.FRONT_DESK)
    admin_id, admin = token(ctx, ADMIN)
    return [
        call(ctx, POST, at(STAFF_ENABLED, member), None, {"enabled": False}, tok=admin),
        call(ctx, POST, at(STAFF_ENABLED, member), None, {"enabled": True}, tok=admin),
        call(ctx, POST, at(STAFF_ENABLED, admin_id), None, {"enabled": True}, tok=admin),
    ]


def staff_switch_invalid(ctx: Ctx) -> Any:
    member, _ = token(ctx, Role.FRONT_DESK)
    return call(ctx, POST, at(STAFF_ENABLED, member), ADMIN, {"enabled": None})


def staff_gone(path: str, doc: dict[str, Any]) -> Any:
    return gone("staff", path, doc, "stf_gone", "st%2Ff")


def admin_disables_themself(ctx: Ctx) -> Any:
    admin_id, admin = token(ctx, ADMIN)
    return call(ctx, POST, at(STAFF_ENABLED, admin_id), None, {"enabled": False}, tok=admin)


def token_issued(ctx: Ctx) -> Any:
    member, _ = token(ctx, Role.CONSULTANT)
    return call(ctx, POST, at(TOKENS, member), ADMIN, {})


def token_invalid(ctx: Ctx) -> Any:
    member, _ = token(ctx, Role.CONSULTANT)
    return call(ctx, POST, at(TOKENS, member), ADMIN, {"expires_at": "2027-01-01T00:00:00Z"})


ROUTES = [
    Route(GET, REGISTRANTS, ADMIN, Role.SALES_MANAGER, (PartyA, "registrants")),
    Route(POST, REGISTRANTS, ADMIN, Role.SITE_MANAGER, (PartyA, "create_registrant")),
    Route(POST, REGISTRANT_ENABLED, ADMIN, Role.SALES_ADMIN, (PartyA, "set_registrant_enabled")),
    Route(POST, REGISTRANT_SECRET, ADMIN, Role.CHANNEL_ASSISTANT, (PartyA, "rotate_secret")),
    Route(GET, BROKERS, ADMIN, Role.CONSULTANT, (PartyA, "brokers")),
    Route(POST, BROKERS, ADMIN, Role.CONSULTANT, (PartyA, "certify_broker")),
    Route(POST, REVOCATION, ADMIN, Role.SALES_MANAGER, (PartyA, "revoke_broker")),
    Route(GET, STAFF, ADMIN, Role.CONSULTANT, (PartyA, "staff")),
    Route(GET, RECOMMENDERS, Role.FRONT_DESK, None, (PartyA, "recommenders")),
    Route(GET, DIRECTORY, Role.SALES_MANAGER, Role.CONSULTANT, (PartyA, "directory")),
    Route(POST, STAFF, ADMIN, Role.SITE_MANAGER, (PartyA, "create_staff")),
    Route(POST, STAFF_ENABLED, ADMIN, Role.SALES_MANAGER, (PartyA, "set_staff_enabled")),
    Route(POST, TOKENS, ADMIN, Role.FRONT_DESK, (PartyA, "issue_token")),
]
PARTY_A_CASES = [
    Case(GET, REGISTRANTS, 200, registrants_listed),
    Case(POST, REGISTRANTS, 201, registrant_created),
    Case(POST, REGISTRANTS, 400, registrant_invalid),
    Case(POST, REGISTRANT_ENABLED, 200, registrant_switched),
    Case(POST, REGISTRANT_ENABLED, 400, registrant_switch_invalid),
    Case(POST, REGISTRANT_ENABLED, 404, registrant_gone(REGISTRANT_ENABLED, {"enabled": False})),
    Case(POST, REGISTRANT_SECRET, 201, secret_rotated),
    Case(POST, REGISTRANT_SECRET, 400, rotation_invalid),
    Case(POST, REGISTRANT_SECRET, 404, registrant_gone(REGISTRANT_SECRET, {})),
    Case(GET, BROKERS, 200, brokers_listed),
    Case(POST, BROKERS, 201, broker_certified),
    Case(POST, BROKERS, 400, broker_invalid),
    Case(POST, REVOCATION, 200, broker_revoked),
    Case(POST, REVOCATION, 400, revocation_invalid),
    Case(POST, REVOCATION, 404, broker_gone),
    Case(GET, STAFF, 200, staff_listed),
    Case(GET, RECOMMENDERS, 200, recommenders_listed),
    Case(GET, DIRECTORY, 200, directory_listed),
    Case(GET, DIRECTORY, 400, directory_invalid),
    Case(POST, STAFF, 201, staff_created),
    Case(POST, STAFF, 400, staff_invalid),
    Case(POST, STAFF_ENABLED, 200, staff_switched),
    Case(POST, STAFF_ENABLED, 400, staff_switch_invalid),
    Case(POST, STAFF_ENABLED, 404, staff_gone(STAFF_ENABLED, {"enabled": False})),
    Case(POST, STAFF_ENABLED, 409, admin_disables_themself),
    Case(POST, TOKENS, 201, token_issued),
    Case(POST, TOKENS, 400, token_invalid),
    Case(POST, TOKENS, 404, staff_gone(TOKENS, {})),
]
PARTY_A_CASES += [
    Case(GET, path, 400, with_unknown_parameter(GET, path))
    for path in (REGISTRANTS, BROKERS, STAFF, RECOMMENDERS, DIRECTORY)
]
for _route in ROUTES:
    PARTY_A_CASES += shared_cases(_route)


@pytest.mark.parametrize("case", PARTY_A_CASES, ids=lambda c: c.id)
def test_party_a_responses_conform_to_the_spec(spec, api, clock, monkeypatch, case):  # noqa: F811
    answered_as_declared(spec, case, Ctx(api, clock, monkeypatch))
