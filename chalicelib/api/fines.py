"""The fines ledger (R-FINE-1..5): record, decide, appeal, statements."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.http import answers, json_response
from chalicelib.rules.staff import (
    EVERYONE,
    MANAGERS,
    Role,
    Staff,
)
from chalicelib.services.container import (
    fines,
    registrations,
)
from chalicelib.services.registration.registrations import check_json, required_key

from .edge import (
    ANY_TYPE,
    current,
    now,
    query,
    staff_body,
    staff_member,
    webhook_request,
)

ledger = Blueprint(__name__)


FINE_RECORDERS = MANAGERS | {Role.CHANNEL_ASSISTANT, Role.FRONT_DESK}
FINE_DECIDERS = frozenset({Role.SALES_MANAGER, Role.SITE_MANAGER})


def fined_party() -> tuple[str, Staff | None]:
    """Who calls a payer's route: a staff member (bearer token) or a
    registrant (signed, R-FINE-5), and their id."""
    if current().headers.get("authorization"):
        member = staff_member(EVERYONE)
        return member.staff_id, member
    return registrations().authenticate(webhook_request(), now()).registrant_id, None


@ledger.route("/v1/fines", methods=["POST"], content_types=ANY_TYPE)
@answers
def record_fine() -> Response:
    recorder, request = staff_body(FINE_RECORDERS)
    return json_response(fines().record(recorder, request.body, now()), 201)


@ledger.route("/v1/fines", methods=["GET"], content_types=ANY_TYPE)
@answers
def fines_waiting() -> Response:
    """Proposals and appeals a manager has to answer, by local month."""
    staff_member(FINE_DECIDERS)
    return json_response(fines().waiting(query(), now()), 200)


@ledger.route("/v1/fines/{fine_id}/decision", methods=["POST"], content_types=ANY_TYPE)
@answers
def decide_fine(fine_id: str) -> Response:
    manager, request = staff_body(FINE_DECIDERS)
    return json_response(fines().decide(manager, fine_id, request.body, now()), 200)


@ledger.route("/v1/fines/{fine_id}/appeal", methods=["POST"], content_types=ANY_TYPE)
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


@ledger.route("/v1/fines/{fine_id}/appeal-decision", methods=["POST"], content_types=ANY_TYPE)
@answers
def decide_appeal(fine_id: str) -> Response:
    manager, request = staff_body(FINE_DECIDERS)
    return json_response(fines().decide_appeal(manager, fine_id, request.body, now()), 200)


@ledger.route("/v1/fines/statement", methods=["GET"], content_types=ANY_TYPE)
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
