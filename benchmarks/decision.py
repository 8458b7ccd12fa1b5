"""DynamoDB requests per 判客 decision (``POST /v1/visits/{id}/decisions``).

Run from the repo root: ``make bench`` (``.venv/bin/python benchmarks/decision.py``).
See docs/benchmarks.md ("The 判客 decision").

The channel assistant's decision is driven through the Chalice test client
against moto (``mock_aws``), bearer token and all, and every DynamoDB API call
of the request is counted by a ``before-call`` hook on the store's botocore
client (PynamoDB's models and the raw client share it: ``tables.bind``). The
staff member's authentication (token, then staff member) is part of the
request and is counted. Setting up (registrations, arrivals) is not.

Cases, repeated ``ROUNDS`` times with fresh phones; every round must make the
same calls:

- ``distribution``: a distribution agency's provisional hold, its customer
  brought by the agency an hour after registering: the decision confirms the
  hold (a protection from the arrival, ``registration.protected``);
- ``channel``: a channel's protection, its customer arrived alone;
- ``repeat``: the distribution decision sent again (its reply was lost);
- ``repeat_channel``: the channel decision sent again.

The last line printed is one JSON object: ``decision_requests`` (the most
any case makes) and the figure of each case.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import bench_env

ROOT = Path(__file__).resolve().parent.parent

ROUNDS = 3
CASES = ("distribution", "channel", "repeat", "repeat_channel")
EXPECTED = {"distribution": 201, "channel": 201, "repeat": 200, "repeat_channel": 200}
SHANGHAI = ZoneInfo("Asia/Shanghai")

bench_env.apply()  # before anything imports the app
sys.path.insert(0, str(ROOT))

import time_machine  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from app import app  # noqa: E402
from chalicelib.rules.claims import Source  # noqa: E402
from chalicelib.rules.records import Registrant  # noqa: E402
from chalicelib.rules.staff import Role  # noqa: E402
from chalicelib.services.container import reset  # noqa: E402
from chalicelib.services.people import staff  # noqa: E402
from chalicelib.signing import signature_header  # noqa: E402
from chalicelib.store import create_tables, store  # noqa: E402
from chalicelib.store.tables import ALL_MODELS  # noqa: E402


class RequestCounter:
    """The DynamoDB API calls made on one botocore client, by operation."""

    def __init__(self, client: Any) -> None:
        self.operations: list[str] = []
        self._events = client.meta.events
        self._events.register("before-call.dynamodb", self._call, unique_id="decision-count")

    def _call(self, model: Any, **_: Any) -> None:
        self.operations.append(model.name)

    def remove(self) -> None:
        self._events.unregister("before-call.dynamodb", unique_id="decision-count")

    @contextmanager
    def measure(self) -> Iterator[list[str]]:
        start = len(self.operations)
        seen: list[str] = []
        try:
            yield seen
        finally:
            seen.extend(self.operations[start:])


def run() -> dict[str, list[list[str]]]:
    found: dict[str, list[list[str]]] = {case: [] for case in CASES}
    start = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)
    with mock_aws(), time_machine.travel(start, tick=False) as clock:
        reset()
        create_tables()
        client_of_store = store()._connection.client
        escaped = [m.__name__ for m in ALL_MODELS if model_client(m) is not client_of_store]
        if escaped:
            raise SystemExit(f"a model has its own DynamoDB client: {escaped}")
        counter = RequestCounter(client_of_store)
        now = datetime.now(SHANGHAI)
        assistant = token_of(Role.CHANNEL_ASSISTANT, now)
        desk = token_of(Role.FRONT_DESK, now)
        agency = registrant("reg_distribution_bench", Source.DISTRIBUTION, now)
        channel = registrant("reg_channel_bench", Source.CHANNEL, now)
        with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
            call = caller(client)
            for n in range(ROUNDS):
                clock.move_to(start + timedelta(days=n))
                held = register(call, agency, f"1391234{n:04d}", hours=2)
                protected = register(call, channel, f"1381234{n:04d}", hours=0)
                clock.shift(timedelta(hours=1))  # the agency's customer arrives with it
                visit_a = arrive(call, desk, f"1391234{n:04d}", agency.registrant_id)
                visit_b = arrive(call, desk, f"1381234{n:04d}", None)
                clock.shift(timedelta(minutes=10))
                sends: dict[str, Callable[[], Any]] = {
                    "distribution": decide(call, assistant, visit_a, held),
                    "channel": decide(call, assistant, visit_b, protected),
                    "repeat": decide(call, assistant, visit_a, held),
                    "repeat_channel": decide(call, assistant, visit_b, protected),
                }
                for case, send in sends.items():
                    with counter.measure() as seen:
                        answer = send()
                    if answer.status_code != EXPECTED[case]:
                        raise SystemExit(f"{case}: {answer.status_code} {answer.body!r}")
                    found[case].append(seen)
        counter.remove()
        reset()
    return found


def model_client(model: Any) -> Any:
    return model._get_connection().connection.client


def token_of(role: Role, now: datetime) -> str:
    member = staff.create_staff(store(), f"bench {role.value}", role, now)
    return staff.issue_token(store(), member.staff_id, now).token


def registrant(registrant_id: str, kind: Source, now: datetime) -> Registrant:
    who = Registrant(registrant_id, kind, registrant_id, "s" * 32, enabled=True)
    store().put_registrant(who, now)
    return who


Call = Callable[[str, dict[str, str], Any], Any]


def caller(client: Any) -> Call:
    def call(path: str, headers: dict[str, str], doc: Any) -> Any:
        raw = json.dumps(doc, ensure_ascii=False).encode()
        if "X-Registrant-Id" in headers:
            secret = headers.pop("secret")
            at = int(datetime.now(SHANGHAI).timestamp())
            headers["X-Signature"] = signature_header(secret, at, raw)
        headers["Content-Type"] = "application/json"
        return client.http.post(path, headers=headers, body=raw)

    return call


def register(call: Call, who: Registrant, phone: str, hours: int) -> str:
    visit = (datetime.now(SHANGHAI) + timedelta(hours=hours)).replace(microsecond=0)
    doc = {"customer": {"name": "王先生", "phone": phone}, "visit_at": visit.isoformat()}
    headers = {"X-Registrant-Id": who.registrant_id, "secret": who.secret}
    headers["Idempotency-Key"] = f"bench-{phone}"
    r = call("/v1/registrations", headers, doc)
    if r.status_code != 201:
        raise SystemExit(f"registration: {r.status_code} {r.body!r}")
    return str(json.loads(r.body)["registration_id"])


def arrive(call: Call, desk: str, phone: str, accompanied_by: str | None) -> str:
    doc: dict[str, Any] = {"party_size": 1, "greeted": True, "phone": phone}
    if accompanied_by:
        doc["accompanied_by"] = accompanied_by
    r = call("/v1/visits", {"Authorization": f"Bearer {desk}"}, doc)
    if r.status_code != 201:
        raise SystemExit(f"arrival: {r.status_code} {r.body!r}")
    return str(json.loads(r.body)["id"])


def decide(call: Call, assistant: str, visit_id: str, registration_id: str) -> Any:
    path = f"/v1/visits/{visit_id}/decisions"
    doc = {"registration_id": registration_id}
    return lambda: call(path, {"Authorization": f"Bearer {assistant}"}, doc)


def main() -> None:
    found = run()
    figures: dict[str, Any] = {}
    print("判客 decision: DynamoDB requests (bearer token authentication included)")
    for case, rounds in found.items():
        if len({tuple(r) for r in rounds}) != 1:
            raise SystemExit(f"{case}: the rounds made different calls: {rounds}")
        ops = rounds[0]
        figures[case] = len(ops)
        print(f"  {case:<15} {len(ops)} request(s): {', '.join(ops)}")
    print(
        json.dumps(
            {
                "decision_requests": max(figures.values()),
                **{f"decision_requests_{case}": n for case, n in figures.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
