"""The fines ledger (R-FINE-1..5): amounts of their moment, proposals a
manager confirms or dismisses, one appeal, monthly statements."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services import container
from chalicelib.store import Store, StoreUnavailable
from tests.api.floor_support import Floor, person
from tests.conftest import payload
from tests.support import body, shanghai, signed_headers


@pytest.fixture
def floor(api) -> Floor:
    return Floor(api)


@pytest.fixture
def consultant(api):
    return person(api, Role.CONSULTANT, "顾问 张")


def fine(floor: Floor, kind: str, payer: str, **doc) -> dict:
    r = floor.manager.post("/v1/fines", {"kind": kind, "payer_id": payer, **doc})
    assert r.status_code == 201, r.body
    return dict(payload(r))


@pytest.mark.parametrize(
    ("kind", "payer_role", "yuan"),
    [
        ("R-FINE-1", Role.CONSULTANT, 100),
        ("R-FINE-2", Role.FRONT_DESK, 30),
        ("R-FINE-3", Role.CONSULTANT, 100),
        ("R-FINE-4", Role.CONSULTANT, 100),
    ],
)
def test_each_kind_a_person_pays_has_its_default_amount(api, floor, kind, payer_role, yuan):
    """R-FINE-1..4: 100, 30, 100, 100 yuan by default."""
    payer = person(api, payer_role)
    recorded = fine(floor, kind, payer.id, note="现场记录")
    assert (recorded["rule"], recorded["amount"], recorded["status"]) == (kind, yuan, "due")


def test_flyer_impostors_are_fined_to_the_channels_lead(api, floor):
    """R-FINE-5: 100 yuan, paid by the channel (the registrant), and only a
    channel: an agency's or a platform's id is refused."""
    channel = api.registrant(Source.CHANNEL)
    recorded = fine(floor, "R-FINE-5", channel.registrant_id)
    assert recorded["amount"] == 100
    assert recorded["payer_id"] == channel.registrant_id
    agency = api.registrant(Source.DISTRIBUTION)
    r = floor.manager.post("/v1/fines", {"kind": "R-FINE-5", "payer_id": agency.registrant_id})
    assert payload(r)["error"]["fields"] == [
        {"field": "payer_id", "message": "R-FINE-5 is paid by a channel"}
    ]


def test_the_payer_must_be_who_the_rule_says(api, floor, consultant):
    r = floor.manager.post("/v1/fines", {"kind": "R-FINE-2", "payer_id": consultant.id})
    assert r.status_code == 400
    assert payload(r)["error"]["fields"][0]["field"] == "payer_id"


def test_a_policy_change_applies_to_new_fines_only(api, floor, consultant, monkeypatch):
    """The amount is the policy's at the moment: history is never rewritten."""
    before = fine(floor, "R-FINE-1", consultant.id)
    monkeypatch.setenv("POLICY_OVERRIDES", json.dumps({"fine_unguided_lead": 200}))
    container.reset()
    container.fines()  # rebuilt with the new policy, outside a request
    after = fine(floor, "R-FINE-1", consultant.id)
    assert (before["amount"], after["amount"]) == (100, 200)
    statement = payload(consultant.get("/v1/fines/statement"))
    assert statement["total_due"] == 300


def test_a_visit_led_in_before_the_greeting_proposes_r_fine_1_and_a_manager_confirms(
    api, floor, consultant
):
    """R-FINE-1 proposed from the visitor log; nothing is fined until confirmed."""
    visit = floor.arrive(led_in_by=consultant.id)
    waiting = payload(floor.manager.get("/v1/fines?status=proposed"))["data"]
    (proposal,) = waiting
    assert (proposal["rule"], proposal["payer_id"], proposal["status"]) == (
        "R-FINE-1",
        consultant.id,
        "proposed",
    )
    assert proposal["visit_id"] == visit["id"]
    assert payload(consultant.get("/v1/fines/statement"))["total_due"] == 0
    r = floor.manager.post(f"/v1/fines/{proposal['id']}/decision", {"action": "confirm"})
    assert payload(r)["status"] == "due"
    assert payload(consultant.get("/v1/fines/statement"))["total_due"] == 100
    assert payload(floor.manager.get("/v1/fines?status=proposed"))["data"] == []


