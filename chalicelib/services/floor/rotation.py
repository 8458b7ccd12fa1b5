"""R-FLOOR-3: the day's duty roster, and the front desk handing customers
to consultants in turn.

The roster item is the one that decides: an assignment is committed on its
version, so two front-desk devices asking at once never get the same turn.
The visit then records its consultant; a retry finds the assignment in the
roster and finishes that.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.errors import Failed, FieldError, StoreUnavailable, from_refusal
from chalicelib.errors import validation_error as invalid
from chalicelib.rules.floor import Visit
from chalicelib.rules.localtime import local_date
from chalicelib.rules.refusals import Refusal
from chalicelib.rules.rotation import Assignment, Roster, on_duty, take_turn
from chalicelib.rules.staff import Role, Staff
from chalicelib.services import audit
from chalicelib.services.customers import Customers
from chalicelib.services.floor.visits import change_visit, parse_day, record_visit, visit_or_404
from chalicelib.services.ids import derived_id
from chalicelib.services.registration.intake import Id, Reason, validated
from chalicelib.services.views import local_iso
from chalicelib.settings import Settings
from chalicelib.store import Stale, Store

MAX_ATTEMPTS = 5


class _Roster(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    consultants: Annotated[list[Id], Field(max_length=100)]


class _Skip(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    consultant_id: Id
    reason: Reason


class _Assign(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    skip: Annotated[list[_Skip], Field(max_length=50)] = []


class Rotation:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._zone = settings.policy.zone
        self._customers = Customers(store, settings.policy)

    def set_roster(
        self, manager: Staff, day_text: str, raw: bytes, now: datetime
    ) -> dict[str, Any]:
        """Who is on duty that day, in turn order for those joining."""
        day = self._day(day_text)
        if day < local_date(now, self._zone):
            raise Failed(invalid(FieldError("date", "today or a later day")))
        wanted = tuple(validated(_Roster, raw).consultants)
        consultants = self._consultants()
        for i, staff_id in enumerate(wanted):
            if staff_id not in consultants or not consultants[staff_id].enabled:
                raise Failed(invalid(FieldError(f"consultants.{i}", "not an active consultant")))
        for _ in range(MAX_ATTEMPTS):
            roster = self._store.get_roster(day) or Roster(day)
            try:
                saved = self._store.save_roster(on_duty(roster, wanted, manager.staff_id), now)
                break
            except Stale:
                continue
        else:
            raise StoreUnavailable("too much contention on one roster")
        audit.record(
            self._store,
            f"roster:{day.isoformat()}",
            "roster.set",
            now,
            manager.staff_id,
            rule="R-FLOOR-3",
            detail=", ".join(saved.queue) or "nobody on duty",
        )
        return self._view(saved, consultants)

    def roster(self, day_text: str) -> dict[str, Any]:
        day = self._day(day_text)
        return self._view(self._store.get_roster(day) or Roster(day), self._consultants())

    def assign(
        self, desk: Staff, visit_id: str, raw: bytes, now: datetime
    ) -> tuple[dict[str, Any], bool]:
        """(the assignment, created): the next consultant on duty receives the
        visit's customer. Asking again for the same visit answers the same
        consultant."""
        skips: dict[str, str] = {}
        for i, skip in enumerate(validated(_Assign, raw).skip):
            if skip.consultant_id in skips:
                raise Failed(invalid(FieldError(f"skip.{i}", "named twice")))
            skips[skip.consultant_id] = skip.reason
        visit = visit_or_404(self._store, visit_id)
        consultants = self._consultants()
        assignment, created = self._take_turn(
            desk, visit.visit_id, visit.day, skips=skips, consultants=consultants, now=now
        )

        def record(current: Visit) -> Visit | None:
            if current.consultant_id is not None:
                return None
            return replace(current, consultant_id=assignment.consultant_id)

        visit, _ = change_visit(self._store, visit_id, record, now)
        record_visit(self._customers, visit, None, now)
        skipped = "; ".join(f"skipped {s.consultant_id}: {s.reason}" for s in assignment.skipped)
        audit.record(  # once, by whichever request (or retry) took the turn
            self._store,
            f"visit:{visit_id}",
            "visit.assigned",
            assignment.at,
            assignment.by,
            rule="R-FLOOR-3",
            detail=f"to {assignment.consultant_id}" + (f"; {skipped}" if skipped else ""),
            entry_id=derived_id("au", visit_id, "assigned"),
        )
        return self._assignment_view(assignment, consultants), created

    def _take_turn(
        self,
        desk: Staff,
        visit_id: str,
        day: date,
        *,
        skips: dict[str, str],
        consultants: dict[str, Staff],
        now: datetime,
    ) -> tuple[Assignment, bool]:
        enabled = frozenset(s.staff_id for s in consultants.values() if s.enabled)
        for _ in range(MAX_ATTEMPTS):
            roster = self._store.get_roster(day) or Roster(day)
            earlier = roster.assignment_for(visit_id)
            if earlier is not None:
                return earlier, False
            outcome = take_turn(
                roster, visit_id, enabled=enabled, skips=skips, at=now, by=desk.staff_id
            )
            if isinstance(outcome, Refusal):
                raise Failed(from_refusal(outcome))
            turned, assignment = outcome
            try:
                self._store.save_roster(turned, now)
            except Stale:  # another device took a turn: take the next one
                continue
            return assignment, True
        raise StoreUnavailable("too much contention on one roster")

    def _consultants(self) -> dict[str, Staff]:
        return {s.staff_id: s for s in self._store.list_staff() if s.role is Role.CONSULTANT}

    def _day(self, text: str) -> date:
        return parse_day(text, "date")

    def _view(self, roster: Roster, consultants: dict[str, Staff]) -> dict[str, Any]:
        active = [c for c in roster.queue if c in consultants and consultants[c].enabled]
        return {
            "date": roster.day.isoformat(),
            "queue": [self._person(c, consultants) for c in roster.queue],
            "next": self._person(active[0], consultants) if active else None,
            "assignments": [self._assignment_view(a, consultants) for a in roster.assignments],
        }

    def _assignment_view(self, a: Assignment, consultants: dict[str, Staff]) -> dict[str, Any]:
        return {
            "visit_id": a.visit_id,
            "consultant": self._person(a.consultant_id, consultants),
            "at": local_iso(a.at, self._zone),
            "by": a.by,
            "skipped": [{"consultant_id": s.consultant_id, "reason": s.reason} for s in a.skipped],
            "passed_over": list(a.passed_over),
        }

    @staticmethod
    def _person(staff_id: str, consultants: dict[str, Staff]) -> dict[str, Any]:
        member = consultants.get(staff_id)
        return {
            "id": staff_id,
            "name": member.name if member else None,
            "enabled": bool(member and member.enabled),
        }
