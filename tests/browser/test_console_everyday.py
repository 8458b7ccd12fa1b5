"""The console as floor staff use it every day (issue 17): people, registrants
and visits picked by name, never typed as ids; a question before each
irreversible action; every message in Chinese (technical details folded
away); customers by name; every tab reachable on a 390 px phone; no state
that misleads."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, Office, confirm, notice, sign_in, walk_in_form
from tests.support import encode, signed_headers

# what a person reads in the notice: closed <details> (技术信息) left out
SHOWN = """() => {
  const box = document.getElementById('notice').cloneNode(true);
  for (const fold of box.querySelectorAll('details:not([open])')) fold.remove();
  for (const b of box.querySelectorAll('button')) b.remove();
  return box.textContent;
}"""
NO_HIDDEN_TABS = """() => {
  const nav = document.getElementById('tabs');
  return nav.scrollWidth <= nav.clientWidth;
}"""
RULE_ID = re.compile(r"R-[A-Z]+-\d+")


def only_chinese(page: Page) -> str:
    """The notice's visible text has no Latin letter, but for the rule ids it
    cites, each beside its sentence in Chinese."""
    expect(page.get_by_role("alert")).to_be_visible()
    shown = page.evaluate(SHOWN)
    assert not re.search(r"[A-Za-z]", RULE_ID.sub("", shown)), shown
    for badge in page.locator("#notice .rule").all():
        assert re.search(r"[\u4e00-\u9fff]{6,}", badge.locator("xpath=..").inner_text())
    return str(shown)


def open_tab(page: Page, name: str, screen: str) -> None:
    """The tab's screen, loaded (its fields, not the last screen's)."""
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.locator("main")).to_have_attribute("data-screen", screen)
    expect(page.locator("#status")).to_have_text("")


def consultant_nth(office: Office, visit: dict[str, Any]) -> int:
    """Which demo consultant received ``visit`` (the rotation chose)."""
    _, ours = office.staff("front_desk", "GET", f"/v1/visits/{visit['id']}")
    consultants = [p for p in office.demo["staff"] if p["role"] == "consultant"]
    return next(i for i, p in enumerate(consultants) if p["id"] == ours["consultant_id"])


# -- picked by name -----------------------------------------------------------------


def test_a_violation_is_recorded_by_picking_the_person_and_the_visit(page: Page, office: Office):
    visit = office.received("138 5555 0001", name="周先生")
    zhang = office.person("consultant", consultant_nth(office, visit))
    sign_in(page, office, "sales_manager")
    open_tab(page, "违规与申诉", "fines")
    record = page.locator("form", has_text="登记违规")
    record.get_by_label("违规类型").select_option(label="前台询客前私自接待客户（R-FINE-1）")
    assert "stf_" not in record.inner_text() and "vi_" not in record.inner_text()
    # a name that is nobody: refused in Chinese before anything is sent
    record.get_by_label("责任人").fill("不存在的人")
    record.get_by_role("button", name="登记").click()
    notice(page).to_contain_text("请从列表中选择责任人")
    only_chinese(page)
    # the datalist offers the consultants by name, the visits by customer and time
    options = record.locator("datalist option")
    assert f"{zhang['name']}（置业顾问）" in [o.get_attribute("value") for o in options.all()]
    record.get_by_label("责任人").fill(zhang["name"])
    record.get_by_label("到访（可不填）").fill("138****0001")
    record.get_by_label("说明").fill("询客前带客进场")
    record.get_by_role("button", name="登记").click()
    notice(page).to_contain_text("违规已登记")
    notice(page).to_contain_text(zhang["name"])
    status, statement = office.staff(
        "sales_manager", "GET", f"/v1/fines/statement?payer={zhang['id']}"
    )
    assert status == 200
    (fine,) = statement["fines"]
    assert (fine["rule"], fine["visit_id"], fine["amount"]) == ("R-FINE-1", visit["id"], 100)


def test_a_channels_fine_picks_the_channel_by_name(page: Page, office: Office):
    sign_in(page, office, "site_manager")
    open_tab(page, "违规与申诉", "fines")
    record = page.locator("form", has_text="登记违规")
    record.get_by_label("违规类型").select_option(label="派单人员冒充客户（R-FINE-5）")
    record.get_by_label("责任人").fill("鲁信")  # a part of the name finds the one channel
    record.get_by_role("button", name="登记").click()
    notice(page).to_contain_text("违规已登记")
    notice(page).to_contain_text("鲁信渠道")


def test_a_late_entry_is_approved_for_a_consultant_picked_by_name(page: Page, office: Office):
    sign_in(page, office, "sales_manager")
    open_tab(page, "补录审批", "late")
    page.get_by_label("客户手机号").fill("137 5555 0002")
    page.get_by_label("或置业顾问").fill("置业顾问 李")
    page.get_by_label("到访日期").fill("2026-11-26")
    page.get_by_label("补录原因").fill("顾问当天外出，次日补录")
    page.get_by_role("button", name="批准补录").click()
    notice(page).to_contain_text("已批准补录")
    # 李 may now enter yesterday's walk-in (R-REG-1), until 18:00 today
    walk_in = {
        "customer": {"name": "钱女士", "phone": "13755550002"},
        "visit_at": "2026-11-26T16:00:00+08:00",
    }
    status, answer = office.staff(
        "consultant", "POST", "/v1/consultant-registrations", walk_in, nth=1, key="late-1"
    )
    assert status == 201, answer


# -- a question before what cannot be undone ------------------------------------------


def test_a_departure_asks_first_cancelled_changes_nothing(page: Page, office: Office):
    status, visit = office.staff(
        "front_desk", "POST", "/v1/visits", {"party_size": 1, "greeted": True}
    )
    assert status == 201
    sign_in(page, office, "front_desk")
    card = page.locator("li.visit").first
    card.get_by_role("button", name="登记离开").click()
    dialog = page.locator("dialog.confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("离开")
    expect(dialog).to_contain_text("不能撤回")
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    assert office.staff("front_desk", "GET", f"/v1/visits/{visit['id']}")[1]["departed_at"] is None
    expect(card).to_contain_text("在场")

    card.get_by_role("button", name="登记离开").click()
    confirm(page, "确认离开")
    notice(page).to_contain_text("已登记离开")
    assert office.staff("front_desk", "GET", f"/v1/visits/{visit['id']}")[1]["departed_at"]


def test_the_decision_asks_first_and_esc_cancels_it(page: Page, office: Office):
    office.register("138 5555 0003")
    arrival = {"phone": "13855550003", "party_size": 1, "greeted": True}
    status, visit = office.staff("front_desk", "POST", "/v1/visits", arrival)
    assert status == 201
    sign_in(page, office, "channel_assistant")
    page.get_by_label("客户手机号").fill("138 5555 0003")
    page.get_by_role("button", name="查询").click()
    page.get_by_role("button", name="判给 鲁信渠道").click()
    expect(page.locator("dialog.confirm")).to_contain_text("归属 鲁信渠道")
    page.keyboard.press("Escape")
    expect(page.locator("dialog.confirm")).to_be_hidden()
    assert office.staff("front_desk", "GET", f"/v1/visits/{visit['id']}")[1]["decision"] is None
    page.get_by_role("button", name="判给 鲁信渠道").click()
    confirm(page, "确认判给")
    notice(page).to_contain_text("判客完成")
    assert office.staff("front_desk", "GET", f"/v1/visits/{visit['id']}")[1]["decision"]


def test_disabling_a_staff_member_asks_first(page: Page, office: Office):
    sign_in(page, office, "party_a_admin")
    open_tab(page, "员工", "staff")
    row = page.locator("tbody tr", has_text="前台 刘")
    row.get_by_role("button", name="停用").click()
    expect(page.locator("dialog.confirm")).to_contain_text("令牌立即不能登录")
    page.locator("dialog.confirm").get_by_role("button", name="取消").click()
    expect(row).to_contain_text("在岗")
    assert office.staff("front_desk", "GET", "/v1/staff/me")[0] == 200
    row.get_by_role("button", name="停用").click()
    confirm(page, "确认停用")
    expect(page.locator("tbody tr", has_text="前台 刘")).to_contain_text("已停用")
    assert office.staff("front_desk", "GET", "/v1/staff/me")[0] == 401


def test_an_empty_form_is_refused_and_a_filled_one_asks_first(page: Page, office: Office):
    visit = office.received("138 5555 0004")
    office.staff(
        "channel_assistant",
        "POST",
        f"/v1/visits/{visit['id']}/sign-ins",
        {"households": [{"name": "吴先生", "phone": "13855550004"}]},
    )
    sign_in(page, office, "consultant", nth=consultant_nth(office, visit))
    open_tab(page, "带看确认单", "myforms")
    owed = page.locator("form", has_text="138****0004")
    expect(owed).to_contain_text("吴先生")  # the name beside the masked phone
    owed.get_by_label("带看情况").fill("   ")
    owed.get_by_role("button", name="提交确认单").click()
    notice(page).to_contain_text("请填写带看情况")
    only_chinese(page)
    expect(owed.get_by_label("带看情况")).to_have_attribute("aria-invalid", "true")
    # the banner is beside the form that failed, and in view
    assert (
        page.evaluate("document.getElementById('notice').previousElementSibling.tagName") == "FORM"
    )
    expect(page.get_by_role("alert")).to_be_in_viewport()
    _, now = office.staff("front_desk", "GET", f"/v1/visits/{visit['id']}")
    assert now["form"] is None

    owed.get_by_label("带看情况").fill("看了 5 号楼样板间")
    owed.get_by_role("button", name="提交确认单").click()
    expect(page.locator("dialog.confirm")).to_contain_text("吴先生")
    page.locator("dialog.confirm").get_by_role("button", name="取消").click()
    assert office.staff("front_desk", "GET", f"/v1/visits/{visit['id']}")[1]["form"] is None
    owed.get_by_role("button", name="提交确认单").click()
    confirm(page, "确认提交")
    notice(page).to_contain_text("确认单已提交")
    _, filed = office.staff("front_desk", "GET", f"/v1/visits/{visit['id']}")
    assert filed["form"]["note"] == "看了 5 号楼样板间"
    expect(page.locator("section", has_text="已提交（1）")).to_contain_text("吴先生（138****0004）")


# -- Chinese only -----------------------------------------------------------------------


def test_refusals_read_in_chinese_with_the_code_folded_away(page: Page, office: Office):
    office.register("139 5555 0005", name="孙先生")
    page.set_viewport_size(PHONE)
    sign_in(page, office, "consultant")
    walk_in_form(page, "孙先生", "13955550005")
    page.get_by_role("button", name="提交报备").click()
    notice(page).to_contain_text("已拒绝（R-DUP-1）")
    shown = only_chinese(page)
    assert "HTTP" not in shown and "DUPLICATE" not in shown
    fold = page.locator("#notice details")
    expect(fold.locator("summary")).to_have_text("技术信息")
    fold.locator("summary").click()
    expect(fold).to_contain_text("代码 DUPLICATE_LIVE_CLAIM · HTTP 409")
    # the banner sits under the form, in view on a phone
    assert (
        page.evaluate("document.getElementById('notice').previousElementSibling.tagName") == "FORM"
    )
    expect(page.get_by_role("alert")).to_be_in_viewport()

    # a field the API refuses (its message is pydantic's English) reads in Chinese
    walk_in_form(page, "孙先生", "12345")
    page.get_by_role("button", name="提交报备").click()
    expect(page.get_by_role("alert")).to_contain_text("手机号")
    only_chinese(page)


def test_the_floors_refused_actions_read_in_chinese(page: Page, office: Office):
    """The front desk's arrival and the channel assistant's lookup, refused
    by the API for a phone that is not one: Chinese on the screen."""
    sign_in(page, office, "front_desk")
    page.get_by_label("客户手机号").fill("12345")
    page.get_by_role("button", name="登记到访").click()
    expect(page.get_by_role("alert")).to_contain_text("手机号")
    only_chinese(page)
    page.get_by_role("button", name="退出登录").click()
    sign_in(page, office, "channel_assistant")
    page.get_by_label("客户手机号").fill("12345")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("alert")).to_contain_text("手机号")
    only_chinese(page)


def test_a_managers_refused_action_reads_in_chinese(page: Page, office: Office):
    sign_in(page, office, "sales_manager")
    open_tab(page, "补录审批", "late")
    page.get_by_label("客户手机号").fill("137 5555 0006")
    page.get_by_label("到访日期").fill("2026-11-20")  # a week ago: too late (R-REG-1)
    page.get_by_label("补录原因").fill("补录")
    page.get_by_role("button", name="批准补录").click()
    expect(page.get_by_role("alert")).to_be_visible()
    only_chinese(page)
    open_tab(page, "罚款明细", "statement")
    page.get_by_label("责任人", exact=True).fill("stf_not_anyone")
    page.get_by_role("button", name="查看").click()
    notice(page).to_contain_text("请从列表中选择责任人")
    only_chinese(page)


def test_the_csvs_and_the_report_say_it_in_chinese(page: Page, office: Office):
    office.register("138 5555 0007", nth=0)
    rival = office.registrant(1)
    doc = {"customer": {"name": "王先生", "phone": "13855550007"}}
    raw = encode({**doc, "visit_at": "2026-11-27T09:00:00+08:00"})
    status, _ = office.call("POST", "/v1/registrations", raw, headers=signed_headers(rival, raw))
    assert status == 409
    fine = {"kind": "R-FINE-5", "payer_id": rival.registrant_id}
    assert office.staff("sales_manager", "POST", "/v1/fines", fine)[0] == 201

    sign_in(page, office, "channel_assistant")
    open_tab(page, "渠道日报", "report")
    row = page.locator("tbody tr", has_text="泉城渠道")
    expect(row).to_contain_text("客户已有有效保护，重复报备无效（R-DUP-1）1 次")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载 CSV（Excel）").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = {r["报备方名称"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["泉城渠道"]["类型"] == "渠道"
    assert rows["泉城渠道"]["失败原因（规则）"] == "客户已有有效保护，重复报备无效（R-DUP-1）1 次"
    assert not re.search(r"[A-Za-z]", RULE_ID.sub("", text))

    page.get_by_role("button", name="退出登录").click()
    sign_in(page, office, "sales_manager")
    open_tab(page, "罚款明细", "statement")
    page.get_by_label("责任人", exact=True).fill("泉城渠道")
    page.get_by_role("button", name="查看").click()
    expect(page.locator("main")).to_contain_text("泉城渠道 2026-11 罚款明细")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载 CSV（Excel）").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    (first, *_) = csv.DictReader(io.StringIO(text))
    assert (first["被罚人"], first["违规"]) == ("泉城渠道", "派单人员冒充客户")
    assert rival.registrant_id not in text


# -- names, phones, state -----------------------------------------------------------------


def test_my_customers_shows_each_customers_name(page: Page, office: Office):
    walk_in = {
        "customer": {"name": "吴女士", "phone": "13955550008"},
        "visit_at": "2026-11-27T09:00:00+08:00",
    }
    assert (
        office.staff("consultant", "POST", "/v1/consultant-registrations", walk_in, key="n1")[0]
        == 201
    )
    sign_in(page, office, "consultant")
    row = page.locator("tbody tr", has_text="139****0008")
    expect(row).to_contain_text("吴女士")


def test_an_undecided_channel_visit_says_the_form_waits_for_the_decision(
    page: Page, office: Office
):
    office.register("138 5555 0009")
    arrival = {
        "phone": "13855550009",
        "party_size": 1,
        "greeted": True,
        "accompanied_by": office.registrant(0).registrant_id,
    }
    assert office.staff("front_desk", "POST", "/v1/visits", arrival)[0] == 201
    sign_in(page, office, "front_desk")
    card = page.locator("li.visit").first
    expect(card).to_contain_text("确认单：判客后确定")
    expect(card).not_to_contain_text("无需填写")
    expect(page.get_by_label("已完成标准询客话术")).not_to_be_checked()


# -- 390 px ---------------------------------------------------------------------------------


def test_every_tab_is_visible_on_a_phone(page: Page, office: Office):
    page.set_viewport_size(PHONE)
    for role in ("sales_manager", "party_a_admin", "channel_assistant"):
        sign_in(page, office, role)
        tabs = page.locator("#tabs a")
        assert tabs.count() >= 3
        for tab in tabs.all():
            expect(tab).to_be_in_viewport(ratio=1)
        assert page.evaluate(NO_HIDDEN_TABS)  # nothing scrolled out of sight
        page.get_by_role("button", name="退出登录").click()
    sign_in(page, office, "sales_manager")
    open_tab(page, "罚款明细", "statement")
    expect(page.locator("main")).to_have_attribute("data-screen", "statement")


def test_party_a_ids_are_cut_with_an_ellipsis_on_a_phone(page: Page, office: Office):
    page.set_viewport_size(PHONE)
    sign_in(page, office, "party_a_admin")
    open_tab(page, "员工", "staff")
    first = page.locator("tbody tr span.id").first
    full = first.get_attribute("title")
    assert full and full.startswith("stf_") and first.inner_text() == full
    style = first.evaluate(
        "e => { const s = getComputedStyle(e); return [s.textOverflow, s.whiteSpace, s.overflow]; }"
    )
    assert style == ["ellipsis", "nowrap", "hidden"]
    box = first.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
