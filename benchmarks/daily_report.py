"""What the daily channel report costs on a quiet day and on a busy one.

Run from the repo root: ``make bench`` (``.venv/bin/python benchmarks/daily_report.py``).

Registrations are decided through the service, as the webhook decides them
(moto in-process), by 20 channel registrants, one day: first 100, then up to
10,000 (one in ten refused as a duplicate). After each, the report is asked
for over HTTP (``GET /v1/reports/daily``, a sales admin's token) and every
DynamoDB request it makes is counted with the capacity it consumed. The
report counts the day's outcomes from the audit trail's ``by_day`` index
(decision 0013: one Query, a page per ~2,000 outcomes) and reads the day's
visits, so its cost grows with the registrations, a page at a time.

The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the shared counter; importing it sets the environment before the app loads
from registration import ROOT, DynamoCounter

# isort: split

from chalice.test import Client
from moto import mock_aws

from app import app
from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services import container
from chalicelib.services.people import staff
from chalicelib.services.registration.registrations import WebhookRequest
from chalicelib.signing import signature_header
from chalicelib.store import create_tables, store
from tests.support import make_registrant

REGISTRANTS = 20
QUIET, BUSY = 100, 10_000
REPORT_RUNS = 5
# 10:00 Shanghai on one day; every registration is made within it
DAY_START = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def register_many(registrants: list[Any], start: int, stop: int) -> None:
    """Registrations ``start``..``stop`` of the day; every tenth repeats the
    phone of the one before it (another registrant: refused, R-DUP-1)."""
    service = container.registrations()
    for n in range(start, stop):
        who = registrants[n % len(registrants)]
        phone = f"139{(n - 1 if n % 10 == 9 else n):08d}"
        now = DAY_START + timedelta(seconds=n // 2)
        visit = (now - timedelta(minutes=5)).astimezone().isoformat()
        raw = json.dumps({"customer": {"name": "王", "phone": phone}, "visit_at": visit}).encode()
        answer = service.register(
            WebhookRequest(
                registrant_id=who.registrant_id,
                signature=signature_header(who.secret, int(now.timestamp()), raw),
                idempotency_key=f"day-{n}",
                content_type="application/json",
                body=raw,
            ),
            now,
        )
        expected = "DUPLICATE_LIVE_CLAIM" if n % 10 == 9 else None
        if answer.code != expected:
            raise SystemExit(f"registration {n}: {answer.code} ({answer.body})")


def measure_report(client: Client, token: str, counter: DynamoCounter) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    runs: list[tuple[int, float, float, dict[str, Any]]] = []
    for _ in range(REPORT_RUNS):
        with counter.measure() as calls:
            started = time.perf_counter()
            r = client.http.get("/v1/reports/daily?date=2026-11-27", headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
        if r.status_code != 200:
            raise SystemExit(f"report: {r.status_code} {r.body!r}")
        runs.append((len(calls), sum(c.capacity for c in calls), elapsed, json.loads(r.body)))
    requests = {n for n, _, _, _ in runs}
    if len(requests) != 1:
        raise SystemExit(f"the report's request count varied: {sorted(requests)}")
    return {
        "requests": runs[0][0],
        "capacity": max(c for _, c, _, _ in runs),
        "ms": statistics.median(ms for _, _, ms, _ in runs),
        "totals": runs[0][3]["totals"],
    }


def main() -> None:
    counter = DynamoCounter()
    counter.install()
    with mock_aws():
        container.reset()
        create_tables()
        registrants = [make_registrant(Source.CHANNEL, name=f"渠道{i}") for i in range(REGISTRANTS)]
        for who in registrants:
            store().put_registrant(who, DAY_START)
        admin = staff.create_staff(store(), "销管", Role.SALES_ADMIN, DAY_START)
        token = staff.issue_token(store(), admin.staff_id, DAY_START).token
        with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
            started = time.perf_counter()
            register_many(registrants, 0, QUIET)
            quiet = measure_report(client, token, counter)
            register_many(registrants, QUIET, BUSY)
            seconds = time.perf_counter() - started
            busy = measure_report(client, token, counter)
        container.reset()

    for name, figures, n in (("quiet", quiet, QUIET), ("busy", busy, BUSY)):
        totals = figures["totals"]
        if totals["accepted"] + totals["refused"] != n:
            raise SystemExit(f"{name} day: the report counts {totals}, not {n} registrations")
        print(
            f"daily report, {n:>6} registrations by {REGISTRANTS} registrants: "
            f"{figures['requests']} DynamoDB request(s), {figures['capacity']:g} capacity "
            f"units, {figures['ms']:.1f} ms (median of {REPORT_RUNS}; moto in-process); "
            f"accepted {totals['accepted']}, refused {totals['refused']}"
        )
    print(f"  ({BUSY} registrations decided through the service in {seconds:.0f} s)")
    ratio = busy["capacity"] / quiet["capacity"] if quiet["capacity"] else float("nan")
    print(
        f"  busy / quiet: requests {busy['requests'] / quiet['requests']:.2f}, "
        f"capacity {ratio:.2f} (goal: 1.00, the cost does not grow with the day)"
    )
    print(
        json.dumps(
            {
                "report_requests_quiet": quiet["requests"],
                "report_requests_busy": busy["requests"],
                "report_capacity_quiet": quiet["capacity"],
                "report_capacity_busy": busy["capacity"],
                "report_ms_busy": round(busy["ms"], 1),
                "report_registrations_busy": BUSY,
            }
        )
    )


if __name__ == "__main__":
    main()
