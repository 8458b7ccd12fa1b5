"""docs/openapi.yaml describes exactly what app.py serves.

* the document is valid OpenAPI 3.0;
* its operations are exactly the routes of ``app.routes``;
* its error codes are exactly ``chalicelib.http.STATUS`` and each response
  lists only codes that map to its status;
* every response it declares is produced by a real request below, and every
  real response conforms to what it declares: status, headers, JSON body;
* the request schema accepts what the service accepts and refuses what it
  refuses (shape only).

Response schemas are checked *closed* (an undeclared field fails), although
the document leaves them open so clients ignore fields added later.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate

from app import app
from chalicelib.http import STATUS
from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services.floor.lookup import Lookups
from chalicelib.services.people import staff as staff_service
from chalicelib.services.registration import approvals as approvals_service
from chalicelib.services.registration.intake import MAX_BODY_BYTES
from chalicelib.services.registration.ratelimit import RateLimiter
from chalicelib.services.registration.reads import DEFAULT_LIMIT, MAX_LIMIT
from chalicelib.services.registration.registrations import Registrations
from chalicelib.settings import settings
from chalicelib.signing import TOLERANCE_SECONDS
from chalicelib.store import Store, StoreUnavailable
from tests.conftest import payload
from tests.support import body, make_registrant

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
TEXT_MEDIA = {"text/csv", "text/html", "text/javascript", "text/css"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

VISITED = "2026-11-27T09:30:00+08:00"  # the clock fixture stands at 10:00 Shanghai
COMING = "2026-11-27T12:00:00+08:00"

REGISTRATIONS = "/v1/registrations"
REGISTRATION = "/v1/registrations/{registration_id}"
EVENTS = "/v1/events"


# -- the document ------------------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def pointer(spec: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references: {ref}"
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def resolved(spec: dict[str, Any], node: Any, seen: tuple[str, ...] = ()) -> Any:
    """``node`` with every local ``$ref`` replaced by what it points to."""
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            assert ref not in seen, f"recursive reference {ref}"
            return resolved(spec, pointer(spec, ref), (*seen, ref))
        return {k: resolved(spec, v, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [resolved(spec, v, seen) for v in node]
    return node


def closed(schema: Any) -> Any:
    """Every object schema that declares properties allows no others."""
    if isinstance(schema, list):
        return [closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: closed(v) for k, v in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        out["additionalProperties"] = False
    return out


def schema_errors(schema: dict[str, Any], doc: Any) -> list[str]:
    validator = OAS30Validator(schema, format_checker=oas30_format_checker)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(doc)
    ]


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, op


def declared_responses(spec: dict[str, Any]) -> Iterator[tuple[str, str, int, dict[str, Any]]]:
    for method, path, op in operations(spec):
        for status, response in op["responses"].items():
            yield method, path, int(status), resolved(spec, response)


def header(response: Any, name: str) -> str | None:
    return next((v for k, v in response.headers.items() if k.lower() == name.lower()), None)


def conform(spec: dict[str, Any], method: str, path: str, response: Any) -> None:
    """Fail unless ``response`` is one the spec declares for the operation."""
    op = spec["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in op["responses"], (
        f"{method} {path} answered {status}, which the spec does not declare: {response.body!r}"
    )
    declared = resolved(spec, op["responses"][status])

    media = (header(response, "Content-Type") or "").split(";")[0].strip()
    if "content" not in declared:  # a redirect: no body, and its Location
        assert not response.body, f"{method} {path} {status} sent an undeclared body"
        assert all(header(response, n) for n, h in declared["headers"].items() if h["required"])
        return
    if media in TEXT_MEDIA:  # a download or a console file: declared, and not JSON
        assert media in declared["content"], f"{method} {path} {status} sent undeclared {media}"
        return
    assert media == "application/json", media
    assert header(response, "X-Content-Type-Options") == "nosniff", f"{method} {path} {status}"
    schema = declared["content"]["application/json"]["schema"]
    doc = json.loads(response.body)
    errors = schema_errors(closed(schema), doc)
    assert not errors, f"{method} {path} {status} does not match the spec: {errors}\n{doc}"

    if response.status_code >= 400:
        code = doc["error"]["code"]
        assert code in declared.get("x-error-codes", []), (
            f"{method} {path} {status} answered {code}, not among its x-error-codes"
        )

    headers = declared.get("headers", {})
    for name, spec_header in headers.items():
        value = header(response, name)
        if value is None:
            assert not spec_header.get("required"), f"{status} lacks required header {name}"
            continue
        typed: Any = int(value) if spec_header["schema"].get("type") == "integer" else value
        assert not schema_errors(spec_header["schema"], typed), f"{name}: {value!r}"
    for name in ("Retry-After", "Idempotent-Replayed", "Cache-Control"):
        if header(response, name) is not None:
            assert name in headers, f"{method} {path} {status} sent {name}, undeclared"


def test_the_spec_is_valid_openapi_3_0(spec):
    assert spec["openapi"] == "3.0.3"
    validate(spec)


def test_every_served_route_is_in_the_spec_and_back(spec):
    served = {(method, path) for path, methods in app.routes.items() for method in methods}
    documented = {(method, path) for method, path, _ in operations(spec)}
    assert served - documented == set(), "served by app.py but missing from docs/openapi.yaml"
    assert documented - served == set(), "in docs/openapi.yaml but not served by app.py"


def test_error_codes_are_the_ones_the_code_maps(spec):
    error = spec["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(error["properties"]["code"]["enum"]) == set(STATUS)
    assert error["properties"]["rule"]["nullable"] is True
    for method, path, status, response in declared_responses(spec):
        if status < 400:
            assert "x-error-codes" not in response
            continue
        codes = response.get("x-error-codes")
        assert codes, f"{method} {path} {status} lists no x-error-codes"
        for code in codes:
            assert STATUS[code] == status, f"{method} {path} {status} lists {code}"
        schema = response["content"]["application/json"]["schema"]
        assert schema == resolved(spec, {"$ref": "#/components/schemas/Error"})
        if status in (429, 503):
            assert response["headers"]["Retry-After"]["required"] is True


# the answers that show a secret or a token (app.py: secret_response)
SHOWS_A_SECRET = {
    ("POST", "/v1/registrants"),
    ("POST", "/v1/registrants/{registrant_id}/secret"),
    ("POST", "/v1/staff"),
    ("POST", "/v1/staff/{staff_id}/tokens"),
}


def test_the_spec_declares_no_store_exactly_where_a_secret_is_shown(spec):
    for method, path, status, response in declared_responses(spec):
        no_store = response.get("headers", {}).get("Cache-Control")
        if (method, path) in SHOWS_A_SECRET and status == 201:
            assert no_store is not None, f"{method} {path} {status}"
            assert no_store["required"] is True
            assert no_store["schema"]["enum"] == ["no-store"]
        else:
            assert no_store is None, f"{method} {path} {status}"


def test_the_spec_says_every_json_answer_is_nosniff(spec):
    assert "`X-Content-Type-Options: nosniff`" in spec["info"]["description"]


def test_the_spec_states_the_numbers_the_code_uses(spec):
    params = spec["components"]["parameters"]
    assert params["Limit"]["schema"]["maximum"] == MAX_LIMIT
    assert params["Limit"]["schema"]["default"] == DEFAULT_LIMIT
    assert params["Cursor"]["schema"]["maxLength"] == 200
    assert params["IdempotencyKey"]["schema"]["maxLength"] == 255
    schemes = spec["components"]["securitySchemes"]
    assert f"{TOLERANCE_SECONDS} seconds" in schemes["signature"]["description"]
    post = spec["paths"][REGISTRATIONS]["post"]["responses"]
    assert str(MAX_BODY_BYTES) in post["413"]["description"]
    events = spec["paths"][EVENTS]["get"]["description"]
    assert f"settle delay of {settings().event_settle_seconds} seconds" in events


def test_the_examples_conform_to_their_schemas(spec):
    checked = 0
    for method, path, op in operations(spec):
        media_types = [("request", op.get("requestBody", {}).get("content", {}), False)]
        for status, response in op["responses"].items():
            media_types.append((status, resolved(spec, response).get("content", {}), True))
        for where, content, is_response in media_types:
            for media in content.values():
                schema = resolved(spec, media["schema"])
                schema = closed(schema) if is_response else schema
                examples = [e["value"] for e in media.get("examples", {}).values()]
                examples += [media["example"]] if "example" in media else []
                for example in examples:
                    errors = schema_errors(schema, example)
                    assert not errors, f"{method} {path} {where} example: {errors}"
                    checked += 1
    assert checked >= 5


# -- the checks can fail ----------------------------------------------------


@dataclass
class FakeResponse:
    status_code: int
    doc: Any
    headers: dict[str, str] = field(
        default_factory=lambda: {
            "Content-Type": "application/json; charset=utf-8",
            "X-Content-Type-Options": "nosniff",
        }
    )

    @property
    def body(self) -> str:
        return json.dumps(self.doc)


A_REGISTRATION = {
    "registration_id": "rg_01KB0ZQ8S6W6MJ3X1P9T4V5N7C",
    "status": "protected",
    "customer": {"name": "王先生", "phone_masked": "138****5678"},
    "protection": {
        "ordinal": 1,
        "starts_at": "2026-11-27T10:00:00+08:00",
        "ends_at": "2027-01-26T10:00:00+08:00",
    },
    "visit_window": None,
    "visit_at": "2026-11-27T09:30:00+08:00",
    "note": None,
    "created_at": "2026-11-27T10:00:00+08:00",
}


def broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = json.loads(json.dumps(A_REGISTRATION))
    change(doc)
    return doc


@pytest.mark.parametrize(
    "doc",
    [
        broken(lambda d: d.pop("created_at")),
        broken(lambda d: d.update(holder="reg_channel_1")),
        broken(lambda d: d["customer"].update(phone="13812345678")),
        broken(lambda d: d.update(status="active")),
        broken(lambda d: d["protection"].update(starts_at="2026-11-27 10:00")),
        broken(lambda d: d.update(visit_window="none")),
    ],
    ids=["missing", "undeclared", "full-phone", "status", "naive-time", "not-object"],
)
def test_a_registration_unlike_the_spec_fails(spec, doc):
    conform(spec, "GET", REGISTRATION, FakeResponse(200, A_REGISTRATION))
    with pytest.raises(AssertionError):
        conform(spec, "GET", REGISTRATION, FakeResponse(200, doc))


@pytest.mark.parametrize(
    ("status", "doc", "headers"),
    [
        (409, {"error": {"code": "DUPLICATE_LIVE_CLAIM", "message": "x"}}, {}),
        (409, {"error": {"code": "NOT_FOUND", "rule": None, "message": "x"}}, {}),
        (404, {"code": "NOT_FOUND", "message": "x"}, {}),
        (429, {"error": {"code": "RATE_LIMITED", "rule": None, "message": "x"}}, {}),
        (418, {"error": {"code": "INTERNAL", "rule": None, "message": "x"}}, {}),
        (
            404,
            {"error": {"code": "NOT_FOUND", "rule": None, "message": "x"}},
            {"Idempotent-Replayed": "true"},
        ),
        (
            404,
            {"error": {"code": "NOT_FOUND", "rule": None, "message": "x"}},
            {"Cache-Control": "no-store"},
        ),
        (
            404,
            {"error": {"code": "NOT_FOUND", "rule": None, "message": "x"}},
            {"X-Content-Type-Options": ""},
        ),
    ],
    ids=[
        "no-rule",
        "wrong-code",
        "not-wrapped",
        "no-retry-after",
        "undeclared-status",
        "undeclared-header",
        "undeclared-cache-control",
        "sniffable",
    ],
)
def test_an_error_unlike_the_spec_fails(spec, status, doc, headers):
    response = FakeResponse(status, doc)
    response.headers.update(headers)
    with pytest.raises(AssertionError):
        conform(spec, "GET", REGISTRATION, response)


# -- real responses ---------------------------------------------------------


@dataclass(frozen=True)
class Ctx:
    api: Any
    clock: Any
    monkeypatch: pytest.MonkeyPatch


def channel(ctx: Ctx) -> Any:
    return ctx.api.registrant(Source.CHANNEL)


def registered(ctx: Ctx, who: Any, phone: str = "138 1234 5678") -> dict[str, Any]:
    r = ctx.api.register(who, body(phone=phone, visit_at=VISITED))
    assert r.status_code == 201, r.body
    return payload(r)


def settle(ctx: Ctx) -> None:
    ctx.clock.shift(timedelta(seconds=settings().event_settle_seconds + 1))


def fail_once(ctx: Ctx, cls: type, name: str) -> None:
    """The next call of ``cls.name`` finds the store unavailable."""
    original = getattr(cls, name)
    failed: list[bool] = []

    def flaky(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not failed:
            failed.append(True)
            raise StoreUnavailable("injected")
        return original(self, *args, **kwargs)

    ctx.monkeypatch.setattr(cls, name, flaky)


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected bug")


# POST /v1/registrations


def created_protected(ctx: Ctx) -> Any:
    r = ctx.api.register(channel(ctx), body(visit_at=VISITED, note="came with his wife"))
    assert payload(r)["status"] == "protected"
    return r


def created_provisional(ctx: Ctx) -> Any:
    agency = ctx.api.registrant(Source.DISTRIBUTION)
    r = ctx.api.register(agency, body(visit_at=COMING))
    doc = payload(r)
    assert (doc["status"], doc["protection"]) == ("provisional", None)
    assert doc["visit_window"] is not None
    return r


def created_ecommerce_without_visit(ctx: Ctx) -> Any:
    unit = ctx.api.registrant(Source.ECOMMERCE)
    r = ctx.api.register(unit, body())
    assert payload(r)["visit_at"] is None
    return r


def created_replayed(ctx: Ctx) -> Any:
    who = channel(ctx)
    first = ctx.api.register(who, body(visit_at=VISITED), key="k-replay")
    again = ctx.api.register(who, body(visit_at=VISITED), key="k-replay")
    assert again.body == first.body
    assert header(again, "Idempotent-Replayed") == "true"
    assert header(first, "Idempotent-Replayed") is None
    return [first, again]


def bad_body(ctx: Ctx) -> list[Any]:
    who = channel(ctx)
    long_name = {"customer": {"name": "x" * 65, "phone": "13812345678"}, "age": 3}
    answers = [
        ctx.api.register(who, long_name),
        ctx.api.register(who, None, raw=b"[1, 2]"),
        ctx.api.register(who, None, raw=b"{not json"),
    ]
    fields = [f["field"] for f in payload(answers[0])["error"]["fields"]]
    assert fields == ["customer.name", "age"]
    return answers


def no_idempotency_key(ctx: Ctx) -> list[Any]:
    who = channel(ctx)
    answers = [
        ctx.api.register(who, body(visit_at=VISITED), key=None),
        ctx.api.register(who, body(visit_at=VISITED), key="é"),
        ctx.api.register(who, body(visit_at=VISITED), key="k" * 256),
    ]
    for r in answers:
        assert payload(r)["error"]["fields"][0]["field"] == "Idempotency-Key"
    return answers


def invalid_phone(ctx: Ctx) -> Any:
    r = ctx.api.register(channel(ctx), body(phone="12345", visit_at=VISITED))
    assert payload(r)["error"]["code"] == "INVALID_PHONE"
    return r


def visit_rule_400(ctx: Ctx) -> list[Any]:
    who = channel(ctx)
    first = ctx.api.register(who, body(), key="k-no-visit")
    again = ctx.api.register(who, body(), key="k-no-visit")
    agency = ctx.api.registrant(Source.DISTRIBUTION)
    far = ctx.api.register(agency, body(visit_at="2026-11-29T10:00:00+08:00"))
    assert payload(first)["error"]["rule"] == "R-REG-2"
    assert payload(far)["error"]["rule"] == "R-REG-3"
    # a 400 is never stored (the spec says so): the key stays free
    assert header(again, "Idempotent-Replayed") is None
    fixed = ctx.api.register(who, body(visit_at=VISITED), key="k-no-visit")
    assert fixed.status_code == 201, fixed.body
    return [first, again, far]


def unauthenticated_post(ctx: Ctx) -> list[Any]:
    who = channel(ctx)
    stranger = make_registrant(Source.CHANNEL)  # never stored
    raw = json.dumps(body(visit_at=VISITED)).encode()
    stale = datetime.now(UTC) - timedelta(seconds=TOLERANCE_SECONDS + 1)
    return [
        ctx.api.register(who, body(visit_at=VISITED), headers={"X-Signature": "t=1,v1=00"}),
        ctx.api.register(who, body(visit_at=VISITED), signed_at=stale),
        ctx.api.register(stranger, body(visit_at=VISITED)),
        ctx.api.client.http.post(
            REGISTRATIONS,
            headers={"Content-Type": "application/json", "Idempotency-Key": "k"},
            body=raw,
        ),
    ]


def duplicate(ctx: Ctx) -> Any:
    holder = ctx.api.registrant(Source.CHANNEL, name="Holder Realty")
    held = registered(ctx, holder)
    r = ctx.api.register(channel(ctx), body(phone="+86 138-1234-5678", visit_at=VISITED))
    error = payload(r)["error"]
    assert (error["code"], error["rule"]) == ("DUPLICATE_LIVE_CLAIM", "R-DUP-1")
    for secret in (holder.registrant_id, holder.name, held["registration_id"], "2027-01-26"):
        assert secret not in r.body.decode(), f"the duplicate reply names the holder: {secret}"
    return r


def rule_409s(ctx: Ctx) -> list[Any]:
    agency = ctx.api.registrant(Source.DISTRIBUTION)
    too_close = ctx.api.register(agency, body(visit_at="2026-11-27T10:10:00+08:00"))
    too_late = ctx.api.register(channel(ctx), body(visit_at="2026-11-26T15:00:00+08:00"))
    assert payload(too_close)["error"]["code"] == "TOO_CLOSE_TO_VISIT"
    assert payload(too_late)["error"]["code"] == "REGISTRATION_TOO_LATE"
    return [too_close, too_late]


def recommendation_limit(ctx: Ctx) -> Any:
    def visit_now() -> str:
        return (datetime.now(UTC) - timedelta(minutes=5)).isoformat()

    registered(ctx, channel(ctx))
    ctx.clock.shift(timedelta(days=61))
    second = ctx.api.register(channel(ctx), body(visit_at=visit_now()))
    assert payload(second)["protection"]["ordinal"] == 2, second.body
    ctx.clock.shift(timedelta(days=31))
    r = ctx.api.register(channel(ctx), body(visit_at=visit_now()))
    assert payload(r)["error"]["code"] == "RECOMMENDATION_LIMIT"
    return r


def died_after_deciding(ctx: Ctx) -> Any:
    """The decisive write lands and the function dies before its records (a
    timeout: nothing runs after it); a retry with the same key within 30 s
    is 409 IDEMPOTENCY_IN_PROGRESS."""
    who = channel(ctx)
    original = Store.save_acceptance
    died: list[bool] = []

    def dies_once(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not died:
            died.append(True)
            raise RuntimeError("the function timed out")
        return original(self, *args, **kwargs)

    ctx.monkeypatch.setattr(Store, "save_acceptance", dies_once)
    ctx.api.register(who, body(visit_at=VISITED), key="k-died")
    return ctx.api.register(who, body(visit_at=VISITED), key="k-died")


def in_progress(ctx: Ctx) -> Any:
    r = died_after_deciding(ctx)
    assert payload(r)["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
    return r


def unavailable_post(ctx: Ctx) -> list[Any]:
    """503 after the decisive write (its records could not be saved), and
    503 before any decision (the key could not be taken)."""
    fail_once(ctx, Store, "save_acceptance")
    first = ctx.api.register(channel(ctx), body(visit_at=VISITED), key="k-decided")
    assert "decided" in payload(first)["error"]["message"]
    fail_once(ctx, Store, "reserve_answer")
    second = ctx.api.register(channel(ctx), body(phone="13900001111", visit_at=VISITED))
    return [first, second]


def too_large(ctx: Ctx) -> Any:
    return ctx.api.register(channel(ctx), None, raw=b" " * (MAX_BODY_BYTES + 1))


def wrong_media_type(ctx: Ctx) -> Any:
    return ctx.api.register(
        channel(ctx), body(visit_at=VISITED), headers={"Content-Type": "text/plain"}
    )


def key_reused(ctx: Ctx) -> Any:
    who = channel(ctx)
    ctx.api.register(who, body(visit_at=VISITED), key="k-reused")
    return ctx.api.register(who, body(phone="13900001111", visit_at=VISITED), key="k-reused")


def rate_limited_post(ctx: Ctx) -> Any:
    ctx.monkeypatch.setattr(RateLimiter, "retry_after", lambda self, caller, now: 7)
    r = ctx.api.register(channel(ctx), body(visit_at=VISITED))
    assert header(r, "Retry-After") == "7"
    return r


def internal_post(ctx: Ctx) -> Any:
    ctx.monkeypatch.setattr(Registrations, "register", boom)
    return ctx.api.register(channel(ctx), body(visit_at=VISITED))


# GET routes


def url(ctx: Ctx, path: str, who: Any) -> str:
    if path == REGISTRATION:
        return f"{REGISTRATIONS}/{registered(ctx, who)['registration_id']}"
    return path


def listed(ctx: Ctx) -> list[Any]:
    who = channel(ctx)
    empty = ctx.api.get(who, REGISTRATIONS)
    assert payload(empty) == {"data": [], "next_cursor": None}
    registered(ctx, who, "13800000001")
    registered(ctx, who, "13800000002")
    first = ctx.api.get(who, f"{REGISTRATIONS}?limit=1")
    cursor = payload(first)["next_cursor"]
    assert cursor is not None
    last = ctx.api.get(who, f"{REGISTRATIONS}?limit=1&cursor={cursor}")
    assert payload(last)["next_cursor"] is None
    assert len(payload(last)["data"]) == 1
    return [empty, first, last]


def bad_query(path: str) -> Callable[[Ctx], list[Any]]:
    def run(ctx: Ctx) -> list[Any]:
        who = channel(ctx)
        answers = [
            ctx.api.get(who, f"{path}?{query}")
            for query in ("limit=0", f"limit={MAX_LIMIT + 1}", "limit=ten", "cursor=%21%21")
        ]
        for r in answers:
            assert payload(r)["error"]["fields"][0]["field"] in ("limit", "cursor")
        return answers

    run.__name__ = "bad_query"
    return run


def read_one(ctx: Ctx) -> Any:
    who = channel(ctx)
    made = registered(ctx, who)
    r = ctx.api.get(who, f"{REGISTRATIONS}/{made['registration_id']}")
    assert payload(r) == made
    return r


def not_found(ctx: Ctx) -> list[Any]:
    owner, other = channel(ctx), channel(ctx)
    theirs = registered(ctx, owner)["registration_id"]
    answers = [
        ctx.api.get(other, f"{REGISTRATIONS}/{theirs}"),
        ctx.api.get(other, f"{REGISTRATIONS}/rg_01KB0ZQ8S6W6MJ3X1P9T4V5N7C"),
        ctx.api.get(other, f"{REGISTRATIONS}/nope"),
    ]
    assert len({r.body for r in answers}) == 1  # another's looks like none
    return answers


def events(ctx: Ctx) -> list[Any]:
    who = channel(ctx)
    made = registered(ctx, who)
    unsettled = ctx.api.get(who, EVENTS)
    assert payload(unsettled) == {"data": [], "next_cursor": None}
    settle(ctx)
    first = ctx.api.get(who, EVENTS)
    doc = payload(first)
    assert [(e["type"], e["registration_id"]) for e in doc["data"]] == [
        ("registration.protected", made["registration_id"])
    ]
    again = ctx.api.get(who, f"{EVENTS}?cursor={doc['next_cursor']}")
    assert payload(again) == {"data": [], "next_cursor": doc["next_cursor"]}
    return [unsettled, first, again]


def unauthenticated_get(path: str) -> Callable[[Ctx], list[Any]]:
    def run(ctx: Ctx) -> list[Any]:
        who = channel(ctx)
        target = url(ctx, path, who)
        stranger = make_registrant(Source.CHANNEL)  # never stored
        disabled = ctx.api.registrant(Source.CHANNEL, enabled=False)
        return [
            ctx.api.get(stranger, target),
            ctx.api.get(disabled, target),
            ctx.api.client.http.get(target, headers={"X-Registrant-Id": who.registrant_id}),
        ]

    run.__name__ = "unauthenticated_get"
    return run


def rate_limited_get(path: str) -> Callable[[Ctx], Any]:
    def run(ctx: Ctx) -> Any:
        who = channel(ctx)
        target = url(ctx, path, who)
        ctx.monkeypatch.setattr(RateLimiter, "retry_after", lambda self, caller, now: 3)
        return ctx.api.get(who, target)

    run.__name__ = "rate_limited_get"
    return run


def internal_get(path: str) -> Callable[[Ctx], Any]:
    def run(ctx: Ctx) -> Any:
        who = channel(ctx)
        target = url(ctx, path, who)
        ctx.monkeypatch.setattr(Registrations, "authenticate", boom)
        return ctx.api.get(who, target)

    run.__name__ = "internal_get"
    return run


def unavailable_get(path: str) -> Callable[[Ctx], Any]:
    def run(ctx: Ctx) -> Any:
        who = channel(ctx)
        target = url(ctx, path, who)
        fail_once(ctx, Store, "signing_registrant")
        return ctx.api.get(who, target)

    run.__name__ = "unavailable_get"
    return run


STAFF_ME = "/v1/staff/me"


def bearer(ctx: Ctx) -> dict[str, str]:
    person = staff_service.create_staff(ctx.api.store, "张", Role.CONSULTANT, datetime.now(UTC))
    token = staff_service.issue_token(ctx.api.store, person.staff_id, datetime.now(UTC))
    return {"Authorization": f"Bearer {token.token}"}


def whoami(ctx: Ctx) -> Any:
    return ctx.api.client.http.get(STAFF_ME, headers=bearer(ctx))


def whoami_without_token(ctx: Ctx) -> Any:
    return ctx.api.client.http.get(STAFF_ME)


def whoami_internal(ctx: Ctx) -> Any:
    headers = bearer(ctx)
    ctx.monkeypatch.setattr(staff_service, "authenticate", boom)
    return ctx.api.client.http.get(STAFF_ME, headers=headers)


def whoami_unavailable(ctx: Ctx) -> Any:
    headers = bearer(ctx)
    fail_once(ctx, Store, "get_token")
    return ctx.api.client.http.get(STAFF_ME, headers=headers)


CONSULTANT_REGISTRATIONS = "/v1/consultant-registrations"
LATE_APPROVALS = "/v1/late-approvals"


def staff_token(ctx: Ctx, role: Role) -> dict[str, str]:
    now = datetime.now(UTC)
    person = staff_service.create_staff(ctx.api.store, role.value, role, now)
    token = staff_service.issue_token(ctx.api.store, person.staff_id, now)
    return {"Authorization": f"Bearer {token.token}", "Content-Type": "application/json"}


def staff_post(ctx: Ctx, path: str, role: Role, doc: Any, key: str | None = None) -> Any:
    headers = staff_token(ctx, role)
    if key:
        headers["Idempotency-Key"] = key
    return ctx.api.client.http.post(path, headers=headers, body=json.dumps(doc).encode())


def walk_in_doc(phone: str = "138 1234 5678") -> dict[str, Any]:
    return body(phone=phone, visit_at=VISITED)


def walk_in_created(ctx: Ctx) -> Any:
    return staff_post(ctx, CONSULTANT_REGISTRATIONS, Role.CONSULTANT, walk_in_doc(), "k-1")


def walk_in_invalid(ctx: Ctx) -> list[Any]:
    return [
        staff_post(ctx, CONSULTANT_REGISTRATIONS, Role.CONSULTANT, {"customer": {}}, "k-1"),
        staff_post(ctx, CONSULTANT_REGISTRATIONS, Role.CONSULTANT, walk_in_doc("010-1"), "k-2"),
    ]


def walk_in_unauthenticated(ctx: Ctx) -> Any:
    return ctx.api.client.http.post(CONSULTANT_REGISTRATIONS, body=b"{}")


def walk_in_forbidden(ctx: Ctx) -> Any:
    return staff_post(ctx, CONSULTANT_REGISTRATIONS, Role.FRONT_DESK, walk_in_doc(), "k-1")


def walk_in_refused(ctx: Ctx) -> list[Any]:
    registered(ctx, channel(ctx))
    doc = {**walk_in_doc("13900000000"), "broker": {"broker_id": "brk_x", "id_card": "1" * 18}}
    return [
        staff_post(ctx, CONSULTANT_REGISTRATIONS, Role.CONSULTANT, walk_in_doc(), "k-1"),
        staff_post(ctx, CONSULTANT_REGISTRATIONS, Role.CONSULTANT, doc, "k-2"),
    ]


def walk_in_internal(ctx: Ctx) -> Any:
    ctx.monkeypatch.setattr(Registrations, "register_by_consultant", boom)
    return staff_post(ctx, CONSULTANT_REGISTRATIONS, Role.CONSULTANT, walk_in_doc(), "k-1")


def walk_in_unavailable(ctx: Ctx) -> Any:
    fail_once(ctx, Store, "reserve_answer")
    return staff_post(ctx, CONSULTANT_REGISTRATIONS, Role.CONSULTANT, walk_in_doc(), "k-1")


def approval_doc(**kw: Any) -> dict[str, Any]:
    return {
        "phone": "138 1234 5678",
        "registrant_id": "reg_x",
        "visit_date": "2026-11-26",
        "reason": "系统故障",
        **kw,
    }


def approval_created(ctx: Ctx) -> Any:
    return staff_post(ctx, LATE_APPROVALS, Role.SALES_MANAGER, approval_doc())


def approval_invalid(ctx: Ctx) -> list[Any]:
    return [
        staff_post(ctx, LATE_APPROVALS, Role.SALES_MANAGER, approval_doc(visit_date="2099-01-01")),
        staff_post(ctx, LATE_APPROVALS, Role.SALES_MANAGER, approval_doc(phone="010-1")),
        staff_post(ctx, LATE_APPROVALS, Role.SALES_MANAGER, {"phone": 1}),
    ]


def approval_too_late(ctx: Ctx) -> Any:
    """R-REG-2: at 10:00 on the 27th, the 25th's late entry closed at 18:00 on the 26th."""
    return staff_post(
        ctx, LATE_APPROVALS, Role.SALES_MANAGER, approval_doc(visit_date="2026-11-25")
    )


