"""R-FLOOR-5 viewing confirmation forms and exemptions, and the daily channel
report the sales admin and channel assistant review (R-REG-2)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from chalicelib.rules.claims import Source
from tests.api.floor_support import Floor, Person
from tests.conftest import payload
from tests.support import body

TODAY = "2026-11-27"
VISITED = "2026-11-27T09:50:00+08:00"


@pytest.fixture
def floor(api) -> Floor:
    return Floor(api)


def received_channel_visit(api, floor: Floor, phone: str, channel=None) -> tuple[dict, Person]:
    """A channel customer: registered, arrived, decided and received."""
    channel = channel or api.registrant(Source.CHANNEL, name="好房渠道")
    r = api.register(channel, body(phone=phone, visit_at=VISITED))
    assert r.status_code == 201, r.body
    visit = floor.arrive(phone=phone)
    assert floor.decide(visit["id"], payload(r)["registration_id"]).status_code == 201
    (consultant,) = floor.consultants(1)
    floor.on_duty(TODAY, consultant)
    assert floor.assign(visit["id"]).status_code == 201
    return visit, consultant


def test_a_form_not_filed_by_the_end_of_the_day_is_overdue(api, floor, clock):
    """R-FLOOR-5: pending until local midnight, overdue from 00:00 the next day."""
    visit, _ = received_channel_visit(api, floor, "13812345678")
    clock.move_to("2026-11-27T23:59:59+08:00")
    assert [
        v["id"] for v in payload(floor.assistant.get(f"/v1/forms?date={TODAY}"))["pending"]
    ] == [visit["id"]]
    clock.move_to("2026-11-28T00:00:00+08:00")
    forms = payload(floor.assistant.get(f"/v1/forms?date={TODAY}"))
    assert [v["id"] for v in forms["overdue"]] == [visit["id"]]
    assert forms["pending"] == []


def test_a_consultant_sees_only_the_forms_they_owe(api, floor, clock):
    """R-FLOOR-5: the receiving consultant's list, for the console's form screen."""
    visit, consultant = received_channel_visit(api, floor, "13812345678")
    other_visit, other = received_channel_visit(api, floor, "13912345678")
    assert other.id != consultant.id
    mine = payload(consultant.get(f"/v1/forms?date={TODAY}"))
    assert [v["id"] for v in mine["pending"]] == [visit["id"]]
    assert [v["id"] for v in payload(other.get("/v1/forms"))["pending"]] == [other_visit["id"]]
    assert (
        consultant.post(f"/v1/visits/{visit['id']}/form", {"note": "看了样板间"}).status_code == 201
    )
    mine = payload(consultant.get(f"/v1/forms?date={TODAY}"))
    assert mine["pending"] == [] and [v["id"] for v in mine["filed"]] == [visit["id"]]
    everyone = payload(floor.assistant.get(f"/v1/forms?date={TODAY}"))
    assert {v["id"] for v in everyone["pending"] + everyone["filed"]} == {
        visit["id"],
        other_visit["id"],
    }


def test_an_overdue_form_is_cleared_by_the_site_managers_exemption(api, floor, clock):
    """R-FLOOR-5: a gift-only customer needs no form once the site manager signs."""
    visit, _ = received_channel_visit(api, floor, "13812345678")
    clock.move_to("2026-11-28T09:00:00+08:00")
    overdue = payload(floor.assistant.get(f"/v1/forms?date={TODAY}"))["overdue"]
    assert [v["id"] for v in overdue] == [visit["id"]]
    r = floor.site_manager.post(
        f"/v1/visits/{visit['id']}/exemption", {"kind": "gift_only", "note": "只来领礼品"}
    )
    assert r.status_code == 201, r.body
    assert payload(r)["form_state"] == "exempt"
    assert payload(r)["exemption"]["signed_by"] == floor.site_manager.id
    forms = payload(floor.assistant.get(f"/v1/forms?date={TODAY}"))
    assert forms["overdue"] == []
    assert [v["id"] for v in forms["exempt"]] == [visit["id"]]


def test_an_impostor_exemption_is_recorded_with_its_kind(api, floor):
    """R-FLOOR-5: red-hat flyer staff posing as a customer."""
    visit, _ = received_channel_visit(api, floor, "13812345678")
    r = floor.site_manager.post(f"/v1/visits/{visit['id']}/exemption", {"kind": "flyer_impostor"})
    assert payload(r)["exemption"]["kind"] == "flyer_impostor"
    trail = api.store.audit_trail(f"visit:{visit['id']}")
    assert [(e.action, e.detail) for e in trail if e.action.startswith("form")] == [
        ("form.exempted", "flyer_impostor")
    ]


def test_only_the_site_manager_signs_an_exemption(api, floor):
    visit, _ = received_channel_visit(api, floor, "13812345678")
    r = floor.manager.post(f"/v1/visits/{visit['id']}/exemption", {"kind": "gift_only"})
    assert r.status_code == 403


def test_an_unknown_exemption_kind_is_refused(api, floor):
    visit, _ = received_channel_visit(api, floor, "13812345678")
    r = floor.site_manager.post(f"/v1/visits/{visit['id']}/exemption", {"kind": "vip"})
    assert r.status_code == 400


def test_only_the_receiving_consultant_files_the_form(api, floor):
    """R-FLOOR-5: the consultant who received the customer fills the form."""
    visit, receiver = received_channel_visit(api, floor, "13812345678")
    (other,) = floor.consultants(1)
    r = other.post(f"/v1/visits/{visit['id']}/form", {"note": "看了样板间"})
    assert r.status_code == 403
    assert payload(r)["error"]["rule"] == "R-FLOOR-5"
    filed = receiver.post(f"/v1/visits/{visit['id']}/form", {"note": "看了样板间"})
    assert filed.status_code == 201


@pytest.mark.parametrize("doc", [{}, {"note": ""}, {"note": "  \n "}])
def test_a_form_without_what_happened_is_refused_in_chinese(api, floor, doc):
    """R-FLOOR-5: a form says what the customer viewed; an empty one confirms
    nothing. The message is the console's language, the rule cited."""
    visit, receiver = received_channel_visit(api, floor, "13812345678")
    r = receiver.post(f"/v1/visits/{visit['id']}/form", doc)
    assert r.status_code == 400
    error = payload(r)["error"]
    assert (error["code"], error["rule"]) == ("VALIDATION_ERROR", "R-FLOOR-5")
    assert error["message"].startswith("请填写带看情况")
    assert error["fields"] == [{"field": "note", "message": "必填：请写下带看情况"}]
    assert payload(floor.desk.get(f"/v1/visits/{visit['id']}"))["form"] is None


