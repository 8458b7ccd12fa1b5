"""The inside of the sales office: walk-ins (R-REG-1), crowd brokers (R-REG-4),
late approvals (R-REG-1, R-REG-2), and how they meet R-DUP-1 and R-PROT-1."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services.people import brokers, staff
from chalicelib.settings import settings
from scripts import admin
from tests.conftest import payload
from tests.support import body, shanghai

TODAY_VISIT = "2026-11-27T09:30:00+08:00"  # the clock stands at 10:00 Shanghai
CARD = "37010219800101001X"


def token(api, role: Role) -> str:
    now = datetime.now(UTC)
    member = staff.create_staff(api.store, f"{role.value} 甲", role, now)
    return staff.issue_token(api.store, member.staff_id, now).token


def post(api, path: str, who: str, doc: dict, key: str | None = "auto"):
    headers = {"Authorization": f"Bearer {who}", "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = secrets.token_hex(6) if key == "auto" else key
    return api.client.http.post(path, headers=headers, body=json.dumps(doc).encode())


def walk_in(api, consultant: str, phone="138 1234 5678", visit=TODAY_VISIT, **kw):
    return post(api, "/v1/consultant-registrations", consultant, body(phone, visit), **kw)


def certify(now: datetime, store, card=CARD, **kw):
    return brokers.certify(
        store,
        settings().phone_hmac_key,
        name="经纪人 李",
        phone="13900000001",
        id_card=card,
        now=now,
        **kw,
    )


def broker_registration(
    api, consultant, broker_id, card=CARD, phone="138 1234 5678", visit=TODAY_VISIT
):
    doc = {**body(phone, visit), "broker": {"broker_id": broker_id, "id_card": card}}
    return post(api, "/v1/consultant-registrations", consultant, doc)


def test_walk_in_is_the_consultants_and_blocks_a_channel(api):
    """R-REG-1 and R-DUP-1: walk-in then channel → 409."""
    consultant = token(api, Role.CONSULTANT)
    r = walk_in(api, consultant)
    assert r.status_code == 201
    assert payload(r)["status"] == "owned"
    assert payload(r)["protection"] is None
    channel = api.registrant(Source.CHANNEL)
    refused = api.register(channel, body(visit_at=TODAY_VISIT))
    assert refused.status_code == 409
    assert payload(refused)["error"]["rule"] == "R-DUP-1"


def test_channel_protection_blocks_a_walk_in(api):
    """R-DUP-1: a customer a channel holds is not a natural customer."""
    api.register(api.registrant(Source.CHANNEL), body(visit_at=TODAY_VISIT))
    r = walk_in(api, token(api, Role.CONSULTANT))
    assert (r.status_code, payload(r)["error"]["code"]) == (409, "DUPLICATE_LIVE_CLAIM")


def approve(api, manager, registrant_id, visit_date="2026-11-26", phone="13812345678"):
    doc = {
        "phone": phone,
        "registrant_id": registrant_id,
        "visit_date": visit_date,
        "reason": "系统故障，当天未能录入",
    }
    return post(api, "/v1/late-approvals", manager, doc, key=None)


def test_late_walk_in_without_approval_is_refused(api):
    """R-REG-1: yesterday's visit entered today needs an approval."""
    r = walk_in(api, token(api, Role.CONSULTANT), visit="2026-11-26T15:00:00+08:00")
    assert (r.status_code, payload(r)["error"]["rule"]) == (409, "R-REG-1")


@pytest.mark.parametrize(
    ("at", "status"), [("2026-11-28T17:59:00+08:00", 201), ("2026-11-28T18:01:00+08:00", 409)]
)
def test_late_walk_in_with_approval_is_accepted_until_1800_next_day(api, clock, at, status):
    """R-REG-1: approval by the sales manager; accepted at 17:59 next day, refused at 18:01."""
    consultant_token = token(api, Role.CONSULTANT)
    me = payload(
        api.client.http.get("/v1/staff/me", headers={"Authorization": f"Bearer {consultant_token}"})
    )
    clock.move_to("2026-11-28T09:00:00+08:00")
    approved = approve(api, token(api, Role.SALES_MANAGER), me["id"], visit_date="2026-11-27")
    assert approved.status_code == 201
    assert payload(approved)["valid_until"] == "2026-11-28T18:00:00+08:00"
    clock.move_to(at)
    r = walk_in(api, consultant_token, visit="2026-11-27T20:00:00+08:00")
    assert r.status_code == status
    if status == 409:
        assert payload(r)["error"] == {
            **payload(r)["error"],
            "code": "REGISTRATION_TOO_LATE",
            "rule": "R-REG-1",
        }