def approval_unauthenticated(ctx: Ctx) -> Any:
    return ctx.api.client.http.post(LATE_APPROVALS, body=b"{}")


def approval_forbidden(ctx: Ctx) -> Any:
    return staff_post(ctx, LATE_APPROVALS, Role.CONSULTANT, approval_doc())


def approval_internal(ctx: Ctx) -> Any:
    ctx.monkeypatch.setattr(approvals_service, "approve_late_entry", boom)
    return staff_post(ctx, LATE_APPROVALS, Role.SALES_MANAGER, approval_doc())


def approval_unavailable(ctx: Ctx) -> Any:
    fail_once(ctx, Store, "get_customer")
    return staff_post(ctx, LATE_APPROVALS, Role.SALES_MANAGER, approval_doc())


LOOKUPS = "/v1/customer-lookups"


def lookup_full(ctx: Ctx) -> list[Any]:
    registered(ctx, channel(ctx))
    return [
        staff_post(ctx, LOOKUPS, Role.CHANNEL_ASSISTANT, {"phone": "+86 138-1234-5678"}),
        staff_post(ctx, LOOKUPS, Role.SALES_MANAGER, {"phone": "13900000000"}),
        staff_post(ctx, LOOKUPS, Role.FRONT_DESK, {"phone": "13812345678"}),
    ]


