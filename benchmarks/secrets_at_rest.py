"""What sealing registrant secrets with KMS costs (store/sealing.py, decision 0006).

Run from the repo root: ``.venv/bin/python benchmarks/secrets_at_rest.py``.

On moto (``mock_aws``, KMS included), through the Chalice test client:

1. KMS calls per operation: issuing a registrant, its first signed request
   on an instance that has not opened its secret, the next ones, a rotation,
   a listing of N registrants (``GET /v1/recommenders``) the first time and
   again.
2. Time of a signed ``GET /v1/registrations`` that reads its registrant:
   with a key and the secret already opened, with a key and a Decrypt forced
   on every request, and without a key. Moto answers a Decrypt in-process, so the difference is
   the code path, not KMS's network round trip (one per Decrypt in AWS).
3. The first KMS client of an instance: made in the store's botocore
   session (what sealing.py does) or in a new boto3 session, in fresh
   interpreters.

The last line printed is one JSON object.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench_env

ROOT = Path(__file__).resolve().parent.parent
LISTED = 20  # registrants in the listing
TIMED = 200  # signed reads per timing

CLIENT_SNIPPET = """
import sys, time
from pynamodb.connection import Connection
connection = Connection(region="cn-north-1")
connection.client  # the store's DynamoDB client, as after an instance's first request
start = time.perf_counter()
if sys.argv[1] == "shared":
    connection.session.create_client("kms", region_name="cn-north-1")
else:
    import boto3
    boto3.client("kms", region_name="cn-north-1")
print((time.perf_counter() - start) * 1000)
"""


class Bench:
    """The app on moto with a KMS key, an admin's token, and every KMS call."""

    def __init__(self) -> None:
        import boto3
        import botocore.client

        from chalicelib.rules.staff import Role
        from chalicelib.services.container import reset
        from chalicelib.services.people import staff
        from chalicelib.store import create_tables, sealing, store

        self.calls: list[str] = []
        original = botocore.client.BaseClient._make_api_call
        calls = self.calls

        def counted(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if client.meta.service_model.service_name == "kms":
                calls.append(operation)
            return original(client, operation, params)

        botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
        key = boto3.client("kms").create_key(Description="bench")["KeyMetadata"]["Arn"]
        os.environ["REGISTRANT_SECRETS_KEY_ID"] = key
        reset()
        sealing.forget()
        create_tables()
        self.db = store()
        now = datetime.now(UTC)
        admin = staff.create_staff(self.db, "admin", Role.PARTY_A_ADMIN, now)
        token = staff.issue_token(self.db, admin.staff_id, now).token
        self.bearer = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def kms_calls(self, run: Callable[[], Any]) -> dict[str, int]:
        self.calls.clear()
        run()
        return {op: self.calls.count(op) for op in sorted(set(self.calls))}

    def reread(self) -> None:
        """The next read reads the registrant (GetItem): a per-instance cache
        of registrants, where the store has one, is emptied."""
        if hasattr(self.db, "_registrants"):
            self.db._registrants = type(self.db._registrants)()

    def new_instance(self) -> None:
        from chalicelib.store import sealing

        self.reread()
        sealing.forget()


def kms_calls_per_operation(bench: Bench, client: Any) -> dict[str, Any]:
    from chalicelib.rules.claims import Source
    from chalicelib.rules.records import Registrant
    from chalicelib.services.people import registrants
    from tests.support import make_registrant, signed_headers

    made = json.loads(
        client.http.post(
            "/v1/registrants", headers=bench.bearer, body=b'{"kind":"channel","name":"x"}'
        ).body
    )
    bench.calls.clear()  # the request above was "issue a registrant"
    figures: dict[str, Any] = {"issue a registrant": {"Encrypt": 1}}
    who = Registrant(made["id"], Source.CHANNEL, "x", made["secret"], True)

    def read() -> None:
        headers = signed_headers(who, b"", key=None)
        assert client.http.get("/v1/registrations", headers=headers).status_code == 200

    def listing() -> None:
        assert client.http.get("/v1/recommenders", headers=bench.bearer).status_code == 200

    figures["signed read, the instance that issued it"] = bench.kms_calls(read)
    bench.new_instance()
    figures["signed read, a new instance"] = bench.kms_calls(read)
    figures["10 more signed reads"] = bench.kms_calls(lambda: [read() for _ in range(10)])
    figures["rotate its secret"] = bench.kms_calls(
        lambda: registrants.rotate_secret(bench.db, who.registrant_id, datetime.now(UTC))
    )
    for _ in range(LISTED - 1):
        bench.db.put_registrant(make_registrant(Source.CHANNEL), datetime.now(UTC))
    bench.new_instance()
    listed = f"GET /v1/recommenders ({LISTED} registrants, one rotating)"
    figures[f"{listed}, a new instance"] = bench.kms_calls(listing)
    figures[f"{listed}, again"] = bench.kms_calls(listing)
    return figures


def read_times(bench: Bench, client: Any) -> dict[str, float]:
    from chalicelib.rules.claims import Source
    from chalicelib.services.container import reset
    from chalicelib.store import sealing, store
    from tests.support import make_registrant, signed_headers

    def timed(before_each: Callable[[], None]) -> float:
        who = make_registrant(Source.CHANNEL)
        bench.db.put_registrant(who, datetime.now(UTC))
        samples = []
        for _ in range(TIMED):
            before_each()
            headers = signed_headers(who, b"", key=None)
            start = time.perf_counter()
            client.http.get("/v1/registrations", headers=headers)
            samples.append((time.perf_counter() - start) * 1000)
        return round(statistics.median(samples), 2)

    def reopen() -> None:  # the secret not opened yet (the client kept)
        bench.reread()
        sealing._opened.clear()

    ms = {
        "key, secret opened already": timed(bench.reread),
        "key, a Decrypt on every read": timed(reopen),
    }
    del os.environ["REGISTRANT_SECRETS_KEY_ID"]
    reset()
    sealing.forget()
    bench.db = store()
    ms["no key (local stage)"] = timed(bench.reread)
    return ms


def first_kms_client() -> dict[str, float]:
    first = {}
    for mode in ("shared", "boto3"):
        runs = [
            float(
                subprocess.run(
                    [sys.executable, "-c", CLIENT_SNIPPET, mode],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, **bench_env.ENV},
                ).stdout
            )
            for _ in range(5)
        ]
        first[mode] = round(statistics.median(runs), 1)
    return {
        "in the store's botocore session": first["shared"],
        "in a new boto3 session": first["boto3"],
    }


def main() -> None:
    bench_env.apply()
    sys.path.insert(0, str(ROOT))
    from chalice.test import Client
    from moto import mock_aws

    from app import app

    with mock_aws():
        bench = Bench()
        with Client(app, stage_name="local") as client, redirect_stdout(io.StringIO()):
            figures = kms_calls_per_operation(bench, client)
            figures["median ms of a signed GET /v1/registrations on moto"] = read_times(
                bench, client
            )
    figures["first KMS client of an instance, ms (median of 5)"] = first_kms_client()
    for name, value in figures.items():
        print(f"{name}: {value}")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
