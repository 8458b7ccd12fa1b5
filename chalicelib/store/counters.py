"""Counts kept as things happen (one atomic ADD each), read a scope at a time.

The 看板 reads a few items per day, whatever the number of fines, visits or
protections behind them (registration outcomes are counted from the audit
trail instead: decision 0013). A scope whose names are
dates (``floor``: ``<day>#arrivals``) is read for a range of them with one
Query on the sort key; a snapshot recomputed by a job is written with
``set_counts`` (a put: writing it again writes the same numbers).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .failures import is_condition_failure, unavailable_on_outage
from .models import CounterItem

# what a read returns of a counter: not the tokens add_count_once keeps on it
_READ = ["scope", "name", "n"]


class CounterMethods:
    _client: Any

    def add_count(self, scope: str, name: str, by: int = 1) -> None:
        with unavailable_on_outage():
            CounterItem(scope=scope, name=name).update(actions=[CounterItem.n.add(by)])

    def counts(self, scope: str) -> dict[str, int]:
        """Every count of the scope, by name."""
        with unavailable_on_outage():
            items = CounterItem.query(scope, attributes_to_get=_READ)
            return {item.name: int(item.n) for item in items}

    def counts_between(self, scope: str, first: str, last: str) -> dict[str, int]:
        """The counts of the scope whose names sort in [first, last]: one Query
        (pages only past 1 MB), however many other names the scope holds."""
        with unavailable_on_outage():
            items = CounterItem.query(
                scope, CounterItem.name.between(first, last), attributes_to_get=_READ
            )
            return {item.name: int(item.n) for item in items}

    def add_count_once(self, scope: str, name: str, token: str, by: int = 1) -> bool:
        """Add ``by`` unless ``token`` was counted here before (the item keeps
        the set of tokens it counted): one conditional UpdateItem, so a job
        rerun or a retried request that counts the same thing again adds
        nothing. False when it was counted already."""
        try:
            with unavailable_on_outage():
                self._client.update_item(
                    TableName=CounterItem.Meta.table_name,
                    Key={"scope": {"S": scope}, "name": {"S": name}},
                    UpdateExpression="ADD #n :by, #seen :tokens",
                    ConditionExpression="NOT contains(#seen, :token)",
                    ExpressionAttributeNames={"#n": "n", "#seen": "seen"},
                    ExpressionAttributeValues={
                        ":by": {"N": str(by)},
                        ":tokens": {"SS": [token]},
                        ":token": {"S": token},
                    },
                )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def set_counts(self, scope: str, values: dict[str, int]) -> None:
        """Replace these counts of the scope (a snapshot): idempotent, so a
        job that runs twice writes the same numbers twice."""
        with unavailable_on_outage(), CounterItem.batch_write() as batch:
            for name, n in values.items():
                batch.save(CounterItem(scope=scope, name=name, n=n))