def test_a_visit_not_greeted_proposes_r_fine_2_and_a_manager_dismisses(api, floor):
    """R-FINE-2 against the front desk who logged it; dismissed, it owes nothing."""
    floor.arrive(greeted=False)
    (proposal,) = payload(floor.manager.get("/v1/fines?status=proposed"))["data"]
    assert (proposal["rule"], proposal["payer_id"], proposal["amount"]) == (
        "R-FINE-2",
        floor.desk.id,
        30,
    )
    r = floor.site_manager.post(f"/v1/fines/{proposal['id']}/decision", {"action": "dismiss"})
    assert payload(r)["status"] == "dismissed"
    statement = payload(floor.desk.get("/v1/fines/statement"))
    assert statement["fines"] == [] and statement["total_due"] == 0
    again = floor.manager.post(f"/v1/fines/{proposal['id']}/decision", {"action": "confirm"})
    assert payload(again)["error"]["code"] == "FINE_STATE_CONFLICT"


def received(api, floor, phone: str) -> tuple[dict, object]:
    """A channel customer's visit of 27 November, decided and assigned."""
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(phone=phone, visit_at="2026-11-27T09:50:00+08:00"))
    visit = floor.arrive(phone=phone)
    floor.decide(visit["id"], payload(r)["registration_id"])
    (receiver,) = floor.consultants(1)
    floor.on_duty("2026-11-27", receiver)
    floor.assign(visit["id"])
    return visit, receiver


def test_a_form_overdue_past_its_day_proposes_r_fine_4_and_a_manager_confirms(api, floor, clock):
    """R-FINE-4 proposed by the hourly sweep once the visit's day has ended;
    a visit whose form was filed is not proposed."""
    visit, receiver = received(api, floor, "13812345678")
    filed, filer = received(api, floor, "13912345678")
    assert filer.post(f"/v1/visits/{filed['id']}/form", {"note": "看了样板间"}).status_code == 201
    container.sweep().run(shanghai("2026-11-27 23:00"))
    assert payload(floor.manager.get("/v1/fines?status=proposed"))["data"] == []
    clock.move_to(shanghai("2026-11-28 00:30"))
    container.sweep().run(shanghai("2026-11-28 00:30"))
    container.sweep().run(shanghai("2026-11-28 01:30"))  # run again: one proposal
    (proposal,) = payload(floor.manager.get("/v1/fines?status=proposed"))["data"]
    assert (proposal["rule"], proposal["payer_id"], proposal["visit_id"]) == (
        "R-FINE-4",
        receiver.id,
        visit["id"],
    )
    r = floor.manager.post(f"/v1/fines/{proposal['id']}/decision", {"action": "confirm"})
    assert payload(r)["status"] == "due"
    assert payload(receiver.get("/v1/fines/statement?month=2026-11"))["total_due"] == 100


def test_last_months_proposals_wait_in_the_queue_on_the_1st(api, floor, clock):
    """A violation of 30 November is still in the managers' queue on 1 December."""
    clock.move_to(shanghai("2026-11-30 18:00"))
    floor.arrive(greeted=False)
    clock.move_to(shanghai("2026-12-01 09:00"))
    waiting = payload(floor.manager.get("/v1/fines"))
    assert waiting["months"] == ["2026-11", "2026-12"]
    assert [f["rule"] for f in waiting["data"]] == ["R-FINE-2"]
    only = payload(floor.manager.get("/v1/fines?month=2026-12"))
    assert only["data"] == []


def test_a_violation_recorded_and_proposed_is_fined_once(api, floor, consultant):
    """R-FINE-1 seen by the system and recorded by the front desk for the
    same visit: the proposal is confirmed, not doubled."""
    visit = floor.arrive(led_in_by=consultant.id)
    doc = {"kind": "R-FINE-1", "payer_id": consultant.id, "visit_id": visit["id"]}
    first = floor.desk.post("/v1/fines", doc)
    again = floor.desk.post("/v1/fines", doc)
    assert payload(first)["id"] == payload(again)["id"]
    assert payload(first)["status"] == "due"
    statement = payload(consultant.get("/v1/fines/statement"))
    assert (len(statement["fines"]), statement["total_due"]) == (1, 100)


def audit_fails_once(monkeypatch, action: str) -> None:
    """The first audit write of ``action`` finds the store unavailable."""
    original = Store.append_audit
    failed: list[bool] = []

    def flaky(self, entry, **kwargs):
        if entry.action == action and not failed:
            failed.append(True)
            raise StoreUnavailable("injected")
        return original(self, entry, **kwargs)

    monkeypatch.setattr(Store, "append_audit", flaky)


