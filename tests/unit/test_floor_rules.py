"""The floor's pure rules: R-REG-3 visit bounds, R-FLOOR-3 rotation, R-FLOOR-5 due forms."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from chalicelib.rules.claims import Customer, Source, Status
from chalicelib.rules.floor import (
    Decision,
    Form,
    FormState,
    Visit,
    arrival_logged,
    check_distribution_visit,
    claim_for_decision,
    confirmed,
    form_state,
)
from chalicelib.rules.policy import Policy
from chalicelib.rules.refusals import Refusal
from chalicelib.rules.rotation import Roster, on_duty, take_turn
from chalicelib.rules.sweep import due_between
from tests.unit.rulebook import accepted, refused, shanghai

REGISTERED = shanghai("2026-11-27 10:00")
POLICY = Policy()
ZONE = POLICY.zone


def visit(at, accompanied_by: str | None = "reg_agency") -> Visit:
    return Visit(
        visit_id="vi_1",
        group_id="vi_1",
        arrived_at=at,
        day=at.astimezone(ZONE).date(),
        party_size=1,
        greeted=True,
        logged_by="stf_desk",
        accompanied_by=accompanied_by,
        customer_key="k",
    )


def hold():
    customer, claim = accepted(
        Customer(),
        REGISTERED,
        source=Source.DISTRIBUTION,
        registrant="reg_agency",
        visit_at=REGISTERED + timedelta(hours=2),
    )
    return customer, claim


# -- R-REG-3 ----------------------------------------------------------------------


def test_a_visit_30_minutes_after_registering_is_recognized_and_a_second_less_is_not():
    """R-REG-3: at least 30 minutes after the registration."""
    _, claim = hold()
    assert check_distribution_visit(claim, visit(REGISTERED + timedelta(minutes=30))) is None
    early = check_distribution_visit(claim, visit(REGISTERED + timedelta(minutes=30, seconds=-1)))
    assert (early.code, early.rule) == ("VISIT_NOT_RECOGNIZED", "R-REG-3")


def test_a_visit_in_the_windows_last_second_is_recognized_and_at_its_end_is_not():
    """R-REG-3: within 24 hours of registering, the end excluded."""
    _, claim = hold()
    end = REGISTERED + timedelta(hours=24)
    assert check_distribution_visit(claim, visit(end - timedelta(seconds=1))) is None
    assert check_distribution_visit(claim, visit(end)).code == "VISIT_NOT_RECOGNIZED"


def test_a_visit_accompanied_by_another_agency_is_not_recognized():
    """R-REG-3: accompanied by the registering agency, not any agency."""
    _, claim = hold()
    refusal = check_distribution_visit(claim, visit(REGISTERED + timedelta(hours=1), "reg_other"))
    assert refusal.rule == "R-REG-3"


def test_a_confirmed_hold_is_protected_60_days_from_the_visit():
    """R-PROT-2: the protection starts at the confirmed visit, not at registration."""
    _, claim = hold()
    arrived = REGISTERED + timedelta(hours=3)
    done = confirmed(claim, visit(arrived), POLICY)
    assert done.protection.starts_at == arrived
    assert done.protection.ends_at == shanghai("2027-01-26 13:00")
    assert done.confirmed_visit_id == "vi_1"
    assert done.status(REGISTERED + timedelta(days=59)) is Status.PROTECTED


def test_a_lapsed_hold_cannot_be_confirmed_once_someone_else_holds_the_customer():
    """R-DUP-1 comes first: after the window another recommender may have won."""
    customer, claim = hold()
    later = REGISTERED + timedelta(hours=25)
    customer, _ = accepted(customer, later, registrant="reg_channel")
    outcome = claim_for_decision(
        customer, claim.registration_id, visit(REGISTERED + timedelta(hours=23)), later, ZONE
    )
    assert isinstance(outcome, Refusal)
    assert outcome.code == "CLAIM_NOT_LIVE"


def test_a_hold_visited_inside_its_window_does_not_lapse_before_the_decision_R_REG_3():
    """R-REG-3: an *unvisited* registration lapses when its window closes. The
    issue's case: D registers at 09:00 (window to 09:00 next day); its customer
    arrives with D at 08:50 next day. At 09:01 the hold is still live, a
    channel is refused (R-DUP-1), no lapse is due, and 判客 at 09:10 confirms
    D from 08:50."""
    registered = shanghai("2026-11-27 09:00")
    customer, claim = accepted(
        Customer(),
        registered,
        source=Source.DISTRIBUTION,
        registrant="reg_agency",
        visit_at=registered + timedelta(hours=1),
    )
    arrival = replace(visit(shanghai("2026-11-28 08:50")), logged_at=shanghai("2026-11-28 08:50"))
    kept = arrival_logged(customer, arrival, shanghai("2026-11-28 08:50"), ZONE)
    assert kept is not None
    (held,) = kept.claims
    assert held.held_until == shanghai("2026-11-29 00:00")  # 判客 is due on the visit's day
    assert held.status(shanghai("2026-11-28 09:01")) is Status.PROVISIONAL
    assert [d.notice for d in due_between(kept, None, shanghai("2026-11-28 09:01"), POLICY)] == []
    assert refused(kept, shanghai("2026-11-28 09:04"), registrant="reg_b").rule == "R-DUP-1"
    outcome = claim_for_decision(
        kept, claim.registration_id, arrival, shanghai("2026-11-28 09:10"), ZONE
    )
    assert outcome == held
    assert confirmed(held, arrival, POLICY).protection.starts_at == shanghai("2026-11-28 08:50")
    # left undecided, it lapses when 判客 could no longer confirm it
    (lapse,) = due_between(kept, None, shanghai("2026-11-29 00:00"), POLICY)
    assert lapse.at == shanghai("2026-11-29 00:00")
    assert held.status(shanghai("2026-11-29 00:00")) is Status.LAPSED


def test_an_unvisited_hold_still_lapses_when_its_window_closes():
    """R-REG-3: without its agency's arrival the window alone decides."""
    customer, claim = hold()
    end = claim.visit_window.ends_at
    assert claim.status(end) is Status.LAPSED
    (lapse,) = due_between(customer, None, end, POLICY)
    assert lapse.at == end


