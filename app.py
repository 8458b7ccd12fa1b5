"""Routes, schedules and stream handlers: parse, call the service, answer."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from chalice.app import (
    Chalice,
    CloudWatchEvent,
    Cron,
    DynamoDBEvent,
    Rate,
    Request,
    Response,
)

from chalicelib import console
from chalicelib.errors import Failed, FieldError, not_found, validation_error
from chalicelib.http import (
    advising,
    answer_response,
    answers,
    json_response,
    normalize_chalice_error,
    problem_response,
    retry_advice,
    secret_response,
)
from chalicelib.observability import http_middleware, job_middleware
from chalicelib.rules.policy import Policy
from chalicelib.rules.reclaim import utc_cron
from chalicelib.rules.staff import (
    EVERYONE,
    FLOOR_READERS,
    MANAGERS,
    REVIEWERS,
    ROSTER_KEEPERS,
    Role,
    Staff,
)
from chalicelib.services import approvals, lookup, staff, stream
from chalicelib.services.container import (
    daily_report,
    deals,
    duplicate_watch,
    fines,
    lookups,
    ownership,
    party_a,
    pool,
    portfolio,
    reads,
    reclaim,
    registrations,
    rotation,
    sweep,
    visits,
)
from chalicelib.services.daily_report import as_csv
from chalicelib.services.registrations import WebhookRequest, check_json, required_key
from chalicelib.settings import settings
from chalicelib.store import store

app = Chalice(app_name="sales-office")
app.register_middleware(http_middleware(lambda: settings().tracing), "http")
for _kind in ("scheduled", "dynamodb"):
    app.register_middleware(job_middleware(lambda: settings().tracing), _kind)

ANY_TYPE = ["*/*"]  # the service answers 415 itself, in the one error shape


@app.middleware("http")
def one_error_shape(event, get_response):  # type: ignore[no-untyped-def]
    return normalize_chalice_error(get_response(event))


# The query parameters each route reads; any other is refused (400), as an
# unknown body field is: a misspelt `cursur` must not silently restart a feed.
QUERY_PARAMETERS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/v1/registrations"): frozenset({"limit", "cursor"}),
    ("GET", "/v1/events"): frozenset({"limit", "cursor"}),
    ("GET", "/v1/staff/me/customers"): frozenset({"limit", "cursor"}),
    ("GET", "/v1/visits"): frozenset({"date"}),
    ("GET", "/v1/forms"): frozenset({"date"}),
    ("GET", "/v1/reports/daily"): frozenset({"date", "format"}),
    ("GET", "/v1/fines"): frozenset({"month", "status"}),
    ("GET", "/v1/fines/statement"): frozenset({"month", "payer", "format"}),
}


@app.middleware("http")
def known_query_parameters(event, get_response):  # type: ignore[no-untyped-def]
    route = (event.method, (event.context or {}).get("resourcePath", ""))
    unknown = sorted(set(event.query_params or {}) - QUERY_PARAMETERS.get(route, frozenset()))
    if unknown:
        fields = [FieldError(name[:64], "unknown query parameter") for name in unknown[:10]]
        return problem_response(validation_error(*fields))
    return get_response(event)


# The POSTs that keep the answer to an Idempotency-Key: only their callers are
# told by a 503 to retry with the same key (a read, or another change, is told
# what is true for it).
KEYED_ROUTES = frozenset(
    {
        ("POST", "/v1/registrations"),
        ("POST", "/v1/consultant-registrations"),
        ("POST", "/v1/visits"),
    }
)


@app.middleware("http")
def what_to_retry(event, get_response):  # type: ignore[no-untyped-def]
    route = (event.method, (event.context or {}).get("resourcePath", ""))
    keyed = route in KEYED_ROUTES and bool(event.headers.get("idempotency-key"))
    with advising(retry_advice(event.method, keyed)):
        return get_response(event)


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


# -- the console (zh-CN pages; every call they make is one of the routes here) --


@app.route("/console", methods=["GET"], content_types=ANY_TYPE)
@answers
def console_page() -> Response:
    if str((current().context or {}).get("path", "")).endswith("/"):
        # the page's relative links need the address without the slash
        return Response(body="", status_code=308, headers={"Location": "../console"})
    return console_file("index.html")


@app.route("/console/{name}", methods=["GET"], content_types=ANY_TYPE)
@answers
def console_asset(name: str) -> Response:
    return console_file(name)


def console_file(name: str) -> Response:
    found = console.asset(name)
    if found is None:
        raise Failed(not_found("console file"))
    headers: dict[str, str | list[str]] = {"Content-Type": found.content_type, **console.HEADERS}
    return Response(body=found.body, status_code=200, headers=headers)


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


@app.route("/v1/staff/me/customers", methods=["GET"], content_types=ANY_TYPE)
@answers
def my_customers() -> Response:
    """R-RECLAIM-1: the consultant's own customers and how each stands now."""
    consultant = staff_member(frozenset({Role.CONSULTANT}))
    return json_response(portfolio().mine(consultant, query(), now()), 200)


