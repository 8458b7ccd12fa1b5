"""R-REG-2: the daily channel report the sales admin and the channel
assistant review: per registrant, the day's registrations accepted and
refused (with the rules that refused them), visits and confirmation forms.

The registration outcomes are counted from the day's audit entries (every
registration writes one with its records, on the audit trail's ``by_day``
index): one Query for the day, exact; the visits come from the index of the
day's visits.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from chalicelib.errors import Failed, FieldError
from chalicelib.errors import validation_error as invalid
from chalicelib.rules.floor import FormState, form_state
from chalicelib.services.exports import KIND_ZH, excel_csv, refusal_zh
from chalicelib.services.floor.visits import parse_day
from chalicelib.services.views import local_iso
from chalicelib.settings import Settings
from chalicelib.store import Store

FORMATS = ("json", "csv")
COUNTED = (
    "accepted",
    "refused",
    "visits",
    "forms_filed",
    "forms_exempt",
    "forms_pending",
    "forms_overdue",
)

# Column titles and cells in Chinese: the people reading it open it in Excel.
# No registrant id: nothing reads this file but people (the JSON has it).
CSV_COLUMNS = (
    ("date", "日期"),
    ("name", "报备方名称"),
    ("kind", "类型"),
    ("accepted", "报备成功"),
    ("refused", "报备失败"),
    ("refusals", "失败原因（规则）"),
    ("visits", "到访"),
    ("forms_filed", "确认单已交"),
    ("forms_exempt", "确认单豁免"),
    ("forms_pending", "确认单待交"),
    ("forms_overdue", "确认单逾期"),
)


@dataclass
class _Row:
    registrant_id: str
    accepted: int = 0
    refused: Counter[tuple[str, str]] = field(default_factory=Counter)
    visits: int = 0
    forms: Counter[FormState] = field(default_factory=Counter)


class DailyReport:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._zone = settings.policy.zone

    def as_csv(self, report: dict[str, Any]) -> str:
        return as_csv(report)

    def build(self, query: dict[str, str], now: datetime) -> dict[str, Any]:
        day = self._day(query)
        rows: dict[str, _Row] = {}

        def row(who: str) -> _Row:
            return rows.setdefault(who, _Row(who))

        for name, n in self._store.outcome_counts(day).items():
            claimant, outcome, *why = name.split("#")
            if outcome == "accepted":
                row(claimant).accepted += n
            elif outcome == "refused" and len(why) == 2:
                row(claimant).refused[(why[0], why[1])] += n
        for visit in self._store.visits_on(day):
            if visit.decision is None:
                continue
            r = row(visit.decision.registrant_id)
            r.visits += 1
            r.forms[form_state(visit, now, self._zone)] += 1
        data = [self._row_view(r) for r in sorted(rows.values(), key=lambda r: r.registrant_id)]
        totals = {key: sum(r[key] for r in data) for key in COUNTED}
        return {
            "date": day.isoformat(),
            "generated_at": local_iso(now, self._zone),
            "rows": data,
            "totals": totals,
        }

    def _row_view(self, r: _Row) -> dict[str, Any]:
        name, kind = self._who(r.registrant_id)
        return {
            "registrant_id": r.registrant_id,
            "name": name,
            "kind": kind,
            "accepted": r.accepted,
            "refused": sum(r.refused.values()),
            "refusals": [
                {"rule": rule or None, "code": code, "count": n}
                for (rule, code), n in sorted(r.refused.items())
            ],
            "visits": r.visits,
            "forms_filed": r.forms[FormState.FILED],
            "forms_exempt": r.forms[FormState.EXEMPT],
            "forms_pending": r.forms[FormState.PENDING],
            "forms_overdue": r.forms[FormState.OVERDUE],
        }

    def _who(self, registrant_id: str) -> tuple[str | None, str | None]:
        registrant = self._store.get_registrant(registrant_id)
        if registrant is not None:
            return registrant.name, registrant.kind.value
        broker = self._store.get_broker(registrant_id)
        if broker is not None:
            return broker.name, "broker"
        return None, None

    def _day(self, query: dict[str, str]) -> date:
        fmt = query.get("format", "json")
        if fmt not in FORMATS:
            raise Failed(invalid(FieldError("format", "json or csv")))
        raw = query.get("date")
        if raw is None:
            raise Failed(invalid(FieldError("date", "required: a local date, YYYY-MM-DD")))
        return parse_day(raw, "date")


def as_csv(report: dict[str, Any]) -> str:
    """UTF-8 with a byte-order mark, so Excel shows the Chinese text."""
    rows = []
    for row in report["rows"]:
        cells = {
            **row,
            "date": report["date"],
            "kind": KIND_ZH.get(row["kind"] or "", row["kind"]),
            "refusals": "；".join(
                refusal_zh(r["code"], r["rule"], r["count"]) for r in row["refusals"]
            ),
        }
        rows.append([cells[key] for key, _ in CSV_COLUMNS])
    return excel_csv([title for _, title in CSV_COLUMNS], rows)