def test_only_the_holding_agencys_arrival_inside_the_window_keeps_the_hold():
    """R-REG-3: accompanied by that agency, 30 minutes or more after registering."""
    customer, _ = hold()
    at = REGISTERED + timedelta(hours=1)
    assert arrival_logged(customer, visit(at, "reg_other"), at, ZONE) is None
    early = REGISTERED + timedelta(minutes=29)
    assert arrival_logged(customer, visit(early), early, ZONE) is None
    assert arrival_logged(customer, visit(at), at, ZONE) is not None


def test_an_arrival_known_after_the_window_closed_never_revives_the_hold():
    """R-REG-3 / R-DUP-1: learnt at a sign-in after the window closed, the
    visit keeps nothing; and once another recommender holds the customer, not
    even a request that began before the window closed may keep it."""
    customer, claim = hold()
    arrival = visit(REGISTERED + timedelta(hours=23))
    closed = claim.visit_window.ends_at
    assert arrival_logged(customer, arrival, closed, ZONE) is None
    taken, _ = accepted(customer, closed, registrant="reg_channel")
    assert arrival_logged(taken, arrival, closed - timedelta(seconds=1), ZONE) is None


# -- R-FLOOR-5 ----------------------------------------------------------------------


def test_a_form_is_due_by_local_midnight_of_the_visits_day():
    """R-FLOOR-5: a visit at 23:30 Shanghai is overdue at 00:00 Shanghai (16:00 UTC)."""
    v = visit(shanghai("2026-11-27 23:30"))
    decided = v.with_decision(
        Decision("dc_1", "rg_1", "reg_a", Source.CHANNEL, "stf_a", v.arrived_at)
    )
    assert form_state(v, shanghai("2026-11-28 09:00"), ZONE) is FormState.NOT_REQUIRED
    assert form_state(decided, shanghai("2026-11-27 23:59"), ZONE) is FormState.PENDING
    assert form_state(decided, shanghai("2026-11-28 00:00"), ZONE) is FormState.OVERDUE
    filed = replace(decided, form=Form("stf_c", shanghai("2026-11-28 09:00"), None))
    assert form_state(filed, shanghai("2026-11-28 09:00"), ZONE) is FormState.FILED


# -- R-FLOOR-3 ----------------------------------------------------------------------


def turn(roster: Roster, visit_id: str, *, enabled=("a", "b", "c"), skips=None):
    outcome = take_turn(
        roster,
        visit_id,
        enabled=frozenset(enabled),
        skips=skips or {},
        at=REGISTERED,
        by="stf_desk",
    )
    assert not isinstance(outcome, Refusal), outcome
    return outcome


def test_the_consultant_who_receives_goes_to_the_back():
    roster = on_duty(Roster(REGISTERED.date()), ("a", "b", "c"), "stf_mgr")
    roster, first = turn(roster, "v1")
    assert first.consultant_id == "a"
    assert roster.queue == ("b", "c", "a")


def test_a_skipped_consultant_keeps_the_head_of_the_queue():
    """R-FLOOR-3: the skipped consultant gets the next turn back."""
    roster = on_duty(Roster(REGISTERED.date()), ("a", "b", "c"), "stf_mgr")
    roster, got = turn(roster, "v1", skips={"a": "busy"})
    assert got.consultant_id == "b"
    assert roster.queue == ("a", "c", "b")


def test_skipping_someone_off_duty_is_refused():
    roster = on_duty(Roster(REGISTERED.date()), ("a",), "stf_mgr")
    outcome = take_turn(
        roster, "v1", enabled=frozenset({"a"}), skips={"z": "?"}, at=REGISTERED, by="d"
    )
    assert isinstance(outcome, Refusal)
    assert outcome.rule == "R-FLOOR-3"


def test_a_new_duty_list_keeps_the_turns_of_those_who_stay():
    roster = Roster(REGISTERED.date(), queue=("b", "c", "a"))
    assert on_duty(roster, ("a", "d", "b"), "m").queue == ("b", "a", "d")


def test_a_visit_is_read_by_the_floor_roles_and_its_receiving_consultant_only():
    from chalicelib.rules.staff import FLOOR_READERS, Role, Staff, reads_visit

    def member(role: Role, staff_id: str = "stf_1") -> Staff:
        return Staff(staff_id, "x", role, True)

    for role in FLOOR_READERS:
        assert reads_visit(member(role), None)
        assert reads_visit(member(role), "stf_other")
    assert reads_visit(member(Role.CONSULTANT), "stf_1")
    assert not reads_visit(member(Role.CONSULTANT), "stf_other")
    assert not reads_visit(member(Role.CONSULTANT), None)  # not received yet
