"""Staff identity: bearer tokens (shown once, kept as a hash, revocable), roles,
and the registrant secret rotation overlap."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services.people import registrants, staff
from chalicelib.store.models import TokenItem
from scripts import admin
from tests.conftest import payload
from tests.support import body, old_secret_signs_one_day_more

VISIT = "2026-11-27T09:30:00+08:00"
ME = "/v1/staff/me"

# who reads the visitor log, and who reviews the day's forms and report
FLOOR_READERS = frozenset(Role) - {Role.CONSULTANT}
REVIEWERS = frozenset(Role) - {Role.CONSULTANT, Role.FRONT_DESK}
# who records a violation, and who confirms proposals and answers appeals
FINE_DECIDERS = frozenset({Role.SALES_MANAGER, Role.SITE_MANAGER})
FINE_RECORDERS = FINE_DECIDERS | {Role.PARTY_A_ADMIN, Role.CHANNEL_ASSISTANT, Role.FRONT_DESK}
# Party A's console: registrants, brokers, staff and their secrets and tokens
ADMINS = frozenset({Role.PARTY_A_ADMIN})

# Every staff route and the roles that may call it. The matrix test walks it
# whole; a new staff route is added here with its roles.
ROUTES: list[tuple[str, str, frozenset[Role]]] = [
    ("GET", ME, frozenset(Role)),
    ("GET", "/v1/recommenders", frozenset(Role)),
    ("GET", "/v1/staff/directory", REVIEWERS),
    ("GET", "/v1/staff/me/customers", frozenset({Role.CONSULTANT})),
    ("POST", "/v1/consultant-registrations", frozenset({Role.CONSULTANT})),
    ("POST", "/v1/late-approvals", frozenset({Role.SALES_MANAGER})),
    ("POST", "/v1/customer-lookups", frozenset(Role) - {Role.CONSULTANT}),
    ("POST", "/v1/visits", frozenset({Role.FRONT_DESK})),
    ("GET", "/v1/visits", FLOOR_READERS),
    ("GET", "/v1/visits/vi_x", frozenset(Role)),
    ("POST", "/v1/visits/vi_x/departure", frozenset({Role.FRONT_DESK})),
    ("POST", "/v1/visits/vi_x/decisions", frozenset({Role.CHANNEL_ASSISTANT})),
    ("POST", "/v1/visits/vi_x/sign-ins", frozenset({Role.CHANNEL_ASSISTANT, Role.CONSULTANT})),
    ("POST", "/v1/visits/vi_x/assignment", frozenset({Role.FRONT_DESK})),
    ("POST", "/v1/visits/vi_x/form", frozenset({Role.CONSULTANT})),
    ("POST", "/v1/visits/vi_x/exemption", frozenset({Role.SITE_MANAGER})),
    ("POST", "/v1/visit-lookups", FLOOR_READERS),
    ("GET", "/v1/forms", REVIEWERS | {Role.CONSULTANT}),
    ("PUT", "/v1/rosters/2026-11-28", frozenset({Role.SALES_MANAGER, Role.SITE_MANAGER})),
    (
        "GET",
        "/v1/rosters/2026-11-28",
        frozenset({Role.SALES_MANAGER, Role.SITE_MANAGER, Role.FRONT_DESK, Role.CHANNEL_ASSISTANT}),
    ),
    ("GET", "/v1/reports/daily?date=2026-11-27", REVIEWERS),
    ("GET", "/v1/pool", frozenset({Role.SALES_MANAGER})),
    ("POST", "/v1/pool/assignments", frozenset({Role.SALES_MANAGER})),
    ("POST", "/v1/deals", frozenset({Role.SALES_MANAGER, Role.CONSULTANT})),
    ("POST", "/v1/fines", FINE_RECORDERS),
    ("GET", "/v1/fines", FINE_DECIDERS),
    ("POST", "/v1/fines/fn_x/decision", FINE_DECIDERS),
    ("POST", "/v1/fines/fn_x/appeal", frozenset(Role)),
    ("POST", "/v1/fines/fn_x/appeal-decision", FINE_DECIDERS),
    ("GET", "/v1/fines/statement", frozenset(Role)),
    # Party A's console
    ("GET", "/v1/registrants", ADMINS),
    ("POST", "/v1/registrants", ADMINS),
    ("POST", "/v1/registrants/reg_x/enabled", ADMINS),
    ("POST", "/v1/registrants/reg_x/secret", ADMINS),
    ("GET", "/v1/brokers", ADMINS),
    ("POST", "/v1/brokers", ADMINS),
    ("POST", "/v1/brokers/brk_x/revocation", ADMINS),
    ("GET", "/v1/staff", ADMINS),
    ("POST", "/v1/staff", ADMINS),
    ("POST", "/v1/staff/stf_x/enabled", ADMINS),
    ("POST", "/v1/staff/stf_x/tokens", ADMINS),
]


def person(api, role: Role = Role.CONSULTANT) -> tuple[str, str]:
    now = datetime.now(UTC)
    member = staff.create_staff(api.store, f"{role.value} 甲", role, now)
    return member.staff_id, staff.issue_token(api.store, member.staff_id, now).token


def call(api, method: str, path: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "GET":
        return api.client.http.get(path, headers=headers)
    headers["Content-Type"] = "application/json"
    return api.client.http.request(method, path, headers=headers, body=b"{}")


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES)
def test_role_matrix(api, role, method, path, allowed):
    """Allowed roles pass the role check (2xx, or 4xx by rule); others get 403;
    no token gets 401."""
    _, token = person(api, role)
    r = call(api, method, path, token)
    if role in allowed:
        assert r.status_code not in (401, 403), r.body
    else:
        assert r.status_code == 403
        assert payload(r)["error"]["code"] == "FORBIDDEN"
    assert call(api, method, path).status_code == 401


def test_token_names_its_holder_and_role(api):
    staff_id, token = person(api, Role.CHANNEL_ASSISTANT)
    r = call(api, "GET", ME, token)
    assert r.status_code == 200
    assert payload(r) == {
        "id": staff_id,
        "name": "channel_assistant 甲",
        "role": "channel_assistant",
    }


def test_token_is_stored_only_as_a_hash(api):
    _, token = person(api)
    token_id, _, secret = token.partition(".")
    stored = json.dumps([i.to_simple_dict() for i in TokenItem.scan()], default=str)
    assert token_id in stored
    assert secret not in stored


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer tok_x",
        "Basic dXNlcjpwYXNz",
        "Bearer tok_x.secret",
        "Bearer " + "t" * 300,
    ],
)
def test_malformed_or_unknown_tokens_are_unauthenticated(api, header):
    r = api.client.http.get(ME, headers={"Authorization": header} if header else {})
    assert r.status_code == 401
    assert payload(r)["error"]["code"] == "UNAUTHENTICATED"


def test_a_wrong_secret_for_a_real_token_id_is_unauthenticated(api):
    _, token = person(api)
    token_id, _, secret = token.partition(".")
    assert call(api, "GET", ME, f"{token_id}.{secret[:-1]}x").status_code == 401


def test_revoked_token_stops_working_and_others_keep_working(api):
    staff_id, token = person(api)
    second = staff.issue_token(api.store, staff_id, datetime.now(UTC)).token
    staff.revoke_token(api.store, token.partition(".")[0], datetime.now(UTC))
    assert call(api, "GET", ME, token).status_code == 401
    assert call(api, "GET", ME, second).status_code == 200


def test_disabled_staff_member_is_unauthenticated_until_enabled(api):
    staff_id, token = person(api)
    staff.set_staff_enabled(api.store, staff_id, False, datetime.now(UTC))
    assert call(api, "GET", ME, token).status_code == 401
    staff.set_staff_enabled(api.store, staff_id, True, datetime.now(UTC))
    assert call(api, "GET", ME, token).status_code == 200


def test_admin_bootstraps_the_first_party_a_admin_and_manages_tokens(api, capsys):
    assert admin.main(["create-staff", "--role", "party_a_admin", "--name", "甲方 周"]) == 0
    created = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert call(api, "GET", ME, created["token"]).status_code == 200
    assert admin.main(["issue-token", created["id"]]) == 0
    issued = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert admin.main(["revoke-token", created["token"].partition(".")[0]]) == 0
    assert call(api, "GET", ME, created["token"]).status_code == 401
    assert call(api, "GET", ME, issued["token"]).status_code == 200
    assert admin.main(["disable-staff", created["id"]]) == 0
    assert call(api, "GET", ME, issued["token"]).status_code == 401
    assert admin.main(["list-staff"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {
        "id": created["id"],
        "name": "甲方 周",
        "role": "party_a_admin",
        "enabled": False,
    } in listed
    assert admin.main(["revoke-token", "tok_nothing"]) == 1


def test_rotated_secret_overlaps_24_hours(api, clock):
    """The old secret keeps signing at +23 h 59 m and stops at +24 h 1 m; the new
    one signs at once."""
    channel = api.registrant(Source.CHANNEL)
    rotated = registrants.rotate_secret(api.store, channel.registrant_id, datetime.now(UTC))
    assert rotated.secret != channel.secret
    new = type(channel)(channel.registrant_id, channel.kind, channel.name, rotated.secret, True)
    old_secret_signs_one_day_more(api, clock, channel, new)


def test_admin_rotates_a_secret_and_shows_the_new_one_once(api, capsys):
    channel = api.registrant(Source.CHANNEL)
    assert admin.main(["rotate-registrant-secret", channel.registrant_id]) == 0
    shown = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert shown["secret"].startswith("whsec_") and shown["secret"] != channel.secret
    assert (
        shown["previous_secret_valid_until"] == "2026-11-28T10:00:00+08:00"
    )  # Shanghai, as the API
    assert admin.main(["rotate-registrant-secret", "reg_nobody"]) == 1


def test_a_leaked_secret_is_rotated_at_once(api, capsys):
    """--at-once: the old secret signs nothing from this instant."""
    channel = api.registrant(Source.CHANNEL)
    assert admin.main(["rotate-registrant-secret", "--at-once", channel.registrant_id]) == 0
    shown = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert api.register(channel, body("13800000002", VISIT)).status_code == 401
    new = type(channel)(channel.registrant_id, channel.kind, channel.name, shown["secret"], True)
    assert api.register(new, body("13800000002", VISIT)).status_code == 201


def test_operator_actions_are_audited(api, capsys):
    """Registrant and staff changes leave an entry each, actor "operator"."""
    channel = api.registrant(Source.CHANNEL)
    admin.main(["rotate-registrant-secret", channel.registrant_id])
    admin.main(["disable-registrant", channel.registrant_id])
    admin.main(["create-staff", "--role", "consultant", "--name", "张"])
    created = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    admin.main(["disable-staff", created["id"]])
    admin.main(["revoke-token", created["token"].partition(".")[0]])
    # all at one frozen instant: entries of one millisecond have no order
    registrant_trail = api.store.audit_trail(f"registrant:{channel.registrant_id}")
    assert {e.action for e in registrant_trail} == {
        "registrant.secret_rotated",
        "registrant.disabled",
    }
    staff_trail = api.store.audit_trail(f"staff:{created['id']}")
    actions = {e.action.split(" tok_")[0] for e in staff_trail}
    assert actions == {"staff.created as consultant", "token.issued", "staff.disabled"}
    assert {e.actor for e in registrant_trail + staff_trail} == {"operator"}
    [revoked] = api.store.audit_trail(f"token:{created['token'].partition('.')[0]}")
    assert revoked.action == "token.revoked"
