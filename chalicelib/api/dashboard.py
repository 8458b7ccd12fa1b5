"""The managers' 看板 (issue 17): counts kept as things happen, for charts."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.http import answers, json_response
from chalicelib.rules.staff import MANAGERS
from chalicelib.services.container import dashboard

from .edge import ANY_TYPE, now, query, staff_member

board = Blueprint(__name__)


@board.route("/v1/dashboard", methods=["GET"], content_types=ANY_TYPE)
@answers
def manager_dashboard() -> Response:
    """Today and the last ``days`` local days (1..31, default 30), for the
    sales manager, the site manager and Party A's admin."""
    staff_member(MANAGERS)
    return json_response(dashboard().build(query(), now()), 200)