def test_a_proposal_whose_audit_failed_is_audited_by_the_retry(api, floor, monkeypatch):
    """Every change is in the audit trail, even when its first audit write
    failed (503) and the front desk retried the arrival."""
    audit_fails_once(monkeypatch, "fine.proposed")
    doc = {"party_size": 1, "greeted": False}
    assert floor.desk.post("/v1/visits", doc, key="arrival-1").status_code == 503
    retry = floor.desk.post("/v1/visits", doc, key="arrival-1")
    assert retry.headers.get("Idempotent-Replayed") == "true"
    floor.desk.post("/v1/visits", doc, key="arrival-1")
    (proposal,) = payload(floor.manager.get("/v1/fines"))["data"]
    trail = api.store.audit_trail(f"fine:{proposal['id']}")
    assert [e.action for e in trail] == ["fine.proposed"]


def test_a_decision_whose_answer_was_lost_is_answered_again(
    api, floor, consultant, monkeypatch, clock
):
    """The manager's retry after a 503 gets the fine as decided, audited once."""
    floor.arrive(led_in_by=consultant.id)
    (proposal,) = payload(floor.manager.get("/v1/fines"))["data"]
    clock.shift(timedelta(minutes=5))
    audit_fails_once(monkeypatch, "fine.confirmed")
    path = f"/v1/fines/{proposal['id']}/decision"
    assert floor.manager.post(path, {"action": "confirm"}).status_code == 503
    retry = floor.manager.post(path, {"action": "confirm"})
    assert (retry.status_code, payload(retry)["status"]) == (200, "due")
    trail = api.store.audit_trail(f"fine:{proposal['id']}")
    assert [e.action for e in trail] == ["fine.proposed", "fine.confirmed"]


def test_an_appeal_cancelled_stays_in_the_ledger_and_owes_nothing(api, floor, consultant):
    """申诉: the fined person appeals once; the sales manager cancels it."""
    recorded = fine(floor, "R-FINE-3", consultant.id)
    r = consultant.post(f"/v1/fines/{recorded['id']}/appeal", {"reason": "客户自己不愿登记"})
    assert payload(r)["status"] == "appealed"
    statement = payload(consultant.get("/v1/fines/statement"))
    assert (statement["total_due"], statement["under_appeal"]) == (0, 100)
    r = floor.manager.post(
        f"/v1/fines/{recorded['id']}/appeal-decision", {"outcome": "cancelled", "note": "监控为证"}
    )
    assert payload(r)["status"] == "cancelled"
    statement = payload(consultant.get("/v1/fines/statement"))
    assert [f["status"] for f in statement["fines"]] == ["cancelled"]
    assert statement["total_due"] == 0
    again = consultant.post(f"/v1/fines/{recorded['id']}/appeal", {"reason": "再申诉"})
    assert payload(again)["error"]["code"] == "FINE_STATE_CONFLICT"


def test_an_appeal_upheld_keeps_the_fine_due(api, floor, consultant):
    recorded = fine(floor, "R-FINE-4", consultant.id)
    consultant.post(f"/v1/fines/{recorded['id']}/appeal", {"reason": "忘记了"})
    r = floor.manager.post(f"/v1/fines/{recorded['id']}/appeal-decision", {"outcome": "upheld"})
    assert payload(r)["status"] == "upheld"
    assert payload(consultant.get("/v1/fines/statement"))["total_due"] == 100


def test_only_the_one_fined_appeals(api, floor, consultant):
    recorded = fine(floor, "R-FINE-1", consultant.id)
    other = person(api, Role.CONSULTANT)
    r = other.post(f"/v1/fines/{recorded['id']}/appeal", {"reason": "不是我"})
    assert r.status_code == 403


def test_a_channels_appeal_is_answered_by_the_site_manager(api, floor):
    """R-FINE-5: the registrant appeals (signed); the site manager decides."""
    channel = api.registrant(Source.CHANNEL)
    recorded = fine(floor, "R-FINE-5", channel.registrant_id)
    raw = json.dumps({"reason": "不是我们的人"}).encode()
    headers = signed_headers(channel, raw, key="appeal-1")
    r = api.client.http.post(f"/v1/fines/{recorded['id']}/appeal", headers=headers, body=raw)
    assert r.status_code == 200, r.body
    again = api.client.http.post(f"/v1/fines/{recorded['id']}/appeal", headers=headers, body=raw)
    assert (again.status_code, payload(again)) == (200, payload(r))  # a retry, answered again
    r = floor.manager.post(f"/v1/fines/{recorded['id']}/appeal-decision", {"outcome": "cancelled"})
    assert r.status_code == 403
    r = floor.site_manager.post(
        f"/v1/fines/{recorded['id']}/appeal-decision", {"outcome": "cancelled"}
    )
    assert payload(r)["status"] == "cancelled"
    statement = payload(api.get(channel, "/v1/fines/statement"))
    assert statement["payer_id"] == channel.registrant_id
    assert statement["total_due"] == 0


