"""Least privilege, checked against what the code does: each function's
policy file (.chalice/policy-*.json) grants exactly the DynamoDB actions, on
exactly the tables and indexes, that its handler was seen to call while the
conformance cases (every route, every answer) and a run of every job went
through it. No `*` action anywhere; `*` resources only where AWS has no
narrower resource (X-Ray, dynamodb:ListStreams)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from chalice import test as chalice_test

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.settings import settings
from tests.api.floor_support import Floor, person
from tests.api.test_openapi import CASES, Ctx
from tests.api.test_openapi_appeals import APPEAL_CASES
from tests.api.test_openapi_dashboard import DASHBOARD_CASES
from tests.api.test_openapi_deliveries import DELIVERY_CASES
from tests.api.test_openapi_fines import FINE_CASES
from tests.api.test_openapi_floor import FLOOR_CASES
from tests.api.test_openapi_masked import MASKED_CASES
from tests.api.test_openapi_party_a import PARTY_A_CASES
from tests.conftest import payload
from tests.deploy.usage import Usage, Use
from tests.jobs.test_stream import TTL, record
from tests.support import body, empty_tables, shanghai

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
FUNCTIONS = CONFIG["lambda_functions"]
# AWS offers no narrower resource for these (the service authorization reference)
STAR_ALLOWED = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}
# granted, though the runs above cannot reach them; each with why
# a customer changed meanwhile whose current image DynamoDB did not return
_REREAD = ("dynamodb:GetItem", "customers", None)
# a notice whose first writer died before its event (store/feed.py: re-stamp)
_RESTAMP = ("dynamodb:GetItem", "events", None)
# after a run died between a reclaim and its audit entry (services/reclaim/jobs.py)
_POOL_REPAIR = ("dynamodb:Query", "customers", "by_pool")
# an endpoint that answers 410 is disabled by the function that sent to it
_GONE = ("dynamodb:PutItem", "endpoints", None)
# a lapsed masked claim whose mask has customers: does one of them hold it
# (a resolution that died before freeing the mask, decision 0013)
_MASK_HOLDER = ("dynamodb:BatchGetItem", "customers", None)
UNSEEN_BUT_NEEDED: dict[str, set[Use]] = {
    "event_deliveries": {_GONE},
    "api_handler": {_RESTAMP},
    "expiry_sweep": {_REREAD, _RESTAMP, _MASK_HOLDER},
    "monthly_reclaim": {_REREAD, _POOL_REPAIR},
}


def policy(function: str) -> dict[str, Any]:
    return json.loads((ROOT / ".chalice" / FUNCTIONS[function]["iam_policy_file"]).read_text())


def statements(function: str) -> Iterator[dict[str, Any]]:
    for statement in policy(function)["Statement"]:
        assert statement["Effect"] == "Allow"
        yield statement


def resource(ref: Any) -> tuple[str, str | None] | str:
    """A table (and index) a resource points at by reference, else as written."""
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        name, attribute = ref["Fn::GetAtt"]
        return (_table(name), None) if attribute == "Arn" else f"{name}.{attribute}"
    if isinstance(ref, dict) and "Fn::Sub" in ref:
        text = ref["Fn::Sub"]
        if text.startswith("${") and ".Arn}/index/" in text:
            name, _, index = text[2:].partition(".Arn}/index/")
            return _table(name), index
        return text
    assert isinstance(ref, str)
    return ref


def _table(logical: str) -> str:
    assert logical.endswith("Table"), logical
    return "".join(
        "_" + c.lower() if c.isupper() and i else c.lower()
        for i, c in enumerate(logical.removesuffix("Table"))
    )


def granted(function: str) -> set[Use]:
    grants: set[Use] = set()
    for statement in statements(function):
        for action in statement["Action"]:
            if not action.startswith("dynamodb:") or action == "dynamodb:ListStreams":
                continue
            for ref in statement["Resource"]:
                target = resource(ref)
                if isinstance(target, tuple):
                    grants.add((action, *target))
    return grants


# -- the runs -----------------------------------------------------------------------


@pytest.fixture
def usage(tables, monkeypatch) -> Usage:
    recorder = Usage(settings().table_prefix)
    recorder.install(monkeypatch)
    original = chalice_test.TestHTTPClient.request

    def request(self: Any, *args: Any, **kwargs: Any) -> Any:
        with recorder.inside("api_handler"):
            return original(self, *args, **kwargs)

    monkeypatch.setattr(chalice_test.TestHTTPClient, "request", request)
    return recorder


def run_every_conformance_case(api: Any, usage: Usage) -> None:
    every = (
        *CASES,
        *FLOOR_CASES,
        *FINE_CASES,
        *PARTY_A_CASES,
        *DELIVERY_CASES,
        *APPEAL_CASES,
        *DASHBOARD_CASES,
        *MASKED_CASES,
    )
    for case in every:
        empty_tables()
        with (
            pytest.MonkeyPatch.context() as patch,
            time_machine.travel(shanghai("2026-11-27 10:00"), tick=False) as clock,
        ):
            case.run(Ctx(api, clock, patch))


def invoke(api: Any, usage: Usage, function: str, event: dict[str, Any]) -> Any:
    with usage.inside(function):
        return api.client.lambda_.invoke(function, event).payload


def run_every_job(api: Any, usage: Usage, clock: Any) -> None:
    scheduled = api.client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    channel = api.registrant(Source.CHANNEL)
    agency = api.registrant(Source.DISTRIBUTION)
    floor = Floor(api)
    (receiver,) = floor.consultants(1)
    walk_in = person(api, Role.CONSULTANT)
    r = api.register(channel, body(phone="13812345678", visit_at="2026-11-27T09:30:00+08:00"))
    api.register(agency, body(phone="13912345678", visit_at="2026-11-27T12:00:00+08:00"))
    masked = {"name": "王先生", "phone_masked": "135****5678"}  # lapses unresolved (0013)
    api.register(channel, {"customer": masked, "visit_at": "2026-11-27T09:30:00+08:00"})
    for _ in range(20):  # probing: the same phone again and again
        api.register(channel, body(phone="13812345678", visit_at="2026-11-27T09:30:00+08:00"))
    walk_in.post(
        "/v1/consultant-registrations",
        body(phone="13700000001", visit_at="2026-11-27T09:30:00+08:00"),
        key="walk-in",
    )
    visit = floor.arrive(phone="13812345678")
    floor.decide(visit["id"], payload(r)["registration_id"])
    floor.on_duty("2026-11-27", receiver)
    floor.assign(visit["id"])
    assert invoke(api, usage, "duplicate_watch", scheduled)["suspected"] == 1
    for at in ("2026-11-28 01:00", "2027-01-20 10:00", "2027-01-27 10:00"):
        clock.move_to(shanghai(at))
        invoke(api, usage, "expiry_sweep", scheduled)
    clock.move_to(shanghai("2027-03-01 02:00"))
    assert invoke(api, usage, "monthly_reclaim", scheduled)["reclaimed"] >= 1
    by_hand = {"type": "AssumedRole", "principalId": "AROA:operator"}
    stream = {"Records": [record("REMOVE", TTL), record("REMOVE", by_hand)]}
    invoke(api, usage, "idempotency_stream", stream)
    run_the_deliveries(api, usage, clock, scheduled)


def run_the_deliveries(api: Any, usage: Usage, clock: Any, scheduled: dict[str, Any]) -> None:
    """An event pushed by the stream's function, another queued by the
    minute's job (decision 0010), to a receiver on 127.0.0.1."""
    from chalicelib.store.mapping import event_item
    from chalicelib.store.models import EventItem
    from tests.jobs.test_deliveries import ADMIN, Receiver
    from tests.jobs.test_deliveries import service as deliveries

    with Receiver() as receiver:
        who = api.registrant(Source.CHANNEL)
        now = datetime.now(UTC).replace(microsecond=0)
        raw = json.dumps({"url": receiver.url}).encode()
        deliveries(api.store).set_endpoint(ADMIN, who.registrant_id, raw, now)
        visited = (now - timedelta(minutes=10)).isoformat()
        assert api.register(who, body(phone="13612345678", visit_at=visited)).status_code == 201
        (item,) = EventItem.query(who.registrant_id)
        records = {"Records": [stream_record(event_item(event_from(item)).serialize())]}
        assert invoke(api, usage, "event_deliveries", records)["delivered"] == 1
        assert api.register(who, body(phone="13612345679", visit_at=visited)).status_code == 201
        clock.shift(timedelta(minutes=2))
        assert invoke(api, usage, "delivery_retries", scheduled)["delivered"] == 1
        assert len(receiver.accepted) == 2


