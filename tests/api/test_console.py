"""The console's files: served by the app itself, only ours, with a policy
that keeps the page talking to its own origin; and every API call the
script makes is a route the app serves (the browser tests walk them)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app import app
from chalicelib.console import STATIC, TYPES
from tests.api.test_openapi import Case, Ctx, answered_as_declared, header, spec  # noqa: F401
from tests.conftest import payload

PAGE = "/console"
ASSET = "/console/{name}"


def page(ctx: Ctx) -> Any:
    return ctx.api.client.http.get(PAGE)


def script(ctx: Ctx) -> Any:
    return ctx.api.client.http.get("/console/console.js")


def style(ctx: Ctx) -> Any:
    return ctx.api.client.http.get("/console/console.css")


def with_a_slash(ctx: Ctx) -> Any:
    return ctx.api.client.http.get(PAGE + "/")


def not_ours(ctx: Ctx) -> Any:
    return ctx.api.client.http.get("/console/app.py")


def unknown_parameter(path: str) -> Any:
    def run(ctx: Ctx) -> Any:
        return ctx.api.client.http.get(path + "?lang=en")

    run.__name__ = "unknown_query_parameter"
    return run


CONSOLE_CASES = [
    Case("GET", PAGE, 200, page),
    Case("GET", PAGE, 308, with_a_slash),
    Case("GET", ASSET, 200, script),
    Case("GET", ASSET, 200, style),
    Case("GET", ASSET, 404, not_ours),
    Case("GET", PAGE, 400, unknown_parameter(PAGE)),
    Case("GET", ASSET, 400, unknown_parameter("/console/console.js")),
]


@pytest.mark.parametrize("case", CONSOLE_CASES, ids=lambda c: c.id)
def test_console_answers_conform_to_the_spec(spec, api, clock, monkeypatch, case):  # noqa: F811
    answered_as_declared(spec, case, Ctx(api, clock, monkeypatch))


def test_the_page_is_simplified_chinese_and_loads_only_its_own_files(api):
    r = api.client.http.get(PAGE)
    assert r.status_code == 200
    assert header(r, "Content-Type") == "text/html; charset=utf-8"
    html = r.body.decode()
    assert '<html lang="zh-CN">' in html
    assert 'src="console/console.js"' in html and 'href="console/console.css"' in html
    policy = header(r, "Content-Security-Policy") or ""
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert header(r, "X-Content-Type-Options") == "nosniff"


def test_the_page_with_a_slash_goes_to_the_page_without_one(api):
    r = api.client.http.get("/console/")
    assert r.status_code == 308
    assert header(r, "Location") == "../console"  # relative: the stage prefix stays


@pytest.mark.parametrize("name", ["app.py", "..%2Fapp.py", "index.html.bak", "console.JS"])
def test_only_the_console_files_are_served(api, name):
    r = api.client.http.get(f"/console/{name}")
    assert r.status_code == 404, r.body
    assert payload(r)["error"]["code"] == "NOT_FOUND"


def test_the_console_needs_no_credentials_but_holds_none(api):
    """The files are public; the token is typed by the person and kept in
    sessionStorage, never in a file the app serves."""
    for name in TYPES:
        text = (STATIC / name).read_text(encoding="utf-8")
        assert "localStorage" not in text, name  # the token must not outlive the tab
        assert not re.search(r"tok_[0-9A-Z]{10}", text), name


def script_calls() -> set[tuple[str, str]]:
    """(method, route) of every API call written in console.js."""
    text = (STATIC / "console.js").read_text(encoding="utf-8")
    calls = set()
    for verb, path in re.findall(r"\b(get|post|put|download)\(\s*`?\"?(v1/[^\"`,)]*)", text):
        route = "/" + re.sub(r"\$\{[^}]+\}", "{}", path)
        calls.add(({"post": "POST", "put": "PUT"}.get(verb, "GET"), route))
    return calls


def test_every_call_the_script_makes_is_a_route_the_app_serves():
    served = {
        (method, re.sub(r"\{[^}]+\}", "{}", path))
        for path, methods in app.routes.items()
        for method in methods
    }
    calls = script_calls()
    assert len(calls) >= 20, calls  # the reader above still finds the calls
    assert calls - served == set(), "the console calls routes the app does not serve"
