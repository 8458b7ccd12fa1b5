"""The store's contract, run against moto and against dynalite alike, so that
neither fake can drift from what the services rely on."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pynamodb.exceptions import PutError

from chalicelib.rules.claims import Claim, Customer, Source, Tenure
from chalicelib.rules.policy import Policy
from chalicelib.rules.reclaim import reclaimed
from chalicelib.rules.records import AuditEntry, StoredAnswer
from chalicelib.store import Store, VersionConflict
from chalicelib.store.answers import Reservation
from tests.support import make_registrant, shanghai

NOW = shanghai("2026-11-27 10:00")


@pytest.fixture(params=["moto", pytest.param("dynalite", marks=pytest.mark.dynalite)])
def store(request) -> Store:
    return request.getfixturevalue("tables" if request.param == "moto" else "dynalite")


def claim(registration_id: str, registrant_id: str = "reg_a") -> Claim:
    return Claim(registration_id, registrant_id, Source.CHANNEL, NOW, 1, None, None)


def test_first_commit_creates_the_customer_and_a_second_blind_create_conflicts(store):
    """R-DUP-1's foundation: attribute_not_exists lets exactly one creator win."""
    store.commit_customer("k1", "13812345678", Customer().with_claim(claim("rg_1")), NOW)
    with pytest.raises(VersionConflict):
        store.commit_customer("k1", "13812345678", Customer().with_claim(claim("rg_2")), NOW)
    assert [c.registration_id for c in store.get_customer("k1").claims] == ["rg_1"]


def test_commit_on_a_stale_version_conflicts_and_changes_nothing(store, request):
    store.commit_customer("k1", "13812345678", Customer().with_claim(claim("rg_1")), NOW)
    read = store.get_customer("k1")
    store.commit_customer("k1", "13812345678", read.with_claim(claim("rg_2", "reg_b")), NOW)
    with pytest.raises(VersionConflict) as lost:
        store.commit_customer("k1", "13812345678", read.with_claim(claim("rg_3", "reg_c")), NOW)
    current = store.get_customer("k1")
    assert [c.registration_id for c in current.claims] == ["rg_1", "rg_2"]
    if "dynalite" in request.node.callspec.id:
        assert lost.value.current is None  # dynalite ignores ReturnValuesOnConditionCheckFailure
    else:
        assert lost.value.current == current  # the loser learns the winner without a read


def audit(at=NOW, entry_id="au_1", subject="customer:k1"):
    return AuditEntry(subject, entry_id, at, "registration.refused", "reg_a", "req-1", "R-DUP-1")


def pending(key="key-1", at=NOW, request_hash="h"):
    """A reservation: the answer of a request still being decided."""
    return StoredAnswer("reg_a", key, request_hash, None, None, at)


STALE_BEFORE = NOW - timedelta(seconds=30)


def test_a_free_key_is_reserved_and_the_next_reservation_sees_it_held(store):
    assert store.reserve_answer(pending(), stale_before=STALE_BEFORE) == Reservation()
    later = pending(at=NOW + timedelta(seconds=1), request_hash="other")
    held = store.reserve_answer(later, stale_before=STALE_BEFORE).held
    assert held == pending()
    assert held.pending


def test_a_stored_answer_holds_its_key_for_24_hours(store):
    answer = StoredAnswer("reg_a", "key-1", "h", "DUPLICATE_LIVE_CLAIM", "{}", NOW)
    store.save_refusal(answer, audit())
    just_before = pending(at=NOW + timedelta(hours=24) - timedelta(seconds=1))
    assert store.reserve_answer(just_before, stale_before=STALE_BEFORE).held == answer
    at_24_hours = pending(at=NOW + timedelta(hours=24))
    assert store.reserve_answer(at_24_hours, stale_before=NOW) == Reservation()
    assert store.get_answer("reg_a", "key-1") == at_24_hours


def test_a_stale_reservation_is_taken_over_and_a_fresh_one_is_not(store):
    store.reserve_answer(pending(), stale_before=STALE_BEFORE)
    retry = pending(at=NOW + timedelta(seconds=29))
    fresh = store.reserve_answer(retry, stale_before=NOW - timedelta(seconds=1))
    assert fresh.held == pending()
    at_30_seconds = pending(at=NOW + timedelta(seconds=30))
    taken = store.reserve_answer(at_30_seconds, stale_before=NOW)  # stale from exactly then
    assert taken == Reservation(taken_over=True)
    assert store.get_answer("reg_a", "key-1") == at_30_seconds


def test_a_released_reservation_is_taken_over_at_once(store):
    store.reserve_answer(pending(), stale_before=STALE_BEFORE)
    store.release_answer(pending(at=NOW - timedelta(seconds=5)))  # not its own: no effect
    retry = pending(at=NOW + timedelta(seconds=1))
    assert store.reserve_answer(retry, stale_before=STALE_BEFORE).held == pending()
    store.release_answer(pending())
    assert store.reserve_answer(retry, stale_before=STALE_BEFORE) == Reservation(taken_over=True)


def test_a_key_with_an_answer_cannot_be_released(store):
    answer = StoredAnswer("reg_a", "key-1", "h", None, '{"ok":1}', NOW)
    store.save_refusal(answer, audit())
    store.release_answer(pending())
    assert store.get_answer("reg_a", "key-1") == answer


