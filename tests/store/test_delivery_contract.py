"""Push endpoints and deliveries in the store (decision 0010), against moto
and dynalite alike: a delivery is made once per event, replaced only on the
version it was read at, the queue is the pending ones in feed order (a
sparse local index, read consistently) and the log is newest first."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.rules.deliveries import Delivery, Endpoint, EndpointStatus, Status
from chalicelib.store import Stale, Store
from tests.support import shanghai

NOW = shanghai("2026-11-27 10:00")


@pytest.fixture(params=["moto", pytest.param("dynalite", marks=pytest.mark.dynalite)])
def store(request) -> Store:
    return request.getfixturevalue("tables" if request.param == "moto" else "dynalite")


def delivery(n: int, registrant: str = "reg_a") -> Delivery:
    at = NOW + timedelta(seconds=n)
    return Delivery(
        registrant_id=registrant,
        event_id=f"ev_{n:03d}",
        position=f"{int(at.timestamp() * 1000):013d}#ev_{n:03d}",
        event_type="registration.protected",
        registration_id=f"rg_{n:03d}",
        occurred_at=at,
        status=Status.PENDING,
        created_at=at,
        deadline=at + timedelta(hours=24),
        next_attempt_at=at,
    )


def test_a_delivery_is_made_once_per_event(store):
    assert store.add_delivery(delivery(1))
    assert not store.add_delivery(replace(delivery(1), registration_id="rg_other"))
    found = store.get_delivery("reg_a", "ev_001")
    assert found is not None and found.registration_id == "rg_001" and found.version == 1


def test_a_delivery_is_replaced_only_on_the_version_it_was_read_at(store):
    store.add_delivery(delivery(1))
    read = store.get_delivery("reg_a", "ev_001")
    assert read is not None
    leased = store.save_delivery(replace(read, lease_until=NOW + timedelta(seconds=60)))
    assert leased.version == 2
    with pytest.raises(Stale):
        store.save_delivery(replace(read, status=Status.DELIVERED))  # the loser of the race


def test_the_queue_is_the_pending_deliveries_in_feed_order_and_the_log_newest_first(store):
    for n in (3, 1, 2):
        store.add_delivery(delivery(n))
    store.add_delivery(delivery(9, registrant="reg_b"))
    assert [d.event_id for d in store.pending_deliveries("reg_a", 10)] == [
        "ev_001",
        "ev_002",
        "ev_003",
    ]
    first = store.get_delivery("reg_a", "ev_001")
    assert first is not None
    store.save_delivery(replace(first, status=Status.DELIVERED, finished_at=NOW))
    assert [d.event_id for d in store.pending_deliveries("reg_a", 1)] == ["ev_002"]
    log = store.list_deliveries("reg_a", None, 2)
    assert [d.event_id for d in log] == ["ev_003", "ev_002"]
    older = store.list_deliveries("reg_a", log[-1].position, 10)
    assert [(d.event_id, d.status) for d in older] == [("ev_001", Status.DELIVERED)]


def test_an_endpoint_is_set_once_then_replaced_on_its_version(store):
    endpoint = Endpoint(
        "reg_a", "https://hooks.example.com/a", EndpointStatus.ACTIVE, NOW, "0#", "st_1", NOW
    )
    stored = store.save_endpoint(endpoint)
    with pytest.raises(Stale):
        store.save_endpoint(endpoint)  # a second first write
    moved = store.save_endpoint(replace(stored, watermark="1#"))
    with pytest.raises(Stale):
        store.save_endpoint(replace(stored, status=EndpointStatus.DISABLED))
    assert store.get_endpoint("reg_a") == moved
    assert [e.registrant_id for e in store.list_endpoints()] == ["reg_a"]
    assert store.delete_endpoint("reg_a") and not store.delete_endpoint("reg_a")
    assert store.get_endpoint("reg_a") is None
