"""Events pushed to registrants (decision 0010): Party A sets each
registrant's endpoint, reads its delivery log and replays a delivery;
a registrant reads its own delivery log, signed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from chalicelib.http import answers, json_response
from chalicelib.rules.staff import Role
from chalicelib.services.container import registrations
from chalicelib.services.registration.registrations import check_json

if TYPE_CHECKING:
    from chalicelib.services.delivery.service import Deliveries

from .edge import ANY_TYPE, now, query, staff_body, staff_member, webhook_request

pushes = Blueprint(__name__)

ADMINS = frozenset({Role.PARTY_A_ADMIN})
ENDPOINT = "/v1/registrants/{registrant_id}/endpoint"


def deliveries() -> Deliveries:
    """Imported when first used, as container.py builds the other services."""
    from chalicelib.services.delivery.service import deliveries  # noqa: PLC0415

    return deliveries()


@pushes.route(ENDPOINT, methods=["PUT"], content_types=ANY_TYPE)
@answers
def set_endpoint(registrant_id: str) -> Response:
    """422 ENDPOINT_NOT_ALLOWED: not https, or resolving to a non-global address."""
    admin, request = staff_body(ADMINS)
    return json_response(deliveries().set_endpoint(admin, registrant_id, request.body, now()), 200)


@pushes.route(ENDPOINT, methods=["GET"], content_types=ANY_TYPE)
@answers
def get_endpoint(registrant_id: str) -> Response:
    staff_member(ADMINS)
    return json_response(deliveries().endpoint(registrant_id), 200)


@pushes.route(ENDPOINT, methods=["DELETE"], content_types=ANY_TYPE)
@answers
def clear_endpoint(registrant_id: str) -> Response:
    """No body needed; one sent must be JSON (413/415 otherwise), as elsewhere."""
    admin = staff_member(ADMINS)
    request = webhook_request()
    if request.body:
        check_json(request)
    deliveries().clear_endpoint(admin, registrant_id, now())
    return json_response({"registrant_id": registrant_id, "endpoint": None}, 200)


@pushes.route("/v1/registrants/{registrant_id}/deliveries", methods=["GET"], content_types=ANY_TYPE)
@answers
def registrant_deliveries(registrant_id: str) -> Response:
    staff_member(ADMINS)
    return json_response(deliveries().log_of(registrant_id, query()), 200)


@pushes.route(
    "/v1/registrants/{registrant_id}/deliveries/{delivery_id}/replay",
    methods=["POST"],
    content_types=ANY_TYPE,
)
@answers
def replay_delivery(registrant_id: str, delivery_id: str) -> Response:
    """Sent again by the next run (within a minute), with 24 h of retries."""
    admin, _ = staff_body(ADMINS)
    return json_response(deliveries().replay(admin, registrant_id, delivery_id, now()), 202)


@pushes.route("/v1/deliveries", methods=["GET"], content_types=ANY_TYPE)
@answers
def my_deliveries() -> Response:
    at = now()
    caller = registrations().authenticate(webhook_request(), at)
    return json_response(deliveries().log_for(caller, query()), 200)
