"""The registrants' signed webhook (API.md): register a customer, read one's
own registrations and event feed."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.http import answer_response, answers, json_response
from chalicelib.services.container import (
    reads,
    registrations,
)

from .edge import (
    ANY_TYPE,
    now,
    query,
    webhook_request,
)

registrants = Blueprint(__name__)


@registrants.route("/v1/registrations", methods=["POST"], content_types=ANY_TYPE)
@answers
def register() -> Response:
    answer = registrations().register(webhook_request(), now())
    return answer_response(
        answer.code, answer.body, replayed=answer.replayed, retry_after=answer.retry_after
    )


@registrants.route("/v1/registrations", methods=["GET"], content_types=ANY_TYPE)
@answers
def list_registrations() -> Response:
    at = now()
    caller = registrations().authenticate(webhook_request(), at)
    return json_response(reads().registrations(caller, query(), at), 200)


@registrants.route("/v1/registrations/{registration_id}", methods=["GET"], content_types=ANY_TYPE)
@answers
def get_registration(registration_id: str) -> Response:
    at = now()
    caller = registrations().authenticate(webhook_request(), at)
    return json_response(reads().registration(caller, registration_id, at), 200)


@registrants.route("/v1/events", methods=["GET"], content_types=ANY_TYPE)
@answers
def list_events() -> Response:
    at = now()
    caller = registrations().authenticate(webhook_request(), at)
    return json_response(reads().events(caller, query(), at), 200)
