"""R-FLOOR-3: consultants on duty receive customers in turn (轮排).

The day's roster is a queue: the head is next. A consultant who receives a
customer goes to the back. A skipped consultant (busy, with a reason) keeps
their place, so the next turn comes back to them; a disabled one is passed
over without losing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from .refusals import Refusal


@dataclass(frozen=True)
class Skip:
    consultant_id: str
    reason: str


@dataclass(frozen=True)
class Assignment:
    visit_id: str
    consultant_id: str
    at: datetime
    by: str
    skipped: tuple[Skip, ...] = ()
    passed_over: tuple[str, ...] = ()  # disabled consultants, not skipped by anyone


@dataclass(frozen=True)
class Roster:
    day: date
    queue: tuple[str, ...] = ()  # the consultants on duty, next first
    assignments: tuple[Assignment, ...] = ()
    updated_by: str | None = None
    version: int | None = None  # None: not yet stored

    def assignment_for(self, visit_id: str) -> Assignment | None:
        return next((a for a in self.assignments if a.visit_id == visit_id), None)


def on_duty(roster: Roster, consultants: tuple[str, ...], by: str) -> Roster:
    """The new duty list. Who stays keeps their turn; who joins goes to the
    back, in the order given; who leaves is never assigned again today."""
    staying = tuple(c for c in roster.queue if c in consultants)
    joining = tuple(dict.fromkeys(c for c in consultants if c not in roster.queue))
    return replace(roster, queue=staying + joining, updated_by=by)


def take_turn(
    roster: Roster,
    visit_id: str,
    *,
    enabled: frozenset[str],
    skips: Mapping[str, str],
    at: datetime,
    by: str,
) -> tuple[Roster, Assignment] | Refusal:
    """The next consultant receives the visit's customer."""
    unknown = sorted(set(skips) - set(roster.queue))
    if unknown:
        return Refusal(
            "VALIDATION_ERROR",
            "R-FLOOR-3",
            f"Not on duty today: {', '.join(unknown)}.",
            "skip",
        )
    skipped: list[Skip] = []
    passed_over: list[str] = []
    for consultant in roster.queue:
        if consultant not in enabled:
            passed_over.append(consultant)
        elif consultant in skips:
            skipped.append(Skip(consultant, skips[consultant]))
        else:
            assignment = Assignment(
                visit_id, consultant, at, by, tuple(skipped), tuple(passed_over)
            )
            queue = (*(c for c in roster.queue if c != consultant), consultant)
            return (
                replace(roster, queue=queue, assignments=(*roster.assignments, assignment)),
                assignment,
            )
    return Refusal(
        "NO_CONSULTANT_AVAILABLE",
        "R-FLOOR-3",
        "No consultant on today's roster can receive the customer.",
    )
