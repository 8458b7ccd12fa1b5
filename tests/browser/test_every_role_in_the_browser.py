"""Every role's main screen, on a morning with work on the floor: in
Chinese, every field labelled, nothing wider than a tablet (768 px) or a
phone (390 px), and a screenshot at tablet width for the README."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, TABLET, Office, shoot, sign_in

# role -> (the screenshot's name, what its main screen shows once loaded)
MAIN_SCREENS = {
    "front_desk": ("front-desk", "今日来访"),
    "channel_assistant": ("channel-assistant", "有效报备"),
    "consultant": ("consultant", "我的客户"),
    "sales_admin": ("sales-admin", "渠道日报"),
    "sales_manager": ("sales-manager", "公共池"),
    "site_manager": ("site-manager", "待处理的确认单"),
    "party_a_admin": ("party-a-admin", "报备方"),
}

UNLABELLED = """() => [...document.querySelectorAll('main input, main select, main textarea')]
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map((el) => el.outerHTML)"""
WIDER_THAN_THE_SCREEN = "() => document.documentElement.scrollWidth > window.innerWidth"


def morning(office: Office) -> None:
    """A channel customer received and decided (their form pending), a
    consultant's walk-in, and a visit logged without the greeting."""
    visit = office.received("138 3333 0001", name="周先生", party_size=2)
    walk_in: dict[str, Any] = {
        "customer": {"name": "吴女士", "phone": "13933330002"},
        "visit_at": visit["arrived_at"],
    }
    assert (
        office.staff("consultant", "POST", "/v1/consultant-registrations", walk_in, key="w1")[0]
        == 201
    )
    assert (
        office.staff("front_desk", "POST", "/v1/visits", {"party_size": 1, "greeted": False})[0]
        == 201
    )


def open_main_screen(page: Page, office: Office, role: str) -> None:
    sign_in(page, office, role)
    if role == "channel_assistant":  # 判客 starts from a phone number
        page.get_by_label("客户手机号").fill("138 3333 0001")
        page.get_by_role("button", name="查询").click()
    expect(page.locator("main")).to_contain_text(MAIN_SCREENS[role][1])
    expect(page.locator("#status")).to_have_text("")


@pytest.mark.parametrize("role", sorted(MAIN_SCREENS))
def test_each_roles_main_screen_fits_a_tablet_and_a_phone(page: Page, office: Office, role):
    morning(office)
    open_main_screen(page, office, role)
    assert page.evaluate(UNLABELLED) == []
    shown = page.inner_text("body")
    assert "null" not in shown and "undefined" not in shown and "NaN" not in shown
    assert not page.evaluate(WIDER_THAN_THE_SCREEN), "wider than a 768 px tablet"
    assert page.get_by_role("alert").is_hidden(), page.get_by_role("alert").inner_text()
    shoot(page, MAIN_SCREENS[role][0])
    page.set_viewport_size(PHONE)
    assert not page.evaluate(WIDER_THAN_THE_SCREEN), "wider than a 390 px phone"
    page.set_viewport_size(TABLET)
