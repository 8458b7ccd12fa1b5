"""The scheduled jobs: the hourly expiry sweep and the monthly reclaim.

Each is safe to run twice, concurrently with itself, late, or again after a
crash half-way:
- it reads only customers whose due moment (in a time-bucketed index) has
  come, from its watermark (less a margin for the index's lag) to now;
- each customer is changed by one conditional write on its version, which
  also moves it out of the bucket: a customer done is not read again;
- events go through the registration record's fixed position, so a second
  writer puts the same event, never a second one;
- the watermark moves only when a run finishes, and only forward.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.observability import count, logger
from chalicelib.rules.claims import Customer
from chalicelib.rules.reclaim import reclaimed
from chalicelib.rules.records import AuditEntry
from chalicelib.rules.sweep import Due, Notice, due_between
from chalicelib.services import tallies
from chalicelib.services.customers import Customers
from chalicelib.services.fines.ledger import Fines, days_ended
from chalicelib.services.ids import derived_id, new_id
from chalicelib.services.registration.registrations import customer_subject
from chalicelib.services.registration.resolution import MaskResolution, publish_notice
from chalicelib.settings import Settings
from chalicelib.store import Store, VersionConflict

MAX_ATTEMPTS = 5
# the indexes are eventually consistent: a customer updated just before a run
# may show in its bucket only after it; each run looks back this far again
INDEX_LAG_MARGIN = timedelta(hours=1)
# a job that has never run looks back this far for what is due
FIRST_LOOKBACK = timedelta(days=7)


def hour_buckets(since: datetime, until: datetime) -> Iterator[str]:
    at = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while at <= until:
        yield at.strftime("%Y-%m-%dT%H")
        at += timedelta(hours=1)


def day_buckets(since: datetime, until: datetime) -> Iterator[str]:
    day = since.astimezone(UTC).date()
    while day <= until.astimezone(UTC).date():
        yield day.isoformat()
        day += timedelta(days=1)


def month_buckets(since: datetime, until: datetime) -> Iterator[str]:
    """The UTC months of (since, until], as the pool index keys them."""
    year, month = since.astimezone(UTC).year, since.astimezone(UTC).month
    last = until.astimezone(UTC)
    while (year, month) <= (last.year, last.month):
        yield f"{year:04d}-{month:02d}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


class Sweep:
    """R-PROT-2 / R-REG-3: ``protection.ending_soon``, ``protection.ended`` and
    ``registration.lapsed`` for each registrant's feed, once each."""

    JOB = "sweep"

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._policy = settings.policy
        self._zone = settings.policy.zone
        self._settle = timedelta(seconds=settings.event_settle_seconds)
        self._customers = Customers(store, settings.policy)
        self._fines = Fines(store, settings)
        self._masks = MaskResolution(store, settings)

    def run(self, now: datetime) -> dict[str, int]:
        run_id = new_id("run", now)
        counts: Counter[str] = Counter()
        self._store.record_run(self.JOB, run_id, now, None, dict(counts))
        since = (self._store.watermark(self.JOB) or now - FIRST_LOOKBACK) - INDEX_LAG_MARGIN
        for bucket in hour_buckets(since, now):
            for key, customer in self._store.due_for_sweep(bucket, now):
                counts["read"] += 1
                self._sweep(key, customer, now, counts)
        # 隐号报备 (0013): masked claims whose hold ended unresolved (by UTC day)
        for utc_day in day_buckets(since, now):
            lapsed = self._masks.record_lapses(utc_day, now)
            if lapsed:
                counts["masked_lapsed"] += lapsed
        # R-FINE-4: forms overdue since the last run, proposed to a manager
        counts["fines_proposed"] = self._fines.propose_overdue_forms(since, now)
        # the dashboard (0009): each local day's floor numbers once it has
        # ended, and the pool read again, once a day
        ended = days_ended(since, now, self._zone)
        for day in ended:
            tallies.snapshot_floor_day(self._store, day)
        if ended:
            tallies.snapshot_pool(self._store, now, self._zone)
        self._store.record_run(self.JOB, run_id, now, datetime.now(UTC), dict(counts))
        self._store.advance_watermark(self.JOB, now)
        for name, n in counts.items():
            count("Sweep" + name.title().replace("_", ""), value=n)
        logger.info("sweep finished", extra={"counts": dict(counts)})
        return dict(counts)

    def _sweep(self, key: str, customer: Customer, now: datetime, counts: Counter[str]) -> None:
        current: Customer | None = customer
        for _ in range(MAX_ATTEMPTS):
            if current is None or current.sweep_due is None or current.sweep_due > now:
                return  # done by another run meanwhile (the index lags)
            for due in due_between(current, current.swept_until, now, self._policy):
                if self._publish(due, now):
                    counts[due.notice.name.lower()] += 1
                protection = due.claim.protection
                if due.notice is Notice.ENDING_SOON and protection is not None:
                    # the dashboard (0009): once per registration, before the commit
                    tallies.protection_ending(
                        self._store, due.claim.registration_id, protection.ends_at, self._zone
                    )
            try:
                assert current.phone is not None
                self._customers.commit(key, current.phone, replace(current, swept_until=now), now)
                counts["customers"] += 1
                return
            except VersionConflict as conflict:
                counts["conflicts"] += 1
                current = conflict.current or self._store.get_customer(key)

    def _publish(self, due: Due, now: datetime) -> bool:
        claim = due.claim
        published = publish_notice(
            self._store, claim, due.notice.value, due.at, now, settle=self._settle
        )
        if published:
            count("EventPublished", type=due.notice.value)
        else:
            # a claim whose request died before its records were written:
            # its registrant never got an answer, and has no record to notify
            logger.warning(
                "notice for a registration without a record",
                extra={"registration_id": claim.registration_id, "notice": due.notice.value},
            )
        return published


