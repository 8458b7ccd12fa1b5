"""The fines ledger (R-FINE-1..5): record, propose, confirm or dismiss,
appeal once, decide the appeal, and monthly statements.

A fine is replaced whole on its version, and every change goes into its audit
trail (``fine:<id>``). Amounts are the policy's at the moment of recording.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from chalicelib.errors import Failed, FieldError, Problem, StoreUnavailable, from_refusal, not_found
from chalicelib.errors import validation_error as invalid
from chalicelib.observability import count
from chalicelib.rules.claims import Source
from chalicelib.rules.fines import (
    OWING,
    PAYER_ROLE,
    Fine,
    Kind,
    Status,
    amount,
    appeal_decided,
    appealed,
    decided,
)
from chalicelib.rules.floor import FormState, Visit, form_state
from chalicelib.rules.localtime import at_local_time, local_date
from chalicelib.rules.phone import mask_phone
from chalicelib.rules.refusals import Refusal
from chalicelib.rules.staff import MANAGERS, Role, Staff
from chalicelib.services import audit, tallies
from chalicelib.services.exports import RULE_ZH, excel_csv
from chalicelib.services.ids import derived_id, new_id
from chalicelib.services.registration.intake import (
    Id,
    Note,
    PhoneText,
    Reason,
    VisitAt,
    is_id,
    mobile,
    validated,
)
from chalicelib.services.views import local_iso
from chalicelib.settings import Settings
from chalicelib.store import Stale, Store

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MAX_ATTEMPTS = 5
SYSTEM = "system"  # who records a proposal
# read by people in Excel: the payer by name, the violation in words beside
# its rule; no fine id (nothing reads this file but people)
STATEMENT_COLUMNS = (
    ("month", "月份"),
    ("payer", "被罚人"),
    ("rule", "规则"),
    ("violation", "违规"),
    ("occurred_at", "发生时间"),
    ("amount", "罚款金额（元）"),
    ("status", "状态"),
    ("owed", "应缴金额（元）"),
    ("note", "备注"),
)
STATUS_ZH = {
    Status.PROPOSED: "待确认",
    Status.DISMISSED: "已驳回",
    Status.DUE: "应缴",
    Status.APPEALED: "申诉中",
    Status.UPHELD: "申诉未通过",
    Status.CANCELLED: "已撤销",
}


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    kind: Kind
    payer_id: Id
    occurred_at: VisitAt | None = None
    visit_id: Id | None = None
    phone: PhoneText | None = None
    note: Note | None = None


class _Decide(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    action: Literal["confirm", "dismiss"]


class _Appeal(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    reason: Reason


class _AppealDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    outcome: Literal["upheld", "cancelled"]
    note: Note | None = None


class Fines:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._policy = settings.policy
        self._zone = settings.policy.zone

    # -- recording --------------------------------------------------------------

    def record(self, caller: Staff, raw: bytes, now: datetime) -> dict[str, Any]:
        """A person saw the violation: the fine is due at once (R-FINE-1..5)."""
        ask = validated(_Record, raw)
        occurred = ask.occurred_at or now
        if occurred > now:
            raise Failed(invalid(FieldError("occurred_at", "in the future")))
        if self._local_month(occurred) < _previous(self._local_month(now)):
            # older months' statements are settled: no fine is added to them
            raise Failed(invalid(FieldError("occurred_at", "this month or the last")))
        self._check_payer(ask.kind, ask.payer_id)
        masked = mask_phone(mobile(ask.phone, "phone")) if ask.phone else None
        if ask.visit_id is not None:
            proposal = self._store.get_fine(derived_id("fn", ask.visit_id, ask.kind.value))
            if proposal is not None and proposal.payer_id == ask.payer_id:
                return self._confirm_seen(proposal, caller, now)
        fine_id = (
            derived_id("fn", ask.visit_id, ask.kind.value, ask.payer_id)
            if ask.visit_id is not None
            else new_id("fn", now)
        )
        fine = self._new(
            fine_id,
            ask.kind,
            ask.payer_id,
            occurred,
            now,
            recorded_by=caller.staff_id,
            status=Status.DUE,
            visit_id=ask.visit_id,
            customer_masked=masked,
            note=ask.note,
        )
        try:
            saved = self._store.save_fine(fine)
        except Stale:  # the same violation of the same visit, recorded before
            return self.view(self._get(fine_id))
        tallies.fine_moved(self._store, None, saved)
        self._audit(saved, "fine.recorded", caller.staff_id)
        count("FineRecorded", rule=saved.kind.value)
        return self.view(saved)

    def _confirm_seen(self, proposal: Fine, caller: Staff, now: datetime) -> dict[str, Any]:
        """A person records what the system already proposed: one fine, not
        two. The proposal becomes due (unless a manager dismissed it)."""
        if proposal.status is not Status.PROPOSED:
            if proposal.status is Status.DISMISSED:
                message = "The system proposed this violation and a manager dismissed it."
                raise Failed(Problem("FINE_STATE_CONFLICT", message, proposal.kind.value))
            return self.view(proposal)
        fine = self._change(
            proposal.fine_id,
            lambda f: decided(f, True, caller.staff_id, now),
            lambda f: f.status is not Status.PROPOSED,
        )
        self._audit(fine, "fine.confirmed", caller.staff_id, detail="recorded by a person")
        return self.view(fine)

    def propose(self, kind: Kind, payer_id: str, visit: Visit, why: str, now: datetime) -> bool:
        """The system saw it (R-FINE-1/2/4): a proposal a manager confirms or
        dismisses. One per visit and kind, however often it is seen; True
        when this call made it."""
        fine = self._new(
            derived_id("fn", visit.visit_id, kind.value),
            kind,
            payer_id,
            visit.arrived_at,
            now,
            recorded_by=SYSTEM,
            status=Status.PROPOSED,
            visit_id=visit.visit_id,
            customer_masked=visit.phone_masked,
            note=why,
        )
        try:
            saved = self._store.save_fine(fine)
        except Stale:
            # proposed before; if its audit entry failed then, write it now
            # (a derived id: written once)
            earlier = self._store.get_fine(fine.fine_id)
            if earlier is not None and earlier.version == 1:
                self._audit(earlier, "fine.proposed", SYSTEM)
                tallies.fine_moved(self._store, None, earlier)  # counted once
            return False
        tallies.fine_moved(self._store, None, saved)
        self._audit(saved, "fine.proposed", SYSTEM)
        count("FineProposed", rule=kind.value)
        return True

    # the notes are read by the sales office, in the console and in the CSV
    def propose_from_arrival(self, visit: Visit, now: datetime) -> None:
        if visit.led_in_by is not None:
            self.propose(
                Kind.UNGUIDED_LEAD,
                visit.led_in_by,
                visit,
                "前台登记：询客前已由置业顾问引领",
                now,
            )
        if not visit.greeted:
            self.propose(
                Kind.GREETING_SKIPPED, visit.logged_by, visit, "前台登记：未完成标准询客", now
            )

    def propose_overdue_forms(self, since: datetime, now: datetime) -> int:
        """R-FINE-4 for each form that became overdue since the last run: the
        visits of each local day that ended in (since, now]."""
        proposed = 0
        for day in days_ended(since, now, self._zone):
            for visit in self._store.visits_on(day):
                overdue = form_state(visit, now, self._zone) is FormState.OVERDUE
                if overdue and visit.consultant_id is not None:
                    proposed += self.propose(
                        Kind.FORM_REFUSED,
                        visit.consultant_id,
                        visit,
                        "到访当天结束时仍未提交带看确认单",
                        now,
                    )
        return proposed

    # -- decisions ----------------------------------------------------------------

    def decide(self, manager: Staff, fine_id: str, raw: bytes, now: datetime) -> dict[str, Any]:
        confirm = validated(_Decide, raw).action == "confirm"
        wanted = Status.DUE if confirm else Status.DISMISSED
        fine = self._change(
            fine_id,
            lambda f: decided(f, confirm, manager.staff_id, now),
            lambda f: f.status is wanted and f.decided_by == manager.staff_id,
        )
        self._audit(fine, f"fine.{'confirmed' if confirm else 'dismissed'}", manager.staff_id)
        return self.view(fine)

    def appeal(
        self, payer_id: str, fine_id: str, raw: bytes, now: datetime, *, registrant: bool = False
    ) -> dict[str, Any]:
        """申诉: the fined person (or registrant) appeals once, with a reason.
        A retry of the same appeal is answered as the first."""
        reason = validated(_Appeal, raw).reason
        current = self._get(fine_id)
        if current.payer_id != payer_id:
            if registrant:  # outside callers learn nothing of others' fines (API.md)
                raise Failed(not_found("fine"))
            raise Failed(Problem("FORBIDDEN", "Only the one fined appeals.", current.kind.value))
        fine = self._change(
            fine_id,
            lambda f: appealed(f, payer_id, reason, now),
            lambda f: f.appeal is not None and (f.appeal.by, f.appeal.reason) == (payer_id, reason),
        )
        self._audit(fine, "fine.appealed", payer_id, detail=reason)
        return self.view(fine)

    def decide_appeal(
        self, manager: Staff, fine_id: str, raw: bytes, now: datetime
    ) -> dict[str, Any]:
        """The sales manager answers an appeal; the site manager for R-FINE-5."""
        ask = validated(_AppealDecision, raw)
        current = self._get(fine_id)
        wanted = Role.SITE_MANAGER if current.kind is Kind.FLYER_IMPOSTOR else Role.SALES_MANAGER
        if manager.role is not wanted:
            raise Failed(
                Problem(
                    "FORBIDDEN",
                    f"The {wanted.value.replace('_', ' ')} answers this appeal.",
                    current.kind.value,
                )
            )
        cancel = ask.outcome == "cancelled"
        fine = self._change(
            fine_id,
            lambda f: appeal_decided(f, cancel, manager.staff_id, now, ask.note),
            lambda f: (
                f.status.value == ask.outcome
                and f.appeal is not None
                and f.appeal.decided_by == manager.staff_id
            ),
        )
        self._audit(fine, f"fine.appeal_{ask.outcome}", manager.staff_id, detail=ask.note)
        return self.view(fine)

    # -- reading --------------------------------------------------------------------

    def waiting(self, query: dict[str, str], now: datetime) -> dict[str, Any]:
        """For managers: the proposals and appeals waiting, by the local month
        of the violation; by default this month and the last (a form overdue
        on the 30th is proposed on the 1st, an appeal comes days later)."""
        this = self._month(query, now)
        months = [this] if "month" in query else [_previous(this), this]
        status = query.get("status", "proposed")
        if status not in ("proposed", "appealed"):
            raise Failed(invalid(FieldError("status", "proposed or appealed")))
        fines = [f for m in months for f in self._store.waiting_fines(Status(status), m)]
        return {"months": months, "status": status, "data": [self.view(f) for f in fines]}

    def statement(self, payer_id: str, query: dict[str, str], now: datetime) -> dict[str, Any]:
        """Each fine of the local month, its status, and the total due."""
        month = self._month(query, now)
        if query.get("format", "json") not in ("json", "csv"):
            raise Failed(invalid(FieldError("format", "json or csv")))
        fines = [
            f for f in self._store.fines_of(payer_id, month) if f.status is not Status.DISMISSED
        ]
        return {
            "payer_id": payer_id,
            "month": month,
            "fines": [self.view(f) for f in fines],
            "total_due": sum(f.amount for f in fines if f.status in OWING),
            "under_appeal": sum(f.amount for f in fines if f.status is Status.APPEALED),
            "proposed": sum(f.amount for f in fines if f.status is Status.PROPOSED),
        }

    def statement_csv(self, statement: dict[str, Any]) -> str:
        payer = self._payer_name(statement["payer_id"])
        rows = [
            [
                statement["month"],
                payer,
                f["rule"],
                RULE_ZH.get(f["rule"], ""),
                f["occurred_at"][:16].replace("T", " "),  # local time, as the console shows it
                f["amount"],
                STATUS_ZH[Status(f["status"])],
                f["amount"] if Status(f["status"]) in OWING else 0,
                f["note"],
            ]
            for f in statement["fines"]
        ]
        rows.append([])
        rows.append(["", "", "", "", "", "", "合计应缴", statement["total_due"], ""])
        return excel_csv([title for _, title in STATEMENT_COLUMNS], rows)

    def _payer_name(self, payer_id: str) -> str:
        """The one fined by name: a staff member, else a channel (R-FINE-5)."""
        member = self._store.get_staff(payer_id)
        if member is not None:
            return member.name
        registrant = self._store.get_registrant(payer_id)
        return registrant.name if registrant is not None else payer_id

    def payer_for(self, caller_id: str, member: Staff | None, query: dict[str, str]) -> str:
        """Whose statement: one's own (a registrant's too); managers may read
        anyone's."""
        payer = query.get("payer", caller_id)
        if not is_id(payer):
            raise Failed(invalid(FieldError("payer", "a staff or registrant id")))
        if payer != caller_id and (member is None or member.role not in MANAGERS):
            raise Failed(Problem("FORBIDDEN", "Each one reads their own statement.", None))
        return payer

    def view(self, fine: Fine) -> dict[str, Any]:
        a = fine.appeal
        return {
            "id": fine.fine_id,
            "rule": fine.kind.value,
            "payer_id": fine.payer_id,
            "occurred_at": local_iso(fine.occurred_at, self._zone),
            "month": fine.month,
            "amount": fine.amount,
            "status": fine.status.value,
            "recorded_by": fine.recorded_by,
            "recorded_at": local_iso(fine.recorded_at, self._zone),
            "visit_id": fine.visit_id,
            "customer_masked": fine.customer_masked,
            "note": fine.note,
            "decided_by": fine.decided_by,
            "decided_at": local_iso(fine.decided_at, self._zone),
            "appeal": (
                {
                    "by": a.by,
                    "at": local_iso(a.at, self._zone),
                    "reason": a.reason,
                    "decided_by": a.decided_by,
                    "decided_at": local_iso(a.decided_at, self._zone),
                    "note": a.note,
                }
                if a
                else None
            ),
        }

    # -- helpers -------------------------------------------------------------------

    def _new(
        self,
        fine_id: str,
        kind: Kind,
        payer_id: str,
        occurred: datetime,
        now: datetime,
        *,
        recorded_by: str,
        status: Status,
        visit_id: str | None,
        customer_masked: str | None,
        note: str | None,
    ) -> Fine:
        return Fine(
            fine_id=fine_id,
            kind=kind,
            payer_id=payer_id,
            occurred_at=occurred,
            amount=amount(kind, self._policy),
            month=self._local_month(occurred),
            status=status,
            recorded_by=recorded_by,
            recorded_at=now,
            visit_id=visit_id,
            customer_masked=customer_masked,
            note=note,
        )

    def _check_payer(self, kind: Kind, payer_id: str) -> None:
        role = PAYER_ROLE[kind]
        if role == "registrant":  # R-FINE-5: the channel's lead
            registrant = self._store.get_registrant(payer_id)
            ok = registrant is not None and registrant.kind is Source.CHANNEL
        else:
            member = self._store.get_staff(payer_id)
            ok = member is not None and member.role.value == role
        if not ok:
            payer = "channel" if role == "registrant" else role.replace("_", " ")
            raise Failed(invalid(FieldError("payer_id", f"{kind.value} is paid by a {payer}")))

    def _get(self, fine_id: str) -> Fine:
        found = self._store.get_fine(fine_id) if fine_id.startswith("fn_") else None
        if found is None:
            raise Failed(not_found("fine"))
        return found

    def _change(
        self,
        fine_id: str,
        change: Callable[[Fine], Fine | Refusal],
        done: Callable[[Fine], bool],
    ) -> Fine:
        """Apply ``change`` with one conditional write. If ``done`` already
        holds, this very change was committed before (a retry after a lost
        reply or a failed audit write): the fine as it is, written no more."""
        for _ in range(MAX_ATTEMPTS):
            current = self._get(fine_id)
            if done(current):
                return current
            outcome = change(current)
            if isinstance(outcome, Refusal):
                raise Failed(from_refusal(outcome))
            try:
                saved = self._store.save_fine(outcome)
            except Stale:
                continue
            tallies.fine_moved(self._store, current, saved)  # by this call only
            return saved
        raise StoreUnavailable("too much contention on one fine")

    def _audit(self, fine: Fine, action: str, actor: str, detail: str | None = None) -> None:
        """The entry of the change ``fine`` holds, at the time the fine keeps
        for it, under an id derived from both: a retry writes it once."""
        appeal = fine.appeal
        at = {
            "fine.appealed": appeal.at if appeal else None,
            "fine.appeal_upheld": appeal.decided_at if appeal else None,
            "fine.appeal_cancelled": appeal.decided_at if appeal else None,
            "fine.confirmed": fine.decided_at,
            "fine.dismissed": fine.decided_at,
        }.get(action) or fine.recorded_at
        audit.record(
            self._store,
            f"fine:{fine.fine_id}",
            action,
            at,
            actor,
            rule=fine.kind.value,
            detail=f"{fine.amount} yuan, {fine.status.value}" + (f": {detail}" if detail else ""),
            entry_id=derived_id("au", fine.fine_id, action, str(fine.version)),
        )

    def _local_month(self, at: datetime) -> str:
        """YYYY-MM of ``at`` in the project's zone: the month a fine belongs to."""
        return local_date(at, self._zone).strftime("%Y-%m")

    def _month(self, query: dict[str, str], now: datetime) -> str:
        month = query.get("month")
        if month is None:
            return self._local_month(now)
        if not _MONTH.fullmatch(month):
            raise Failed(invalid(FieldError("month", "a local month, YYYY-MM")))
        return month


def _previous(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def days_ended(since: datetime, now: datetime, zone: ZoneInfo) -> list[date]:
    """The local days whose end (the next local midnight) is in (since, now]."""
    days: list[date] = []
    day = local_date(since, zone)
    while True:
        end = at_local_time(day + timedelta(days=1), datetime.min.time(), zone)
        if end > now:
            return days
        if end > since:
            days.append(day)
        day += timedelta(days=1)
