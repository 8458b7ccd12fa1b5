"""What each Lambda function really asks of DynamoDB: every call botocore
makes while a handler runs, as (action, table, index). Calls the tests make
themselves (setting up, reading back) are not counted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.client
import pytest

Use = tuple[str, str, str | None]  # ("dynamodb:Query", "audit", "by_day")


class Usage:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.seen: dict[str, set[Use]] = {}
        self._function: str | None = None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = botocore.client.BaseClient._make_api_call
        usage = self

        def recorded(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if usage._function and client.meta.service_model.service_name == "dynamodb":
                uses = usage.seen.setdefault(usage._function, set())
                for table, index in _targets(params):
                    uses.add((f"dynamodb:{operation}", usage._table(table), index))
            return original(client, operation, params)

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recorded)

    @contextmanager
    def inside(self, function: str) -> Iterator[None]:
        outer, self._function = self._function, function
        try:
            yield
        finally:
            self._function = outer

    def _table(self, name: str) -> str:
        return name.removeprefix(f"{self.prefix}-")


def _targets(params: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    if "TableName" in params:
        yield params["TableName"], params.get("IndexName")
    for table in params.get("RequestItems") or {}:  # batch reads and writes
        yield table, None
    for item in params.get("TransactItems") or []:
        for operation in item.values():
            yield operation["TableName"], None
