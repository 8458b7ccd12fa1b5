"""Party A's admin through the console: a new channel and its secret (shown
once), a staff member whose new token signs in, a broker certified and
revoked (R-REG-4)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Office, confirm, notice, sign_in, sign_out


def test_a_new_channel_gets_a_secret_shown_once_and_can_be_disabled(page: Page, office: Office):
    sign_in(page, office, "party_a_admin")
    page.get_by_label("类型").select_option(label="渠道")
    page.get_by_label("名称").fill("历下渠道")
    page.get_by_role("button", name="新建", exact=True).click()
    notice(page).to_contain_text("已新建报备方 历下渠道")
    secret = page.locator("#notice code.secret").inner_text()
    assert re.fullmatch(r"whsec_[A-Za-z0-9_\-]{20,}", secret)
    row = page.locator("tbody tr", has_text="历下渠道")
    expect(row).to_contain_text("启用")
    page.get_by_role("button", name="知道了").click()
    assert secret not in page.content()  # once the notice is closed, it is gone

    row.get_by_role("button", name="更换密钥").click()
    confirm(page, "确认更换")
    notice(page).to_contain_text("旧密钥在 2026-11-28 09:")  # it works 24 h more
    rotated = page.locator("#notice code.secret").inner_text()
    assert rotated != secret and rotated.startswith("whsec_")

    row.get_by_role("button", name="停用").click()
    confirm(page, "确认停用")
    expect(page.locator("tbody tr", has_text="历下渠道")).to_contain_text("已停用")


def test_a_new_staff_members_token_signs_in(page: Page, office: Office):
    sign_in(page, office, "party_a_admin")
    page.get_by_role("link", name="员工").click()
    page.get_by_label("姓名").fill("前台 钱")
    page.get_by_label("岗位").select_option(label="前台")
    page.get_by_role("button", name="新增", exact=True).click()
    notice(page).to_contain_text("已新增 前台 钱（前台）")
    token = page.locator("#notice code.secret").inner_text()
    me = page.locator("tbody tr", has_text="甲方管理员 周")
    expect(me.get_by_role("button", name="停用")).to_have_count(0)  # not oneself

    sign_out(page)
    page.get_by_label("员工令牌").fill(token)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("#who-name")).to_have_text("前台 钱")
    expect(page.get_by_role("link", name="来访与轮排")).to_be_visible()


def test_a_broker_is_certified_then_revoked(page: Page, office: Office):
    sign_in(page, office, "party_a_admin")
    page.get_by_role("link", name="全民经纪人").click()
    page.get_by_label("姓名").fill("经纪人 郑")
    page.get_by_label("手机号").fill("139 0000 0099")
    page.get_by_label("身份证号").fill("99999919850505003X")
    page.get_by_role("button", name="认证", exact=True).click()
    notice(page).to_contain_text("已认证")
    row = page.locator("tbody tr", has_text="经纪人 郑")
    expect(row).to_contain_text("139****0099")
    expect(row).to_contain_text("003X")
    assert "99999919850505003X" not in page.inner_text("main")
    row.get_by_role("button", name="撤销认证").click()
    confirm(page, "确认撤销")
    expect(page.locator("tbody tr", has_text="经纪人 郑")).to_contain_text("已撤销")