@app.route("/v1/recommenders", methods=["GET"], content_types=ANY_TYPE)
@answers
def recommenders() -> Response:
    """Names for the console's pickers: who may accompany or recommend now."""
    staff_member(EVERYONE)
    return json_response(party_a().recommenders(now()), 200)


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


# -- the floor (R-FLOOR-2..5, R-REG-3) -------------------------------------------


def staff_body(roles: frozenset[Role]) -> tuple[Staff, WebhookRequest]:
    """The caller and a JSON body (413/415 otherwise)."""
    caller = staff_member(roles)
    request = webhook_request()
    check_json(request)
    return caller, request


def created_or_ok(doc: dict[str, Any], created: bool) -> Response:
    return json_response(doc, 201 if created else 200)


@app.route("/v1/visits", methods=["POST"], content_types=ANY_TYPE)
@answers
def log_arrival() -> Response:
    """The front desk greets and logs an arrival (R-FLOOR-2)."""
    desk, request = staff_body(frozenset({Role.FRONT_DESK}))
    doc, replayed = visits().log_arrival(desk, request.body, request.idempotency_key, now())
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return json_response(doc, 201, **headers)


@app.route("/v1/visits", methods=["GET"], content_types=ANY_TYPE)
@answers
def visits_on_day() -> Response:
    staff_member(FLOOR_READERS)
    return json_response(visits().on_day(query(), now()), 200)


@app.route("/v1/visits/{visit_id}", methods=["GET"], content_types=ANY_TYPE)
@answers
def get_visit(visit_id: str) -> Response:
    reader = staff_member(FLOOR_READERS | {Role.CONSULTANT})
    return json_response(visits().visit(visit_id, now(), reader), 200)


@app.route("/v1/visits/{visit_id}/departure", methods=["POST"], content_types=ANY_TYPE)
@answers
def log_departure(visit_id: str) -> Response:
    desk, request = staff_body(frozenset({Role.FRONT_DESK}))
    return json_response(visits().log_departure(desk, visit_id, request.body, now()), 200)


@app.route("/v1/visits/{visit_id}/decisions", methods=["POST"], content_types=ANY_TYPE)
@answers
def decide_owner(visit_id: str) -> Response:
    """判客: the channel assistant decides which recommender owns the customer.
    The decision's reads are made with the caller's: the visit with the token,
    the customer with the staff member (services/ownership.py)."""
    with ownership().reading_ahead(visit_id, raw_body(current())):
        assistant, request = staff_body(frozenset({Role.CHANNEL_ASSISTANT}))
        return created_or_ok(*ownership().decide(assistant, visit_id, request.body, now()))


@app.route("/v1/visits/{visit_id}/sign-ins", methods=["POST"], content_types=ANY_TYPE)
@answers
def sign_in(visit_id: str) -> Response:
    """R-FLOOR-4: one customer per household."""
    caller, request = staff_body(frozenset({Role.CHANNEL_ASSISTANT, Role.CONSULTANT}))
    return created_or_ok(*visits().sign_in(caller, visit_id, request.body, now()))


