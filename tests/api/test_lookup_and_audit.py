"""判客 lookup (R-FLOOR-2 with R-DUP-1) and the audit trail of every decision."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services.people import brokers, staff
from chalicelib.settings import settings
from chalicelib.store.models import AuditItem
from tests.conftest import payload
from tests.support import body

VISIT = "2026-11-27T09:30:00+08:00"


def token(api, role: Role, name: str | None = None) -> tuple[str, str]:
    now = datetime.now(UTC)
    member = staff.create_staff(api.store, name or role.value, role, now)
    return member.staff_id, staff.issue_token(api.store, member.staff_id, now).token


def post(api, path, who, doc, key=None):
    headers = {"Authorization": f"Bearer {who}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    return api.client.http.post(path, headers=headers, body=json.dumps(doc).encode())


def look_up(api, who, phone="138-1234-5678"):
    return post(api, "/v1/customer-lookups", who, {"phone": phone})


def test_channel_assistant_sees_the_live_claim_count_and_history(api, clock):
    """R-DUP-1 as the floor sees it: who holds the customer, since and until when."""
    _, assistant = token(api, Role.CHANNEL_ASSISTANT)
    first = api.registrant(Source.CHANNEL, name="渠道甲")
    second = api.registrant(Source.CHANNEL, name="渠道乙")
    created = payload(api.register(first, body(visit_at=VISIT), key="k-a"))
    clock.shift(timedelta(seconds=1))  # entries of one millisecond have no order
    api.register(second, body("+86 13812345678", VISIT), key="k-b")
    r = look_up(api, assistant, "138 1234 5678")
    assert r.status_code == 200
    doc = payload(r)
    assert doc["phone_masked"] == "138****5678"
    assert (doc["known"], doc["recommendations"]) == (True, 1)
    [live] = doc["live_claims"]
    assert live == {
        "registration_id": created["registration_id"],
        "holder_id": first.registrant_id,
        "holder_name": "渠道甲",
        "kind": "channel",
        "status": "protected",
        "ordinal": 1,
        "since": "2026-11-27T10:00:00+08:00",
        "until": "2027-01-26T10:00:00+08:00",
    }
    actions = [(h["action"], h["actor"], h["rule"]) for h in doc["history"]]
    assert actions == [
        ("registration.accepted", first.registrant_id, None),
        ("registration.refused", second.registrant_id, "R-DUP-1"),
    ]
    clock.move_to("2027-01-26T10:00:00+08:00")
    later = payload(look_up(api, assistant))
    assert later["live_claims"] == []
    assert later["claims"][0]["status"] == "expired"


def test_front_desk_sees_only_whether_known_and_whom_to_call(api):
    _, desk = token(api, Role.FRONT_DESK)
    assert payload(look_up(api, desk)) == {
        "known": False,
        "call": "consultant_on_duty",
        "consultant": None,
    }
    channel = api.registrant(Source.CHANNEL, name="渠道甲")
    api.register(channel, body(visit_at=VISIT))
    seen = payload(look_up(api, desk))
    assert seen == {"known": True, "call": "channel_assistant", "consultant": None}
    assert channel.registrant_id not in json.dumps(seen)


def test_front_desk_is_told_which_consultant_owns_a_walk_in(api):
    """R-REG-1 ownership, as the front desk needs it."""
    consultant_id, consultant = token(api, Role.CONSULTANT, "置业顾问 张")
    post(api, "/v1/consultant-registrations", consultant, body(visit_at=VISIT), key="w-1")
    _, desk = token(api, Role.FRONT_DESK)
    assert payload(look_up(api, desk)) == {
        "known": True,
        "call": "consultant",
        "consultant": {"id": consultant_id, "name": "置业顾问 张"},
    }


def test_consultants_cannot_look_customers_up(api):
    _, consultant = token(api, Role.CONSULTANT)
    assert look_up(api, consultant).status_code == 403


def test_every_decision_is_audited_with_who_when_rule_and_request_id(api, clock):
    """R-REG-1, R-REG-2, R-REG-4: accepted, refused, approved, certified, revoked."""
    manager_id, manager = token(api, Role.SALES_MANAGER)
    consultant_id, consultant = token(api, Role.CONSULTANT)
    channel = api.registrant(Source.CHANNEL)
    late = body(visit_at="2026-11-26T20:00:00+08:00")
    api.register(channel, late, key="late-1")
    clock.shift(timedelta(seconds=1))  # entries of one millisecond have no order
    approval = {
        "phone": "13812345678",
        "registrant_id": channel.registrant_id,
        "visit_date": "2026-11-26",
        "reason": "客户 13912345678 当天系统故障",
    }
    assert post(api, "/v1/late-approvals", manager, approval).status_code == 201
    clock.shift(timedelta(seconds=1))
    assert api.register(channel, late, key="late-2").status_code == 201
    clock.shift(timedelta(seconds=1))
    walk_in = post(api, "/v1/consultant-registrations", consultant, body(visit_at=VISIT), "w-1")
    assert payload(walk_in)["error"]["rule"] == "R-DUP-1"
    _, assistant = token(api, Role.CHANNEL_ASSISTANT)
    history = payload(look_up(api, assistant))["history"]
    assert [(h["action"], h["actor"], h["rule"]) for h in history] == [
        ("registration.refused", channel.registrant_id, "R-REG-2"),
        ("late_entry.approved", manager_id, None),
        ("registration.accepted", channel.registrant_id, None),
        ("registration.refused", consultant_id, "R-DUP-1"),
    ]
    assert [h["at"][11:19] for h in history] == ["10:00:00", "10:00:01", "10:00:02", "10:00:03"]
    assert all(h["request_id"] for h in history)
    assert "13912345678" not in json.dumps(history)  # a phone typed in a reason is masked
    broker = brokers.certify(
        api.store,
        settings().phone_hmac_key,
        name="李",
        phone="13900000001",
        id_card="37010219800101001X",
        now=datetime.now(UTC),
    )
    brokers.revoke(api.store, broker.broker_id, datetime.now(UTC) + timedelta(seconds=1))
    trail = api.store.audit_trail(f"broker:{broker.broker_id}")
    assert [e.action for e in trail] == ["broker.certified", "broker.revoked"]


def test_the_audit_trail_has_no_route_that_writes_it(api):
    """Append-only: no served route can change or delete an audit entry."""
    from app import app

    writers = {(m, p) for p, methods in app.routes.items() for m in methods if m != "GET"}
    assert writers == {
        ("POST", "/v1/registrations"),
        ("POST", "/v1/consultant-registrations"),
        ("POST", "/v1/late-approvals"),
        ("POST", "/v1/customer-lookups"),
        ("POST", "/v1/visits"),
        ("POST", "/v1/visits/{visit_id}/departure"),
        ("POST", "/v1/visits/{visit_id}/decisions"),
        ("POST", "/v1/visits/{visit_id}/sign-ins"),
        ("POST", "/v1/visits/{visit_id}/assignment"),
        ("POST", "/v1/visits/{visit_id}/form"),
        ("POST", "/v1/visits/{visit_id}/exemption"),
        ("POST", "/v1/visit-lookups"),
        ("PUT", "/v1/rosters/{day}"),
        ("POST", "/v1/pool/assignments"),
        ("POST", "/v1/deals"),
        ("POST", "/v1/fines"),
        ("POST", "/v1/fines/{fine_id}/decision"),
        ("POST", "/v1/fines/{fine_id}/appeal"),
        ("POST", "/v1/fines/{fine_id}/appeal-decision"),
        ("POST", "/v1/registrants"),
        ("POST", "/v1/registrants/{registrant_id}/enabled"),
        ("POST", "/v1/registrants/{registrant_id}/secret"),
        ("POST", "/v1/brokers"),
        ("POST", "/v1/brokers/{broker_id}/revocation"),
        ("POST", "/v1/staff"),
        ("POST", "/v1/staff/{staff_id}/enabled"),
        ("POST", "/v1/staff/{staff_id}/tokens"),
        ("POST", "/v1/appeals"),
        ("POST", "/v1/appeals/{appeal_id}/decision"),
        # 事件推送 (decision 0010): endpoints and deliveries, never the audit trail
        ("PUT", "/v1/registrants/{registrant_id}/endpoint"),
        ("DELETE", "/v1/registrants/{registrant_id}/endpoint"),
        ("POST", "/v1/registrants/{registrant_id}/deliveries/{delivery_id}/replay"),
        # 隐号报备 (decision 0013): resolves a masked claim; appends, never edits
        ("POST", "/v1/masked-claims/resolutions"),
    }
    _, assistant = token(api, Role.CHANNEL_ASSISTANT)
    before = AuditItem.count()
    look_up(api, assistant)
    assert AuditItem.count() == before