class Reclaim:
    """R-RECLAIM-1: on the 1st at 02:00 local, every stale customer nobody
    bought leaves their consultant for the pool. A late run takes what each
    missed run would have taken, as of that run."""

    JOB = "reclaim"
    FIRST_LOOKBACK = timedelta(days=62)

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._policy = settings.policy
        self._customers = Customers(store, settings.policy)
        self._entered: dict[str, datetime] = {}  # customers the run pooled, and when

    def run(self, now: datetime) -> dict[str, int]:
        run_id = new_id("run", now)
        counts: Counter[str] = Counter()
        self._entered = {}
        self._store.record_run(self.JOB, run_id, now, None, dict(counts))
        watermark = self._store.watermark(self.JOB)
        since = (watermark or now - self.FIRST_LOOKBACK) - timedelta(days=1)
        for bucket in day_buckets(since, now):
            for key, customer in self._store.due_for_reclaim(bucket, now):
                counts["read"] += 1
                self._reclaim(key, customer, now, counts)
        if self._earlier_run_died(run_id):
            self._complete_audit(since, now)
        # the dashboard's pool by month entered (0009), with those just taken
        tallies.snapshot_pool(self._store, now, self._policy.zone, self._entered)
        self._store.record_run(self.JOB, run_id, now, datetime.now(UTC), dict(counts))
        self._store.advance_watermark(self.JOB, now)
        for name, n in counts.items():
            count("Reclaim" + name.title().replace("_", ""), value=n)
        logger.info("reclaim finished", extra={"counts": dict(counts)})
        return dict(counts)

    def _reclaim(self, key: str, customer: Customer, now: datetime, counts: Counter[str]) -> None:
        current: Customer | None = customer
        for _ in range(MAX_ATTEMPTS):
            due = current.reclaim_due if current else None
            if current is None or due is None or due > now:
                return
            pooled = reclaimed(current, due, self._policy)
            if pooled is None:
                return
            try:
                assert current.phone is not None
                self._customers.commit(key, current.phone, pooled, now)
            except VersionConflict as conflict:
                counts["conflicts"] += 1
                current = conflict.current or self._store.get_customer(key)
                continue
            counts["reclaimed"] += 1
            self._entered[key] = due
            self._audit(key, pooled, due)
            return

    def _earlier_run_died(self, run_id: str) -> bool:
        """A recent run other than this one that never finished."""
        recent = self._store.runs(self.JOB, limit=3)
        return any(r["run_id"] != run_id and r["finished_at"] is None for r in recent)

    def _complete_audit(self, since: datetime, now: datetime) -> None:
        """A run that died between a reclaim and its audit entry left the
        customer in the pool, no longer due: its entry is written here (once,
        by its derived id). Read only after such a death: the pool's months."""
        for month in month_buckets(since, now):
            for key, customer in self._store.pooled(month):
                if customer.pooled_at is not None and since <= customer.pooled_at <= now:
                    self._audit(key, customer, customer.pooled_at)

    def _audit(self, key: str, pooled: Customer, due: datetime) -> None:
        self._store.append_audit(
            AuditEntry(
                subject=customer_subject(key),
                entry_id=derived_id("au", key, "reclaimed", due.isoformat()),
                at=due,
                action="customer.reclaimed",
                actor="reclaim",
                request_id=None,
                rule="R-RECLAIM-1",
                detail=f"from {pooled.tenures[-1].consultant_id}",
            ),
            once=True,
        )
