"""The hourly duplicate watch: registrants whose share of duplicate refusals
in the last hour passes the threshold are logged (by id, never a phone) and
counted in the ``DuplicateProbeSuspected`` metric that the alarm watches.
Read-only: running it twice, late or concurrently changes nothing but the
metric, which only says "look"."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.observability import count, logger
from chalicelib.rules.localtime import local_date
from chalicelib.rules.probing import suspects
from chalicelib.settings import Settings
from chalicelib.store import Store

WINDOW = timedelta(hours=1)


class DuplicateWatch:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def run(self, now: datetime) -> dict[str, int]:
        since = now - WINDOW
        zone = self._settings.policy.zone
        days = sorted({local_date(since, zone), local_date(now, zone)})
        outcomes = [
            entry
            for day in days
            for entry in self._store.outcomes_since(day, since)
            if entry.at <= now
        ]
        found = suspects(
            outcomes, self._settings.probe_min_attempts, self._settings.probe_duplicate_share
        )
        for suspect in found:
            logger.warning(
                "duplicate probe suspected",
                extra={
                    "claimant": suspect.claimant,
                    "attempts": suspect.attempts,
                    "duplicates": suspect.duplicates,
                },
            )
            count("DuplicateProbeSuspected")
        return {"outcomes": len(outcomes), "suspected": len(found)}