@app.route("/v1/visits/{visit_id}/assignment", methods=["POST"], content_types=ANY_TYPE)
@answers
def assign_consultant(visit_id: str) -> Response:
    """R-FLOOR-3: the next consultant on duty receives the customer."""
    desk, request = staff_body(frozenset({Role.FRONT_DESK}))
    return created_or_ok(*rotation().assign(desk, visit_id, request.body, now()))


@app.route("/v1/visits/{visit_id}/form", methods=["POST"], content_types=ANY_TYPE)
@answers
def file_form(visit_id: str) -> Response:
    """R-FLOOR-5: the receiving consultant's viewing confirmation form."""
    consultant, request = staff_body(frozenset({Role.CONSULTANT}))
    return created_or_ok(*visits().file_form(consultant, visit_id, request.body, now()))


@app.route("/v1/visits/{visit_id}/exemption", methods=["POST"], content_types=ANY_TYPE)
@answers
def sign_exemption(visit_id: str) -> Response:
    """R-FLOOR-5: the site manager exempts a gift-only visit or an impostor."""
    manager, request = staff_body(frozenset({Role.SITE_MANAGER}))
    return created_or_ok(*visits().sign_exemption(manager, visit_id, request.body, now()))


@app.route("/v1/visit-lookups", methods=["POST"], content_types=ANY_TYPE)
@answers
def visits_of_customer() -> Response:
    """A customer's visits; the phone goes in the body, never in a URL."""
    _, request = staff_body(FLOOR_READERS)
    return json_response(visits().of_customer(request.body, now()), 200)


@app.route("/v1/forms", methods=["GET"], content_types=ANY_TYPE)
@answers
def forms_of_day() -> Response:
    """The day's forms; a consultant sees the ones they owe or filed."""
    caller = staff_member(REVIEWERS | {Role.CONSULTANT})
    mine = caller.staff_id if caller.role is Role.CONSULTANT else None
    return json_response(visits().forms(query(), now(), mine), 200)


@app.route("/v1/rosters/{day}", methods=["PUT"], content_types=ANY_TYPE)
@answers
def set_roster(day: str) -> Response:
    manager, request = staff_body(ROSTER_KEEPERS)
    return json_response(rotation().set_roster(manager, day, request.body, now()), 200)


@app.route("/v1/rosters/{day}", methods=["GET"], content_types=ANY_TYPE)
@answers
def get_roster(day: str) -> Response:
    staff_member(ROSTER_KEEPERS | {Role.FRONT_DESK, Role.CHANNEL_ASSISTANT})
    return json_response(rotation().roster(day), 200)


@app.route("/v1/reports/daily", methods=["GET"], content_types=ANY_TYPE)
@answers
def daily_channel_report() -> Response:
    """R-REG-2: JSON, or CSV for Excel (UTF-8 with a byte-order mark)."""
    staff_member(REVIEWERS)
    params = query()
    report = daily_report().build(params, now())
    if params.get("format") != "csv":
        return json_response(report, 200)
    return Response(
        body=as_csv(report),
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="channel-report-{report["date"]}.csv"',
        },
    )


# -- time-driven work (R-PROT-2, R-REG-3, R-RECLAIM-1) ---------------------------


@app.route("/v1/pool", methods=["GET"], content_types=ANY_TYPE)
@answers
def reclaim_pool() -> Response:
    """R-RECLAIM-1: the customers reclaimed from their consultants."""
    staff_member(frozenset({Role.SALES_MANAGER}))
    return json_response(pool().view(now()), 200)


@app.route("/v1/pool/assignments", methods=["POST"], content_types=ANY_TYPE)
@answers
def assign_from_pool() -> Response:
    manager, request = staff_body(frozenset({Role.SALES_MANAGER}))
    return json_response(pool().assign(manager, request.body, now()), 200)


@app.route("/v1/deals", methods=["POST"], content_types=ANY_TYPE)
@answers
def record_deal() -> Response:
    """成交: credited to the consultant and the recommender of that instant."""
    caller, request = staff_body(frozenset({Role.SALES_MANAGER, Role.CONSULTANT}))
    return json_response(deals().record(caller, request.body, now()), 201)


