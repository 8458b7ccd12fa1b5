"""Staff by bearer token: who am I, my customers, the pickers' names, a
consultant's registrations (R-REG-1, R-REG-4), late approvals, 判客 lookups,
the reclaim pool and deals (R-RECLAIM-1)."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.http import answer_response, answers, json_response
from chalicelib.rules.staff import (
    EVERYONE,
    LOOKUP_ROLES,
    MANAGERS,
    Role,
)
from chalicelib.services.container import (
    deals,
    lookups,
    party_a,
    pool,
    portfolio,
    registrations,
    visits,
)
from chalicelib.services.registration.registrations import check_json
from chalicelib.settings import settings
from chalicelib.store import store

from .edge import (
    ANY_TYPE,
    now,
    query,
    staff_body,
    staff_member,
    webhook_request,
)

people = Blueprint(__name__)


@people.route("/v1/staff/me", methods=["GET"], content_types=ANY_TYPE)
@answers
def whoami() -> Response:
    me = staff_member(EVERYONE)
    return json_response({"id": me.staff_id, "name": me.name, "role": me.role.value}, 200)


@people.route("/v1/staff/me/customers", methods=["GET"], content_types=ANY_TYPE)
@answers
def my_customers() -> Response:
    """R-RECLAIM-1: the consultant's own customers and how each stands now."""
    consultant = staff_member(frozenset({Role.CONSULTANT}))
    return json_response(portfolio().mine(consultant, query(), now()), 200)


@people.route("/v1/recommenders", methods=["GET"], content_types=ANY_TYPE)
@answers
def recommenders() -> Response:
    """Names for the console's pickers: who may accompany or recommend now."""
    staff_member(EVERYONE)
    return json_response(party_a().recommenders(now()), 200)


# who picks people by name: the managers (fines, late entries, statements)
# and the reviewers of the floor
DIRECTORY_READERS = MANAGERS | {Role.CHANNEL_ASSISTANT, Role.SALES_ADMIN}


@people.route("/v1/staff/directory", methods=["GET"], content_types=ANY_TYPE)
@answers
def staff_directory() -> Response:
    """Staff by name and role for the console's pickers, without tokens."""
    staff_member(DIRECTORY_READERS)
    return json_response(party_a().directory(query()), 200)


@people.route("/v1/consultant-registrations", methods=["POST"], content_types=ANY_TYPE)
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


@people.route("/v1/late-approvals", methods=["POST"], content_types=ANY_TYPE)
@answers
def approve_late_entry() -> Response:
    """R-REG-1 / R-REG-2: a sales manager's approval of a late entry."""
    # imported here: no other route needs it (a cold start loads its own route's code)
    from chalicelib.services.registration import approvals  # noqa: PLC0415

    manager = staff_member(frozenset({Role.SALES_MANAGER}))
    request = webhook_request()
    check_json(request)
    return json_response(
        approvals.approve_late_entry(store(), settings(), manager, request.body, now()), 201
    )


@people.route("/v1/customer-lookups", methods=["POST"], content_types=ANY_TYPE)
@answers
def look_up_customer() -> Response:
    """判客: the phone goes in the body, never in a URL that proxies log."""
    caller = staff_member(LOOKUP_ROLES)
    request = webhook_request()
    check_json(request)
    return json_response(lookups().look_up(caller, request.body, now()), 200)


@people.route("/v1/masked-claims/resolutions", methods=["POST"], content_types=ANY_TYPE)
@answers
def resolve_masked_claim() -> Response:
    """隐号报备 (decision 0013): the visitor's phone and name resolve the
    masked registration holding the number's mask, if the surname matches."""
    from chalicelib.services.floor.lookup import resolution_view  # noqa: PLC0415

    caller = staff_member(frozenset({Role.FRONT_DESK, Role.CHANNEL_ASSISTANT}))
    request = webhook_request()
    check_json(request)
    at = now()
    resolution = visits().resolve_masked(caller, request.body, at)
    return json_response(resolution_view(resolution, lookups(), at), 200)


# -- the reclaim pool and deals (R-RECLAIM-1) ------------------------------------


@people.route("/v1/pool", methods=["GET"], content_types=ANY_TYPE)
@answers
def reclaim_pool() -> Response:
    """R-RECLAIM-1: the customers reclaimed from their consultants."""
    staff_member(frozenset({Role.SALES_MANAGER}))
    return json_response(pool().view(now()), 200)


@people.route("/v1/pool/assignments", methods=["POST"], content_types=ANY_TYPE)
@answers
def assign_from_pool() -> Response:
    manager, request = staff_body(frozenset({Role.SALES_MANAGER}))
    return json_response(pool().assign(manager, request.body, now()), 200)


@people.route("/v1/deals", methods=["POST"], content_types=ANY_TYPE)
@answers
def record_deal() -> Response:
    """成交: credited to the consultant and the recommender of that instant."""
    caller, request = staff_body(frozenset({Role.SALES_MANAGER, Role.CONSULTANT}))
    return json_response(deals().record(caller, request.body, now()), 201)
