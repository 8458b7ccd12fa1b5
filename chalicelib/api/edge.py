"""What every route shares: the request as the services take it, the caller,
the one clock read, and the middleware every answer passes through."""

from __future__ import annotations

from datetime import UTC, datetime

from chalice.app import Chalice, Request

from chalicelib.errors import FieldError, validation_error
from chalicelib.http import advising, normalize_chalice_error, problem_response, retry_advice
from chalicelib.observability import http_middleware, job_middleware
from chalicelib.rules.staff import Role, Staff
from chalicelib.services.registration.registrations import WebhookRequest, check_json
from chalicelib.settings import settings
from chalicelib.store import store

ANY_TYPE = ["*/*"]  # the service answers 415 itself, in the one error shape

# The query parameters each route reads; any other is refused (400), as an
# unknown body field is: a misspelt `cursur` must not silently restart a feed.
QUERY_PARAMETERS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/v1/registrations"): frozenset({"limit", "cursor"}),
    ("GET", "/v1/events"): frozenset({"limit", "cursor"}),
    ("GET", "/v1/staff/me/customers"): frozenset({"limit", "cursor"}),
    ("GET", "/v1/staff/directory"): frozenset({"role"}),
    ("GET", "/v1/visits"): frozenset({"date"}),
    ("GET", "/v1/forms"): frozenset({"date"}),
    ("GET", "/v1/reports/daily"): frozenset({"date", "format"}),
    ("GET", "/v1/fines"): frozenset({"month", "status"}),
    ("GET", "/v1/fines/statement"): frozenset({"month", "payer", "format"}),
    ("GET", "/v1/deliveries"): frozenset({"limit", "cursor"}),
    ("GET", "/v1/registrants/{registrant_id}/deliveries"): frozenset({"limit", "cursor"}),
    ("GET", "/v1/dashboard"): frozenset({"days"}),
    ("GET", "/v1/appeals"): frozenset({"state"}),
}

# The POSTs that keep the answer to an Idempotency-Key: only their callers are
# told by a 503 to retry with the same key (a read, or another change, is told
# what is true for it).
KEYED_ROUTES = frozenset(
    {
        ("POST", "/v1/registrations"),
        ("POST", "/v1/consultant-registrations"),
        ("POST", "/v1/visits"),
        ("POST", "/v1/appeals"),  # a registrant's filing reserves its key (decision 0012)
    }
)

_served: list[Chalice] = []  # the app, once serve() has wired it


def serve(app: Chalice) -> None:
    """Wire the middleware every answer and every job passes through."""
    _served[:] = [app]
    app.register_middleware(http_middleware(lambda: settings().tracing), "http")
    for kind in ("scheduled", "dynamodb"):
        app.register_middleware(job_middleware(lambda: settings().tracing), kind)
    app.register_middleware(one_error_shape, "http")
    app.register_middleware(known_query_parameters, "http")
    app.register_middleware(what_to_retry, "http")


def one_error_shape(event, get_response):  # type: ignore[no-untyped-def]
    return normalize_chalice_error(get_response(event))


def known_query_parameters(event, get_response):  # type: ignore[no-untyped-def]
    route = (event.method, (event.context or {}).get("resourcePath", ""))
    unknown = sorted(set(event.query_params or {}) - QUERY_PARAMETERS.get(route, frozenset()))
    if unknown:
        fields = [FieldError(name[:64], "unknown query parameter") for name in unknown[:10]]
        return problem_response(validation_error(*fields))
    return get_response(event)


def what_to_retry(event, get_response):  # type: ignore[no-untyped-def]
    route = (event.method, (event.context or {}).get("resourcePath", ""))
    keyed = route in KEYED_ROUTES and bool(event.headers.get("idempotency-key"))
    with advising(retry_advice(event.method, keyed)):
        return get_response(event)


def now() -> datetime:
    """The one clock read of a request; whole seconds, like every time we show."""
    return datetime.now(UTC).replace(microsecond=0)


def current() -> Request:
    request = _served[0].current_request
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


def staff_member(roles: frozenset[Role]) -> Staff:
    """The caller: 401 without a valid token, 403 when the role may not."""
    # imported at the first staff route, not by every cold start (a registration's)
    from chalicelib.services.people import staff  # noqa: PLC0415

    caller = staff.authenticate(store(), current().headers.get("authorization"))
    return staff.require(caller, roles)


def staff_body(roles: frozenset[Role]) -> tuple[Staff, WebhookRequest]:
    """The caller and a JSON body (413/415 otherwise)."""
    caller = staff_member(roles)
    request = webhook_request()
    check_json(request)
    return caller, request
