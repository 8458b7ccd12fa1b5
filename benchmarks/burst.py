"""Launch-day burst against dynalite: registrations per second through the
HTTP layer, against the raw conditional-put rate of the same server.

Run from the repo root: ``make bench`` (it runs this last), or
``.venv/bin/python benchmarks/burst.py``. ``BURST_TOTAL`` (10000),
``BURST_PHONES`` (1000), ``BURST_REGISTRANTS`` (20) and ``BURST_THREADS`` (16)
set the size. Needs Node.js and ``npm ci`` (dynalite), as ``make test`` does.

A figure, not a pass/fail: the correctness of the burst (one holder per
phone) is asserted by tests/adversarial/test_burst.py. The last line printed
is one JSON object.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_dynalite() -> tuple[subprocess.Popen[bytes], str]:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("benchmarks/burst.py needs Node.js (dynalite)")
    port = free_port()
    proc = subprocess.Popen(
        [
            node,
            str(ROOT / "node_modules/.bin/dynalite"),
            "--port",
            str(port),
            "--createTableMs",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("dynalite did not start")


def raw_conditional_puts(endpoint: str, total: int, threads: int) -> float:
    """PutItem with attribute_not_exists, the registration's deciding write,
    straight from boto3 on ``threads`` threads: puts per second."""
    import boto3

    from tests.adversarial.burst import timed_together

    client = boto3.client("dynamodb", endpoint_url=endpoint)
    client.create_table(
        TableName="raw-puts",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    per_thread = total // threads

    def put(t: int, ready: Callable[[], object]) -> None:
        own = boto3.client("dynamodb", endpoint_url=endpoint)
        ready()
        for n in range(per_thread):
            own.put_item(
                TableName="raw-puts",
                Item={"k": {"S": f"{t}-{n}"}, "v": {"S": "x" * 200}},
                ConditionExpression="attribute_not_exists(k)",
            )

    return per_thread * threads / timed_together(threads, put)


def main() -> None:
    total = int(os.environ.get("BURST_TOTAL", "10000"))
    phones_n = int(os.environ.get("BURST_PHONES", "1000"))
    registrants_n = int(os.environ.get("BURST_REGISTRANTS", "20"))
    threads = int(os.environ.get("BURST_THREADS", "16"))
    proc, endpoint = start_dynalite()
    try:
        os.environ.update(
            {
                "AWS_DEFAULT_REGION": "cn-north-1",
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "STAGE": "bench",
                "TABLE_PREFIX": "bench-burst",
                "PHONE_HMAC_KEY": "bench-phone-hmac-key-0123456789",
                "DYNAMODB_ENDPOINT": endpoint,
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": "ERROR",
                "RATE_PER_SECOND": "100000",
                "RATE_BURST": "100000",
            }
        )
        from app import app
        from chalicelib.rules.claims import Source
        from chalicelib.store import create_tables, store
        from tests.adversarial.burst import burst, served
        from tests.support import make_registrant

        create_tables(ttl_supported=False)
        registrants = [make_registrant(Source.CHANNEL) for _ in range(registrants_n)]
        from datetime import UTC, datetime

        for r in registrants:
            store().put_registrant(r, datetime.now(UTC))
        phones = [f"139{n:08d}" for n in range(phones_n)]
        with served(app) as port:
            replies, seconds = burst(port, registrants, phones, total, threads)
        statuses = Counter(r.status for r in replies)
        puts = raw_conditional_puts(endpoint, 4_000, threads)
    finally:
        proc.kill()
    rate = total / seconds
    print(f"Launch-day burst on dynalite: {total} registrations of {phones_n} phones,")
    print(f"  {registrants_n} registrants, {threads} threads, through the HTTP layer")
    print(f"  {rate:8.1f} registrations/s   (replies: {dict(statuses)})")
    print(f"  {puts:8.1f} raw conditional PutItem/s on the same server")
    print(f"  {rate / puts:8.3f} registrations per raw put")
    figures = {
        "burst_registrations_per_second": round(rate, 1),
        "burst_raw_conditional_puts_per_second": round(puts, 1),
        "burst_ratio": round(rate / puts, 3),
        "burst_statuses": {str(k): v for k, v in statuses.items()},
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
