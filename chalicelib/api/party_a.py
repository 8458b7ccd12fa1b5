"""Party A's administration (R-REG-4): registrants, crowd brokers, staff;
party_a_admin only; secrets and tokens are in the answer that issues them, once."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.http import answers, json_response, secret_response
from chalicelib.rules.staff import (
    Role,
)
from chalicelib.services.container import (
    party_a,
)

from .edge import (
    ANY_TYPE,
    now,
    staff_body,
    staff_member,
)

admin = Blueprint(__name__)


ADMINS = frozenset({Role.PARTY_A_ADMIN})


@admin.route("/v1/registrants", methods=["GET"], content_types=ANY_TYPE)
@answers
def list_registrants() -> Response:
    staff_member(ADMINS)
    return json_response(party_a().registrants(), 200)


@admin.route("/v1/registrants", methods=["POST"], content_types=ANY_TYPE)
@answers
def create_registrant() -> Response:
    admin, request = staff_body(ADMINS)
    return secret_response(party_a().create_registrant(admin, request.body, now()), 201)


@admin.route("/v1/registrants/{registrant_id}/enabled", methods=["POST"], content_types=ANY_TYPE)
@answers
def set_registrant_enabled(registrant_id: str) -> Response:
    admin, request = staff_body(ADMINS)
    doc = party_a().set_registrant_enabled(admin, registrant_id, request.body, now())
    return json_response(doc, 200)


@admin.route("/v1/registrants/{registrant_id}/secret", methods=["POST"], content_types=ANY_TYPE)
@answers
def rotate_registrant_secret(registrant_id: str) -> Response:
    """A new secret; the old one signs 24 h more, or stops at once (`at_once`)."""
    admin, request = staff_body(ADMINS)
    return secret_response(party_a().rotate_secret(admin, registrant_id, request.body, now()), 201)


@admin.route("/v1/brokers", methods=["GET"], content_types=ANY_TYPE)
@answers
def list_brokers() -> Response:
    staff_member(ADMINS)
    return json_response(party_a().brokers(now()), 200)


@admin.route("/v1/brokers", methods=["POST"], content_types=ANY_TYPE)
@answers
def certify_broker() -> Response:
    admin, request = staff_body(ADMINS)
    return json_response(party_a().certify_broker(admin, request.body, now()), 201)


@admin.route("/v1/brokers/{broker_id}/revocation", methods=["POST"], content_types=ANY_TYPE)
@answers
def revoke_broker(broker_id: str) -> Response:
    admin, request = staff_body(ADMINS)
    return json_response(party_a().revoke_broker(admin, broker_id, request.body, now()), 200)


@admin.route("/v1/staff", methods=["GET"], content_types=ANY_TYPE)
@answers
def list_staff() -> Response:
    staff_member(ADMINS)
    return json_response(party_a().staff(), 200)


@admin.route("/v1/staff", methods=["POST"], content_types=ANY_TYPE)
@answers
def create_staff() -> Response:
    """A member and a first bearer token."""
    admin, request = staff_body(ADMINS)
    return secret_response(party_a().create_staff(admin, request.body, now()), 201)


@admin.route("/v1/staff/{staff_id}/enabled", methods=["POST"], content_types=ANY_TYPE)
@answers
def set_staff_enabled(staff_id: str) -> Response:
    """An admin may not disable themself (409 CANNOT_DISABLE_SELF)."""
    admin, request = staff_body(ADMINS)
    return json_response(party_a().set_staff_enabled(admin, staff_id, request.body, now()), 200)


@admin.route("/v1/staff/{staff_id}/tokens", methods=["POST"], content_types=ANY_TYPE)
@answers
def issue_staff_token(staff_id: str) -> Response:
    admin, request = staff_body(ADMINS)
    return secret_response(party_a().issue_token(admin, staff_id, request.body, now()), 201)
