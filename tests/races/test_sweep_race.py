"""Two sweeps at once (a late run overlapping the next, or a retry): every
notice reaches its registrant's feed exactly once. On dynalite (atomic
conditional writes), through the services from threads."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from chalicelib.services import container
from chalicelib.services.jobs import Sweep
from chalicelib.settings import settings
from chalicelib.store import Store
from tests.races.test_exactly_one_winner import (
    NOW,
    channels,
    fire_together,
    phone,
    register,
    signed,
)

pytestmark = pytest.mark.dynalite

CUSTOMERS = 40


@pytest.mark.usefixtures("tight_switching")
def test_two_sweeps_at_once_write_each_notice_once(dynalite: Store) -> None:
    """R-PROT-2: 40 protections end; two sweeps run at the same instant, twice
    over. Each registration gets one ending-soon and one ended event."""
    (channel,) = channels(dynalite, 1)
    for n in range(CUSTOMERS):
        answer = register(signed(channel, phone(n), f"k-{n}"))
        assert answer.code is None, answer.body
    sweeps = [container.sweep(), Sweep(dynalite, settings())]
    for later in (timedelta(days=53), timedelta(days=60, hours=1)):
        at = NOW + later
        results = fire_together([lambda s=s, at=at: s.run(at) for s in sweeps])
        assert sum(r.get("customers", 0) for r in results) >= CUSTOMERS
    page = dynalite.list_events(channel.registrant_id, None, NOW + timedelta(days=90), 1000)
    kinds = Counter(event.type for _, event in page)
    assert kinds == {
        "registration.protected": CUSTOMERS,
        "protection.ending_soon": CUSTOMERS,
        "protection.ended": CUSTOMERS,
    }
    per_registration = Counter((e.registration_id, e.type) for _, e in page)
    assert set(per_registration.values()) == {1}
