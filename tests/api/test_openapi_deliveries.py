"""docs/openapi.yaml for pushed events (decision 0010): every answer the
document declares for the endpoint, delivery-log and replay routes is
produced by a real request below, and conforms. The checks are test_openapi's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services.delivery import addresses
from chalicelib.services.delivery.service import Deliveries, deliveries
from chalicelib.services.registration.intake import MAX_BODY_BYTES
from chalicelib.store import Store
from tests.api.test_openapi import (
    Case,
    Ctx,
    answered_as_declared,
    bad_query,
    boom,
    fail_once,
    internal_get,
    rate_limited_get,
    registered,
    settle,
    spec,  # noqa: F401 (the fixture)
    unauthenticated_get,
    unavailable_get,
)
from tests.api.test_openapi_floor import call
from tests.conftest import payload
from tests.jobs.test_deliveries import Receiver

ENDPOINT = "/v1/registrants/{registrant_id}/endpoint"
LOG = "/v1/registrants/{registrant_id}/deliveries"
REPLAY = "/v1/registrants/{registrant_id}/deliveries/{delivery_id}/replay"
MINE = "/v1/deliveries"
ADMIN = Role.PARTY_A_ADMIN
GET, PUT, POST, DELETE = "GET", "PUT", "POST", "DELETE"
CLOSED = "http://127.0.0.1:9/hooks"  # nothing listens there: each attempt fails


def at(path: str, registrant_id: str = "reg_x", delivery_id: str = "ev_x") -> str:
    return path.replace("{registrant_id}", registrant_id).replace("{delivery_id}", delivery_id)


def with_endpoint(ctx: Ctx, url: str = CLOSED) -> Any:
    who = ctx.api.registrant(Source.CHANNEL)
    r = call(ctx, PUT, at(ENDPOINT, who.registrant_id), ADMIN, {"url": url})
    assert r.status_code == 200, r.body
    return who


def with_a_delivery(ctx: Ctx, url: str = CLOSED) -> tuple[Any, str]:
    """A registrant with an endpoint, one event, and the minute's run that
    tried to deliver it: (registrant, delivery id)."""
    who = with_endpoint(ctx, url)
    registered(ctx, who)
    settle(ctx)
    deliveries().run(datetime.now(UTC).replace(microsecond=0))
    (event,) = payload(ctx.api.get(who, "/v1/events"))["data"]
    return who, event["id"]


# PUT /v1/registrants/{registrant_id}/endpoint


def endpoint_set(ctx: Ctx) -> list[Any]:
    who = ctx.api.registrant(Source.CHANNEL)
    first = call(ctx, PUT, at(ENDPOINT, who.registrant_id), ADMIN, {"url": CLOSED})
    doc = payload(first)
    assert (doc["url"], doc["status"], doc["disabled_at"]) == (CLOSED, "active", None)
    again = call(ctx, PUT, at(ENDPOINT, who.registrant_id), ADMIN, {"url": CLOSED + "/v2"})
    assert payload(again)["since"] == doc["since"]  # the queue is kept
    return [first, again]


def endpoint_invalid(ctx: Ctx) -> list[Any]:
    who = ctx.api.registrant(Source.CHANNEL)
    target = at(ENDPOINT, who.registrant_id)
    return [
        call(ctx, PUT, target, ADMIN, {"url": 3}),
        call(ctx, PUT, target, ADMIN, {"url": CLOSED, "secret": "x"}),
        call(ctx, PUT, target, ADMIN, raw=b"{not json"),
    ]


def endpoint_not_allowed(ctx: Ctx) -> list[Any]:
    who = ctx.api.registrant(Source.CHANNEL)
    target = at(ENDPOINT, who.registrant_id)
    answers = [
        call(ctx, PUT, target, ADMIN, {"url": "ftp://hooks.example.com/x"}),
        call(ctx, PUT, target, ADMIN, {"url": "http://10.1.2.3/hooks"}),
        call(ctx, PUT, target, ADMIN, {"url": "https://169.254.169.254/latest"}),
    ]
    # a deployed stage: loopback is refused too, and plain http
    ctx.monkeypatch.setattr(addresses, "LOOPBACK_STAGES", frozenset())
    answers += [
        call(ctx, PUT, target, ADMIN, {"url": "https://127.0.0.1/hooks"}),
        call(ctx, PUT, target, ADMIN, {"url": "http://hooks.example.com/x"}),
    ]
    for r in answers:
        assert payload(r)["error"]["fields"][0]["field"] == "url"
    assert ctx.api.store.get_endpoint(who.registrant_id) is None
    return answers


def endpoint_of_nobody(ctx: Ctx) -> Any:
    return call(ctx, PUT, at(ENDPOINT, "reg_nobody"), ADMIN, {"url": CLOSED})


# GET and DELETE /v1/registrants/{registrant_id}/endpoint


def endpoint_read(ctx: Ctx) -> Any:
    who = with_endpoint(ctx)
    r = call(ctx, GET, at(ENDPOINT, who.registrant_id), ADMIN)
    assert payload(r)["url"] == CLOSED
    return r


def no_endpoint(method: str) -> Callable[[Ctx], list[Any]]:
    def run(ctx: Ctx) -> list[Any]:
        who = ctx.api.registrant(Source.CHANNEL)
        return [
            call(ctx, method, at(ENDPOINT, who.registrant_id), ADMIN),
            call(ctx, method, at(ENDPOINT, "reg_nobody"), ADMIN),
        ]

    run.__name__ = "no_endpoint"
    return run


def endpoint_cleared(ctx: Ctx) -> Any:
    who = with_endpoint(ctx)
    r = call(ctx, DELETE, at(ENDPOINT, who.registrant_id), ADMIN)
    assert ctx.api.store.get_endpoint(who.registrant_id) is None
    return r


# the delivery logs


def log_for_party_a(ctx: Ctx) -> list[Any]:
    who, delivery_id = with_a_delivery(ctx)
    r = call(ctx, GET, at(LOG, who.registrant_id), ADMIN)
    (delivery,) = payload(r)["data"]
    assert (delivery["id"], delivery["status"], delivery["attempts"]) == (delivery_id, "pending", 1)
    assert delivery["log"][0]["error"] == "connection"
    empty = call(ctx, GET, at(LOG, ctx.api.registrant(Source.CHANNEL).registrant_id), ADMIN)
    assert payload(empty) == {"data": [], "next_cursor": None}
    return [r, empty]


def log_bad_query(ctx: Ctx) -> list[Any]:
    who = ctx.api.registrant(Source.CHANNEL)
    return [
        call(ctx, GET, at(LOG, who.registrant_id) + f"?{q}", ADMIN)
        for q in ("limit=0", "cursor=%21%21", "since=1")
    ]


def log_of_nobody(ctx: Ctx) -> Any:
    return call(ctx, GET, at(LOG, "reg_nobody"), ADMIN)


def my_log(ctx: Ctx) -> list[Any]:
    with Receiver() as receiver:
        who, delivery_id = with_a_delivery(ctx, receiver.url)
    r = ctx.api.get(who, MINE)
    (delivery,) = payload(r)["data"]
    assert (delivery["id"], delivery["status"]) == (delivery_id, "delivered")
    assert delivery["log"][0]["status_code"] == 200
    other = ctx.api.get(ctx.api.registrant(Source.CHANNEL), MINE)  # sees none of it
    assert payload(other)["data"] == []
    return [r, other]


def paged(ctx: Ctx) -> list[Any]:
    """Two deliveries, one a page: the cursor continues to the older one."""
    who = with_endpoint(ctx)
    registered(ctx, who, "13800000001")
    ctx.clock.shift(timedelta(seconds=1))
    registered(ctx, who, "13800000002")
    settle(ctx)
    deliveries().run(datetime.now(UTC).replace(microsecond=0))
    first = ctx.api.get(who, f"{MINE}?limit=1")
    doc = payload(first)
    second = ctx.api.get(who, f"{MINE}?limit=1&cursor={doc['next_cursor']}")
    assert payload(second)["next_cursor"] is None
    assert payload(second)["data"][0]["id"] != doc["data"][0]["id"]
    return [first, second]


# POST …/deliveries/{delivery_id}/replay


def replayed(ctx: Ctx) -> Any:
    who, delivery_id = with_a_delivery(ctx)
    ctx.clock.shift(timedelta(minutes=10))
    r = call(ctx, POST, at(REPLAY, who.registrant_id, delivery_id), ADMIN, {})
    doc = payload(r)
    assert (doc["status"], doc["attempts"], doc["finished_at"]) == ("pending", 1, None)
    return r


def replay_unknown(ctx: Ctx) -> list[Any]:
    who = with_endpoint(ctx)
    return [
        call(ctx, POST, at(REPLAY, who.registrant_id, "ev_nothing"), ADMIN, {}),
        call(ctx, POST, at(REPLAY, "reg_nobody", "ev_nothing"), ADMIN, {}),
    ]


# what every staff route answers


def staff_cases(method: str, path: str, service: str, store_call: str, *, body: bool) -> list[Case]:
    target = at(path)

    def unauthenticated(ctx: Ctx) -> Any:
        return call(ctx, method, target, None, {})

    def forbidden(ctx: Ctx) -> Any:
        return call(ctx, method, target, Role.SALES_MANAGER, {})

    def internal(ctx: Ctx) -> Any:
        ctx.monkeypatch.setattr(Deliveries, service, boom)
        return call(ctx, method, target, ADMIN, {})

    def unavailable(ctx: Ctx) -> Any:
        who, delivery_id = with_a_delivery(ctx)
        fail_once(ctx, Store, store_call)
        doc = {"url": CLOSED} if method == PUT else {}
        return call(ctx, method, at(path, who.registrant_id, delivery_id), ADMIN, doc)

    def too_large(ctx: Ctx) -> Any:
        return call(ctx, method, target, ADMIN, raw=b" " * (MAX_BODY_BYTES + 1))

    def wrong_media_type(ctx: Ctx) -> Any:
        return call(ctx, method, target, ADMIN, content_type="text/plain")

    runs: list[tuple[int, Callable[[Ctx], Any]]] = [
        (401, unauthenticated),
        (403, forbidden),
        (500, internal),
        (503, unavailable),
    ]
    if body:
        runs += [(413, too_large), (415, wrong_media_type)]
    return [Case(method, path, status, run) for status, run in runs]


DELIVERY_CASES = [
    Case(PUT, ENDPOINT, 200, endpoint_set),
    Case(PUT, ENDPOINT, 400, endpoint_invalid),
    Case(PUT, ENDPOINT, 404, endpoint_of_nobody),
    Case(PUT, ENDPOINT, 422, endpoint_not_allowed),
    *staff_cases(PUT, ENDPOINT, "set_endpoint", "save_endpoint", body=True),
    Case(GET, ENDPOINT, 200, endpoint_read),
    Case(GET, ENDPOINT, 404, no_endpoint(GET)),
    *staff_cases(GET, ENDPOINT, "endpoint", "get_endpoint", body=False),
    Case(DELETE, ENDPOINT, 200, endpoint_cleared),
    Case(DELETE, ENDPOINT, 404, no_endpoint(DELETE)),
    *staff_cases(DELETE, ENDPOINT, "clear_endpoint", "delete_endpoint", body=True),
    Case(GET, LOG, 200, log_for_party_a),
    Case(GET, LOG, 400, log_bad_query),
    Case(GET, LOG, 404, log_of_nobody),
    *staff_cases(GET, LOG, "log_of", "list_deliveries", body=False),
    Case(POST, REPLAY, 202, replayed),
    Case(POST, REPLAY, 404, replay_unknown),
    *staff_cases(POST, REPLAY, "replay", "get_delivery", body=True),
    Case(GET, MINE, 200, my_log),
    Case(GET, MINE, 200, paged),
    Case(GET, MINE, 400, bad_query(MINE)),
    Case(GET, MINE, 401, unauthenticated_get(MINE)),
    Case(GET, MINE, 429, rate_limited_get(MINE)),
    Case(GET, MINE, 500, internal_get(MINE)),
    Case(GET, MINE, 503, unavailable_get(MINE)),
]


@pytest.mark.parametrize("case", DELIVERY_CASES, ids=lambda c: c.id)
def test_delivery_responses_conform_to_the_spec(spec, api, clock, monkeypatch, case):  # noqa: F811
    answered_as_declared(spec, case, Ctx(api, clock, monkeypatch))
