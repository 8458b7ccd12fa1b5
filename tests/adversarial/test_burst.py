"""Launch day (R-DUP-1 under load): 20 channels register 2,000 times, 200
phones among them, on 16 threads through the HTTP layer, on dynalite
(atomic conditional writes). Zero phones with two live protections, every
reply 201 or 409, and each phone's stored holder is the one that got 201.
`make bench` runs 10,000 of 1,000 phones and reports the throughput."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import pytest

from app import app
from chalicelib.rules.claims import Source, Status
from chalicelib.rules.phone import customer_key
from chalicelib.settings import settings
from chalicelib.store import Store
from tests.adversarial.burst import burst, served
from tests.races.test_exactly_one_winner import channels

pytestmark = pytest.mark.dynalite


def test_a_launch_day_burst_grants_each_phone_once(dynalite: Store) -> None:
    registrants = channels(dynalite, 20)
    phones = [f"139{n:08d}" for n in range(200)]
    with served(app) as port:
        replies, _ = burst(port, registrants, phones, total=2_000, threads=16)
    assert len(replies) == 2_000
    assert {r.status for r in replies} <= {201, 409}, {r.status for r in replies}
    winners: dict[str, list[str]] = defaultdict(list)
    for reply in replies:
        if reply.status == 201:
            winners[reply.phone].append(reply.registrant_id)
    now = datetime.now(UTC)
    for phone in {r.phone for r in replies}:
        customer = dynalite.get_customer(customer_key(phone, settings().phone_hmac_key))
        assert customer is not None
        live = [c for c in customer.claims if c.status(now) is Status.PROTECTED]
        assert len(live) == 1, phone
        assert [live[0].registrant_id] == winners[phone], phone
        assert live[0].source is Source.CHANNEL