def test_the_same_approval_unlocks_a_channels_late_registration(api):
    """R-REG-2: a channel's late entry with a sales manager's approval."""
    channel = api.registrant(Source.CHANNEL)
    late = body(visit_at="2026-11-26T20:00:00+08:00")
    assert payload(api.register(channel, late))["error"]["rule"] == "R-REG-2"
    assert approve(api, token(api, Role.SALES_MANAGER), channel.registrant_id).status_code == 201
    assert api.register(channel, late).status_code == 201


def test_only_a_sales_manager_approves_and_a_future_visit_cannot_be_approved(api):
    assert approve(api, token(api, Role.CONSULTANT), "reg_x").status_code == 403
    r = approve(api, token(api, Role.SALES_MANAGER), "reg_x", visit_date="2026-11-28")
    assert (r.status_code, payload(r)["error"]["fields"][0]["field"]) == (400, "visit_date")


def test_broker_customer_is_protected_60_days_and_counts_as_a_recommendation(api, clock):
    """R-REG-4 with R-PROT-1/2: a broker's recommendation is like any other."""
    broker = certify(datetime.now(UTC) - timedelta(days=1), api.store)
    consultant = token(api, Role.CONSULTANT)
    r = broker_registration(api, consultant, broker.broker_id, card=CARD.lower())
    assert r.status_code == 201
    assert payload(r)["protection"]["ordinal"] == 1
    assert payload(r)["protection"]["ends_at"] == "2027-01-26T10:00:00+08:00"
    channel = api.registrant(Source.CHANNEL)
    assert payload(api.register(channel, body(visit_at=TODAY_VISIT)))["error"]["rule"] == "R-DUP-1"


def test_broker_certified_one_second_after_the_registration_is_not_recognized(api):
    """R-REG-4: the certification must precede the registration."""
    broker = certify(datetime.now(UTC) + timedelta(seconds=1), api.store)
    r = broker_registration(api, token(api, Role.CONSULTANT), broker.broker_id)
    assert (r.status_code, payload(r)["error"]["code"]) == (409, "BROKER_NOT_CERTIFIED")
    assert payload(r)["error"]["rule"] == "R-REG-4"


@pytest.mark.parametrize(
    ("certified", "status", "code"),
    [("2026-12-07 14:59", 201, None), ("2026-12-07 15:00", 409, "BROKER_NOT_CERTIFIED")],
)
def test_broker_certified_after_the_customers_deal_is_not_recognized_for_them(
    api, clock, certified, status, code
):
    """R-REG-4 (先成交后认定为经纪人的不予承认): a channel's customer buys on
    7 December at 15:00; once the channel's protection has ended, a broker
    certified before the deal recommends them (the second recommendation), a
    broker certified at the deal or after it is refused with R-REG-4."""
    channel = api.registrant(Source.CHANNEL)
    assert api.register(channel, body(visit_at=TODAY_VISIT)).status_code == 201
    clock.move_to(shanghai(certified))
    broker = certify(datetime.now(UTC), api.store)
    clock.move_to(shanghai("2026-12-07 15:00"))
    manager = token(api, Role.SALES_MANAGER)
    assert post(api, "/v1/deals", manager, {"phone": "13812345678"}).status_code == 201
    clock.move_to(shanghai("2027-01-26 10:00"))  # the channel's protection has just ended
    r = broker_registration(
        api, token(api, Role.CONSULTANT), broker.broker_id, visit="2027-01-26T09:30:00+08:00"
    )
    assert r.status_code == status, r.body
    if code is None:
        assert payload(r)["protection"]["ordinal"] == 2
    else:
        assert (payload(r)["error"]["code"], payload(r)["error"]["rule"]) == (code, "R-REG-4")


