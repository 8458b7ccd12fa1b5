"""Routes, schedules and stream handlers: parse, call the service, answer."""

from __future__ import annotations

from datetime import UTC, datetime

from chalice.app import Chalice, Request, Response

from chalicelib.http import answer_response, answers, json_response, normalize_chalice_error
from chalicelib.observability import http_middleware
from chalicelib.rules.staff import EVERYONE, Role, Staff
from chalicelib.services import approvals, lookup, staff
from chalicelib.services.container import lookups, reads, registrations
from chalicelib.services.registrations import WebhookRequest, check_json
from chalicelib.settings import settings
from chalicelib.store import store

app = Chalice(app_name="sales-office")
app.register_middleware(http_middleware(lambda: settings().tracing), "http")

ANY_TYPE = ["*/*"]  # the service answers 415 itself, in the one error shape


@app.middleware("http")
def one_error_shape(event, get_response):  # type: ignore[no-untyped-def]
    return normalize_chalice_error(get_response(event))


def now() -> datetime:
    """The one clock read of a request; whole seconds, like every time we show."""
    return datetime.now(UTC).replace(microsecond=0)


def current() -> Request:
    request = app.current_request
    assert request is not None  # always set while a route runs
    return request


def raw_body(request: Request) -> bytes:
    raw = request.raw_body or b""
    return raw.encode() if isinstance(raw, str) else raw


def query() -> dict[str, str]:
    return dict(current().query_params or {})


def webhook_request() -> WebhookRequest:
    request = current()
    headers = request.headers
    return WebhookRequest(
        registrant_id=headers.get("x-registrant-id"),
        signature=headers.get("x-signature"),
        idempotency_key=headers.get("idempotency-key"),
        content_type=headers.get("content-type"),
        body=raw_body(request),
    )


@app.route("/v1/registrations", methods=["POST"], content_types=ANY_TYPE)
@answers
def register() -> Response:
    answer = registrations().register(webhook_request(), now())
    return answer_response(
        answer.code, answer.body, replayed=answer.replayed, retry_after=answer.retry_after
    )


@app.route("/v1/registrations", methods=["GET"], content_types=ANY_TYPE)
@answers
def list_registrations() -> Response:
    at = now()
    caller = registrations().authenticate(webhook_request(), at)
    return json_response(reads().registrations(caller, query(), at), 200)


@app.route("/v1/registrations/{registration_id}", methods=["GET"], content_types=ANY_TYPE)
@answers
def get_registration(registration_id: str) -> Response:
    at = now()
    caller = registrations().authenticate(webhook_request(), at)
    return json_response(reads().registration(caller, registration_id, at), 200)


@app.route("/v1/events", methods=["GET"], content_types=ANY_TYPE)
@answers
def list_events() -> Response:
    at = now()
    caller = registrations().authenticate(webhook_request(), at)
    return json_response(reads().events(caller, query(), at), 200)


# -- staff (bearer tokens) ---------------------------------------------------


def staff_member(roles: frozenset[Role]) -> Staff:
    """The caller: 401 without a valid token, 403 when the role may not."""
    caller = staff.authenticate(store(), current().headers.get("authorization"))
    return staff.require(caller, roles)


@app.route("/v1/staff/me", methods=["GET"], content_types=ANY_TYPE)
@answers
def whoami() -> Response:
    me = staff_member(EVERYONE)
    return json_response({"id": me.staff_id, "name": me.name, "role": me.role.value}, 200)


@app.route("/v1/consultant-registrations", methods=["POST"], content_types=ANY_TYPE)
@answers
def register_by_consultant() -> Response:
    """R-REG-1 walk-ins and R-REG-4 crowd brokers' customers."""
    consultant = staff_member(frozenset({Role.CONSULTANT}))
    request = webhook_request()
    answer = registrations().register_by_consultant(
        consultant, request.idempotency_key, request, now()
    )
    return answer_response(
        answer.code, answer.body, replayed=answer.replayed, retry_after=answer.retry_after
    )


@app.route("/v1/late-approvals", methods=["POST"], content_types=ANY_TYPE)
@answers
def approve_late_entry() -> Response:
    """R-REG-1 / R-REG-2: a sales manager's approval of a late entry."""
    manager = staff_member(frozenset({Role.SALES_MANAGER}))
    request = webhook_request()
    check_json(request)
    return json_response(
        approvals.approve_late_entry(store(), settings(), manager, request.body, now()), 201
    )


@app.route("/v1/customer-lookups", methods=["POST"], content_types=ANY_TYPE)
@answers
def look_up_customer() -> Response:
    """判客: the phone goes in the body, never in a URL that proxies log."""
    caller = staff_member(lookup.ROLES)
    request = webhook_request()
    check_json(request)
    return json_response(lookups().look_up(caller, request.body, now()), 200)
