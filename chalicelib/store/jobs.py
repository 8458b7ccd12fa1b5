"""What the scheduled jobs read and record: customers by due time bucket,
the reclaim pool, each run, and each job's watermark.

Due customers are found through sparse indexes keyed by a time bucket (an
hour for the sweep, a day for the reclaim), never a scan and never one
constant partition: a run reads what is due, not the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.rules.claims import Customer

from .failures import is_condition_failure, unavailable_on_outage
from .later_models import JobItem
from .mapping import customer_from_item, position
from .models import CustomerItem

WATERMARK = "watermark"


class JobMethods:
    def due_for_sweep(self, bucket: str, until: datetime) -> Iterator[tuple[str, Customer]]:
        """Customers whose next notice, in this UTC hour bucket, is due by ``until``."""
        yield from _due(CustomerItem.by_sweep, bucket, CustomerItem.sweep_key, until)

    def due_for_reclaim(self, bucket: str, until: datetime) -> Iterator[tuple[str, Customer]]:
        """Customers whose reclaim run, in this UTC day bucket, is due by ``until``."""
        yield from _due(CustomerItem.by_reclaim, bucket, CustomerItem.reclaim_key, until)

    def pooled(self, month: str) -> list[tuple[str, Customer]]:
        """The customers who entered the reclaim pool in this UTC month and are
        still in it."""
        with unavailable_on_outage():
            return [
                (item.customer_key, customer_from_item(item))
                for item in CustomerItem.in_pool.query(month)
            ]

    # -- runs and watermarks ----------------------------------------------------

    def record_run(
        self,
        job: str,
        run_id: str,
        started_at: datetime,
        finished_at: datetime | None,
        counts: dict[str, int],
    ) -> None:
        with unavailable_on_outage():
            JobItem(
                job=job,
                run=f"run#{position(started_at, run_id)}",
                started_at=started_at,
                finished_at=finished_at,
                counts=counts,
            ).save()

    def runs(self, job: str, limit: int = 20) -> list[dict[str, Any]]:
        """The latest runs, newest first."""
        with unavailable_on_outage():
            items = JobItem.query(
                job,
                range_key_condition=JobItem.run.startswith("run#"),
                scan_index_forward=False,
                limit=limit,
            )
            return [
                {
                    "run_id": i.run.rpartition("#")[2],
                    "started_at": i.started_at,
                    "finished_at": i.finished_at,
                    "counts": {
                        k: int(v) for k, v in (i.counts.as_dict() if i.counts else {}).items()
                    },
                }
                for i in items
            ]

    def watermark(self, job: str) -> datetime | None:
        """Everything due up to here has been done."""
        with unavailable_on_outage():
            try:
                return JobItem.get(job, WATERMARK, consistent_read=True).done_until
            except JobItem.DoesNotExist:
                return None

    def advance_watermark(self, job: str, until: datetime) -> None:
        """Move the watermark forward, never back (two runs may finish in any order)."""
        item = JobItem(job=job, run=WATERMARK)
        try:
            with unavailable_on_outage():
                item.update(
                    actions=[JobItem.done_until.set(until)],
                    condition=JobItem.done_until.does_not_exist() | (JobItem.done_until < until),
                )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise


def _due(index: Any, bucket: str, key: Any, until: datetime) -> Iterator[tuple[str, Customer]]:
    with unavailable_on_outage():
        for item in index.query(bucket, range_key_condition=key <= position(until, "~")):
            yield item.customer_key, customer_from_item(item)
