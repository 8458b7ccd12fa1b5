"""The sales office floor (R-FLOOR-2..5, R-REG-3): arrivals, 判客, sign-ins,
the rotation, forms and exemptions, rosters, and the daily channel report
(R-REG-2)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.http import answers, json_response
from chalicelib.rules.staff import (
    FLOOR_READERS,
    REVIEWERS,
    ROSTER_KEEPERS,
    Role,
)
from chalicelib.services.container import (
    daily_report,
    ownership,
    rotation,
    visits,
)

from .edge import (
    ANY_TYPE,
    current,
    now,
    query,
    raw_body,
    staff_body,
    staff_member,
)

floor = Blueprint(__name__)


def created_or_ok(doc: dict[str, Any], created: bool) -> Response:
    return json_response(doc, 201 if created else 200)


@floor.route("/v1/visits", methods=["POST"], content_types=ANY_TYPE)
@answers
def log_arrival() -> Response:
    """The front desk greets and logs an arrival (R-FLOOR-2)."""
    desk, request = staff_body(frozenset({Role.FRONT_DESK}))
    doc, replayed = visits().log_arrival(desk, request.body, request.idempotency_key, now())
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return json_response(doc, 201, **headers)


@floor.route("/v1/visits", methods=["GET"], content_types=ANY_TYPE)
@answers
def visits_on_day() -> Response:
    staff_member(FLOOR_READERS)
    return json_response(visits().on_day(query(), now()), 200)


@floor.route("/v1/visits/{visit_id}", methods=["GET"], content_types=ANY_TYPE)
@answers
def get_visit(visit_id: str) -> Response:
    reader = staff_member(FLOOR_READERS | {Role.CONSULTANT})
    return json_response(visits().visit(visit_id, now(), reader), 200)


@floor.route("/v1/visits/{visit_id}/departure", methods=["POST"], content_types=ANY_TYPE)
@answers
def log_departure(visit_id: str) -> Response:
    desk, request = staff_body(frozenset({Role.FRONT_DESK}))
    return json_response(visits().log_departure(desk, visit_id, request.body, now()), 200)


@floor.route("/v1/visits/{visit_id}/decisions", methods=["POST"], content_types=ANY_TYPE)
@answers
def decide_owner(visit_id: str) -> Response:
    """判客: the channel assistant decides which recommender owns the customer.
    The decision's reads are made with the caller's: the visit with the token,
    the customer with the staff member (services/floor/ownership.py)."""
    with ownership().reading_ahead(visit_id, raw_body(current())):
        assistant, request = staff_body(frozenset({Role.CHANNEL_ASSISTANT}))
        return created_or_ok(*ownership().decide(assistant, visit_id, request.body, now()))


@floor.route("/v1/visits/{visit_id}/sign-ins", methods=["POST"], content_types=ANY_TYPE)
@answers
def sign_in(visit_id: str) -> Response:
    """R-FLOOR-4: one customer per household."""
    caller, request = staff_body(frozenset({Role.CHANNEL_ASSISTANT, Role.CONSULTANT}))
    return created_or_ok(*visits().sign_in(caller, visit_id, request.body, now()))


@floor.route("/v1/visits/{visit_id}/assignment", methods=["POST"], content_types=ANY_TYPE)
@answers
def assign_consultant(visit_id: str) -> Response:
    """R-FLOOR-3: the next consultant on duty receives the customer."""
    desk, request = staff_body(frozenset({Role.FRONT_DESK}))
    return created_or_ok(*rotation().assign(desk, visit_id, request.body, now()))


@floor.route("/v1/visits/{visit_id}/form", methods=["POST"], content_types=ANY_TYPE)
@answers
def file_form(visit_id: str) -> Response:
    """R-FLOOR-5: the receiving consultant's viewing confirmation form."""
    consultant, request = staff_body(frozenset({Role.CONSULTANT}))
    return created_or_ok(*visits().file_form(consultant, visit_id, request.body, now()))


@floor.route("/v1/visits/{visit_id}/exemption", methods=["POST"], content_types=ANY_TYPE)
@answers
def sign_exemption(visit_id: str) -> Response:
    """R-FLOOR-5: the site manager exempts a gift-only visit or an impostor."""
    manager, request = staff_body(frozenset({Role.SITE_MANAGER}))
    return created_or_ok(*visits().sign_exemption(manager, visit_id, request.body, now()))


@floor.route("/v1/visit-lookups", methods=["POST"], content_types=ANY_TYPE)
@answers
def visits_of_customer() -> Response:
    """A customer's visits; the phone goes in the body, never in a URL."""
    _, request = staff_body(FLOOR_READERS)
    return json_response(visits().of_customer(request.body, now()), 200)


@floor.route("/v1/forms", methods=["GET"], content_types=ANY_TYPE)
@answers
def forms_of_day() -> Response:
    """The day's forms; a consultant sees the ones they owe or filed."""
    caller = staff_member(REVIEWERS | {Role.CONSULTANT})
    mine = caller.staff_id if caller.role is Role.CONSULTANT else None
    return json_response(visits().forms(query(), now(), mine), 200)


@floor.route("/v1/rosters/{day}", methods=["PUT"], content_types=ANY_TYPE)
@answers
def set_roster(day: str) -> Response:
    manager, request = staff_body(ROSTER_KEEPERS)
    return json_response(rotation().set_roster(manager, day, request.body, now()), 200)


@floor.route("/v1/rosters/{day}", methods=["GET"], content_types=ANY_TYPE)
@answers
def get_roster(day: str) -> Response:
    staff_member(ROSTER_KEEPERS | {Role.FRONT_DESK, Role.CHANNEL_ASSISTANT})
    return json_response(rotation().roster(day), 200)


@floor.route("/v1/reports/daily", methods=["GET"], content_types=ANY_TYPE)
@answers
def daily_channel_report() -> Response:
    """R-REG-2: JSON, or CSV for Excel (UTF-8 with a byte-order mark)."""
    staff_member(REVIEWERS)
    params = query()
    report = daily_report().build(params, now())
    if params.get("format") != "csv":
        return json_response(report, 200)
    return Response(
        body=daily_report().as_csv(report),
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="channel-report-{report["date"]}.csv"',
        },
    )
