"""The demo of `make run` as a new user meets it: on the first sign-in each
role's main screen shows the seeded history's work (scripts/demo_history.py),
not an empty table.

The office fixture seeds the demo project as `make run` does, at 09:00
Shanghai on a ticking clock; here its history is seeded on top, and the
jobs run once, as `make run` runs them at start-up (the sweep, then the
monthly reclaim, which takes the stale customers into the pool).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from chalicelib.services import container
from scripts.run_local import seed_history
from tests.browser.conftest import Office, sign_in


@pytest.fixture
def history(office: Office) -> dict[str, Any]:
    seeded = seed_history(office.demo, datetime.now(UTC))
    office.demo["history"] = seeded
    now = datetime.now(UTC)
    container.sweep().run(now)  # proposes R-FINE-4 for yesterday's missing form
    assert container.reclaim().run(now)["reclaimed"] == len(seeded["pool"])
    return seeded


def nth_of(office: Office, staff_id: str) -> int:
    consultants = [p["id"] for p in office.demo["staff"] if p["role"] == "consultant"]
    return consultants.index(staff_id)


def test_the_sales_manager_finds_the_reclaimed_customers_in_the_pool(page: Page, office, history):
    sign_in(page, office, "sales_manager")
    pool = page.locator("main")
    expect(pool).to_contain_text("公共池（3 位客户")
    for masked in history["pool"]:
        expect(pool.locator("tbody tr", has_text=masked)).to_contain_text("2026-11-01 02:00")
    expect(page.get_by_role("button", name="分配选中的客户")).to_be_visible()


def test_the_site_manager_sees_the_proposed_fines_and_the_forms_owed(page: Page, office, history):
    sign_in(page, office, "site_manager")
    # the main screen: yesterday's overdue form and today's pending one
    owed = page.locator("main")
    expect(owed).to_contain_text(history["overdue_form"]["phone_masked"])
    expect(owed).to_contain_text(history["pending_form"]["phone_masked"])
    page.get_by_role("link", name="违规与申诉").click()
    fines = page.locator("main")
    expect(fines).to_contain_text("待确认的违规（3）")
    for rule in ("R-FINE-1", "R-FINE-2", "R-FINE-4"):
        expect(fines.locator("tr", has_text=rule).first).to_be_visible()
    expect(fines).to_contain_text(history["not_greeted"]["phone_masked"])
    expect(fines).to_contain_text("待处理的申诉（1）")


def test_the_consultant_has_an_overdue_form_to_file(page: Page, office, history):
    overdue = history["overdue_form"]
    sign_in(page, office, "consultant", nth_of(office, overdue["consultant_id"]))
    expect(page.locator("main")).to_contain_text("我的客户")
    page.get_by_role("link", name="带看确认单").click()
    owed = page.locator("form", has_text=overdue["phone_masked"])
    expect(owed).to_contain_text("已逾期")
    expect(owed.get_by_role("button", name="提交确认单")).to_be_visible()


def test_the_channel_assistant_finds_a_customer_to_judge_and_forms_to_collect(
    page: Page, office, history
):
    sign_in(page, office, "channel_assistant")
    waiting = history["awaiting_decision"]
    page.get_by_label("客户手机号").fill(waiting["phone"])
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("button", name="判给 泉城渠道")).to_be_visible()
    page.get_by_role("link", name="确认单").click()
    forms = page.locator("main")
    expect(forms).to_contain_text(history["pending_form"]["phone_masked"])
    page.get_by_label("日期").fill(office_yesterday(history))
    page.get_by_role("button", name="查看").click()
    expect(forms).to_contain_text(history["overdue_form"]["phone_masked"])
    expect(forms).to_contain_text("已逾期")


def office_yesterday(history: dict[str, Any]) -> str:
    return str(history["overdue_form"]["date"])