@app.schedule(Rate(1, unit=Rate.HOURS), name="expiry_sweep")
def expiry_sweep(event: CloudWatchEvent) -> dict[str, int]:
    """Hourly: ending-soon, ended and lapsed notices for the feeds."""
    return sweep().run(now())


@app.schedule(Rate(1, unit=Rate.HOURS), name="duplicate_watch")
def watch_duplicates(event: CloudWatchEvent) -> dict[str, int]:
    """Hourly: registrants whose refusals are mostly duplicates (probing)."""
    return duplicate_watch().run(now())


# EventBridge runs cron in UTC: 02:00 on the 1st in Asia/Shanghai is 18:00 UTC
# on the last day of the month before. From the policy defaults: a project
# that moves the reclaim time redeploys (the expression is fixed at deploy).
RECLAIM_MINUTES, RECLAIM_HOURS, RECLAIM_DAY = utc_cron(Policy())


@app.schedule(
    Cron(RECLAIM_MINUTES, RECLAIM_HOURS, RECLAIM_DAY, "*", "?", "*"), name="monthly_reclaim"
)
def monthly_reclaim(event: CloudWatchEvent) -> dict[str, int]:
    """R-RECLAIM-1: stale customers into the pool; a missed month is caught up."""
    return reclaim().run(now())


# the stream of the idempotency table (TTL deletions). `make package` points the
# event source at the table's stream by reference (infra/template.py); this
# placeholder only satisfies Chalice, which wants an ARN at import
IDEMPOTENCY_STREAM = os.environ.get(
    "IDEMPOTENCY_STREAM_ARN",
    "arn:aws-cn:dynamodb:cn-north-1:000000000000:table/sales-office-idempotency/stream/unset",
)


@app.on_dynamodb_record(stream_arn=IDEMPOTENCY_STREAM, name="idempotency_stream")
def idempotency_stream(event: DynamoDBEvent) -> dict[str, int]:
    return stream.handle(store(), (record.to_dict() for record in event), now())


# -- the fines ledger (R-FINE-1..5) ------------------------------------------------

FINE_RECORDERS = MANAGERS | {Role.CHANNEL_ASSISTANT, Role.FRONT_DESK}
FINE_DECIDERS = frozenset({Role.SALES_MANAGER, Role.SITE_MANAGER})


def fined_party() -> tuple[str, Staff | None]:
    """Who calls a payer's route: a staff member (bearer token) or a
    registrant (signed, R-FINE-5), and their id."""
    if current().headers.get("authorization"):
        member = staff_member(EVERYONE)
        return member.staff_id, member
    return registrations().authenticate(webhook_request(), now()).registrant_id, None


@app.route("/v1/fines", methods=["POST"], content_types=ANY_TYPE)
@answers
def record_fine() -> Response:
    recorder, request = staff_body(FINE_RECORDERS)
    return json_response(fines().record(recorder, request.body, now()), 201)


@app.route("/v1/fines", methods=["GET"], content_types=ANY_TYPE)
@answers
def fines_waiting() -> Response:
    """Proposals and appeals a manager has to answer, by local month."""
    staff_member(FINE_DECIDERS)
    return json_response(fines().waiting(query(), now()), 200)


@app.route("/v1/fines/{fine_id}/decision", methods=["POST"], content_types=ANY_TYPE)
@answers
def decide_fine(fine_id: str) -> Response:
    manager, request = staff_body(FINE_DECIDERS)
    return json_response(fines().decide(manager, fine_id, request.body, now()), 200)


@app.route("/v1/fines/{fine_id}/appeal", methods=["POST"], content_types=ANY_TYPE)
@answers
def appeal_fine(fine_id: str) -> Response:
    """申诉: the one fined, staff or registrant, appeals once."""
    payer, member = fined_party()
    request = webhook_request()
    check_json(request)
    if member is None:  # a registrant: every outside POST carries a key (API.md)
        required_key(request.idempotency_key)
    answer = fines().appeal(payer, fine_id, request.body, now(), registrant=member is None)
    return json_response(answer, 200)


@app.route("/v1/fines/{fine_id}/appeal-decision", methods=["POST"], content_types=ANY_TYPE)
@answers
def decide_appeal(fine_id: str) -> Response:
    manager, request = staff_body(FINE_DECIDERS)
    return json_response(fines().decide_appeal(manager, fine_id, request.body, now()), 200)


