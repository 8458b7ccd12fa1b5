"""The policy: RULES.md's defaults, overridable by configuration only."""

from datetime import time

import pytest

from chalicelib.rules.policy import Policy, PolicyError, policy_from_overrides


def test_defaults_are_the_rulebooks_numbers():
    p = Policy()
    assert (p.first_protection_days, p.second_protection_days, p.max_recommendations) == (60, 30, 2)
    assert (p.distribution_min_lead_minutes, p.distribution_window_hours) == (30, 24)
    assert p.late_entry_cutoff == time(18, 0)
    assert p.timezone == "Asia/Shanghai"
    assert (p.ecommerce_protection_days, p.ecommerce_counts_toward_limit) == (60, True)
    fines = (
        p.fine_unguided_lead,
        p.fine_greeting_skipped,
        p.fine_sign_in_refused,
        p.fine_form_refused,
        p.fine_flyer_impostor,
    )
    assert fines == (100, 30, 100, 100, 100)


def test_overrides_replace_only_what_they_name():
    p = policy_from_overrides({"first_protection_days": 90, "late_entry_cutoff": "17:30"})
    assert p.first_protection_days == 90
    assert p.late_entry_cutoff == time(17, 30)
    assert p.second_protection_days == 30


@pytest.mark.parametrize(
    "overrides",
    [
        {"first_protection_dayz": 90},
        {"first_protection_days": "90"},
        {"first_protection_days": -1},
        {"ecommerce_counts_toward_limit": 1},
        {"late_entry_cutoff": "6pm"},
        {"timezone": "Mars/Olympus"},
    ],
)
def test_bad_overrides_fail_loudly(overrides):
    with pytest.raises(PolicyError):
        policy_from_overrides(overrides)
