"""The console in a real browser: Debian's Chromium, driven by Playwright,
against the app served over HTTP in this process on the embedded store
(moto), with the demo project of `make run` seeded.

The clock is a moving one (time-machine, ticking) set to a Shanghai morning,
so a run near local midnight cannot split a visit across two days. The
browser's own zone is New York: every time the console shows must still be
Shanghai's.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app import app
from chalicelib.rules.claims import Source
from chalicelib.rules.records import Registrant
from chalicelib.store import Store
from scripts.run_local import seed
from tests.adversarial.burst import served
from tests.support import encode, shanghai, signed_headers

CHROMIUM = "/usr/bin/chromium"
# without the background-networking flags Chromium keeps reaching for the
# internet, which this machine refuses
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TABLET = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() or not shutil.which("fc-list"):
        pytest.fail(
            "the browser tests need Debian's chromium and a CJK font: "
            "apt-get install -y chromium fonts-noto-cjk (.ci/run does this)"
        )
    with sync_playwright() as playwright:
        # Playwright gives each launch a fresh, empty user-data directory
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class Office:
    """The served app, its demo project, and a way to act outside the browser."""

    base: str
    demo: dict[str, Any]
    store: Store
    clock: time_machine.Coordinates

    def person(self, role: str, nth: int = 0) -> dict[str, str]:
        return [p for p in self.demo["staff"] if p["role"] == role][nth]

    def token(self, role: str, nth: int = 0) -> str:
        return self.person(role, nth)["token"]

    def registrant(self, nth: int = 0) -> Registrant:
        r = self.demo["registrants"][nth]
        return Registrant(
            registrant_id=r["id"],
            kind=Source(r["kind"]),
            name=r["name"],
            secret=r["secret"],
            enabled=True,
        )

    def call(self, method: str, path: str, doc: Any = None, *, headers: dict[str, str]) -> Any:
        data = None if doc is None else (doc if isinstance(doc, bytes) else encode(doc))
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def staff(
        self, role: str, method: str, path: str, doc: Any = None, nth: int = 0, key: str = ""
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.token(role, nth)}"}
        if doc is not None:
            headers["Content-Type"] = "application/json"
        if key:
            headers["Idempotency-Key"] = key
        return self.call(method, path, doc, headers=headers)

    def register(self, phone: str, name: str = "王先生", nth: int = 0) -> dict[str, Any]:
        """The channel registers its customer at the visit (R-REG-2), signed."""
        at = datetime.now(UTC).replace(microsecond=0)
        doc = {"customer": {"name": name, "phone": phone}, "visit_at": at.isoformat()}
        raw = encode(doc)
        status, answer = self.call(
            "POST", "/v1/registrations", raw, headers=signed_headers(self.registrant(nth), raw)
        )
        assert status == 201, answer
        return dict(answer)

    def received(self, phone: str, name: str = "王先生", party_size: int = 1) -> dict[str, Any]:
        """A channel customer registered, arrived with the channel, decided
        (判客) and received in turn: their viewing confirmation form is owed."""
        registration = self.register(phone, name=name)
        arrival = {
            "phone": phone.replace(" ", ""),
            "party_size": party_size,
            "greeted": True,
            "accompanied_by": self.registrant(0).registrant_id,
        }
        status, visit = self.staff("front_desk", "POST", "/v1/visits", arrival)
        assert status == 201, visit
        decided = {"registration_id": registration["registration_id"]}
        path = f"/v1/visits/{visit['id']}"
        assert self.staff("channel_assistant", "POST", f"{path}/decisions", decided)[0] == 201
        assert self.staff("front_desk", "POST", f"{path}/assignment", {})[0] == 201
        return dict(visit)


@pytest.fixture
def office(tables: Store) -> Iterator[Office]:
    with (
        time_machine.travel(shanghai("2026-11-27 09:00"), tick=True) as clock,
        served(app) as port,
    ):
        base = f"http://127.0.0.1:{port}"
        yield Office(base, seed(base), tables, clock)


@pytest.fixture
def page(browser: Browser, office: Office) -> Iterator[Page]:
    context = browser.new_context(viewport=TABLET, locale="zh-CN", timezone_id="America/New_York")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    # the page must run under its own Content-Security-Policy, untouched
    tab.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield tab
    context.close()
    assert errors == [], f"the console's script failed or broke its policy: {errors}"


def sign_in(page: Page, office: Office, role: str, nth: int = 0) -> None:
    page.goto(office.base + "/console")
    page.get_by_label("员工令牌").fill(office.token(role, nth))
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("#who-name")).to_have_text(office.person(role, nth)["name"])
    # the first screen has loaded: no request of it is still on its way
    expect(page.locator("main")).not_to_have_attribute("data-screen", "sign-in")
    expect(page.locator("#status")).to_have_text("")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_label("员工令牌")).to_be_visible()


def walk_in_form(page: Page, name: str, phone: str) -> None:
    """A consultant's 报备客户 form, filled in and not yet sent."""
    page.get_by_role("link", name="报备客户").click()
    page.get_by_label("客户姓名").fill(name)
    page.get_by_label("客户手机号").fill(phone)


def roster_of(page: Page, day: str) -> None:
    """The sales manager's 排班 screen, showing ``day``."""
    page.get_by_role("link", name="排班").click()
    page.get_by_label("日期").fill(day)
    page.get_by_role("button", name="查看").click()
    expect(page.locator("main form")).to_contain_text(f"{day} 的排班")


def exempt(page: Page, phone_masked: str, kind: str, note: str | None = None) -> None:
    """The site manager signs the exemption of the visit of ``phone_masked``."""
    owed = page.locator("form", has_text=phone_masked)
    owed.get_by_label("豁免类型").select_option(label=kind)
    if note:
        owed.get_by_label("说明").fill(note)
    owed.get_by_role("button", name="签字豁免").click()


def confirm(page: Page, yes: str) -> None:
    """Answer the console's question before an irreversible action with ``yes``
    (its confirm button); the dialog closes."""
    dialog = page.locator("dialog.confirm")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=yes).click()
    expect(dialog).to_be_hidden()


def notice(page: Page) -> Any:
    return expect(page.get_by_role("alert"))


def shoot(page: Page, name: str) -> None:
    """A screenshot for the README, at the page's current width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
