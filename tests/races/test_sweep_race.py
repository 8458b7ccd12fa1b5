"""Two sweeps at once (a late run overlapping the next, or a retry): every
notice reaches its registrant's feed exactly once. On dynalite (atomic
conditional writes), through the services from threads."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from chalicelib.services import container
from chalicelib.services.reclaim.jobs import Sweep
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


@pytest.mark.usefixtures("tight_switching")
def test_two_reclaims_at_once_reclaim_each_customer_once(dynalite: Store) -> None:
    """R-RECLAIM-1: two runs of 1 March at the same instant: every stale
    customer enters the pool once, with one audit entry."""
    from datetime import UTC, datetime

    from chalicelib.rules.phone import customer_key
    from chalicelib.rules.staff import Role
    from chalicelib.services.people import staff
    from chalicelib.services.reclaim.jobs import Reclaim
    from chalicelib.services.registration.registrations import WebhookRequest
    from tests.support import body, encode

    visit = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 Shanghai
    consultant = staff.create_staff(dynalite, "顾问", Role.CONSULTANT, visit)
    walk_ins = container.registrations()
    for n in range(CUSTOMERS):
        raw = encode(body(phone=phone(n), visit_at="2026-11-30T09:30:00+08:00"))
        request = WebhookRequest(None, None, f"w-{n}", "application/json", raw)
        answer = walk_ins.register_by_consultant(consultant, f"w-{n}", request, visit)
        assert answer.code is None, answer.body
    run = datetime(2027, 2, 28, 18, 0, tzinfo=UTC)  # 1 March 02:00 Shanghai
    reclaims = [container.reclaim(), Reclaim(dynalite, settings())]
    results = fire_together([lambda r=r: r.run(run) for r in reclaims])
    assert sum(r.get("reclaimed", 0) for r in results) == CUSTOMERS
    key = settings().phone_hmac_key
    for n in range(CUSTOMERS):
        subject = f"customer:{customer_key(phone(n), key)}"
        actions = [e.action for e in dynalite.audit_trail(subject)]
        assert actions.count("customer.reclaimed") == 1
        customer = dynalite.get_customer(customer_key(phone(n), key))
        assert customer.pooled_at == run
        assert [t.until for t in customer.tenures] == [run]
