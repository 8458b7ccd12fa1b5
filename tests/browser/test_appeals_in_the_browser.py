"""申诉 in the browser (decision 0012): a channel the channel assistant passed
over appeals by signed API; the site manager finds it in the 申诉 queue and
reverses it, after a <dialog> that needs a reason; the sales manager files
an appeal for a passed-over channel from the same screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from chalicelib.rules.claims import Claim, Customer, Period, Source
from chalicelib.rules.floor import Decision, Visit
from chalicelib.rules.localtime import local_date
from chalicelib.rules.phone import customer_key, mask_phone
from chalicelib.rules.records import Registrant
from chalicelib.services.customers import Customers
from chalicelib.services.ids import new_id
from chalicelib.settings import settings
from tests.browser.conftest import TABLET, Office, sign_in
from tests.support import encode, make_registrant, signed_headers


def passed_over(office: Office, number: str) -> tuple[Registrant, Registrant]:
    """泉水渠道's hold lapsed unvisited; 链城渠道 registered and holds; 泉水
    brought the customer an hour ago and the assistant decided for 链城."""
    claimant = make_registrant(Source.CHANNEL, name="泉水渠道")
    holder = make_registrant(Source.CHANNEL, name="链城渠道")
    now = datetime.now(UTC).replace(microsecond=0)
    for r in (claimant, holder):
        office.store.put_registrant(r, now)
    decided = now - timedelta(hours=1)
    policy = settings().policy
    key = customer_key(number, settings().phone_hmac_key)
    lapsed_at = decided - timedelta(days=10)
    hold = Claim(
        new_id("rg", lapsed_at),
        claimant.registrant_id,
        Source.CHANNEL,
        lapsed_at,
        None,
        None,
        visit_window=Period(lapsed_at, lapsed_at + timedelta(hours=24)),
    )
    held_at = decided - timedelta(minutes=20)
    held = Claim(
        new_id("rg", held_at),
        holder.registrant_id,
        Source.CHANNEL,
        held_at,
        1,
        Period(held_at, held_at + timedelta(days=60)),
    )
    Customers(office.store, policy).commit(key, number, Customer(claims=(hold, held)), held_at)
    office.store.save_visit(
        Visit(
            visit_id=new_id("vi", decided),
            group_id=new_id("gr", decided),
            arrived_at=decided - timedelta(minutes=10),
            day=local_date(decided, policy.zone),
            party_size=1,
            greeted=True,
            logged_by=office.person("front_desk")["id"],
            accompanied_by=claimant.registrant_id,
            customer_key=key,
            phone_masked=mask_phone(number),
            customer_name="赵女士",
            decisions=(
                Decision(
                    new_id("dc", decided),
                    held.registration_id,
                    holder.registrant_id,
                    Source.CHANNEL,
                    office.person("channel_assistant")["id"],
                    decided,
                ),
            ),
        ),
        decided,
    )
    return claimant, holder


def test_the_site_manager_reverses_an_appeal_after_confirming(page: Page, office: Office):
    number = "13900001111"
    claimant, _ = passed_over(office, number)
    raw = encode({"phone": number, "reason": "客户由泉水渠道带访，有带看记录"})
    status, filed = office.call(
        "POST", "/v1/appeals", raw, headers=signed_headers(claimant, raw, key="browser-appeal-1")
    )
    assert status == 201, filed
    page.set_viewport_size(TABLET)
    sign_in(page, office, "site_manager")
    page.get_by_role("link", name="判客申诉", exact=True).click()
    queue = page.locator("main .appeal-queue")
    expect(queue).to_contain_text("139****1111")
    expect(queue).to_contain_text("泉水渠道")
    expect(queue).to_contain_text("链城渠道")
    expect(queue).to_contain_text("待处理")
    page.get_by_role("button", name="改判").click()
    dialog = page.locator("dialog.confirm")
    expect(dialog).to_contain_text("改判给 泉水渠道？")
    dialog.get_by_role("button", name="确认改判").click()  # no reason yet: stays open
    expect(dialog).to_be_visible()
    dialog.get_by_label("理由（必填）").fill("监控显示泉水渠道带访")
    dialog.get_by_role("button", name="确认改判").click()
    expect(page.locator("#notice")).to_contain_text("已改判")
    expect(queue).to_contain_text("没有待处理的申诉")
    page.get_by_label("状态").select_option("reversed")
    expect(page.locator("main .appeal-queue")).to_contain_text("已改判 · 监控显示泉水渠道带访")
    lookup = office.staff("channel_assistant", "POST", "/v1/customer-lookups", {"phone": number})
    assert lookup[1]["live_claims"][0]["holder_id"] == claimant.registrant_id
    assert lookup[1]["appeals"][0]["state"] == "reversed"


def test_the_sales_manager_appeals_for_a_passed_over_channel(page: Page, office: Office):
    number = "13900002222"
    claimant, _ = passed_over(office, number)
    page.set_viewport_size(TABLET)
    sign_in(page, office, "sales_manager")
    page.get_by_role("link", name="判客申诉", exact=True).click()
    form = page.locator("main form.appeal-form")
    form.get_by_label("客户手机号").fill(number)
    form.get_by_label("被略过的报备方").select_option(claimant.registrant_id)
    form.get_by_label("申诉理由").fill("渠道有带看照片")
    form.get_by_role("button", name="提交申诉").click()
    expect(page.locator("#notice")).to_contain_text("申诉已提交")
    queue = page.locator("main .appeal-queue")
    expect(queue).to_contain_text("139****2222")
    expect(queue).to_contain_text("（经理代申诉）")
    expect(queue.get_by_role("button", name="改判")).to_have_count(0)  # the site manager's
    form = page.locator("main form.appeal-form")
    form.get_by_label("客户手机号").fill(number)
    form.get_by_label("被略过的报备方").select_option(claimant.registrant_id)
    form.get_by_label("申诉理由").fill("再申诉一次")
    form.get_by_role("button", name="提交申诉").click()
    expect(page.locator("#notice")).to_contain_text("R-APPEAL-3")
