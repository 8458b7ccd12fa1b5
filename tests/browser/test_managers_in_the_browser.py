"""The sales manager's pool (R-RECLAIM-1) through the console, and the
sign-in a browser tab keeps: for the tab only, gone at sign-out."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import Browser, Page, expect

from chalicelib.rules.phone import customer_key
from chalicelib.services import container
from chalicelib.services.registration.registrations import WebhookRequest
from chalicelib.settings import settings
from tests.browser.conftest import (
    DESKTOP,
    TABLET,
    Office,
    notice,
    roster_of,
    shoot,
    sign_in,
    sign_out,
)
from tests.support import encode, shanghai


def stale_walk_in(office: Office, phone: str, nth: int, visited: datetime) -> None:
    """A consultant's walk-in (R-REG-1) on ``visited``, months ago."""
    consultant = office.store.get_staff(office.person("consultant", nth)["id"])
    assert consultant is not None
    doc = {"customer": {"name": "老客户", "phone": phone}, "visit_at": visited.isoformat()}
    raw = encode(doc)
    request = WebhookRequest(None, None, f"walk-in-{phone}", "application/json", raw)
    answer = container.registrations().register_by_consultant(
        consultant, request.idempotency_key, request, visited
    )
    assert answer.code is None, answer.body


def test_a_sales_manager_assigns_the_reclaimed_customers_from_the_pool(page: Page, office):
    stale_walk_in(office, "13700000011", 0, shanghai("2026-07-20 10:00"))
    stale_walk_in(office, "13700000012", 1, shanghai("2026-07-21 11:00"))
    # the 1 November run (02:00 Shanghai) takes both: their last visits are 3 months old
    assert container.reclaim().run(shanghai("2026-11-01 02:00"))["reclaimed"] == 2

    page.set_viewport_size(DESKTOP)
    sign_in(page, office, "sales_manager")
    pool = page.locator("section", has_text="公共池")
    expect(pool).to_contain_text("公共池（2 位客户，按入池先后）")
    expect(pool).to_contain_text("2026-11-01 02:00")  # when they entered, Shanghai time
    first = pool.locator("tbody tr", has_text="137****0011")
    second = pool.locator("tbody tr", has_text="137****0012")
    expect(first).to_contain_text("2026-07-20 10:00")  # the last visit
    expect(first.locator("td").nth(4)).to_have_text("置业顾问 张")  # who had them before
    # the round-robin suggests one each; the manager gives both to 李 instead
    first.get_by_label("137****0011 分配给").select_option(label="置业顾问 李")
    second.get_by_label("137****0012 分配给").select_option(label="置业顾问 李")
    page.set_viewport_size(TABLET)
    shoot(page, "sales-manager")
    page.get_by_role("button", name="分配选中的客户").click()
    notice(page).to_contain_text("已分配 2 位客户")
    expect(pool).to_contain_text("公共池里没有客户")

    li = office.person("consultant", 1)["id"]
    now = datetime.now(UTC)
    for phone in ("13700000011", "13700000012"):
        customer = office.store.get_customer(customer_key(phone, settings().phone_hmac_key))
        assert customer is not None and customer.consultant_at(now) == li


def test_only_ticked_customers_are_assigned(page: Page, office):
    stale_walk_in(office, "13700000021", 0, shanghai("2026-07-20 10:00"))
    stale_walk_in(office, "13700000022", 0, shanghai("2026-07-20 10:30"))
    container.reclaim().run(shanghai("2026-11-01 02:00"))
    sign_in(page, office, "sales_manager")
    page.get_by_label("选中 137****0021").uncheck()
    page.get_by_role("button", name="分配选中的客户").click()
    notice(page).to_contain_text("已分配 1 位客户")
    pool = page.locator("section", has_text="公共池")
    expect(pool).to_contain_text("公共池（1 位客户")
    expect(pool).to_contain_text("137****0021")


def test_the_sign_in_lasts_for_the_tab_and_sign_out_clears_it(browser: Browser, page, office):
    sign_in(page, office, "front_desk")
    token = office.token("front_desk")
    assert page.evaluate("Object.values(sessionStorage)") == [token]
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []
    page.reload()  # the same tab keeps the session
    expect(page.locator("#who-name")).to_have_text("前台 刘")

    other = page.context.new_page()  # a new tab starts signed out
    other.goto(office.base + "/console")
    expect(other.get_by_label("员工令牌")).to_be_visible()
    other.close()

    sign_out(page)
    assert page.evaluate("sessionStorage.length") == 0
    page.reload()
    expect(page.get_by_label("员工令牌")).to_be_visible()


def test_a_wrong_token_is_refused_in_chinese(page: Page, office):
    page.goto(office.base + "/console")
    page.get_by_label("员工令牌").fill("tok_NOPE.not-a-token")
    page.get_by_role("button", name="登录", exact=True).click()
    notice(page).to_contain_text("令牌无效、已停用或已撤销，请重新登录。")
    assert page.evaluate("sessionStorage.length") == 0
    expect(page.locator("#who")).to_be_hidden()


def test_a_token_disabled_meanwhile_sends_the_tab_back_to_sign_in(page: Page, office):
    sign_in(page, office, "front_desk")
    from chalicelib.services.people import staff

    staff.set_staff_enabled(office.store, office.person("front_desk")["id"], False, datetime.now())
    page.reload()
    expect(page.get_by_label("员工令牌")).to_be_visible()
    notice(page).to_contain_text("登录已失效")
    assert page.evaluate("sessionStorage.length") == 0


def test_the_arrival_form_works_from_the_keyboard_alone(page: Page, office):
    page.goto(office.base + "/console")
    page.keyboard.type(office.token("front_desk"))  # the token field has the focus
    page.keyboard.press("Enter")
    expect(page.locator("#who-name")).to_have_text("前台 刘")
    page.get_by_label("客户手机号").focus()
    page.keyboard.type("139 1111 0001")
    page.keyboard.press("Tab")  # 姓名 (optional: it matches a masked registration)
    page.keyboard.type("王先生")
    page.keyboard.press("Tab")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # greeted: the box starts unticked (R-FINE-2)
    page.keyboard.press("Enter")
    notice(page).to_contain_text("已登记到访")
    card = page.locator("li.visit").first
    expect(card).to_contain_text("3 人")
    expect(card).not_to_contain_text("未完成询客")


def test_the_sales_manager_puts_one_consultant_on_tomorrows_roster(page: Page, office):
    sign_in(page, office, "sales_manager")
    roster_of(page, "2026-11-28")
    page.get_by_label("置业顾问 李").check()
    page.get_by_role("button", name="保存排班").click()
    notice(page).to_contain_text("2026-11-28：置业顾问 李")
    status, roster = office.staff("front_desk", "GET", "/v1/rosters/2026-11-28")
    assert status == 200 and [c["name"] for c in roster["queue"]] == ["置业顾问 李"]