def event_from(item: Any) -> Any:
    from chalicelib.store.mapping import event_from_item

    return event_from_item(item)


def stream_record(image: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventID": "1",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "awsRegion": "cn-north-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1764208800,
            "Keys": {},
            "NewImage": image,
            "SequenceNumber": "1",
            "SizeBytes": 100,
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": "arn:aws-cn:dynamodb:cn-north-1:000000000000:table/x/stream/unset",
    }


def test_each_function_is_granted_exactly_the_table_actions_it_uses(api, usage, clock):
    run_every_conformance_case(api, usage)
    empty_tables()
    run_every_job(api, usage, clock)
    assert set(usage.seen) == set(FUNCTIONS), "every function ran"
    for function in FUNCTIONS:
        used = usage.seen[function]
        grants = granted(function)
        assert used - grants == set(), f"{function} uses what its policy does not grant"
        unused = grants - used - UNSEEN_BUT_NEEDED.get(function, set())
        assert unused == set(), f"{function} is granted what it never uses"


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_no_policy_grants_a_star_action_or_a_star_resource(function):
    for statement in statements(function):
        assert all("*" not in action for action in statement["Action"]), statement
        for ref in statement["Resource"]:
            if ref == "*":
                assert set(statement["Action"]) <= STAR_ALLOWED, statement


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_reads_only_its_own_stages_secret_and_logs(function):
    texts = [json.dumps(r) for s in statements(function) for r in s["Resource"]]
    assert any("parameter${PhoneHmacKeyParameter}" in t for t in texts)
    logs = [t for t in texts if ":logs:" in t]
    assert logs and all("log-group:/aws/lambda/${AWS::StackName}-" in t for t in logs)
