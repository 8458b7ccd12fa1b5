"""A hand-made corpus of bad input against every route: full-width digits,
zero-width and bidi characters, emoji in a 10,000-character name, NUL bytes,
numbers as strings and strings as numbers, deeply nested JSON, repeated keys,
wrong content types, empty bodies, huge query parameters. Every case is
answered 4xx in the one error shape, and the tables are exactly as before."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app import app
from chalicelib.rules.claims import Source
from chalicelib.services.people import staff as staff_service
from tests.adversarial.routes import concrete, role_for
from tests.conftest import payload
from tests.support import signed_headers, snapshot

VISIT_AT = "2026-11-27T09:30:00+08:00"
PHONE = "13812345678"
SIGNED = {
    ("POST", "/v1/registrations"),
    ("GET", "/v1/registrations"),
    ("GET", "/v1/registrations/{registration_id}"),
    ("GET", "/v1/events"),
    ("GET", "/v1/appeals/{appeal_id}"),
}
# a body of the right shape for each writing route; the corpus spoils it
BASES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/registrations"): {
        "customer": {"name": "王先生", "phone": PHONE},
        "visit_at": VISIT_AT,
        "note": "与太太同来",
    },
    ("POST", "/v1/consultant-registrations"): {
        "customer": {"name": "王先生", "phone": PHONE},
        "visit_at": VISIT_AT,
    },
    ("POST", "/v1/late-approvals"): {
        "phone": PHONE,
        "registrant_id": "stf_x",
        "visit_date": "2026-11-26",
        "reason": "系统故障",
    },
    ("POST", "/v1/customer-lookups"): {"phone": PHONE},
    ("POST", "/v1/masked-claims/resolutions"): {"phone": PHONE, "name": "王先生"},
    ("POST", "/v1/visits"): {"party_size": 2, "greeted": True, "phone": PHONE},
    ("POST", "/v1/visits/{visit_id}/departure"): {},
    ("POST", "/v1/visits/{visit_id}/decisions"): {"registration_id": "rg_x"},
    ("POST", "/v1/visits/{visit_id}/sign-ins"): {"households": [{"name": "王", "phone": PHONE}]},
    ("POST", "/v1/visits/{visit_id}/assignment"): {},
    ("POST", "/v1/visits/{visit_id}/form"): {"note": "看了样板间"},
    ("POST", "/v1/visits/{visit_id}/exemption"): {"kind": "gift_only", "note": "领礼品"},
    ("POST", "/v1/visit-lookups"): {"phone": PHONE},
    ("PUT", "/v1/rosters/{day}"): {"consultants": ["stf_x"]},
    ("POST", "/v1/pool/assignments"): {
        "assignments": [{"customer_id": "ab12", "consultant_id": "stf_x"}]
    },
    ("POST", "/v1/deals"): {"phone": PHONE, "note": "首付"},
    ("POST", "/v1/fines"): {"kind": "R-FINE-1", "payer_id": "stf_x", "note": "x", "phone": PHONE},
    ("POST", "/v1/fines/{fine_id}/decision"): {"action": "confirm"},
    ("POST", "/v1/fines/{fine_id}/appeal"): {"reason": "不是我"},
    ("POST", "/v1/fines/{fine_id}/appeal-decision"): {"outcome": "upheld", "note": "x"},
    ("POST", "/v1/registrants"): {"kind": "channel", "name": "渠道甲"},
    ("POST", "/v1/registrants/{registrant_id}/enabled"): {"enabled": False},
    ("POST", "/v1/registrants/{registrant_id}/secret"): {"at_once": True},
    ("POST", "/v1/brokers"): {
        "name": "经纪人 李",
        "phone": PHONE,
        "id_card": "37010219800101001X",
        "expires_at": "2027-11-27T10:00:00+08:00",
    },
    ("POST", "/v1/brokers/{broker_id}/revocation"): {},
    ("POST", "/v1/staff"): {"name": "顾问 张", "role": "consultant"},
    ("POST", "/v1/staff/{staff_id}/enabled"): {"enabled": True},
    ("POST", "/v1/staff/{staff_id}/tokens"): {},
    ("PUT", "/v1/registrants/{registrant_id}/endpoint"): {"url": "https://hooks.example.com/x"},
    ("DELETE", "/v1/registrants/{registrant_id}/endpoint"): {},
    ("POST", "/v1/registrants/{registrant_id}/deliveries/{delivery_id}/replay"): {},
    ("POST", "/v1/appeals"): {"phone": "13800000000", "reason": "带看在先", "claimant_id": "reg_x"},
    ("POST", "/v1/appeals/{appeal_id}/decision"): {"outcome": "upheld", "reason": "核实无误"},
}
QUERIES = {  # the query parameters each reading route takes
    "/v1/registrations": ("limit", "cursor"),
    "/v1/events": ("limit", "cursor"),
    "/v1/staff/me/customers": ("limit", "cursor"),
    "/v1/visits": ("date",),
    "/v1/forms": ("date",),
    "/v1/reports/daily": ("date", "format"),
    "/v1/fines": ("month", "status"),
    "/v1/fines/statement": ("month", "payer", "format"),
    "/v1/deliveries": ("limit", "cursor"),
    "/v1/registrants/{registrant_id}/deliveries": ("limit", "cursor"),
}
HUGE = "9" * 10_000


def routes() -> list[tuple[str, str]]:
    return sorted((m, p) for p, methods in app.routes.items() for m in methods)


# -- the corpus ----------------------------------------------------------------


def _walk(doc: Any, change: Callable[[str, Any], Any], key: str = "") -> Any:
    if isinstance(doc, dict):
        return {k: _walk(v, change, k) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_walk(v, change, key) for v in doc]
    return change(key, doc)


def _phones(change: Callable[[str], str]) -> Callable[[dict[str, Any]], Any]:
    def spoil(doc: dict[str, Any]) -> Any:
        return _walk(doc, lambda k, v: change(v) if k == "phone" else v)

    return spoil


def _texts(change: Callable[[str], str]) -> Callable[[dict[str, Any]], Any]:
    def spoil(doc: dict[str, Any]) -> Any:
        texts = ("name", "note", "reason")
        return _walk(doc, lambda k, v: change(v) if k in texts else v)

    return spoil


def _numbers_as_strings(doc: dict[str, Any]) -> Any:
    return _walk(doc, lambda k, v: str(v) if isinstance(v, int | bool) else v)


def _strings_as_numbers(doc: dict[str, Any]) -> Any:
    return _walk(doc, lambda k, v: 13812345678 if isinstance(v, str) else v)


def _encode(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def _repeat_first_key(doc: dict[str, Any]) -> bytes:
    if not doc:
        return b'{"x": 1, "x": 2}'
    key, value = next(iter(doc.items()))
    first = json.dumps({key: value}, ensure_ascii=False)[1:-1]
    return ("{" + first + ", " + _encode(doc).decode()[1:]).encode()


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
SPOILERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "full-width digits": _phones(lambda v: v.translate(FULL_WIDTH)),
    "zero-width space in a phone": _phones(lambda v: v[:3] + "\u200b" + v[3:]),
    "bidi override in a phone": _phones(lambda v: "\u202e" + v),
    "bidi override in text": _texts(lambda v: "\u202e" + v),
    "zero-width space in text": _texts(lambda v: v + "\u200b"),
    "emoji, 10,000 characters": _texts(lambda v: "🏠" * 10_000),
    "NUL byte in text": _texts(lambda v: v + "\u0000"),
    "numbers as strings": _numbers_as_strings,
    "strings as numbers": _strings_as_numbers,
}
RAW: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "deeply nested JSON": lambda doc: b"[" * 5_000 + b"]" * 5_000,
    "nested objects": lambda doc: b'{"a":' * 3_000 + b"1" + b"}" * 3_000,
    "a key given twice": _repeat_first_key,
    "empty body": lambda doc: b"",
    "JSON null": lambda doc: b"null",
    "a JSON list": lambda doc: b"[]",
    "not JSON": lambda doc: b"{'phone': 1}",
    "invalid UTF-8": lambda doc: b'{"note": "\xff\xfe"}',
}


def body_cases() -> Iterator[Any]:
    for (method, path), base in BASES.items():
        for name, spoil in SPOILERS.items():
            spoiled = spoil(base)
            if spoiled != base:
                yield pytest.param(method, path, _encode(spoiled), id=f"{method} {path} {name}")
        for name, raw in RAW.items():
            yield pytest.param(method, path, raw(base), id=f"{method} {path} {name}")


def query_cases() -> Iterator[Any]:
    for method, path in routes():
        for param in QUERIES.get(path, ()) if method == "GET" else ():
            for name, value in (("huge", HUGE), ("full-width", "２０２６-11-27"), ("NUL", "\x00")):
                yield pytest.param(path, param, value, id=f"GET {path} {param} {name}")


# -- calling ---------------------------------------------------------------------


def headers_for(api: Any, method: str, path: str, raw: bytes) -> dict[str, str]:
    if (method, path) in SIGNED:
        channel = api.registrant(Source.CHANNEL)
        return signed_headers(channel, raw, key="k-1")
    role = role_for(method, path)
    now = datetime.now(UTC)
    member = staff_service.create_staff(api.store, role.value, role, now)
    token = staff_service.issue_token(api.store, member.staff_id, now).token
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": "k-1",
    }


def assert_refused_and_nothing_written(api: Any, method: str, path: str, raw: bytes) -> None:
    headers = headers_for(api, method, path, raw)
    before = snapshot()
    r = api.client.http.request(method, concrete(path), headers=headers, body=raw)
    assert 400 <= r.status_code < 500, (r.status_code, r.body[:300])
    error = payload(r)["error"]
    assert set(error) >= {"code", "message", "rule"} and isinstance(error["code"], str)
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path", "raw"), list(body_cases()))
def test_bad_bodies_are_refused_and_write_nothing(api, method, path, raw):
    assert_refused_and_nothing_written(api, method, path, raw)


@pytest.mark.parametrize(("method", "path"), sorted(BASES))
def test_a_wrong_content_type_is_refused_and_writes_nothing(api, method, path):
    raw = _encode(BASES[(method, path)])
    headers = headers_for(api, method, path, raw)
    headers["Content-Type"] = "text/plain"
    before = snapshot()
    r = api.client.http.request(method, concrete(path), headers=headers, body=raw)
    assert r.status_code == 415
    assert payload(r)["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert snapshot() == before


@pytest.mark.parametrize(("path", "param", "value"), list(query_cases()))
def test_bad_query_parameters_are_refused(api, path, param, value):
    from urllib.parse import quote

    headers = headers_for(api, "GET", path, b"")
    before = snapshot()
    r = api.client.http.get(f"{concrete(path)}?{param}={quote(value)}", headers=headers)
    assert 400 <= r.status_code < 500, (r.status_code, r.body[:300])
    assert payload(r)["error"]["code"]
    assert snapshot() == before


def test_every_writing_route_is_in_the_corpus():
    writers = {(m, p) for m, p in routes() if m != "GET"}
    assert writers == set(BASES)