def test_a_registrant_is_kept_ten_seconds_for_signing_and_forgotten_when_written(store):
    registrant = make_registrant(Source.CHANNEL)
    assert store.signing_registrant(registrant.registrant_id, NOW) == (None, False)
    store.put_registrant(registrant, NOW)
    assert store.signing_registrant(registrant.registrant_id, NOW) == (registrant, False)
    assert store.signing_registrant(registrant.registrant_id, NOW + timedelta(seconds=9)) == (
        registrant,
        True,
    )
    store.set_registrant_enabled(registrant.registrant_id, False)
    found, kept = store.signing_registrant(registrant.registrant_id, NOW + timedelta(seconds=9))
    assert (found.enabled, kept) == (False, False)
    later = NOW + timedelta(seconds=19)
    assert store.signing_registrant(registrant.registrant_id, later)[1] is False


def test_counts_add_up_per_scope(store):
    store.add_count("fines", "2026-11#due")
    store.add_count("fines", "2026-11#due")
    store.add_count("fines", "2026-11#proposed", 3)
    store.add_count("ending", "2026-11-28")
    assert store.counts("fines") == {"2026-11#due": 2, "2026-11#proposed": 3}
    assert store.counts("pool") == {}


def outcome(at, entry_id, action, claimant, rule=None, code=None, day="2026-11-27"):
    """A registration outcome as a registration writes it (R-REG-2)."""
    return AuditEntry(
        f"customer:{entry_id}",
        entry_id,
        at,
        action,
        "reg_a",
        "req-1",
        rule,
        code,
        day=day,
        claimant=claimant,
    )


def test_the_days_outcomes_are_counted_per_claimant_from_the_audit_trail(store):
    """R-REG-2: accepted per claimant, refused per claimant, rule and code; a
    walk-in (no claimant) and another day's outcomes are not counted."""
    refused = ("registration.refused", "reg_b", "R-DUP-1", "DUPLICATE_LIVE_CLAIM")
    for entry in (
        outcome(NOW, "au_1", "registration.accepted", "reg_a"),
        outcome(NOW, "au_2", "registration.accepted", "reg_a"),
        outcome(NOW, "au_3", *refused),
        outcome(NOW, "au_4", *refused),
        outcome(NOW, "au_5", "registration.refused", "reg_b", None, "NO_RULE"),
        outcome(NOW, "au_6", "registration.accepted", None),  # a consultant's walk-in
        outcome(NOW, "au_7", "registration.accepted", "reg_a", day="2026-11-28"),
        audit(NOW, "au_8"),  # not an outcome: no day
    ):
        store.append_audit(entry)
    assert store.outcome_counts(date(2026, 11, 27)) == {
        "reg_a#accepted": 2,
        "reg_b#refused#R-DUP-1#DUPLICATE_LIVE_CLAIM": 2,
        "reg_b#refused##NO_RULE": 1,
    }
    assert store.outcome_counts(date(2026, 11, 28)) == {"reg_a#accepted": 1}
    assert store.outcome_counts(date(2026, 11, 29)) == {}


def test_audit_trail_is_appended_in_order_and_never_overwritten(store):
    store.save_refusal(StoredAnswer("reg_a", "k", "h", "X", "{}", NOW), audit(NOW, "au_2"))
    store.append_audit(audit(NOW - timedelta(seconds=1), "au_1"))
    with pytest.raises(PutError):
        store.append_audit(audit(NOW - timedelta(seconds=1), "au_1"))
    assert [e.entry_id for e in store.audit_trail("customer:k1")] == ["au_1", "au_2"]
    assert store.audit_trail("customer:other") == []


def test_enabling_an_unknown_registrant_reports_none(store):
    assert store.set_registrant_enabled("reg_nobody", False) is None
    registrant = make_registrant(Source.ECOMMERCE)
    store.put_registrant(registrant, NOW)
    assert store.set_registrant_enabled(registrant.registrant_id, False).enabled is False
    assert store.get_registrant(registrant.registrant_id).enabled is False


def test_a_consultants_customers_are_the_open_tenures_latest_visit_first(store):
    """The sparse by_consultant index: written with the customer, in the
    same put; gone when the tenure ends (R-RECLAIM-1); paged by position."""

    def owned(consultant: str, visit: str) -> Customer:
        at = shanghai(visit)
        return Customer(tenures=(Tenure(consultant, at, "walk_in"),), last_visit_at=at)

    store.commit_customer("k1", "13800000001", owned("stf_a", "2026-11-20 10:00"), NOW)
    store.commit_customer("k2", "13800000002", owned("stf_a", "2026-11-22 10:00"), NOW)
    store.commit_customer("k3", "13800000003", owned("stf_b", "2026-11-21 10:00"), NOW)
    store.commit_customer("k4", "13800000004", Customer().with_claim(claim("rg_1")), NOW)
    page = store.customers_of("stf_a", None, 10)
    assert [key for _, key, _ in page] == ["k2", "k1"]
    assert page[0][2].tenures[0].consultant_id == "stf_a"
    (first,) = store.customers_of("stf_a", None, 1)
    assert [key for _, key, _ in store.customers_of("stf_a", first[0], 10)] == ["k1"]
    assert store.customers_of("stf_nobody", None, 10) == []
    # reclaimed: the tenure ends and the customer leaves the consultant's list
    current = store.get_customer("k1")
    pooled = reclaimed(current, shanghai("2027-03-01 02:00"), Policy())
    store.commit_customer("k1", "13800000001", pooled, NOW)
    assert [key for _, key, _ in store.customers_of("stf_a", None, 10)] == ["k2"]
