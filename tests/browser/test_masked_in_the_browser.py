"""隐号报备 in the console (docs/decisions/0013): a channel registers a
customer by the masked number through the API; a walk-in of a matching number
is refused in Chinese; the front desk types the name beside the phone at
arrival, and the masked registration reads protected."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Office, confirm, notice, sign_in, sign_out, walk_in_form
from tests.browser.test_console_everyday import only_chinese
from tests.support import encode, signed_headers

PHONE = "136 1357 2468"
MASK = "136****2468"


def register_masked(office: Office, name: str = "周先生") -> dict[str, Any]:
    """The channel registers its customer at the visit by the masked number."""
    at = datetime.now(UTC).replace(microsecond=0)
    raw = encode({"customer": {"name": name, "phone_masked": MASK}, "visit_at": at.isoformat()})
    status, answer = office.call(
        "POST", "/v1/registrations", raw, headers=signed_headers(office.registrant(0), raw)
    )
    assert status == 201, answer
    return dict(answer)


def read_back(office: Office, registration_id: str) -> dict[str, Any]:
    status, answer = office.call(
        "GET",
        f"/v1/registrations/{registration_id}",
        headers=signed_headers(office.registrant(0), b"", key=None),
    )
    assert status == 200, answer
    return dict(answer)


def test_the_front_desk_resolves_a_masked_registration_by_name(page: Page, office: Office):
    registration = register_masked(office)
    assert (registration["status"], registration["protection"]) == ("provisional", None)

    # a consultant's walk-in of a number with that mask: refused, in Chinese
    sign_in(page, office, "consultant")
    walk_in_form(page, "孙先生", PHONE)
    page.get_by_role("button", name="提交报备").click()
    notice(page).to_contain_text("隐号报备")
    notice(page).to_contain_text("请到访时申请判客")
    only_chinese(page)
    sign_out(page)

    # 前台: the phone and the name at arrival (the name matches by surname)
    sign_in(page, office, "front_desk")
    arrival = page.locator("form", has_text="登记到访（询客后）")
    expect(arrival).to_contain_text("填写姓名可匹配隐号报备")
    arrival.get_by_label("客户手机号").fill(PHONE)
    arrival.get_by_label("姓名").fill("周小明")
    arrival.get_by_label("已完成标准询客话术").check()
    arrival.get_by_role("button", name="登记到访").click()
    notice(page).to_contain_text("已登记到访")
    notice(page).to_contain_text(MASK)
    card = page.locator("li.visit").first
    expect(card).to_contain_text("周小明")

    resolved = read_back(office, registration["registration_id"])
    assert resolved["status"] == "protected", resolved
    assert resolved["protection"]["ordinal"] == 1
    assert resolved["protection"]["starts_at"] == registration["created_at"]
    assert resolved["visit_window"] is None


def test_a_name_without_a_phone_is_not_sent(page: Page, office: Office):
    """The name goes with the phone only; alone it resolves nothing."""
    registration = register_masked(office)
    sign_in(page, office, "front_desk")
    arrival = page.locator("form", has_text="登记到访（询客后）")
    arrival.get_by_label("姓名").fill("周先生")
    arrival.get_by_role("button", name="登记到访").click()
    notice(page).to_contain_text("已登记到访")
    assert read_back(office, registration["registration_id"])["status"] == "provisional"


def test_the_channel_assistant_matches_a_masked_registration_at_the_lookup(
    page: Page, office: Office
):
    """判客 by the full number shows the masked registration waiting on its
    mask; a name of another surname matches nothing, the right one (after the
    question) makes it the customer's protected registration."""
    registration = register_masked(office)
    sign_in(page, office, "channel_assistant")
    page.get_by_label("客户手机号").fill(PHONE)
    page.get_by_role("button", name="查询").click()
    waiting = page.locator("section.masked-claim")
    expect(waiting).to_contain_text("隐号报备待匹配：鲁信渠道（渠道），报备于 2026-11-27 09:")
    expect(waiting).to_contain_text("保留至 2026-11-28 09:")
    expect(waiting).to_contain_text("登记姓氏：周")
    claims = page.locator("section", has_text="有效报备").first
    expect(claims).to_contain_text("有一条隐号报备待匹配")
    assert "reg_" not in waiting.inner_text() and "rg_" not in waiting.inner_text()

    # another surname: asked first, then nothing changes
    waiting.get_by_label("到访客户姓名").fill("李四")
    waiting.get_by_role("button", name="匹配隐号报备").click()
    confirm(page, "确认匹配")
    notice(page).to_contain_text("姓氏不符，未匹配")
    only_chinese(page)
    assert read_back(office, registration["registration_id"])["status"] == "provisional"
    expect(waiting).to_contain_text("登记姓氏：周")  # still waiting, looked up again

    # 取消 sends nothing
    waiting.get_by_label("到访客户姓名").fill("周小明")
    waiting.get_by_role("button", name="匹配隐号报备").click()
    page.locator("dialog.confirm").get_by_role("button", name="取消").click()
    expect(page.locator("dialog.confirm")).to_be_hidden()
    assert read_back(office, registration["registration_id"])["status"] == "provisional"

    # the right surname: matched, protected, and the lookup shows it
    waiting.get_by_role("button", name="匹配隐号报备").click()
    confirm(page, "确认匹配")
    notice(page).to_contain_text("已匹配：该报备现为有效保护")
    notice(page).to_contain_text("鲁信渠道（渠道）· 保护中 · 第 1 次推荐")
    only_chinese(page)
    expect(waiting).to_have_count(0)
    expect(claims).to_contain_text("鲁信渠道")
    expect(claims).to_contain_text("保护中")

    resolved = read_back(office, registration["registration_id"])
    assert resolved["status"] == "protected", resolved
    assert resolved["protection"]["ordinal"] == 1
    assert resolved["protection"]["starts_at"] == registration["created_at"]
