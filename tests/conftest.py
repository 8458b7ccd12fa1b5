"""Fixtures: a moto DynamoDB with the app's tables, a frozen clock, an API client.

The environment is set before anything imports the app; the app itself reads
it only at first use, and ``reset()`` makes each test start from scratch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

os.environ.update(
    {
        "AWS_DEFAULT_REGION": "cn-north-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "STAGE": "test",
        "TABLE_PREFIX": "sales-office-test",
        "PHONE_HMAC_KEY": "test-phone-hmac-key-0123456789",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "RATE_PER_SECOND": "1000",
        "RATE_BURST": "1000",
    }
)
os.environ.pop("DYNAMODB_ENDPOINT", None)

import time_machine
from chalice.test import Client
from moto import mock_aws

from app import app
from chalicelib.rules.claims import Source
from chalicelib.rules.records import Registrant
from chalicelib.services.container import reset
from chalicelib.store import Store, create_tables, store
from tests.support import empty_tables, encode, make_registrant, shanghai, signed_headers


@pytest.fixture(scope="session")
def _moto() -> Iterator[None]:
    """One moto DynamoDB for the session; creating tables costs ~1 s a test."""
    with mock_aws():
        reset()
        create_tables()
        yield
    reset()


@pytest.fixture
def tables(_moto: None) -> Iterator[Store]:
    """The app's tables on moto, emptied for this test."""
    reset()
    current = store()
    empty_tables()
    yield current
    reset()


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """The clock stands still at 2026-11-27 10:00 Shanghai until moved."""
    with time_machine.travel(shanghai("2026-11-27 10:00"), tick=False) as traveller:
        yield traveller


class Api:
    """The Chalice test client, with registrants that sign their requests."""

    def __init__(self, client: Client, store: Store) -> None:
        self.client = client
        self.store = store

    def registrant(self, kind: Source, **kw: Any) -> Registrant:
        r = make_registrant(kind, **kw)
        self.store.put_registrant(r, datetime.now().astimezone())
        return r

    def register(
        self,
        who: Registrant,
        doc: Any,
        *,
        key: str | None = "auto",
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        signed_at: datetime | None = None,
    ) -> Any:
        data = raw if raw is not None else encode(doc)
        h = signed_headers(who, data, key=key, at=signed_at)
        h.update(headers or {})
        return self.client.http.post("/v1/registrations", headers=h, body=data)

    def get(self, who: Registrant, path: str) -> Any:
        return self.client.http.get(path, headers=signed_headers(who, b"", key=None))


@pytest.fixture
def api(tables: Store, clock: time_machine.Coordinates) -> Iterator[Api]:
    with Client(app, stage_name="local") as client:
        yield Api(client, tables)


@pytest.fixture(autouse=True)
def privacy_scan(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test: no phone, ID card, secret or token in any log line."""
    from chalicelib.observability import logger
    from tests.privacy import every_log_line, leaks

    with every_log_line(logger._logger, logger.registered_handler.formatter) as lines:
        yield
    found = [leak for line in lines for leak in leaks(line)]
    if found and not request.node.get_closest_marker("leaks_on_purpose"):
        pytest.fail("logged what must never be logged:\n" + "\n".join(found[:10]))


# The slow tiers, by folder: any tier runs alone (`-m races`) or is left out
# (`-m "not browser"`); `make check` runs none of them (README: "Which tests").
TIERS = {
    "races": "races",
    "browser": "browser",
    "adversarial": "adversarial",
    "deploy": "deploy",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.relative_to(item.config.rootpath).parts
        tier = TIERS.get(parts[1]) if len(parts) > 2 and parts[0] == "tests" else None
        if tier is not None:
            item.add_marker(tier)


def payload(response: Any) -> Any:
    return json.loads(response.body)


# dynalite (atomic conditional writes) for the race and store-contract tests
from tests.dynalite import dynalite, dynalite_endpoint, tight_switching  # noqa: E402, F401