def test_a_person_reading_anothers_statement_gets_403(api, floor, consultant):
    other = person(api, Role.CONSULTANT)
    r = other.get(f"/v1/fines/statement?payer={consultant.id}")
    assert r.status_code == 403
    r = floor.manager.get(f"/v1/fines/statement?payer={consultant.id}")
    assert r.status_code == 200
    channel = api.registrant(Source.CHANNEL)
    r = api.get(channel, f"/v1/fines/statement?payer={consultant.id}")
    assert r.status_code == 403


def test_the_month_is_the_shanghai_month(api, floor, consultant, clock):
    """00:30 on 1 December in Shanghai is still 30 November in UTC: December's."""
    clock.move_to(shanghai("2026-11-30 23:59"))
    fine(floor, "R-FINE-1", consultant.id)
    clock.move_to(shanghai("2026-12-01 00:30"))
    fine(floor, "R-FINE-3", consultant.id)
    november = payload(consultant.get("/v1/fines/statement?month=2026-11"))
    december = payload(consultant.get("/v1/fines/statement?month=2026-12"))
    assert [f["rule"] for f in november["fines"]] == ["R-FINE-1"]
    assert [f["rule"] for f in december["fines"]] == ["R-FINE-3"]
    assert payload(consultant.get("/v1/fines/statement"))["month"] == "2026-12"


def test_the_statement_csv_reads_back_with_the_bom(api, floor, consultant, clock):
    fine(floor, "R-FINE-1", consultant.id, note="带客未经前台")
    clock.shift(timedelta(minutes=1))
    appealed = fine(floor, "R-FINE-4", consultant.id)
    consultant.post(f"/v1/fines/{appealed['id']}/appeal", {"reason": "表格已交"})
    r = consultant.get("/v1/fines/statement?format=csv")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8-sig"))))
    assert [(row["规则"], row["状态"]) for row in rows[:2]] == [
        ("R-FINE-1", "应缴"),
        ("R-FINE-4", "申诉中"),
    ]
    assert rows[0]["备注"] == "带客未经前台"
    # people read it: the payer by name, the violation in words, local time
    assert rows[0]["被罚人"] == "顾问 张"
    assert rows[0]["违规"] == "前台询客前私自接待客户"
    assert consultant.id not in r.body.decode("utf-8-sig")
    assert "T" not in rows[0]["发生时间"]
    assert [row["应缴金额（元）"] for row in rows[:2]] == ["100", "0"]
    assert (rows[-1]["状态"], rows[-1]["应缴金额（元）"]) == ("合计应缴", "100")


def test_every_change_to_a_fine_is_in_its_audit_trail(api, floor, consultant, clock):
    recorded = fine(floor, "R-FINE-1", consultant.id)
    clock.shift(timedelta(minutes=1))
    consultant.post(f"/v1/fines/{recorded['id']}/appeal", {"reason": "理由"})
    clock.shift(timedelta(minutes=1))
    floor.manager.post(f"/v1/fines/{recorded['id']}/appeal-decision", {"outcome": "upheld"})
    trail = api.store.audit_trail(f"fine:{recorded['id']}")
    assert [e.action for e in trail] == ["fine.recorded", "fine.appealed", "fine.appeal_upheld"]
    assert all(e.rule == "R-FINE-1" for e in trail)


def test_a_fine_is_recorded_in_this_month_or_the_last_only(api, floor, consultant, clock):
    """Older months' statements are settled; the Shanghai month decides."""
    clock.move_to(shanghai("2026-12-01 00:30"))  # still 30 November in UTC
    late = {"kind": "R-FINE-1", "payer_id": consultant.id}
    ok = floor.manager.post("/v1/fines", {**late, "occurred_at": "2026-11-01T00:00:00+08:00"})
    assert ok.status_code == 201
    old = floor.manager.post("/v1/fines", {**late, "occurred_at": "2026-10-31T23:59:00+08:00"})
    assert payload(old)["error"]["fields"] == [
        {"field": "occurred_at", "message": "this month or the last"}
    ]


def test_a_channels_statement_csv_names_the_channel_not_its_id(api, floor):
    """R-FINE-5: a manager downloads the channel's month; 被罚人 is its name."""
    channel = api.registrant(Source.CHANNEL, name="鲁信渠道")
    fine(floor, "R-FINE-5", channel.registrant_id)
    r = floor.manager.get(f"/v1/fines/statement?payer={channel.registrant_id}&format=csv")
    assert r.status_code == 200, r.body
    rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8-sig"))))
    assert (rows[0]["被罚人"], rows[0]["违规"]) == ("鲁信渠道", "派单人员冒充客户")
    assert channel.registrant_id not in r.body.decode("utf-8-sig")
