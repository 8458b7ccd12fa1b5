"""Items read by the expiry sweep and the monthly reclaim, against what is due.

Run from the repo root: ``make bench`` (after ``benchmarks/registration.py``),
or ``.venv/bin/python benchmarks/jobs.py``. ``BENCH_CUSTOMERS`` (default
100000) sets the table size; 1% of the customers are due for each job.

The customers are written straight into moto's customer table (BatchWriteItem
of the very items the app writes, with their index attributes), not through
the API, so the seeding takes a minute rather than an hour. Every DynamoDB
call the job makes is counted by a botocore ``after-call`` handler: requests
by operation, and the items each one returned (Query ``Count``, a GetItem
that found its item).

The last line printed is one JSON object (the figures ``make bench`` reports).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENV = {
    "AWS_DEFAULT_REGION": "cn-north-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "STAGE": "bench",
    "TABLE_PREFIX": "sales-office-bench-jobs",
    "PHONE_HMAC_KEY": "bench-phone-hmac-key-0123456789",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
}
os.environ.update(ENV)
for name in ("DYNAMODB_ENDPOINT", "AWS_REGION", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
    os.environ.pop(name, None)

CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "100000"))
DUE_EVERY = 100  # 1% due
SHANGHAI = "+08:00"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text.replace(" ", "T") + SHANGHAI).astimezone(UTC)


# the sweep runs at 10:00 on 19 January (its last run an hour before); the
# reclaim on 1 March at 02:00 (its last run on 1 February)
SWEEP_AT = local("2027-01-19 10:00")
RECLAIM_AT = local("2027-03-01 02:00")


class Calls:
    """Counts DynamoDB requests and the items they returned."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.items: Counter[str] = Counter()
        self.on = False

    def after_call(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.on:
            return
        self.requests[model.name] += 1
        if model.name == "Query":
            self.items["Query"] += int(parsed.get("Count", 0))
        elif model.name == "GetItem" and "Item" in parsed:
            self.items["GetItem"] += 1
        elif model.name == "BatchGetItem":
            self.items["BatchGetItem"] += sum(len(v) for v in parsed.get("Responses", {}).values())

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.requests.clear()
        self.items.clear()
        self.on = True
        try:
            yield
        finally:
            self.on = False


def install(calls: Calls) -> None:
    import botocore.session

    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        if client.meta.service_model.service_name == "dynamodb":
            client.meta.events.register("after-call.dynamodb", calls.after_call)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]


def seed(n: int) -> tuple[int, int]:
    """``n`` customers, each a channel registration with a consultant; every
    hundredth due for the sweep and (another) every hundredth for the reclaim.
    Returns (due for the sweep, due for the reclaim)."""
    import boto3

    from chalicelib.rules.claims import Claim, Customer, Period, Source, Tenure
    from chalicelib.rules.localtime import add_local_days
    from chalicelib.rules.reclaim import scheduled
    from chalicelib.rules.records import Registration
    from chalicelib.settings import settings
    from chalicelib.store.mapping import customer_to_item, registration_to_item
    from chalicelib.store.models import CustomerItem, RegistrationItem

    policy = settings().policy
    client = boto3.client("dynamodb")
    batch: dict[str, list[dict[str, Any]]] = {}
    sweep_due = reclaim_due = 0

    def put(table: str, item: dict[str, Any]) -> None:
        batch.setdefault(table, []).append({"PutRequest": {"Item": item}})
        if sum(len(v) for v in batch.values()) == 25:
            flush()

    def flush() -> None:
        request = dict(batch)
        batch.clear()
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    for i in range(n):
        due_sweep = i % DUE_EVERY == 0
        due_reclaim = i % DUE_EVERY == 1
        # a due protection ends in 7 days (its "ending soon" is due now); the
        # others end between 8 and 40 days from the sweep
        created = SWEEP_AT - timedelta(days=53 if due_sweep else 20 + i % 32, minutes=30)
        claim = Claim(
            registration_id=f"rg_bench{i:08d}",
            registrant_id="reg_bench",
            source=Source.CHANNEL,
            created_at=created,
            ordinal=1,
            protection=Period(created, add_local_days(created, 60, policy.zone)),
        )
        last_visit = local("2026-11-30 10:00") if due_reclaim else local("2027-02-15 10:00")
        customer = scheduled(
            Customer(
                claims=(claim,),
                tenures=(Tenure("stf_bench", last_visit - timedelta(days=1), "walk_in"),),
                last_visit_at=last_visit,
                swept_until=SWEEP_AT - timedelta(hours=1),
            ),
            policy,
        )
        key = f"{i:064x}"
        item = customer_to_item(key, f"138{i:08d}", customer, 1)
        item.updated_at = created
        put(CustomerItem.Meta.table_name, item.serialize())
        if due_sweep:
            sweep_due += 1
            record = Registration(claim, key, "客户", "138****0000", created, None, created)
            put(RegistrationItem.Meta.table_name, registration_to_item(record).serialize())
        reclaim_due += due_reclaim
    flush()
    return sweep_due, reclaim_due


def main() -> int:
    from moto import mock_aws

    calls = Calls()
    install(calls)
    with mock_aws():
        from chalicelib.services.container import reclaim, reset, sweep
        from chalicelib.store import create_tables, store

        reset()
        create_tables()
        started = time.monotonic()
        sweep_due, reclaim_due = seed(CUSTOMERS)
        seeded_s = time.monotonic() - started
        store().advance_watermark("sweep", SWEEP_AT - timedelta(hours=1))
        store().advance_watermark("reclaim", local("2027-02-01 02:00"))

        with calls.counting():
            sweep_counts = sweep().run(SWEEP_AT)
        sweep_read = sum(calls.items.values())
        sweep_requests = dict(calls.requests)
        with calls.counting():
            reclaim_counts = reclaim().run(RECLAIM_AT)
        reclaim_read = sum(calls.items.values())
        reclaim_requests = dict(calls.requests)

    figures = {
        "customers": CUSTOMERS,
        "seed_seconds": round(seeded_s, 1),
        "sweep": {
            "due": sweep_due,
            "notices": sweep_counts.get("ending_soon", 0),
            "items_read": sweep_read,
            "read_per_due": round(sweep_read / sweep_due, 3),
            "requests": sweep_requests,
        },
        "reclaim": {
            "due": reclaim_due,
            "reclaimed": reclaim_counts.get("reclaimed", 0),
            "items_read": reclaim_read,
            "read_per_due": round(reclaim_read / reclaim_due, 3),
            "requests": reclaim_requests,
        },
    }
    print(f"{CUSTOMERS} customers seeded in {seeded_s:.1f} s")
    for job in ("sweep", "reclaim"):
        f = figures[job]
        print(
            f"{job:8} due {f['due']:>6}  items read {f['items_read']:>6}  "
            f"read/due {f['read_per_due']}  requests {f['requests']}"
        )
    print(json.dumps(figures, sort_keys=True))
    ok = all(figures[j]["read_per_due"] <= 1.1 for j in ("sweep", "reclaim"))
    ok = (
        ok
        and figures["sweep"]["notices"] == sweep_due
        and figures["reclaim"]["reclaimed"] == reclaim_due
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
