"""The mask's item (decision 0013), on moto and on dynalite alike: the
conditions that let a masked and a full-number registration see each other."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.rules.claims import Claim, Customer, Period, Source
from chalicelib.rules.masked import MaskedClaim
from chalicelib.store import Store
from tests.support import shanghai

NOW = shanghai("2026-11-27 10:00")
HOLD = timedelta(hours=24)


@pytest.fixture(params=["moto", pytest.param("dynalite", marks=pytest.mark.dynalite)])
def store(request) -> Store:
    return request.getfixturevalue("tables" if request.param == "moto" else "dynalite")


def masked(registration_id: str = "rg_m1", at=NOW) -> MaskedClaim:
    claim = Claim(registration_id, "reg_m", Source.CHANNEL, at, None, None, Period(at, at + HOLD))
    return MaskedClaim(claim, "王")


def test_an_empty_mask_is_free_and_a_note_records_the_customer(store):
    assert store.get_mask("m1").masked is None
    assert store.note_full_registration("m1", "k1", NOW)
    assert store.note_full_registration("m1", "k2", NOW + timedelta(seconds=1))
    mask = store.get_mask("m1")
    assert mask.customers == {"k1", "k2"}
    assert mask.full_at == NOW + timedelta(seconds=1)


def test_a_hold_returns_the_noted_customers_and_refuses_a_second_hold(store):
    store.note_full_registration("m1", "k1", NOW)
    held = store.hold_mask("m1", masked(), NOW)
    assert held is not None
    assert held.customers == {"k1"} and held.full_at == NOW
    assert held.masked == masked()
    assert store.hold_mask("m1", masked("rg_m2"), NOW + HOLD - timedelta(microseconds=1)) is None
    assert store.get_mask("m1").masked.claim.registration_id == "rg_m1"


def test_a_note_is_refused_while_the_mask_is_held_and_accepted_at_the_holds_end(store):
    store.hold_mask("m1", masked(), NOW)
    assert not store.note_full_registration("m1", "k1", NOW + HOLD - timedelta(microseconds=1))
    assert store.get_mask("m1").customers == frozenset()
    assert store.note_full_registration("m1", "k1", NOW + HOLD)


def test_a_hold_at_its_end_leaves_the_mask_to_the_next_masked_claim(store):
    store.hold_mask("m1", masked(), NOW)
    later = masked("rg_m2", NOW + HOLD)
    assert store.hold_mask("m1", later, NOW + HOLD) is not None
    assert store.get_mask("m1").masked == later


def test_withdrawing_frees_the_mask_but_only_for_its_own_claim(store):
    store.hold_mask("m1", masked(), NOW)
    store.withdraw_mask("m1", "rg_other", NOW)
    assert not store.note_full_registration("m1", "k1", NOW)
    store.withdraw_mask("m1", "rg_m1", NOW)
    assert store.get_mask("m1").masked == replace(masked(), withdrawn=True)
    assert store.note_full_registration("m1", "k1", NOW)


def test_resolving_frees_the_mask_and_names_the_customer(store):
    store.hold_mask("m1", masked(), NOW)
    store.resolve_mask("m1", "rg_m1", "k9", NOW)
    mask = store.get_mask("m1")
    assert mask.masked.resolved_to == "k9"
    assert mask.customers == {"k9"}
    assert not mask.masked.holds(NOW)
    assert store.note_full_registration("m1", "k1", NOW)


def test_an_excluded_number_may_be_noted_while_the_mask_is_held(store):
    store.hold_mask("m1", masked(), NOW)
    store.exclude_from_mask("m1", "rg_m1", "k2", NOW)
    assert store.get_mask("m1").excluded == {"k2"}
    assert store.get_mask("m1").masked.holds(NOW)
    assert store.note_full_registration("m1", "k2", NOW)
    assert not store.note_full_registration("m1", "k3", NOW)
    store.hold_mask("m1", masked("rg_m2", NOW + HOLD), NOW + HOLD)
    assert store.get_mask("m1").excluded == frozenset()


def test_a_new_hold_after_a_withdrawal_is_not_withdrawn(store):
    store.hold_mask("m1", masked(), NOW)
    store.withdraw_mask("m1", "rg_m1", NOW)
    assert store.hold_mask("m1", masked("rg_m2"), NOW) is not None
    assert store.get_mask("m1").masked.holds(NOW)


def test_customers_by_key_reads_the_stored_ones(store):
    store.commit_customer("k1", "13812345678", Customer(), NOW)
    found = store.customers_by_key(["k1", "k-missing"])
    assert {k: c.phone for k, c in found.items()} == {"k1": "13812345678"}
    assert store.customers_by_key([]) == {}
