"""The managers' 看板: today and the last days. The registration outcomes
are counted from each day's audit entries (the audit trail's ``by_day``
index, exact); the rest from counts kept as things happen
(services/tallies.py, docs/decisions/0009), never from the period's records.
Its requests: one Query per day of registration outcomes (more pages only
past a few thousand outcomes a day), one each for the floor, the protections
ending, the pool and the fines, today's visits, and the names of the
recommenders (two scans) — whatever the number of registrations, visits or
fines behind them."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.errors import Failed, FieldError
from chalicelib.errors import validation_error as invalid
from chalicelib.rules.fines import Status
from chalicelib.rules.localtime import local_date
from chalicelib.services import tallies
from chalicelib.services.views import local_iso
from chalicelib.settings import Settings
from chalicelib.store import Store

DEFAULT_DAYS, MAX_DAYS = 30, 31
ENDING_DAYS = 7
FINE_MONTHS = 6


class Dashboard:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._policy = settings.policy
        self._zone = settings.policy.zone

    def build(self, query: dict[str, str], now: datetime) -> dict[str, Any]:
        today = local_date(now, self._zone)
        days = [today - timedelta(days=back) for back in range(_days(query) - 1, -1, -1)]
        return {
            "generated_at": local_iso(now, self._zone),
            "today": today.isoformat(),
            "days": [d.isoformat() for d in days],
            "registrations": self._registrations(days),
            "floor": self._floor(days, today),
            "ending": self._ending(today),
            "pool": self._pool(today),
            "fines": self._fines(today),
        }

    # -- registrations per registrant per day, accepted vs refused by rule (R-REG-2)

    def _registrations(self, days: list[date]) -> dict[str, Any]:
        accepted: dict[str, list[int]] = {}
        refused: dict[str, list[int]] = {}
        rules: Counter[tuple[str, str]] = Counter()
        for i, day in enumerate(days):
            for name, n in self._store.outcome_counts(day).items():
                claimant, outcome, *why = name.split("#")
                row = accepted if outcome == "accepted" else refused
                row.setdefault(claimant, [0] * len(days))[i] += n
                if outcome == "refused" and len(why) == 2:
                    rules[(why[0], why[1])] += n
        named = self._names()
        who = sorted(set(accepted) | set(refused), key=lambda r: (named.get(r, ("", ""))[0], r))
        zeros = [0] * len(days)
        return {
            "registrants": [
                {
                    "id": r,
                    "name": named.get(r, (None, None))[0],
                    "kind": named.get(r, (None, None))[1],
                    "accepted": accepted.get(r, zeros),
                    "refused": refused.get(r, zeros),
                }
                for r in who
            ],
            "accepted": [sum(v[i] for v in accepted.values()) for i in range(len(days))],
            "refused": [sum(v[i] for v in refused.values()) for i in range(len(days))],
            "refusals": [
                {"rule": rule or None, "code": code, "count": n}
                for (rule, code), n in sorted(rules.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
        }

    def _names(self) -> dict[str, tuple[str, str]]:
        named = {r.registrant_id: (r.name, r.kind.value) for r in self._store.list_registrants()}
        named.update({b.broker_id: (b.name, "broker") for b in self._store.list_brokers()})
        return named

    # -- arrivals and 判客 (R-FLOOR-2): past days from the sweep's snapshot, today live

    def _floor(self, days: list[date], today: date) -> dict[str, Any]:
        first, last = days[0].isoformat(), (today - timedelta(days=1)).isoformat()
        kept = self._store.counts_between(tallies.FLOOR, first, f"{last}#~") if days[:-1] else {}
        by_day: dict[str, dict[str, int]] = {}
        for name, n in kept.items():
            kept_day, what = name.split("#", 1)
            by_day.setdefault(kept_day, {})[what] = n
        live = tallies.floor_day(self._store.visits_on(today))
        rows = []
        for day in days:
            numbers = live if day == today else by_day.get(day.isoformat())
            rows.append(_floor_row(day, numbers, live=day == today))
        return {"days": rows, "today": rows[-1]}

    # -- protections ending (R-PROT-2) --------------------------------------------------

    def _ending(self, today: date) -> dict[str, Any]:
        window = min(ENDING_DAYS, self._policy.ending_soon_days)
        ahead = [today + timedelta(days=i) for i in range(window)]
        found = self._store.counts_between(
            tallies.ENDING, ahead[0].isoformat(), ahead[-1].isoformat()
        )
        data = [{"date": d.isoformat(), "count": found.get(d.isoformat(), 0)} for d in ahead]
        return {"days": data, "total": sum(d["count"] for d in data)}

    # -- the reclaim pool (R-RECLAIM-1) --------------------------------------------------

    def _pool(self, today: date) -> dict[str, Any]:
        months = [
            {"month": m, "count": n, "age_months": _months_between(m, today)}
            for m, n in sorted(self._store.counts(tallies.POOL).items())
            if n > 0
        ]
        return {"size": sum(m["count"] for m in months), "months": months}

    # -- fines (R-FINE) ----------------------------------------------------------------

    def _fines(self, today: date) -> dict[str, Any]:
        months = _last_months(today, FINE_MONTHS)
        found = self._store.counts_between(tallies.FINES, months[0], f"{months[-1]}#~")
        data = []
        for month in months:
            statuses = {
                s.value: {
                    "count": found.get(f"{month}#{s.value}", 0),
                    "yuan": found.get(f"{month}#{s.value}#yuan", 0),
                }
                for s in Status
            }
            data.append({"month": month, "statuses": statuses})
        return {"months": data}


def _floor_row(day: date, numbers: dict[str, int] | None, *, live: bool) -> dict[str, Any]:
    n = numbers or {}
    return {
        "date": day.isoformat(),
        "recorded": numbers is not None,
        "live": live,
        "arrivals": n.get("arrivals", 0),
        "people": n.get("people", 0),
        "signed_in": n.get("signed_in", 0),
        "decided": {s.value: n.get(f"decided#{s.value}", 0) for s in tallies.JUDGED},
        "corrected": n.get("corrected", 0),
        "natural": n.get("natural", 0),
    }


def _days(query: dict[str, str]) -> int:
    raw = query.get("days", str(DEFAULT_DAYS))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise Failed(invalid(FieldError("days", f"a whole number from 1 to {MAX_DAYS}")))
    return int(raw)


def _last_months(today: date, n: int) -> list[str]:
    index = today.year * 12 + today.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - n + 1, index + 1)]


def _months_between(month: str, today: date) -> int:
    year, m = (int(x) for x in month.split("-"))
    return max(0, (today.year * 12 + today.month) - (year * 12 + m))