def test_a_form_after_an_exemption_is_refused_and_the_other_way_round(api, floor):
    visit, receiver = received_channel_visit(api, floor, "13812345678")
    floor.site_manager.post(f"/v1/visits/{visit['id']}/exemption", {"kind": "gift_only"})
    r = receiver.post(f"/v1/visits/{visit['id']}/form", {"note": "看了样板间"})
    assert payload(r)["error"]["code"] == "ALREADY_RECORDED"
    visit2, receiver2 = received_channel_visit(api, floor, "13900000002")
    receiver2.post(f"/v1/visits/{visit2['id']}/form", {"note": "看了样板间"})
    r = floor.site_manager.post(f"/v1/visits/{visit2['id']}/exemption", {"kind": "gift_only"})
    assert payload(r)["error"]["code"] == "ALREADY_RECORDED"


def test_filing_the_form_again_keeps_the_first(api, floor, clock):
    visit, receiver = received_channel_visit(api, floor, "13812345678")
    first = receiver.post(f"/v1/visits/{visit['id']}/form", {"note": "第一次"})
    clock.shift(timedelta(minutes=5))
    again = receiver.post(f"/v1/visits/{visit['id']}/form", {"note": "第二次"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert payload(again)["form"] == payload(first)["form"]
    filed = [e for e in api.store.audit_trail(f"visit:{visit['id']}") if e.action == "form.filed"]
    assert len(filed) == 1


def test_a_natural_customer_owes_no_form(api, floor):
    visit = floor.arrive(phone="13812345678")
    forms = payload(floor.assistant.get(f"/v1/forms?date={TODAY}"))
    assert visit["id"] not in {
        v["id"] for state in ("filed", "pending", "overdue", "exempt") for v in forms[state]
    }


# -- the daily channel report (R-REG-2) -------------------------------------------


def test_the_daily_report_counts_each_registrants_day(api, floor, clock):
    """R-REG-2: per registrant, accepted and refused (with rule ids), visits,
    forms filed and overdue."""
    good = api.registrant(Source.CHANNEL, name="好房渠道")
    rival = api.registrant(Source.CHANNEL, name="安居渠道")
    visit, receiver = received_channel_visit(api, floor, "13812345678", channel=good)
    api.register(good, body(phone="13900000001", visit_at=VISITED))
    late = api.register(good, body(phone="13900000002", visit_at="2026-11-26T15:00:00+08:00"))
    assert payload(late)["error"]["code"] == "REGISTRATION_TOO_LATE"
    dup = api.register(rival, body(phone="13812345678", visit_at=VISITED))
    assert payload(dup)["error"]["code"] == "DUPLICATE_LIVE_CLAIM"
    _second, _ = received_channel_visit(api, floor, "13900000003", channel=good)
    receiver.post(f"/v1/visits/{visit['id']}/form", {"note": "看了样板间"})
    clock.move_to("2026-11-28T08:00:00+08:00")  # the next morning's review

    r = floor.admin.get(f"/v1/reports/daily?date={TODAY}")
    assert r.status_code == 200, r.body
    report = payload(r)
    rows = {row["registrant_id"]: row for row in report["rows"]}
    assert rows[good.registrant_id] == {
        "registrant_id": good.registrant_id,
        "name": "好房渠道",
        "kind": "channel",
        "accepted": 3,
        "refused": 1,
        "refusals": [{"rule": "R-REG-2", "code": "REGISTRATION_TOO_LATE", "count": 1}],
        "visits": 2,
        "forms_filed": 1,
        "forms_exempt": 0,
        "forms_pending": 0,
        "forms_overdue": 1,
    }
    assert rows[rival.registrant_id]["refusals"] == [
        {"rule": "R-DUP-1", "code": "DUPLICATE_LIVE_CLAIM", "count": 1}
    ]
    assert report["totals"]["refused"] == 2
    assert payload(floor.admin.get("/v1/reports/daily?date=2026-11-26"))["rows"] == []


def test_each_outcome_is_reported_once_on_its_shanghai_day(api, floor, clock):
    """R-REG-2: 23:59:59 is the 27th's, 00:00 the 28th's (both 27 November in
    UTC); a retried request (same Idempotency-Key), accepted or refused, is
    counted once, under its rule, on the day it was decided."""
    good = api.registrant(Source.CHANNEL, name="好房渠道")
    rival = api.registrant(Source.CHANNEL, name="安居渠道")
    clock.move_to("2026-11-27T23:59:59+08:00")
    late = body(phone="13812345678", visit_at="2026-11-27T23:59:59+08:00")
    assert api.register(good, late, key="good-1").status_code == 201
    assert api.register(rival, late, key="rival-1").status_code == 409
    clock.move_to("2026-11-28T00:00:00+08:00")
    for who, key, status in ((good, "good-1", 201), (rival, "rival-1", 409)):
        assert api.register(who, late, key=key).status_code == status  # replayed
    early = body(phone="13900000001", visit_at="2026-11-28T00:00:00+08:00")
    assert api.register(good, early).status_code == 201

    def outcomes(day: str) -> dict[str, tuple[int, int, list]]:
        rows = payload(floor.admin.get(f"/v1/reports/daily?date={day}"))["rows"]
        return {r["name"]: (r["accepted"], r["refused"], r["refusals"]) for r in rows}

    assert outcomes(TODAY) == {
        "好房渠道": (1, 0, []),
        "安居渠道": (0, 1, [{"rule": "R-DUP-1", "code": "DUPLICATE_LIVE_CLAIM", "count": 1}]),
    }
    assert outcomes("2026-11-28") == {"好房渠道": (1, 0, [])}


def test_the_daily_report_csv_opens_in_excel_with_chinese(api, floor, clock):
    """R-REG-2: UTF-8 with a byte-order mark; Python's csv module reads it back."""
    good = api.registrant(Source.CHANNEL, name="好房渠道")
    received_channel_visit(api, floor, "13812345678", channel=good)
    r = floor.assistant.get(f"/v1/reports/daily?date={TODAY}&format=csv")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    raw = r.body
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0]["报备方名称"] == "好房渠道"
    assert rows[0]["报备成功"] == "1"
    assert rows[0]["到访"] == "1"
    assert rows[0]["日期"] == TODAY


def test_the_daily_report_csv_says_kinds_and_refusals_in_chinese(api, floor):
    """People read it: 渠道, not ``channel``; the refusal by its rule's name,
    the rule id to look it up, and how many (R-DUP-1); no internal id."""
    good = api.registrant(Source.CHANNEL, name="好房渠道")
    rival = api.registrant(Source.CHANNEL, name="安居渠道")
    api.register(good, body(phone="13812345678", visit_at=VISITED))
    for _ in range(2):
        api.register(rival, body(phone="13812345678", visit_at=VISITED))
    r = floor.admin.get(f"/v1/reports/daily?date={TODAY}&format=csv")
    text = r.body.decode("utf-8-sig")
    rows = {row["报备方名称"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows["安居渠道"]["类型"] == "渠道"
    assert rows["安居渠道"]["失败原因（规则）"] == "客户已有有效保护，重复报备无效（R-DUP-1）2 次"
    assert good.registrant_id not in text and "DUPLICATE_LIVE_CLAIM" not in text
    assert "channel" not in text


def test_the_daily_report_needs_a_date(api, floor):
    r = floor.admin.get("/v1/reports/daily")
    assert r.status_code == 400
    r = floor.admin.get(f"/v1/reports/daily?date={TODAY}&format=xlsx")
    assert payload(r)["error"]["fields"][0]["field"] == "format"


def test_the_front_desk_does_not_read_the_report(api, floor):
    assert floor.desk.get(f"/v1/reports/daily?date={TODAY}").status_code == 403


def test_walk_ins_are_not_in_the_channel_report(api, floor):
    """R-REG-2 reviews the channels' day: a consultant's walk-in is no row."""
    (consultant,) = floor.consultants(1)
    r = consultant.post(
        "/v1/consultant-registrations",
        body(phone="13812345678", visit_at=VISITED),
        key="walk-in-1",
    )
    assert r.status_code == 201
    assert payload(floor.admin.get(f"/v1/reports/daily?date={TODAY}"))["rows"] == []


def test_a_name_that_looks_like_a_formula_stays_text_in_the_csv(api, floor):
    """A registrant's name comes from outside: Excel must not run it."""
    sly = api.registrant(Source.CHANNEL, name='=HYPERLINK("http://x")')
    api.register(sly, body(phone="13812345678", visit_at=VISITED))
    r = floor.admin.get(f"/v1/reports/daily?date={TODAY}&format=csv")
    rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8-sig"))))
    assert rows[0]["报备方名称"].startswith("'=")


def test_the_daily_report_costs_the_same_on_a_busy_day(api, floor):
    """R-REG-2: the report reads the day's outcomes in one Query (more pages
    only past a few thousand a day) and the day's visits: 2 or 40
    registrations, the same DynamoDB requests."""
    channel = api.registrant(Source.CHANNEL, name="好房渠道")
    calls: list[str] = []

    def report_requests() -> list[str]:
        client = api.store._connection.client
        client.meta.events.register("before-call.dynamodb", _record(calls), unique_id="count")
        try:
            calls.clear()
            assert floor.admin.get(f"/v1/reports/daily?date={TODAY}").status_code == 200
            return sorted(calls)
        finally:
            client.meta.events.unregister("before-call.dynamodb", unique_id="count")

    for n in range(2):
        api.register(channel, body(phone=f"1391234{n:04d}", visit_at=VISITED))
    quiet = report_requests()
    for n in range(2, 40):
        api.register(channel, body(phone=f"1391234{n:04d}", visit_at=VISITED))
    busy = report_requests()
    assert busy == quiet
    rows = payload(floor.admin.get(f"/v1/reports/daily?date={TODAY}"))["rows"]
    assert [row["accepted"] for row in rows] == [40]


def _record(calls: list[str]):  # type: ignore[no-untyped-def]
    def before_call(model, **_):  # type: ignore[no-untyped-def]
        calls.append(model.name)

    return before_call
