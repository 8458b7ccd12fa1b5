"""事件推送 in the browser (decision 0010): Party A's admin sets a
registrant's endpoint (a receiver on 127.0.0.1, allowed in the test stage)
after a confirmation <dialog>, is refused a private address in Chinese,
reads the delivery log, replays a delivery after confirming, and stops the
pushes; the receiver got each event signed with the registrant's secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from chalicelib.services.delivery.service import deliveries
from chalicelib.signing import verify
from tests.browser.conftest import PHONE, Office, confirm, notice, shoot, sign_in
from tests.jobs.test_deliveries import Receiver


def open_deliveries(page: Page, office: Office) -> str:
    sign_in(page, office, "party_a_admin")
    page.get_by_role("link", name="事件推送").click()
    registrant = office.registrant(0)
    page.get_by_label("报备方", exact=True).select_option(value=registrant.registrant_id)
    expect(page.locator("main")).to_contain_text(f"{registrant.name} 的推送记录")
    return registrant.name


def the_minutes_run(office: Office) -> None:
    """The minute's job, once the feed's settle delay has passed."""
    office.clock.shift(timedelta(minutes=1))
    deliveries().run(datetime.now(UTC).replace(microsecond=0))


def test_party_a_sets_an_endpoint_reads_the_log_replays_and_stops(page: Page, office: Office):
    with Receiver() as receiver:
        name = open_deliveries(page, office)
        main = page.locator("main")
        expect(main).to_contain_text("尚未设置推送地址")
        expect(main).to_contain_text("暂无推送记录")

        # a private address is refused, said in Chinese, and nothing is set
        page.get_by_label("推送地址（https://）").fill("https://10.0.0.8/hooks")
        page.get_by_role("button", name="保存推送地址").click()
        confirm(page, "确认设置")
        notice(page).to_contain_text("地址不允许")
        assert office.store.get_endpoint(office.registrant(0).registrant_id) is None

        # cancelled: nothing is sent
        page.get_by_label("推送地址（https://）").fill(receiver.url)
        page.get_by_role("button", name="保存推送地址").click()
        page.locator("dialog.confirm").get_by_role("button", name="取消").click()
        assert office.store.get_endpoint(office.registrant(0).registrant_id) is None

        page.get_by_role("button", name="保存推送地址").click()
        confirm(page, "确认设置")
        notice(page).to_contain_text("推送地址已保存")
        expect(page.locator(".endpoint-url")).to_have_text(receiver.url)
        expect(main).to_contain_text("推送中")

        registration = office.register("139 0000 7788", name="赵女士")
        the_minutes_run(office)
        ((headers, raw),) = receiver.requests
        registrant = office.registrant(0)
        assert verify(registrant.secret, headers["X-Signature"], raw, datetime.now(UTC).timestamp())
        assert registration["registration_id"] in raw.decode()
        assert "7788" not in raw.decode()  # no phone in what is pushed

        # the log, read again: delivered, HTTP 200
        page.get_by_label("报备方", exact=True).select_option(value="")
        page.get_by_label("报备方", exact=True).select_option(value=registrant.registrant_id)
        log = page.locator(".delivery-log")
        expect(log).to_contain_text("已送达")
        expect(log).to_contain_text("报备生效（开始保护）")
        expect(log).to_contain_text("HTTP 200")
        page.set_viewport_size(PHONE)
        shoot(page, "deliveries-390")

        # replayed after confirming: the same Event-Id arrives again
        log.get_by_role("button", name="重新推送").click()
        confirm(page, "确认重新推送")
        notice(page).to_contain_text("已安排重新推送")
        expect(log).to_contain_text("待推送")
        the_minutes_run(office)
        assert [h["Event-Id"] for h, _ in receiver.requests] == [headers["Event-Id"]] * 2
        assert receiver.accepted == [headers["Event-Id"]]  # once, after de-duplication

        # stopped after confirming
        page.get_by_role("button", name="停止推送").click()
        confirm(page, "确认停止")
        notice(page).to_contain_text("已停止推送")
        expect(main).to_contain_text(f"{name} 尚未设置推送地址")
        assert office.store.get_endpoint(registrant.registrant_id) is None
