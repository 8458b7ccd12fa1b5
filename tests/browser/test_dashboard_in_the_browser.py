"""The managers' 看板 in the browser (issue 17): with the demo of `make run`
(its history seeded and the start-up jobs run, as in test_demo_in_the_browser),
every chart is drawn by the vendored Chart.js under the page's strict
Content-Security-Policy (the page fixture fails on any violation), with data,
inside the width of a tablet and of a phone; and its numbers read as text too.
The screenshots are the README's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from chalicelib.services import container
from scripts.run_local import seed_history
from tests.browser.conftest import PHONE, TABLET, Office, shoot, sign_in

TITLES = [
    "今日概览",
    "每日报备（按报备方，成功与失败）",
    "报备失败原因（按规则）",
    "到访与判客",
    "即将到期的保护期",
    "公共池（按入池月份）",
    "罚款（按月份、按状态）",
]
# each chart's canvas, and the sum of what it draws, as Chart.js holds it
DRAWN = """() => [...document.querySelectorAll('main canvas')].map((c) => {
  const chart = window.Chart.getChart(c);
  const values = chart ? chart.data.datasets.flatMap((d) => d.data) : [];
  const total = chart ? values.reduce((a, b) => a + (b || 0), 0) : -1;
  const box = c.getBoundingClientRect();
  return {
    label: c.getAttribute('aria-label'), total,
    left: box.left, right: box.right, width: box.width, height: box.height,
  };
})"""


@pytest.fixture
def history(office: Office) -> dict[str, Any]:
    seeded = seed_history(office.demo, datetime.now(UTC))
    now = datetime.now(UTC)
    container.sweep().run(now)
    container.reclaim().run(now)
    return seeded


def open_dashboard(page: Page, office: Office, role: str = "sales_manager") -> None:
    sign_in(page, office, role)
    page.get_by_role("link", name="看板").click()
    expect(page.locator("main")).to_contain_text(TITLES[-1])
    expect(page.locator("#status")).to_have_text("")


@pytest.mark.parametrize(("viewport", "name"), [(TABLET, "768"), (PHONE, "390")])
def test_the_charts_are_drawn_with_data_within_the_width(
    page: Page, office, history, viewport, name
):
    page.set_viewport_size(viewport)
    open_dashboard(page, office)
    for title in TITLES:
        expect(page.get_by_role("heading", name=title)).to_be_visible()
    charts = page.evaluate(DRAWN)
    assert len(charts) == 6, charts  # the overview is text only
    for chart in charts:
        assert chart["total"] > 0, chart  # drawn, and not empty
        assert chart["width"] > 200 and chart["height"] > 100, chart
        assert chart["left"] >= 0 and chart["right"] <= viewport["width"], chart
    # no side-scrolling at the phone's width
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    shoot(page, f"dashboard-{name}")


def test_the_numbers_read_without_the_canvas(page: Page, office, history):
    """A summary line (the canvas's aria-label too) and a table under each chart."""
    open_dashboard(page, office, "site_manager")
    main = page.locator("main")
    expect(main).to_contain_text("公共池共有 3 位客户")
    expect(main).to_contain_text("重复报备（已有有效保护）（R-DUP-1）")
    pool = page.locator("section", has_text="公共池（按入池月份）")
    pool.get_by_text("查看数据表").click()
    expect(pool.locator("tbody tr")).to_have_count(1)
    expect(pool.locator("tbody")).to_contain_text("3")
    ending = page.locator("section", has_text="即将到期的保护期")
    expect(ending).to_contain_text("共有 1 个保护期到期")
    fines = page.locator("section", has_text="罚款（按月份、按状态）")
    expect(fines).to_contain_text("应缴")


def test_party_a_sees_the_dashboard_and_a_consultant_has_no_such_tab(page: Page, office, history):
    open_dashboard(page, office, "party_a_admin")
    expect(page.locator("main canvas").first).to_be_visible()
    page.get_by_role("button", name="退出登录").click()
    sign_in(page, office, "consultant")
    expect(page.get_by_role("link", name="看板")).to_have_count(0)
