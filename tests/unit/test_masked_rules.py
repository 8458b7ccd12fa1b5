"""隐号报备 on the pure rules (decision 0013): the mask, the hold, R-DUP-1
across masks and numbers, and the resolution at the visit."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.rules.claims import Claim, Customer, Source, Status
from chalicelib.rules.masked import (
    MaskedClaim,
    check_masked,
    masked_hold,
    normalize_mask,
    resolved_claim,
    surname_of,
)
from chalicelib.rules.policy import Policy
from chalicelib.rules.refusals import Refusal
from tests.unit.rulebook import POLICY, accepted, recommend, shanghai

START = shanghai("2026-11-27 10:30")


def hold(source: Source = Source.CHANNEL, at=START, policy: Policy = POLICY) -> MaskedClaim:
    visit_at = at + timedelta(hours=2) if source is Source.DISTRIBUTION else None
    claim = recommend(Customer(), at, source=source, registrant="reg_m", visit_at=visit_at)
    assert isinstance(claim, Claim)
    return MaskedClaim(masked_hold(claim, at, policy), surname_of("王先生"))


@pytest.mark.parametrize(
    ("raw", "mask"),
    [
        ("138****5678", "138****5678"),
        ("+86 138-****-5678", "138****5678"),
        ("86138****5678", "138****5678"),
        ("13812345678", None),  # a full number is not a mask
        ("138***5678", None),
        ("128****5678", None),  # not a mainland mobile prefix
        ("138****567", None),
        ("138＊＊＊＊5678", None),  # full-width asterisks are not folded
    ],
)
def test_a_mask_is_the_first_3_and_last_4_digits_of_a_mainland_mobile(raw, mask):
    assert normalize_mask(raw) == mask


def test_the_surname_is_the_first_character_case_folded():
    assert surname_of("王先生") == surname_of(" 王小明") == "王"
    assert surname_of("Wang Lei") == surname_of("wang") == "w"


def test_an_unresolved_channel_claim_holds_24_hours_and_then_lapses():
    masked = hold()
    assert masked.claim.protection is None and masked.claim.ordinal is None
    end = START + timedelta(hours=24)
    assert masked.holds_until() == end
    assert masked.holds(end - timedelta(microseconds=1))
    assert masked.claim.status(end - timedelta(microseconds=1)) is Status.PROVISIONAL
    assert not masked.holds(end)
    assert masked.claim.status(end) is Status.LAPSED


def test_a_masked_distribution_registration_keeps_its_r_reg_3_window():
    masked = hold(Source.DISTRIBUTION)
    assert masked.claim.visit_window.starts_at == START + timedelta(minutes=30)
    assert masked.holds_until() == START + timedelta(hours=24)


def test_the_hold_length_is_a_policy_setting():
    assert hold(policy=Policy(masked_hold_hours=2)).holds_until() == START + timedelta(hours=2)


def test_a_resolved_or_withdrawn_claim_no_longer_holds():
    masked = hold()
    assert not replace(masked, resolved_to="key").holds(START)
    assert not replace(masked, withdrawn=True).holds(START)


def test_a_masked_registration_is_refused_while_another_mask_claim_holds():
    refusal = check_masked(hold(), [], None, START + timedelta(hours=1), POLICY)
    assert (refusal.code, refusal.rule) == ("MASKED_CLAIM_MATCH", "R-DUP-1")


def test_a_masked_registration_is_refused_while_a_matching_customer_has_a_live_claim():
    customer, claim = accepted(Customer(), START)
    last = claim.protection.ends_at - timedelta(microseconds=1)
    assert check_masked(None, [customer], None, last, POLICY).code == "MASKED_CLAIM_MATCH"
    assert check_masked(None, [customer], None, claim.protection.ends_at, POLICY) is None


def test_a_full_number_registration_may_still_be_deciding_for_30_seconds():
    began = START
    assert check_masked(None, [], began, began + timedelta(seconds=29.999), POLICY) is not None
    assert check_masked(None, [], began, began + timedelta(seconds=30), POLICY) is None


def test_a_lapsed_mask_claim_leaves_the_mask_free():
    assert check_masked(hold(), [], None, START + timedelta(hours=24), POLICY) is None


def test_resolved_channel_claim_is_protected_60_days_from_its_registration():
    """R-PROT-2: protection starts at registration, not at the visit."""
    at = START + timedelta(hours=3)
    claim = resolved_claim(hold(), Customer(), "王小明", at, POLICY)
    assert isinstance(claim, Claim)
    assert claim.ordinal == 1
    assert claim.protection.starts_at == START
    assert claim.protection.ends_at == shanghai("2027-01-26 10:30")
    assert claim.visit_window is None


def test_resolved_claim_is_the_customers_second_recommendation_after_one_ended():
    """R-PROT-1 is counted on the customer the mask turned out to be."""
    customer, _ = accepted(Customer(), START - timedelta(days=61), registrant="reg_a")
    claim = resolved_claim(hold(), customer, "王小明", START, POLICY)
    assert claim.ordinal == 2
    assert claim.protection.ends_at == START + timedelta(days=30)


def test_resolution_over_the_limit_is_refused_by_r_prot_1():
    customer, first = accepted(Customer(), START - timedelta(days=200), registrant="reg_a")
    customer, _ = accepted(customer, first.protection.ends_at, registrant="reg_b")
    refusal = resolved_claim(hold(), customer, "王先生", START, POLICY)
    assert isinstance(refusal, Refusal)
    assert (refusal.code, refusal.rule) == ("RECOMMENDATION_LIMIT", "R-PROT-1")


def test_another_surname_resolves_nothing():
    assert resolved_claim(hold(), Customer(), "李女士", START, POLICY) is None


def test_a_lapsed_masked_claim_resolves_nothing():
    assert resolved_claim(hold(), Customer(), "王", START + timedelta(hours=24), POLICY) is None


def test_a_distribution_hold_is_resolved_as_a_hold_for_the_ownership_decision():
    masked = hold(Source.DISTRIBUTION)
    claim = resolved_claim(masked, Customer(), "王", START + timedelta(hours=2), POLICY)
    assert claim == masked.claim


def test_an_ecommerce_report_not_counted_toward_the_limit_resolves_without_an_ordinal():
    policy = Policy(ecommerce_counts_toward_limit=False)
    masked = hold(Source.ECOMMERCE, policy=policy)
    claim = resolved_claim(masked, Customer(), "王", START, policy)
    assert claim.ordinal is None
    assert claim.protection.ends_at == START + timedelta(days=60)
