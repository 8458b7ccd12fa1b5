"""Appeals of a 判客 decision (申诉, decision 0012): a passed-over registrant
files one signed, the sales manager for it with a bearer token; the site
manager reads the queue and answers; the appellant reads its appeal back."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.http import answers, json_response
from chalicelib.rules.staff import Role
from chalicelib.services.container import appeals, registrations
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

hearings = Blueprint(__name__)

FILERS = frozenset({Role.SALES_MANAGER})  # the channel assistant's manager (decision 0012)
READERS = frozenset({Role.SITE_MANAGER, Role.SALES_MANAGER})
ANSWERERS = frozenset({Role.SITE_MANAGER})


@hearings.route("/v1/appeals", methods=["POST"], content_types=ANY_TYPE)
@answers
def file_appeal() -> Response:
    """A registrant (signed, with an Idempotency-Key) or the sales manager."""
    at = now()
    if current().headers.get("authorization"):
        manager, request = staff_body(FILERS)
        body, created = appeals().file(manager.staff_id, request.body, at, staff=manager)
        return json_response(body, 201 if created else 200)
    request = webhook_request()
    registrant = registrations().authenticate(request, at)
    check_json(request)
    key = required_key(request.idempotency_key)
    body, created = appeals().file(registrant.registrant_id, request.body, at, idempotency_key=key)
    if created:
        return json_response(body, 201)
    return json_response(body, 201, **{"Idempotent-Replayed": "true"})


@hearings.route("/v1/appeals", methods=["GET"], content_types=ANY_TYPE)
@answers
def appeal_queue() -> Response:
    staff_member(READERS)
    return json_response(appeals().queue(query()), 200)


@hearings.route("/v1/appeals/{appeal_id}", methods=["GET"], content_types=ANY_TYPE)
@answers
def read_appeal(appeal_id: str) -> Response:
    """The registrant that appealed, signed; another's appeal is 404."""
    at = now()
    caller = registrations().authenticate(webhook_request(), at)
    return json_response(appeals().of_registrant(caller, appeal_id), 200)


@hearings.route("/v1/appeals/{appeal_id}/decision", methods=["POST"], content_types=ANY_TYPE)
@answers
def answer_appeal(appeal_id: str) -> Response:
    manager, request = staff_body(ANSWERERS)
    return json_response(appeals().answer(manager, appeal_id, request.body, now()), 200)
