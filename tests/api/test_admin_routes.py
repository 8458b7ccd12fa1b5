"""Party A's administration (R-REG-4): the admin certifies, lists and disables crowd
brokers and registrants, issues and rotates their secrets, and manages staff
and their tokens, over HTTP; every change is audited with the admin as actor."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.records import Registrant
from chalicelib.rules.staff import Role
from chalicelib.store.models import BrokerItem, RegistrantItem, TokenItem
from tests.api.floor_support import Person, person
from tests.conftest import payload
from tests.support import body, old_secret_signs_one_day_more, snapshot

VISIT = "2026-11-27T09:30:00+08:00"  # the clock stands at 10:00 Shanghai
CARD = "37010219800101001X"


@pytest.fixture
def admin(api) -> Person:
    return person(api, Role.PARTY_A_ADMIN, "甲方 周")


def created_registrant(admin: Person, kind: str = "channel", name: str = "鲁信渠道") -> dict:
    r = admin.post("/v1/registrants", {"kind": kind, "name": name})
    assert r.status_code == 201, r.body
    return dict(payload(r))


def as_registrant(doc: dict, secret: str | None = None) -> Registrant:
    """The registrant as an outside company holds it: id, kind and a secret."""
    return Registrant(doc["id"], Source(doc["kind"]), doc["name"], secret or doc["secret"], True)


def certified_broker(admin: Person, **doc) -> dict:
    r = admin.post(
        "/v1/brokers", {"name": "经纪人 李", "phone": "139 0000 0001", "id_card": CARD, **doc}
    )
    assert r.status_code == 201, r.body
    return dict(payload(r))


# -- registrants ------------------------------------------------------------------


def test_new_registrant_signs_with_the_secret_shown_once(api, admin):
    created = created_registrant(admin)
    assert created["secret"].startswith("whsec_")
    assert created["enabled"] is True
    assert created["created_at"] == "2026-11-27T10:00:00+08:00"
    channel = as_registrant(created)
    assert api.register(channel, body(visit_at=VISIT)).status_code == 201
    listed = payload(admin.get("/v1/registrants"))["registrants"]
    assert listed == [{k: v for k, v in created.items() if k != "secret"}]
    assert created["secret"] not in json.dumps(listed)


def test_the_kind_is_one_a_registrant_may_have(admin):
    for kind in ("consultant", "broker", "Channel", 1):
        r = admin.post("/v1/registrants", {"kind": kind, "name": "x"})
        assert r.status_code == 400
        assert [f["field"] for f in payload(r)["error"]["fields"]] == ["kind"]


def test_a_registrant_name_is_1_to_64_characters_and_no_other_field(admin):
    for doc in ({"kind": "channel", "name": ""}, {"kind": "channel", "name": "名" * 65}):
        assert payload(admin.post("/v1/registrants", doc))["error"]["fields"][0]["field"] == "name"
    r = admin.post("/v1/registrants", {"kind": "channel", "name": "甲", "secret": "whsec_mine"})
    assert r.status_code == 400
    assert payload(r)["error"]["fields"] == [{"field": "secret", "message": "unknown field"}]
    assert created_registrant(admin, name="名" * 64)["name"] == "名" * 64


def test_disabled_registrant_is_refused_401(api, admin):
    channel = as_registrant(created_registrant(admin))
    path = f"/v1/registrants/{channel.registrant_id}/enabled"
    r = admin.post(path, {"enabled": False})
    assert r.status_code == 200
    assert payload(r)["enabled"] is False and "secret" not in payload(r)
    assert api.register(channel, body(visit_at=VISIT)).status_code == 401
    assert payload(admin.post(path, {"enabled": True}))["enabled"] is True
    assert api.register(channel, body(visit_at=VISIT)).status_code == 201


def test_enabling_an_unknown_registrant_is_404(admin):
    for registrant_id in ("reg_nobody", "not an id!"):
        r = admin.post(f"/v1/registrants/{registrant_id}/enabled", {"enabled": False})
        assert r.status_code == 404
    assert admin.post("/v1/registrants/reg_nobody/secret", {}).status_code == 404


def test_enabled_must_be_a_boolean(admin):
    channel = created_registrant(admin)
    for doc in ({"enabled": "false"}, {"enabled": 0}, {}):
        r = admin.post(f"/v1/registrants/{channel['id']}/enabled", doc)
        assert r.status_code == 400
        assert payload(r)["error"]["fields"][0]["field"] == "enabled"


def test_rotated_secret_is_shown_once_and_old_one_works_a_day(api, admin, clock):
    created = created_registrant(admin)
    old = as_registrant(created)
    r = admin.post(f"/v1/registrants/{created['id']}/secret", {})
    assert r.status_code == 201
    rotated = payload(r)
    assert set(rotated) == {"id", "secret", "previous_secret_valid_until"}
    assert rotated["previous_secret_valid_until"] == "2026-11-28T10:00:00+08:00"
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    new = as_registrant(created, rotated["secret"])
    assert rotated["secret"] not in json.dumps(payload(admin.get("/v1/registrants")))
    old_secret_signs_one_day_more(api, clock, old, new)


def test_a_leaked_secret_stops_at_once(api, admin):
    created = created_registrant(admin)
    r = admin.post(f"/v1/registrants/{created['id']}/secret", {"at_once": True})
    assert payload(r)["previous_secret_valid_until"] == "2026-11-27T10:00:00+08:00"
    assert api.register(as_registrant(created), body(visit_at=VISIT)).status_code == 401
    new = as_registrant(created, payload(r)["secret"])
    assert api.register(new, body(visit_at=VISIT)).status_code == 201


# -- crowd brokers (R-REG-4) --------------------------------------------------------


def test_certified_broker_is_listed_masked_and_certified_from_the_next_instant(admin, clock):
    """R-REG-4: certification must precede the registration strictly."""
    shown = certified_broker(admin, expires_at="2027-11-27T00:00:00+08:00")
    assert shown["phone_masked"] == "139****0001"
    assert shown["id_card_last4"] == "001X"
    assert (shown["certified"], shown["certified_at"]) == (False, "2026-11-27T10:00:00+08:00")
    assert (shown["expires_at"], shown["revoked_at"]) == ("2027-11-27T00:00:00+08:00", None)
    clock.shift(timedelta(seconds=1))
    (listed,) = payload(admin.get("/v1/brokers"))["brokers"]
    assert listed == {**shown, "certified": True}
    text = json.dumps(listed) + json.dumps([i.to_simple_dict() for i in BrokerItem.scan()])
    assert "13900000001" not in text and CARD not in text


def test_a_bad_phone_is_invalid_phone_and_a_bad_card_a_validation_error(admin):
    r = admin.post("/v1/brokers", {"name": "李", "phone": "010-1234", "id_card": CARD})
    assert (r.status_code, payload(r)["error"]["code"]) == (400, "INVALID_PHONE")
    r = admin.post("/v1/brokers", {"name": "李", "phone": "13900000001", "id_card": "1234"})
    assert (r.status_code, payload(r)["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert payload(r)["error"]["fields"][0]["field"] == "id_card"
    past = {"name": "李", "phone": "13900000001", "id_card": CARD, "expires_at": VISIT}
    assert payload(admin.post("/v1/brokers", past))["error"]["fields"][0]["field"] == "expires_at"


def test_revoked_broker_no_longer_recommends_and_revoking_again_changes_nothing(api, admin, clock):
    broker = certified_broker(admin)
    clock.shift(timedelta(minutes=1))
    r = admin.post(f"/v1/brokers/{broker['id']}/revocation", {})
    assert r.status_code == 200
    assert (payload(r)["certified"], payload(r)["revoked_at"]) == (
        False,
        "2026-11-27T10:01:00+08:00",
    )
    consultant = person(api, Role.CONSULTANT)
    doc = {**body(visit_at=VISIT), "broker": {"broker_id": broker["id"], "id_card": CARD}}
    refused = consultant.post("/v1/consultant-registrations", doc, key="k-1")
    assert payload(refused)["error"]["code"] == "BROKER_NOT_CERTIFIED"
    clock.shift(timedelta(minutes=1))
    again = admin.post(f"/v1/brokers/{broker['id']}/revocation", {})
    assert (again.status_code, payload(again)) == (200, payload(r))
    assert admin.post("/v1/brokers/brk_nobody/revocation", {}).status_code == 404
    assert admin.post(f"/v1/brokers/{broker['id']}/revocation", {"now": True}).status_code == 400


# -- staff ------------------------------------------------------------------------------


def test_new_staff_token_signs_in(api, admin):
    r = admin.post("/v1/staff", {"name": "顾问 张", "role": "consultant"})
    assert r.status_code == 201
    created = payload(r)
    assert set(created) == {"id", "name", "role", "enabled", "token"}
    assert (created["role"], created["enabled"]) == ("consultant", True)
    me = api.client.http.get(
        "/v1/staff/me", headers={"Authorization": f"Bearer {created['token']}"}
    )
    assert payload(me) == {"id": created["id"], "name": "顾问 张", "role": "consultant"}
    listed = payload(admin.get("/v1/staff"))["staff"]
    assert {k: v for k, v in created.items() if k != "token"} in listed
    assert "tok_" not in json.dumps(listed)


def test_another_token_signs_in_and_is_stored_only_as_a_hash(api, admin):
    created = payload(admin.post("/v1/staff", {"name": "前台 李", "role": "front_desk"}))
    r = admin.post(f"/v1/staff/{created['id']}/tokens", {})
    assert r.status_code == 201
    issued = payload(r)
    assert issued["token"].startswith(issued["token_id"] + ".")
    me = api.client.http.get("/v1/staff/me", headers={"Authorization": f"Bearer {issued['token']}"})
    assert me.status_code == 200
    secret = issued["token"].partition(".")[2]
    assert secret not in json.dumps([i.to_simple_dict() for i in TokenItem.scan()])
    assert admin.post("/v1/staff/stf_nobody/tokens", {}).status_code == 404


def test_a_role_is_one_of_the_roles(admin):
    for role in ("owner", "PARTY_A_ADMIN", None):
        r = admin.post("/v1/staff", {"name": "x", "role": role})
        assert r.status_code == 400
        assert payload(r)["error"]["fields"][0]["field"] == "role"


def test_disabled_staff_member_is_refused_until_enabled(api, admin):
    member = person(api, Role.CONSULTANT)
    r = admin.post(f"/v1/staff/{member.id}/enabled", {"enabled": False})
    assert r.status_code == 200
    assert payload(r) == {
        "id": member.id,
        "name": "consultant",
        "role": "consultant",
        "enabled": False,
    }
    assert member.get("/v1/staff/me").status_code == 401
    admin.post(f"/v1/staff/{member.id}/enabled", {"enabled": True})
    assert member.get("/v1/staff/me").status_code == 200
    assert admin.post("/v1/staff/stf_nobody/enabled", {"enabled": True}).status_code == 404


def test_admin_cannot_disable_themself(admin):
    before = snapshot()
    r = admin.post(f"/v1/staff/{admin.id}/enabled", {"enabled": False})
    assert r.status_code == 409
    assert payload(r)["error"]["code"] == "CANNOT_DISABLE_SELF"
    assert snapshot() == before
    assert admin.get("/v1/staff/me").status_code == 200
    assert admin.post(f"/v1/staff/{admin.id}/enabled", {"enabled": True}).status_code == 200


def test_one_admin_may_disable_another(api, admin):
    other = person(api, Role.PARTY_A_ADMIN, "甲方 吴")
    assert admin.post(f"/v1/staff/{other.id}/enabled", {"enabled": False}).status_code == 200
    assert other.get("/v1/staff").status_code == 401


# -- who may ----------------------------------------------------------------------------


def test_consultant_may_not_list_staff(api):
    consultant = person(api, Role.CONSULTANT)
    r = consultant.get("/v1/staff")
    assert (r.status_code, payload(r)["error"]["code"]) == (403, "FORBIDDEN")


@pytest.mark.parametrize("role", sorted(set(Role) - {Role.PARTY_A_ADMIN}))
def test_only_party_a_admins_issue_secrets_or_tokens(api, role):
    caller = person(api, role)
    channel = api.registrant(Source.CHANNEL)
    before = snapshot()
    for path, doc in (
        ("/v1/registrants", {"kind": "channel", "name": "x"}),
        (f"/v1/registrants/{channel.registrant_id}/secret", {}),
        ("/v1/staff", {"name": "x", "role": "party_a_admin"}),
        (f"/v1/staff/{caller.id}/tokens", {}),
    ):
        assert caller.post(path, doc).status_code == 403
    assert snapshot() == before


def test_without_a_token_every_party_a_route_is_401(api):
    for path in ("/v1/registrants", "/v1/brokers", "/v1/staff"):
        assert api.client.http.get(path).status_code == 401


# -- the audit trail --------------------------------------------------------------------


def test_every_change_is_audited_with_the_acting_admin(api, admin, clock):
    channel = created_registrant(admin)
    admin.post(f"/v1/registrants/{channel['id']}/secret", {})
    admin.post(f"/v1/registrants/{channel['id']}/enabled", {"enabled": False})
    broker = certified_broker(admin)
    clock.shift(timedelta(seconds=1))
    admin.post(f"/v1/brokers/{broker['id']}/revocation", {})
    member = payload(admin.post("/v1/staff", {"name": "张", "role": "consultant"}))
    admin.post(f"/v1/staff/{member['id']}/tokens", {})
    admin.post(f"/v1/staff/{member['id']}/enabled", {"enabled": False})

    registrant_trail = api.store.audit_trail(f"registrant:{channel['id']}")
    broker_trail = api.store.audit_trail(f"broker:{broker['id']}")
    staff_trail = api.store.audit_trail(f"staff:{member['id']}")
    assert {e.action for e in registrant_trail} == {
        "registrant.created",
        "registrant.secret_rotated",
        "registrant.disabled",
    }
    assert [e.action for e in broker_trail] == ["broker.certified", "broker.revoked"]
    assert sorted(e.action.split(" tok_")[0] for e in staff_trail) == [
        "staff.created as consultant",
        "staff.disabled",
        "token.issued",
        "token.issued",
    ]
    entries = registrant_trail + broker_trail + staff_trail
    assert {e.actor for e in entries} == {admin.id}
    assert all(e.request_id for e in entries)
    stored = json.dumps([e.__dict__ for e in entries], default=str)
    assert "whsec_" not in stored and member["token"] not in stored


def test_secrets_are_kept_only_where_signatures_are_checked(admin):
    """The registrant's secret is stored in its own record (HMAC needs it;
    docs/architecture.md) and nowhere else: not in the audit trail."""
    created = created_registrant(admin)
    (item,) = RegistrantItem.scan()
    assert item.secret == created["secret"]
    everything = json.dumps(snapshot(), ensure_ascii=False)
    assert everything.count(created["secret"]) == 1


def test_every_role_reads_who_may_accompany_by_name_only(api, clock):
    """The floor's pickers: enabled registrants and brokers certified now;
    no secret, phone or ID card (GET /v1/recommenders)."""
    admin = person(api, Role.PARTY_A_ADMIN)
    channel = api.registrant(Source.CHANNEL, name="鲁信渠道")
    gone = api.registrant(Source.CHANNEL, name="停用渠道")
    assert (
        admin.post(f"/v1/registrants/{gone.registrant_id}/enabled", {"enabled": False}).status_code
        == 200
    )
    kept = payload(
        admin.post(
            "/v1/brokers",
            {"name": "经纪人 李", "phone": "13900000001", "id_card": "99999919800101001X"},
        )
    )
    dropped = payload(
        admin.post(
            "/v1/brokers",
            {"name": "经纪人 吴", "phone": "13900000002", "id_card": "999999199002020028"},
        )
    )
    assert admin.post(f"/v1/brokers/{dropped['id']}/revocation", {}).status_code == 200
    desk = person(api, Role.FRONT_DESK)
    # R-REG-4: certified strictly before the moment a recommendation is made
    assert payload(desk.get("/v1/recommenders"))["brokers"] == []
    clock.shift(60)
    r = desk.get("/v1/recommenders")
    assert r.status_code == 200
    assert payload(r) == {
        "registrants": [{"id": channel.registrant_id, "name": "鲁信渠道", "kind": "channel"}],
        "brokers": [{"id": kept["id"], "name": "经纪人 李"}],
    }
    assert "whsec_" not in r.body.decode() and "1390000" not in r.body.decode()