def lookup_invalid(ctx: Ctx) -> list[Any]:
    return [
        staff_post(ctx, LOOKUPS, Role.CHANNEL_ASSISTANT, {"phone": "010-1"}),
        staff_post(ctx, LOOKUPS, Role.CHANNEL_ASSISTANT, {"mobile": "13812345678"}),
    ]


def lookup_unauthenticated(ctx: Ctx) -> Any:
    return ctx.api.client.http.post(LOOKUPS, body=b"{}")


def lookup_forbidden(ctx: Ctx) -> Any:
    return staff_post(ctx, LOOKUPS, Role.CONSULTANT, {"phone": "13812345678"})


def lookup_internal(ctx: Ctx) -> Any:
    ctx.monkeypatch.setattr(Lookups, "look_up", boom)
    return staff_post(ctx, LOOKUPS, Role.CHANNEL_ASSISTANT, {"phone": "13812345678"})


def lookup_unavailable(ctx: Ctx) -> Any:
    fail_once(ctx, Store, "get_customer")
    return staff_post(ctx, LOOKUPS, Role.CHANNEL_ASSISTANT, {"phone": "13812345678"})


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    status: int
    run: Callable[[Ctx], Any]

    @property
    def id(self) -> str:
        return f"{self.method} {self.path} {self.status} {self.run.__name__}"


