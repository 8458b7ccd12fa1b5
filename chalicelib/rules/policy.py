"""The project's policy: every number of RULES.md, with its default.

A project changes these in its stage configuration (``POLICY_OVERRIDES``),
never in code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class Policy:
    timezone: str = "Asia/Shanghai"
    # R-PROT-1 / R-PROT-2 / R-PROT-3
    max_recommendations: int = 2
    first_protection_days: int = 60
    second_protection_days: int = 30
    ecommerce_protection_days: int = 60
    ecommerce_counts_toward_limit: bool = True
    # R-REG-1 / R-REG-2: a late entry needs an approval and is accepted until
    # this local time on the calendar day after the visit.
    late_entry_cutoff: time = time(18, 0)
    # a channel's visit_at may be this far in the future (clock skew)
    visit_clock_skew_minutes: int = 5
    # R-REG-3
    distribution_min_lead_minutes: int = 30
    distribution_window_hours: int = 24
    # protection.ending_soon events (API.md)
    ending_soon_days: int = 7
    # R-RECLAIM-1
    reclaim_after_months: int = 3
    reclaim_day_of_month: int = 1
    reclaim_local_time: time = time(2, 0)
    # R-FINE-1..5, in yuan
    fine_unguided_lead: int = 100
    fine_greeting_skipped: int = 30
    fine_sign_in_refused: int = 100
    fine_form_refused: int = 100
    fine_flyer_impostor: int = 100
    # R-APPEAL-2 (decision 0012): a 判客 decision may be appealed this many
    # local days after it, same local time
    appeal_window_days: int = 3
    # 隐号报备 (decision 0013): an unresolved masked claim holds its mask this
    # long (a distribution registration keeps R-REG-3's window); a masked
    # registration is refused this long after a full-number registration of a
    # matching number began (it may still be deciding)
    masked_hold_hours: int = 24
    masked_in_flight_seconds: int = 30

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class PolicyError(ValueError):
    """A policy override names an unknown setting or has a wrong value."""


def policy_from_overrides(overrides: Mapping[str, Any]) -> Policy:
    """Build the policy from the defaults and a stage's overrides."""
    fields = {f.name: f for f in dataclasses.fields(Policy)}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise PolicyError(f"unknown policy settings: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, raw in overrides.items():
        default = getattr(Policy, name)
        values[name] = _coerce(name, raw, default)
    policy = Policy(**values)
    try:
        ZoneInfo(policy.timezone)  # fails early on an unknown zone
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PolicyError(f"unknown time zone: {policy.timezone!r}") from exc
    return policy


def _coerce(name: str, raw: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
    elif isinstance(default, int):
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            return raw
    elif isinstance(default, time):
        if isinstance(raw, str):
            try:
                return time.fromisoformat(raw)
            except ValueError:
                pass
    elif isinstance(default, str) and isinstance(raw, str):
        return raw
    raise PolicyError(f"policy setting {name} has an invalid value: {raw!r}")