@app.route("/v1/fines/statement", methods=["GET"], content_types=ANY_TYPE)
@answers
def fine_statement() -> Response:
    """A payer's month: their own, or anyone's for managers. JSON or CSV."""
    caller, member = fined_party()
    params = query()
    payer = fines().payer_for(caller, member, params)
    statement = fines().statement(payer, params, now())
    if params.get("format") != "csv":
        return json_response(statement, 200)
    return Response(
        body=fines().statement_csv(statement),
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="fines-{payer}-{statement["month"]}.csv"',
        },
    )


# -- Party A's administration (R-REG-4): registrants, crowd brokers, staff ---------
# party_a_admin only; secrets and tokens are in the answer that issues them, once

ADMINS = frozenset({Role.PARTY_A_ADMIN})


@app.route("/v1/registrants", methods=["GET"], content_types=ANY_TYPE)
@answers
def list_registrants() -> Response:
    staff_member(ADMINS)
    return json_response(party_a().registrants(), 200)


@app.route("/v1/registrants", methods=["POST"], content_types=ANY_TYPE)
@answers
def create_registrant() -> Response:
    admin, request = staff_body(ADMINS)
    return secret_response(party_a().create_registrant(admin, request.body, now()), 201)


@app.route("/v1/registrants/{registrant_id}/enabled", methods=["POST"], content_types=ANY_TYPE)
@answers
def set_registrant_enabled(registrant_id: str) -> Response:
    admin, request = staff_body(ADMINS)
    doc = party_a().set_registrant_enabled(admin, registrant_id, request.body, now())
    return json_response(doc, 200)


@app.route("/v1/registrants/{registrant_id}/secret", methods=["POST"], content_types=ANY_TYPE)
@answers
def rotate_registrant_secret(registrant_id: str) -> Response:
    """A new secret; the old one signs 24 h more, or stops at once (`at_once`)."""
    admin, request = staff_body(ADMINS)
    return secret_response(party_a().rotate_secret(admin, registrant_id, request.body, now()), 201)


@app.route("/v1/brokers", methods=["GET"], content_types=ANY_TYPE)
@answers
def list_brokers() -> Response:
    staff_member(ADMINS)
    return json_response(party_a().brokers(now()), 200)


@app.route("/v1/brokers", methods=["POST"], content_types=ANY_TYPE)
@answers
def certify_broker() -> Response:
    admin, request = staff_body(ADMINS)
    return json_response(party_a().certify_broker(admin, request.body, now()), 201)


@app.route("/v1/brokers/{broker_id}/revocation", methods=["POST"], content_types=ANY_TYPE)
@answers
def revoke_broker(broker_id: str) -> Response:
    admin, request = staff_body(ADMINS)
    return json_response(party_a().revoke_broker(admin, broker_id, request.body, now()), 200)


@app.route("/v1/staff", methods=["GET"], content_types=ANY_TYPE)
@answers
def list_staff() -> Response:
    staff_member(ADMINS)
    return json_response(party_a().staff(), 200)


@app.route("/v1/staff", methods=["POST"], content_types=ANY_TYPE)
@answers
def create_staff() -> Response:
    """A member and a first bearer token."""
    admin, request = staff_body(ADMINS)
    return secret_response(party_a().create_staff(admin, request.body, now()), 201)


@app.route("/v1/staff/{staff_id}/enabled", methods=["POST"], content_types=ANY_TYPE)
@answers
def set_staff_enabled(staff_id: str) -> Response:
    """An admin may not disable themself (409 CANNOT_DISABLE_SELF)."""
    admin, request = staff_body(ADMINS)
    return json_response(party_a().set_staff_enabled(admin, staff_id, request.body, now()), 200)


@app.route("/v1/staff/{staff_id}/tokens", methods=["POST"], content_types=ANY_TYPE)
@answers
def issue_staff_token(staff_id: str) -> Response:
    admin, request = staff_body(ADMINS)
    return secret_response(party_a().issue_token(admin, staff_id, request.body, now()), 201)