POST = "POST"
GET = "GET"
CASES = [
    Case(POST, REGISTRATIONS, 201, created_protected),
    Case(POST, REGISTRATIONS, 201, created_provisional),
    Case(POST, REGISTRATIONS, 201, created_ecommerce_without_visit),
    Case(POST, REGISTRATIONS, 201, created_replayed),
    Case(POST, REGISTRATIONS, 400, bad_body),
    Case(POST, REGISTRATIONS, 400, no_idempotency_key),
    Case(POST, REGISTRATIONS, 400, invalid_phone),
    Case(POST, REGISTRATIONS, 400, visit_rule_400),
    Case(POST, REGISTRATIONS, 401, unauthenticated_post),
    Case(POST, REGISTRATIONS, 409, duplicate),
    Case(POST, REGISTRATIONS, 409, rule_409s),
    Case(POST, REGISTRATIONS, 409, recommendation_limit),
    Case(POST, REGISTRATIONS, 409, in_progress),
    Case(POST, REGISTRATIONS, 413, too_large),
    Case(POST, REGISTRATIONS, 415, wrong_media_type),
    Case(POST, REGISTRATIONS, 422, key_reused),
    Case(POST, REGISTRATIONS, 429, rate_limited_post),
    Case(POST, REGISTRATIONS, 500, internal_post),
    Case(POST, REGISTRATIONS, 503, unavailable_post),
    Case(GET, REGISTRATIONS, 200, listed),
    Case(GET, REGISTRATION, 200, read_one),
    Case(GET, REGISTRATION, 404, not_found),
    Case(GET, EVENTS, 200, events),
    Case(GET, STAFF_ME, 200, whoami),
    Case(GET, STAFF_ME, 401, whoami_without_token),
    Case(GET, STAFF_ME, 500, whoami_internal),
    Case(GET, STAFF_ME, 503, whoami_unavailable),
    Case(POST, CONSULTANT_REGISTRATIONS, 201, walk_in_created),
    Case(POST, CONSULTANT_REGISTRATIONS, 400, walk_in_invalid),
    Case(POST, CONSULTANT_REGISTRATIONS, 401, walk_in_unauthenticated),
    Case(POST, CONSULTANT_REGISTRATIONS, 403, walk_in_forbidden),
    Case(POST, CONSULTANT_REGISTRATIONS, 409, walk_in_refused),
    Case(POST, CONSULTANT_REGISTRATIONS, 500, walk_in_internal),
    Case(POST, CONSULTANT_REGISTRATIONS, 503, walk_in_unavailable),
    Case(POST, LATE_APPROVALS, 201, approval_created),
    Case(POST, LATE_APPROVALS, 400, approval_invalid),
    Case(POST, LATE_APPROVALS, 401, approval_unauthenticated),
    Case(POST, LATE_APPROVALS, 403, approval_forbidden),
    Case(POST, LATE_APPROVALS, 409, approval_too_late),
    Case(POST, LATE_APPROVALS, 500, approval_internal),
    Case(POST, LATE_APPROVALS, 503, approval_unavailable),
    Case(POST, LOOKUPS, 200, lookup_full),
    Case(POST, LOOKUPS, 400, lookup_invalid),
    Case(POST, LOOKUPS, 401, lookup_unauthenticated),
    Case(POST, LOOKUPS, 403, lookup_forbidden),
    Case(POST, LOOKUPS, 500, lookup_internal),
    Case(POST, LOOKUPS, 503, lookup_unavailable),
]
for _path in (REGISTRATIONS, EVENTS):
    CASES.append(Case(GET, _path, 400, bad_query(_path)))