def test_wrong_id_card_is_a_mismatch(api):
    """R-REG-4: the card shown must match the certified broker's record."""
    broker = certify(datetime.now(UTC) - timedelta(days=1), api.store)
    r = broker_registration(
        api, token(api, Role.CONSULTANT), broker.broker_id, card="370102198001010028"
    )
    assert (r.status_code, payload(r)["error"]["code"]) == (409, "BROKER_ID_MISMATCH")


def test_expired_or_revoked_broker_is_not_certified(api, clock):
    """R-REG-4: certification must hold at the registration instant."""
    now = datetime.now(UTC)
    expiring = certify(now - timedelta(days=10), api.store, expires_at=now)
    consultant = token(api, Role.CONSULTANT)
    r = broker_registration(api, consultant, expiring.broker_id)
    assert payload(r)["error"]["code"] == "BROKER_NOT_CERTIFIED"
    revoked = certify(now - timedelta(days=10), api.store)
    brokers.revoke(api.store, revoked.broker_id, now)
    r = broker_registration(api, consultant, revoked.broker_id, phone="13900000009")
    assert payload(r)["error"]["code"] == "BROKER_NOT_CERTIFIED"
    unknown = broker_registration(api, consultant, "brk_nobody", phone="13900000008")
    assert payload(unknown)["error"]["code"] == "BROKER_NOT_CERTIFIED"


def test_id_card_is_kept_only_as_a_keyed_hash_and_last_four(api):
    from chalicelib.store.models import BrokerItem

    certify(datetime.now(UTC), api.store)
    stored = json.dumps([i.to_simple_dict() for i in BrokerItem.scan()], default=str)
    assert CARD not in stored and CARD[:14] not in stored
    assert '"001X"' in stored


def test_consultant_registration_is_idempotent_per_consultant_key(api):
    consultant = token(api, Role.CONSULTANT)
    first = walk_in(api, consultant, key="visit-1")
    again = walk_in(api, consultant, key="visit-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.body == again.body
    assert again.headers["Idempotent-Replayed"] == "true"


def test_only_consultants_register_walk_ins(api):
    for role in (Role.FRONT_DESK, Role.CHANNEL_ASSISTANT, Role.SALES_MANAGER):
        assert walk_in(api, token(api, role)).status_code == 403


def test_admin_certifies_lists_and_revokes_brokers(api, capsys):
    """R-REG-4 from the operator's commands."""
    assert (
        admin.main(
            ["certify-broker", "--name", "李", "--phone", "139 0000 0001", "--id-card", CARD]
        )
        == 0
    )
    shown = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert shown["id_card_last4"] == "001X" and shown["phone_masked"] == "139****0001"
    assert admin.main(["list-brokers"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [b["id"] for b in listed] == [shown["id"]]
    assert admin.main(["revoke-broker", shown["id"]]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["revoked_at"]
    assert admin.main(["certify-broker", "--name", "李", "--phone", "139", "--id-card", "x"]) == 1


def test_broker_refusals_are_audited_with_their_rule(api, clock):
    """R-REG-4: a refused broker registration leaves its audit entry."""
    from chalicelib.rules.phone import customer_key
    from chalicelib.services.registration.registrations import customer_subject

    late = certify(datetime.now(UTC) + timedelta(seconds=1), api.store)
    consultant = token(api, Role.CONSULTANT)
    broker_registration(api, consultant, late.broker_id)
    clock.shift(timedelta(seconds=2))
    on_time = certify(datetime.now(UTC) - timedelta(seconds=1), api.store)
    broker_registration(api, consultant, on_time.broker_id, card="370102198001010028")
    subject = customer_subject(customer_key("13812345678", settings().phone_hmac_key))
    trail = api.store.audit_trail(subject)
    assert [(e.action, e.rule, e.code) for e in trail] == [
        ("registration.refused", "R-REG-4", "BROKER_NOT_CERTIFIED"),
        ("registration.refused", "R-REG-4", "BROKER_ID_MISMATCH"),
    ]
