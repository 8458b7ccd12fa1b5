"""The other screens, each doing its one job through the console: the site
manager's exemption, a manager confirming a proposed fine, a late entry
approved, a consultant's walk-in, the daily report downloaded for Excel."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import (
    Office,
    exempt,
    notice,
    roster_of,
    sign_in,
    sign_out,
    walk_in_form,
)
from tests.support import shanghai


def test_the_site_manager_exempts_a_gift_only_visit(page: Page, office: Office):
    office.received("138 4444 4001")
    sign_in(page, office, "site_manager")
    exempt(page, "138****4001", "仅领取礼品", note="只来领礼品")
    notice(page).to_contain_text("已豁免")
    notice(page).to_contain_text("仅领取礼品（R-FLOOR-5）")
    expect(page.locator("main")).to_contain_text("今天没有待填写或逾期的确认单")
    _, forms = office.staff("channel_assistant", "GET", "/v1/forms")
    assert [v["customer"]["phone_masked"] for v in forms["exempt"]] == ["138****4001"]


def test_a_proposed_greeting_fine_is_confirmed_appealed_and_cancelled(page: Page, office: Office):
    """R-FINE-2: a visit logged as not greeted proposes 30 yuan for the front
    desk; a manager confirms it, the front desk appeals once, a manager cancels."""
    office.staff("front_desk", "POST", "/v1/visits", {"party_size": 1, "greeted": False})
    sign_in(page, office, "sales_manager")
    page.get_by_role("link", name="违规与申诉").click()
    proposed = page.locator("section", has_text="待确认的违规（1）")
    expect(proposed).to_contain_text("R-FINE-2")
    expect(proposed).to_contain_text("30 元")
    proposed.get_by_role("button", name="确认罚款").click()
    notice(page).to_contain_text("已确认罚款")
    expect(page.locator("section", has_text="待确认的违规（0）")).to_be_visible()
    page.get_by_role("link", name="罚款明细").click()
    expect(page.locator("main")).to_have_attribute("data-screen", "statement")
    page.get_by_label("责任人", exact=True).fill("前台 刘")  # picked by name
    page.get_by_role("button", name="查看").click()
    expect(page.locator("main")).to_contain_text("应缴合计 30 元")
    sign_out(page)

    # the front desk appeals once from their own statement; the manager cancels it
    sign_in(page, office, "front_desk")
    page.get_by_role("link", name="罚款明细").click()
    page.get_by_label("申诉理由").fill("客户拒绝听完话术")
    page.get_by_role("button", name="提交申诉").click()
    notice(page).to_contain_text("申诉已提交")
    expect(page.locator("main")).to_contain_text("申诉中 30 元")
    sign_out(page)
    sign_in(page, office, "sales_manager")
    page.get_by_role("link", name="违规与申诉").click()
    appealed = page.locator("section", has_text="待处理的申诉（1）")
    expect(appealed).to_contain_text("客户拒绝听完话术")
    appealed.get_by_role("button", name="撤销罚款").click()
    notice(page).to_contain_text("已撤销罚款")


def test_a_late_entry_is_approved_until_18_00_the_next_day(page: Page, office: Office):
    sign_in(page, office, "sales_manager")
    page.get_by_role("link", name="补录审批").click()
    page.get_by_label("客户手机号").fill("137 5555 0001")
    page.get_by_label("报备方", exact=True).select_option(label="鲁信渠道（渠道）")
    page.get_by_label("到访日期").fill("2026-11-26")
    page.get_by_label("补录原因").fill("系统故障，渠道未能当天报备")
    page.get_by_role("button", name="批准补录").click()
    notice(page).to_contain_text("已批准补录")
    notice(page).to_contain_text("补录截止 2026-11-27 18:00")  # R-REG-1: the next day, 18:00


def test_a_consultant_registers_a_walk_in(page: Page, office: Office):
    sign_in(page, office, "consultant")
    walk_in_form(page, "赵女士", "137 0000 0001")
    page.get_by_role("button", name="提交报备").click()
    notice(page).to_contain_text("报备成功")
    notice(page).to_contain_text("赵女士（137****0001）：顾问自有")


def test_the_daily_report_downloads_as_csv_for_excel(page: Page, office: Office):
    office.received("138 4444 0002")
    sign_in(page, office, "channel_assistant")
    page.get_by_role("link", name="渠道日报").click()
    expect(page.locator("main")).to_contain_text("鲁信渠道")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载 CSV（Excel）").click()
    assert download.value.suggested_filename == "渠道日报-2026-11-27.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("\ufeff")  # Excel reads UTF-8 with the byte-order mark
    assert "鲁信渠道" in text


def test_an_arrival_sent_again_after_a_lost_reply_is_logged_once(page: Page, office: Office):
    """The reply to the first press never arrives; the second press sends the
    same Idempotency-Key, so the desk sees the arrival and the log has one."""
    sign_in(page, office, "front_desk")
    lost: list[str] = []

    def lose_the_first_reply(route: Route) -> None:
        if route.request.method == "POST" and not lost:
            lost.append(route.fetch().json()["id"])  # the app logs the arrival...
            route.abort("connectionreset")  # ...and its answer is lost on the way
        else:
            route.continue_()

    page.route("**/v1/visits", lose_the_first_reply)
    page.get_by_label("来访人数").fill("2")
    page.get_by_role("button", name="登记到访").click()
    notice(page).to_contain_text("操作可能已经生效")
    page.get_by_role("button", name="登记到访").click()
    notice(page).to_contain_text("已登记到访")
    _, log = office.staff("front_desk", "GET", "/v1/visits")
    assert [v["id"] for v in log["data"]] == lost


def test_a_consultant_registers_a_brokers_customer_picked_from_the_certified(
    page: Page, office: Office
):
    """R-REG-4: the broker chosen by name, the ID card the broker shows."""
    broker = office.demo["brokers"][0]
    sign_in(page, office, "consultant")
    walk_in_form(page, "钱先生", "137 0000 0002")
    page.get_by_label("经纪人", exact=True).select_option(label=broker["name"])
    page.get_by_label("经纪人身份证号").fill("999999190001010000")  # not the broker's
    page.get_by_role("button", name="提交报备").click()
    notice(page).to_contain_text("已拒绝（R-REG-4）")
    page.get_by_label("经纪人身份证号").fill(broker["id_card"])
    page.get_by_role("button", name="提交报备").click()
    notice(page).to_contain_text("报备成功")
    notice(page).to_contain_text("钱先生（137****0002）：保护中")


def test_a_walk_in_from_a_tab_left_open_takes_the_time_it_is_sent(page: Page, office: Office):
    """The form opened at 09:00 and sent at 11:00 registers an 11:00 visit."""
    page.clock.install()
    sign_in(page, office, "consultant")
    walk_in_form(page, "赵女士", "137 0000 0001")
    office.clock.shift(timedelta(hours=2))
    page.clock.fast_forward("02:00:00")
    page.get_by_role("button", name="提交报备").click()
    notice(page).to_contain_text("报备成功")
    _, mine = office.staff("consultant", "GET", "/v1/staff/me/customers")
    assert mine["data"][0]["since"].startswith("2026-11-27T11:0"), mine


def test_the_next_morning_an_overdue_form_is_there_to_file_or_exempt(page: Page, office: Office):
    """R-FLOOR-5: overdue from local midnight, on yesterday's visit."""
    visit = office.received("138 4444 4002")
    office.clock.move_to(shanghai("2026-11-28 09:00"))
    _, ours = office.staff("front_desk", "GET", f"/v1/visits/{visit['id']}")
    receiver = next(p for p in office.demo["staff"] if p["id"] == ours["consultant_id"])
    nth = [p for p in office.demo["staff"] if p["role"] == "consultant"].index(receiver)
    sign_in(page, office, "consultant", nth=nth)
    page.get_by_role("link", name="带看确认单").click()
    expect(page.locator("form", has_text="138****4002")).to_contain_text("已逾期")
    sign_out(page)
    sign_in(page, office, "site_manager")
    expect(page.locator("form", has_text="138****4002")).to_contain_text("已逾期")
    exempt(page, "138****4002", "派单人员冒充客户")
    notice(page).to_contain_text("派单人员冒充客户（R-FLOOR-5）")


def test_the_roster_is_saved_for_the_day_on_screen(page: Page, office: Office):
    sign_in(page, office, "sales_manager")
    roster_of(page, "2026-11-28")
    page.get_by_label("置业顾问 张").check()
    page.get_by_label("日期").fill("2026-11-30")  # changed, not shown yet
    page.get_by_role("button", name="保存排班").click()
    notice(page).to_contain_text("2026-11-28：置业顾问 张")
    _, untouched = office.staff("front_desk", "GET", "/v1/rosters/2026-11-30")
    assert untouched["queue"] == []


def test_the_back_button_returns_to_the_screen_before(page: Page, office: Office):
    sign_in(page, office, "channel_assistant")
    page.get_by_role("link", name="确认单").click()
    expect(page.locator("main")).to_have_attribute("data-screen", "forms")
    page.get_by_role("link", name="渠道日报").click()
    expect(page.locator("main")).to_have_attribute("data-screen", "report")
    page.go_back()
    expect(page.locator("main")).to_have_attribute("data-screen", "forms")
    expect(page.get_by_role("link", name="确认单")).to_have_attribute("aria-current", "page")
