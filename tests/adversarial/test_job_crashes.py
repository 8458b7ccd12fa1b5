"""Jobs under crashes: the sweep and the reclaim die right after each of
their writes in turn; the rerun reaches exactly the tables (item by item)
and the events of a run that never crashed (R-PROT-2, R-REG-3, R-FINE-4,
R-RECLAIM-1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.rules.claims import Source
from chalicelib.rules.staff import Role
from chalicelib.services import container
from chalicelib.store.tables import ALL_MODELS
from tests.adversarial.faults import Crash, Faults
from tests.api.floor_support import Floor, person
from tests.conftest import payload
from tests.support import body, empty_tables, shanghai, snapshot

VISIT_AT = "2026-11-27T09:30:00+08:00"


@pytest.fixture
def faults(api) -> Iterator[Faults]:
    injected = Faults(api.store._connection.client)
    yield injected
    injected.remove()


def project(api: Any) -> None:
    """Four protections, two distribution holds never visited, a received
    visit with no form, and a consultant's walk-in: something for every
    step of both jobs."""
    channel = api.registrant(Source.CHANNEL)
    agency = api.registrant(Source.DISTRIBUTION)
    for n in range(4):
        api.register(channel, body(phone=f"1381234000{n}", visit_at=VISIT_AT))
    for n in range(2):
        api.register(agency, body(phone=f"1391234000{n}", visit_at="2026-11-27T15:00:00+08:00"))
    floor = Floor(api)
    r = api.register(channel, body(phone="13712340000", visit_at=VISIT_AT))
    visit = floor.arrive(phone="13712340000")
    floor.decide(visit["id"], payload(r)["registration_id"])
    (receiver,) = floor.consultants(1)
    floor.on_duty("2026-11-27", receiver)
    floor.assign(visit["id"])
    walk_in = person(api, Role.CONSULTANT)
    walk_in.post(
        "/v1/consultant-registrations",
        body(phone="13612340000", visit_at=VISIT_AT),
        key="walk-in",
    )
    now = datetime.now(UTC)  # both jobs have run before: their watermarks are set
    container.sweep().run(now)
    container.reclaim().run(now)


def saved() -> dict[Any, list[Any]]:
    return {model: list(model.scan()) for model in ALL_MODELS}


def restore(items: dict[Any, list[Any]]) -> None:
    empty_tables()
    for model, rows in items.items():
        with model.batch_write() as batch:
            for row in rows:
                batch.save(row)


def state() -> dict[str, list[str]]:
    """Every table but the jobs' own run records (a crashed run leaves one)."""
    return {name: rows for name, rows in snapshot().items() if not name.endswith("-jobs")}


def crash_after_every_write(
    faults: Faults, start: dict[Any, list[Any]], run: Callable[[], dict[str, int]]
) -> int:
    restore(start)
    before = faults.writes
    run()
    clean = state()
    writes = faults.writes - before
    assert writes >= 3
    for k in range(1, writes + 1):
        restore(start)
        faults.crash_after_write(k)
        with pytest.raises(Crash):
            run()
        faults.clear()
        run()
        after = state()
        for table, rows in clean.items():
            extra, missing = set(after[table]) - set(rows), set(rows) - set(after[table])
            assert (extra, missing) == (set(), set()), f"{table}, crash after write {k}"
    return writes


def test_the_sweep_crashed_after_any_write_then_rerun_ends_as_if_it_never_crashed(
    api, clock, faults
):
    project(api)
    start = saved()
    at = shanghai("2027-01-27 10:00")  # after ending soon, the end and the lapses
    clock.move_to(at)
    writes = crash_after_every_write(faults, start, lambda: container.sweep().run(at))
    counts = container.sweep().run(at)  # and once more: nothing left to do
    assert counts.get("customers", 0) == 0 and writes > 10


def test_the_reclaim_crashed_after_any_write_then_rerun_ends_as_if_it_never_crashed(
    api, clock, faults
):
    project(api)
    start = saved()
    at = shanghai("2027-03-01 02:00")  # the walk-in of 27 November is stale now
    clock.move_to(at)
    crash_after_every_write(faults, start, lambda: container.reclaim().run(at))
    assert container.reclaim().run(at).get("reclaimed", 0) == 0
    assert datetime.now(UTC) == at
