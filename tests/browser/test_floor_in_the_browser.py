"""A customer's whole visit, in Chinese, through the console: the front desk
logs the arrival and hands the customer to the next consultant in turn
(skipping a busy one), the channel assistant decides the owner (判客) and
signs the group in as two households, and the receiving consultant files the
viewing confirmation form (R-FLOOR-2..5)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    PHONE,
    TABLET,
    Office,
    confirm,
    notice,
    shoot,
    sign_in,
    sign_out,
    walk_in_form,
)

CUSTOMER = "13822220001"


def test_a_customer_walks_through_the_floor_in_chinese(
    browser: Browser, page: Page, office: Office
):
    registration = office.register("138 2222 0001")

    # 前台: the arrival, greeted, accompanied by the channel (R-FLOOR-2)
    sign_in(page, office, "front_desk")
    page.get_by_label("客户手机号").fill("138 2222 0001")
    page.get_by_label("来访人数").fill("2")
    page.get_by_label("已完成标准询客话术").check()  # unticked until the desk says so
    page.get_by_label("陪同的报备方").select_option(label="鲁信渠道（渠道）")
    page.get_by_role("button", name="登记到访").click()
    notice(page).to_contain_text("已登记到访")
    notice(page).to_contain_text("138****0001")
    card = page.locator("li.visit").first
    expect(card).to_contain_text(re.compile(r"09:\d\d 到访"))  # Shanghai, 24-hour
    expect(card).to_contain_text("待判客")

    # the rotation (R-FLOOR-3): 张 is next, busy, skipped with a reason; 李 receives
    card.get_by_role("button", name="分配顾问").click()
    expect(card).to_contain_text("轮到：置业顾问 张")
    card.get_by_role("button", name="跳过此顾问").click()
    notice(page).to_contain_text("请填写跳过原因")
    card.get_by_label("跳过原因").fill("正在接待其他客户")
    card.get_by_role("button", name="跳过此顾问").click()
    expect(card).to_contain_text("已跳过：置业顾问 张（正在接待其他客户）")
    card.get_by_role("button", name="分配给 置业顾问 李").click()
    notice(page).to_contain_text("客户由 置业顾问 李 接待")
    expect(page.locator("li.visit").first).to_contain_text("接待顾问：置业顾问 李")
    shoot(page, "front-desk")
    sign_out(page)
    assert page.evaluate("sessionStorage.length") == 0

    # 渠道助理 on a phone: 判客 by a phone in another format, then sign-in (R-FLOOR-4)
    page.set_viewport_size(PHONE)
    sign_in(page, office, "channel_assistant")
    page.get_by_label("客户手机号").fill("+86 138-2222-0001")
    page.get_by_role("button", name="查询").click()
    claims = page.locator("section", has_text="有效报备").first
    expect(claims).to_contain_text("鲁信渠道")
    expect(claims).to_contain_text("保护中")
    expect(claims).to_contain_text("第 1 次")
    expect(claims).to_contain_text("2027-01-26 09:")  # 60 days (R-PROT-2), Shanghai time
    assert CUSTOMER not in page.inner_text("main")  # masked on the screen
    page.get_by_role("button", name="判给 鲁信渠道").click()
    confirm(page, "确认判给")
    notice(page).to_contain_text("判客完成")
    visit = page.locator("section", has_text="的到访").first
    expect(visit).to_contain_text("已判客")
    households = visit.locator("fieldset.household")
    households.nth(0).get_by_label("姓名").fill("王先生")
    visit.get_by_role("button", name="再添一户").click()
    households.nth(1).get_by_label("姓名").fill("李女士")
    households.nth(1).get_by_label("手机号").fill("138 2222 0002")
    visit.get_by_role("button", name="签到", exact=True).click()
    notice(page).to_contain_text("签到完成")
    notice(page).to_contain_text("王先生（138****0001）、李女士（138****0002）")
    _, log = office.staff("front_desk", "GET", "/v1/visits")
    decided = {v["customer"]["phone_masked"]: v["decision"] for v in log["data"]}
    assert decided["138****0001"]["registration_id"] == registration["registration_id"]
    assert decided["138****0002"] is None  # a household of its own, decided on its own visit
    sign_out(page)

    # 置业顾问 李 files the form for the visit they received (R-FLOOR-5)
    page.set_viewport_size(TABLET)
    sign_in(page, office, "consultant", nth=1)
    page.get_by_role("link", name="带看确认单").click()
    owed = page.locator("form", has_text="138****0001")
    expect(owed).to_contain_text("待填写")
    owed.get_by_label("带看情况").fill("看了 3 号楼样板间")
    owed.get_by_role("button", name="提交确认单").click()
    confirm(page, "确认提交")
    notice(page).to_contain_text("确认单已提交")
    expect(page.locator("section", has_text="已提交（1）")).to_contain_text("138****0001")
    sign_out(page)

    # the channel assistant's view of the day's forms shows it filed
    sign_in(page, office, "channel_assistant")
    page.get_by_role("link", name="确认单").click()
    expect(page.locator("section", has_text="已填写（1）")).to_contain_text("138****0001")
    # the second household's form is owed once their own owner is decided
    expect(page.locator("section", has_text="待填写（0）")).to_contain_text("暂无记录")


def test_a_refusal_shows_its_rule_and_what_the_rule_says(page: Page, office: Office):
    """A consultant registers a walk-in whose phone a channel already holds:
    refused by R-DUP-1, explained in Chinese, and nothing written."""
    office.register("139 0000 0007", name="孙先生")
    page.set_viewport_size(PHONE)
    sign_in(page, office, "consultant")
    walk_in_form(page, "孙先生", "13900000007")
    page.get_by_role("button", name="提交报备").click()
    notice(page).to_contain_text("已拒绝（R-DUP-1）")
    notice(page).to_contain_text("该客户已有有效的报备保护，本次报备不成立。")
    notice(page).to_contain_text("重复报备无效，先到先得")
    status, customers = office.staff(
        "channel_assistant", "POST", "/v1/customer-lookups", {"phone": "13900000007"}
    )
    assert status == 200 and len(customers["live_claims"]) == 1  # the channel's, alone


def test_an_empty_roster_is_refused_with_the_rotation_rule(page: Page, office: Office):
    office.staff("sales_manager", "PUT", "/v1/rosters/2026-11-27", {"consultants": []})
    sign_in(page, office, "front_desk")
    page.get_by_label("来访人数").fill("1")
    page.get_by_role("button", name="登记到访").click()
    notice(page).to_contain_text("已登记到访")
    expect(page.locator("section", has_text="今日轮排")).to_contain_text("今日还没有排班")
    page.locator("li.visit").first.get_by_role("button", name="分配顾问").click()
    expect(page.locator("li.visit").first).to_contain_text("轮排中已没有可分配的顾问")