for _path in (REGISTRATIONS, REGISTRATION, EVENTS):
    CASES += [
        Case(GET, _path, 401, unauthenticated_get(_path)),
        Case(GET, _path, 429, rate_limited_get(_path)),
        Case(GET, _path, 500, internal_get(_path)),
        Case(GET, _path, 503, unavailable_get(_path)),
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_real_responses_conform_to_the_spec(spec, api, clock, monkeypatch, case):
    answered_as_declared(spec, case, Ctx(api, clock, monkeypatch))


def answered_as_declared(spec: dict[str, Any], case: Case, ctx: Ctx) -> None:
    """Run ``case``: each answer has its status and conforms to the spec."""
    got = case.run(ctx)
    answers = got if isinstance(got, list | tuple) else [got]
    for response in answers:
        assert response.status_code == case.status, response.body
        conform(spec, case.method, case.path, response)


def test_a_method_a_path_does_not_serve_is_405_in_the_one_shape(api):
    r = api.client.http.delete(REGISTRATIONS)
    assert r.status_code == 405
    assert payload(r)["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in (header(r, "Allow") or "")


# -- the request schema agrees with the service (shape only) ------------------

REQUESTS = [
    ({"customer": {"name": "王" * 64, "phone": "13800000001"}}, True),
    ({"customer": {"name": "王" * 65, "phone": "13800000002"}}, False),
    ({"customer": {"name": "", "phone": "13800000003"}}, False),
    ({"customer": {"name": "a\nb", "phone": "13800000004"}}, False),
    ({"customer": {"name": 7, "phone": "13800000005"}}, False),
    ({"customer": {"name": "a", "phone": "+86 138-0000-0006"}}, True),
    ({"customer": {"name": "a", "phone": "1" * 33}}, False),
    ({"customer": {"name": "a", "phone": 13800000008}}, False),
    ({"customer": {"name": "a"}}, False),
    ({"customer": {"name": "a", "phone": "13800000010", "age": 3}}, False),
    ({"customer": {"name": "a", "phone": "13800000011"}, "source": "x"}, False),
    ({"visit_at": VISITED}, False),
    ({"customer": {"name": "a", "phone": "13800000013"}, "note": "n" * 500}, True),
    ({"customer": {"name": "a", "phone": "13800000014"}, "note": "n" * 501}, False),
    ({"customer": {"name": "a", "phone": "13800000015"}, "note": None}, True),
    ({"customer": {"name": "a", "phone": "13800000016"}, "visit_at": None}, True),
    ({"customer": {"name": "a", "phone": "13800000017"}, "visit_at": VISITED}, True),
    ({"customer": {"name": "a", "phone": "13800000018"}, "visit_at": "2026-11-27T01:30:00Z"}, True),
    ({"customer": {"name": "a", "phone": "13800000019"}, "visit_at": "2026-11-27T09:30:00"}, False),
    ({"customer": {"name": "a", "phone": "13800000020"}, "visit_at": 1795000000}, False),
    ([], False),
    # 隐号报备 (docs/decisions/0013): exactly one of phone and phone_masked
    ({"customer": {"name": "a", "phone_masked": "138****0022"}}, True),
    ({"customer": {"name": "a", "phone_masked": "+86 138-****-0023"}}, True),
    ({"customer": {"name": "a", "phone": "13800000024", "phone_masked": "138****0024"}}, False),
    ({"customer": {"name": "a", "phone": "13800000025", "phone_masked": None}}, True),
    ({"customer": {"name": "a", "phone": None, "phone_masked": "138****0026"}}, True),
    ({"customer": {"name": "a", "phone": None, "phone_masked": None}}, False),
    ({"customer": {"name": "a", "phone_masked": 1380000028}}, False),
    ({"customer": {"name": "a", "phone_masked": ""}}, False),
    ({"customer": {"name": "a", "phone_masked": "1" * 33}}, False),
]


@pytest.mark.parametrize(("doc", "valid"), REQUESTS, ids=[str(i) for i in range(len(REQUESTS))])
def test_the_request_schema_accepts_what_the_service_accepts(spec, api, doc, valid):
    schema = resolved(spec, {"$ref": "#/components/schemas/RegistrationRequest"})
    assert (not schema_errors(schema, doc)) is valid, "the spec disagrees with this table"
    unit = api.registrant(Source.ECOMMERCE)  # visit_at optional: shape decides alone
    r = api.register(unit, doc)
    if valid:
        assert r.status_code == 201, r.body
    else:
        assert r.status_code == 400, r.body
        assert payload(r)["error"]["code"] == "VALIDATION_ERROR"
