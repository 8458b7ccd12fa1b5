"""The day's registration outcomes, counted as they are decided (R-REG-2).

One counter per registrant, outcome and refusing rule, in one scope per local
day: the daily channel report reads the day's scope, a few items per
registrant, whatever the number of registrations behind them.
"""

from __future__ import annotations

from datetime import date


def outcomes_scope(day: date) -> str:
    return f"outcomes#{day.isoformat()}"


def outcome_count(
    day: date, claimant: str, outcome: str, rule: str | None = None, code: str | None = None
) -> tuple[str, str]:
    """(scope, name) of the counter an outcome adds one to: ``<claimant>#accepted``
    or ``<claimant>#refused#<rule>#<code>``."""
    name = f"{claimant}#{outcome}"
    if outcome == "refused":
        name += f"#{rule or ''}#{code or ''}"
    return outcomes_scope(day), name
