"""Headers every answer needs: an answer that shows a secret or a token is
never kept by a cache (`Cache-Control: no-store`), and a JSON answer is never
sniffed into another type (`X-Content-Type-Options: nosniff`)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.store import Store, StoreUnavailable
from tests.api.floor_support import Person, person
from tests.conftest import payload
from tests.support import body


def header(response: Any, name: str) -> str | None:
    return next((v for k, v in response.headers.items() if k.lower() == name.lower()), None)


@pytest.fixture
def admin(api) -> Person:
    return person(api, Role.PARTY_A_ADMIN, "甲方 周")


def test_answers_that_show_a_secret_or_a_token_are_never_cached(admin):
    registrant = admin.post("/v1/registrants", {"kind": "channel", "name": "鲁信渠道"})
    rotated = admin.post(f"/v1/registrants/{payload(registrant)['id']}/secret", {})
    member = admin.post("/v1/staff", {"name": "顾问 张", "role": "consultant"})
    token = admin.post(f"/v1/staff/{payload(member)['id']}/tokens", {})
    shown = {
        "POST /v1/registrants": (registrant, "secret"),
        "POST /v1/registrants/{id}/secret": (rotated, "secret"),
        "POST /v1/staff": (member, "token"),
        "POST /v1/staff/{id}/tokens": (token, "token"),
    }
    for route, (r, field) in shown.items():
        assert r.status_code == 201, (route, r.body)
        assert payload(r)[field], route  # it does carry the secret
        assert header(r, "Cache-Control") == "no-store", route


def test_answers_without_a_secret_are_not_marked_no_store(admin):
    """no-store is for what must never be kept, not on everything."""
    assert header(admin.get("/v1/registrants"), "Cache-Control") is None
    assert header(admin.get("/v1/staff/me"), "Cache-Control") is None


def test_every_json_answer_says_nosniff(api, admin, monkeypatch):
    channel = api.registrant(Source.CHANNEL)
    created = api.register(channel, body(visit_at="2026-11-27T09:30:00+08:00"))
    bad = api.register(channel, {"customer": {}})
    stranger = api.client.http.get("/v1/registrations")
    missing = admin.get("/v1/visits/vi_missing")
    not_allowed = api.client.http.delete("/v1/registrations")  # answered by Chalice, reshaped

    def down(self: Store, *args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("injected")

    monkeypatch.setattr(Store, "get_token", down)
    outage = admin.get("/v1/staff/me")
    answers = [created, bad, stranger, missing, not_allowed, outage]
    assert [r.status_code for r in answers] == [201, 400, 401, 404, 405, 503]
    for r in answers:
        assert header(r, "Content-Type") == "application/json; charset=utf-8"
        assert header(r, "X-Content-Type-Options") == "nosniff", r.status_code
