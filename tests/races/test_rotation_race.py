"""R-FLOOR-3 under contention: two front-desk devices asking for the next
consultant at the same instant never get the same one, and one visit asked
for twice at once gets one consultant.

On dynalite (atomic conditional writes), through the services from threads.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import date
from typing import Any

import pytest

from chalicelib.rules.staff import Role
from chalicelib.services import container
from chalicelib.services.people import staff as staff_service
from chalicelib.store import Stale, Store
from tests.races.test_exactly_one_winner import NOW, fire_together

pytestmark = pytest.mark.dynalite

ROUNDS = 60


class LostTurns:
    """Counts roster writes that lost their condition: proof the devices met."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self._lock = threading.Lock()
        save = store.save_roster

        def counting(*args: Any, **kwargs: Any) -> Any:
            try:
                return save(*args, **kwargs)
            except Stale:
                with self._lock:
                    self.count += 1
                raise

        monkeypatch.setattr(store, "save_roster", counting)


def arrivals(store: Store, n: int) -> list[str]:
    desk = staff_service.create_staff(store, "前台", Role.FRONT_DESK, NOW)
    visits = container.visits()
    body = json.dumps({"party_size": 1, "greeted": True}).encode()
    return [visits.log_arrival(desk, body, None, NOW)[0]["id"] for _ in range(n)]


@pytest.mark.usefixtures("tight_switching")
def test_two_devices_asking_at_once_never_get_the_same_consultant(
    dynalite: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R-FLOOR-3: 60 rounds of two devices assigning two customers at the same
    instant: every round hands out two different consultants, and over the
    day everyone on duty receives the same number of customers."""
    lost = LostTurns(dynalite, monkeypatch)
    consultants = [
        staff_service.create_staff(dynalite, f"顾问{i}", Role.CONSULTANT, NOW) for i in range(4)
    ]
    manager = staff_service.create_staff(dynalite, "经理", Role.SALES_MANAGER, NOW)
    desks = [staff_service.create_staff(dynalite, f"前台{i}", Role.FRONT_DESK, NOW) for i in (1, 2)]
    rotation = container.rotation()
    roster_body = json.dumps({"consultants": [c.staff_id for c in consultants]}).encode()
    rotation.set_roster(manager, "2026-11-27", roster_body, NOW)
    visit_ids = arrivals(dynalite, 2 * ROUNDS)

    bad: list[str] = []
    received: Counter[str] = Counter()
    for n in range(ROUNDS):
        pair = visit_ids[2 * n : 2 * n + 2]
        answers = fire_together(
            [
                lambda d=d, v=v: rotation.assign(d, v, b"{}", NOW)
                for d, v in zip(desks, pair, strict=True)
            ]
        )
        got = [a[0]["consultant"]["id"] for a in answers]
        received.update(got)
        if len(set(got)) != 2:
            bad.append(f"round {n}: both devices got {got[0]}")
    assert not bad, "\n".join(bad[:10])
    assert set(received.values()) == {2 * ROUNDS // len(consultants)}
    assert lost.count >= ROUNDS // 4, f"only {lost.count} lost roster writes: no contention"


@pytest.mark.usefixtures("tight_switching")
def test_one_visit_assigned_from_two_devices_at_once_gets_one_consultant(
    dynalite: Store,
) -> None:
    consultants = [
        staff_service.create_staff(dynalite, f"顾问{i}", Role.CONSULTANT, NOW) for i in range(3)
    ]
    manager = staff_service.create_staff(dynalite, "经理", Role.SALES_MANAGER, NOW)
    desks = [staff_service.create_staff(dynalite, f"前台{i}", Role.FRONT_DESK, NOW) for i in (1, 2)]
    rotation = container.rotation()
    roster_body = json.dumps({"consultants": [c.staff_id for c in consultants]}).encode()
    rotation.set_roster(manager, "2026-11-27", roster_body, NOW)
    for visit_id in arrivals(dynalite, 20):
        answers = fire_together(
            [lambda d=d, v=visit_id: rotation.assign(d, v, b"{}", NOW) for d in desks]
        )
        assert answers[0][0]["consultant"] == answers[1][0]["consultant"]
        assert sorted(created for _, created in answers) == [False, True]
    roster = dynalite.get_roster(date(2026, 11, 27))
    assert len(roster.assignments) == 20
