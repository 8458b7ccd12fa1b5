"""R-FINE-1..5 under contention: two managers answering one appeal at the
same instant, and one violation proposed twice at once (two sweeps, or an
arrival retried). One write wins; the ledger and its audit trail hold one
answer. On dynalite (atomic conditional writes), through the services."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import pytest

from chalicelib.errors import Failed
from chalicelib.rules.fines import Kind, Status
from chalicelib.rules.floor import Visit
from chalicelib.rules.staff import Role
from chalicelib.services.fines.ledger import Fines
from chalicelib.services.people import staff as staff_service
from chalicelib.settings import settings
from chalicelib.store import Store
from tests.races.test_exactly_one_winner import NOW, fire_together

pytestmark = pytest.mark.dynalite

ROUNDS = 20


def attempt(call):  # type: ignore[no-untyped-def]
    """The answer, or the refusal's code."""

    def run() -> str:
        try:
            return str(call()["status"])
        except Failed as failed:
            return failed.problem.code

    return run


@pytest.mark.usefixtures("tight_switching")
def test_two_managers_answering_one_appeal_at_once_give_one_answer(dynalite: Store) -> None:
    """申诉 answered once: one manager cancels while another upholds, at the
    same instant, 20 times over. One answer stands, the other is refused with
    FINE_STATE_CONFLICT, and the audit trail has exactly one answer."""
    ledger = Fines(dynalite, settings())
    consultant = staff_service.create_staff(dynalite, "顾问", Role.CONSULTANT, NOW)
    managers = [
        staff_service.create_staff(dynalite, f"经理 {i}", Role.SALES_MANAGER, NOW) for i in (1, 2)
    ]
    outcomes: Counter[str] = Counter()
    for n in range(ROUNDS):
        doc = {"kind": "R-FINE-3", "payer_id": consultant.staff_id}
        at = NOW + timedelta(minutes=n)
        fine = ledger.record(managers[0], json.dumps(doc).encode(), at)
        ledger.appeal(
            consultant.staff_id, fine["id"], b'{"reason": "r"}', at + timedelta(seconds=1)
        )
        answers = [b'{"outcome": "cancelled"}', b'{"outcome": "upheld"}']
        got = fire_together(
            [
                attempt(
                    lambda m=m, a=a, i=fine["id"], at=at: ledger.decide_appeal(
                        m, i, a, at + timedelta(seconds=2)
                    )
                )
                for m, a in zip(managers, answers, strict=True)
            ]
        )
        (winner,) = set(got) - {"FINE_STATE_CONFLICT"}
        assert got.count("FINE_STATE_CONFLICT") == 1, got
        outcomes[winner] += 1
        stored = dynalite.get_fine(fine["id"])
        assert stored is not None and stored.status.value == winner
        trail = [e.action for e in dynalite.audit_trail(f"fine:{fine['id']}")]
        assert trail == ["fine.recorded", "fine.appealed", f"fine.appeal_{winner}"]
    assert sum(outcomes.values()) == ROUNDS


@pytest.mark.usefixtures("tight_switching")
def test_one_violation_proposed_twice_at_once_is_one_proposal(dynalite: Store) -> None:
    """R-FINE-2 seen twice at the same instant (a retried arrival, two
    sweeps): one proposal, one audit entry."""
    ledgers = [Fines(dynalite, settings()) for _ in range(2)]
    for n in range(ROUNDS):
        visit = Visit(
            visit_id=f"vi_race{n}",
            group_id=f"vi_race{n}",
            arrived_at=NOW,
            day=date(2026, 11, 27),
            party_size=1,
            greeted=False,
            logged_by="stf_desk",
        )
        fire_together([lambda f=f, v=visit: f.propose_from_arrival(v, NOW) for f in ledgers])
        (proposal,) = [
            f
            for f in dynalite.waiting_fines(Status.PROPOSED, "2026-11")
            if f.visit_id == visit.visit_id
        ]
        assert proposal.kind is Kind.GREETING_SKIPPED
        trail = dynalite.audit_trail(f"fine:{proposal.fine_id}")
        assert [e.action for e in trail] == ["fine.proposed"]
