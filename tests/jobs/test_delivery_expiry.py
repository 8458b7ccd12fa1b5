"""A delivery that became final (delivered or dead-lettered) is kept 30
days, then DynamoDB's TTL deletes it (decision 0010, amended): the item
carries ``expires_at`` from then on, a pending one none, a replay clears it.
Nothing reads the TTL: the log shows whatever is still stored."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest

from chalicelib.rules.deliveries import Status
from chalicelib.services.delivery.sender import Sender
from chalicelib.services.delivery.service import Deliveries
from chalicelib.settings import SettingsError, settings
from chalicelib.store import Store
from chalicelib.store.later_models import DeliveryItem
from infra.template import merge_template
from tests.jobs.test_deliveries import (
    ADMIN,
    Receiver,
    event,
    later,
    registrant_with_endpoint,
    service,
)

KEPT = timedelta(days=30)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def stored_expiry(registrant_id: str, event_id: str):
    return DeliveryItem.get(registrant_id, event_id, consistent_read=True).expires_at


def test_a_delivered_delivery_expires_30_days_after_it_was_delivered(
    tables: Store, receiver: Receiver
) -> None:
    who = registrant_with_endpoint(tables, receiver.url)
    _, e = event(who, 1, later(1))
    assert service(tables).run(later(60))["delivered"] == 1
    (delivered,) = tables.list_deliveries(who.registrant_id, None, 10)
    assert delivered.status is Status.DELIVERED and delivered.finished_at == later(60)
    assert stored_expiry(who.registrant_id, e.event_id) == later(60) + KEPT


def test_a_pending_delivery_has_no_expiry_even_after_failures(
    tables: Store, receiver: Receiver
) -> None:
    who = registrant_with_endpoint(tables, receiver.url)
    _, e = event(who, 1, later(1))
    assert stored_expiry_after_queueing(tables, who.registrant_id, e.event_id) is None
    receiver.fail_first = 1
    assert service(tables).run(later(60))["failed"] == 1
    (pending,) = tables.list_deliveries(who.registrant_id, None, 10)
    assert pending.status is Status.PENDING and pending.attempts == 1
    assert stored_expiry(who.registrant_id, e.event_id) is None


def stored_expiry_after_queueing(tables: Store, registrant_id: str, event_id: str):
    endpoint = tables.get_endpoint(registrant_id)
    assert endpoint is not None
    assert service(tables).catch_up(endpoint, later(60)) == 1
    return stored_expiry(registrant_id, event_id)


def test_a_dead_delivery_expires_and_a_replay_clears_it_until_final_again(
    tables: Store, receiver: Receiver
) -> None:
    who = registrant_with_endpoint(tables, receiver.url)
    _, e = event(who, 1, later(1))
    receiver.gone = True
    deliveries = service(tables)
    deliveries.run(later(60))
    (dead,) = tables.list_deliveries(who.registrant_id, None, 10)
    assert (dead.status, dead.reason) == (Status.DEAD, "gone")
    assert stored_expiry(who.registrant_id, e.event_id) == later(60) + KEPT

    deliveries.replay(ADMIN, who.registrant_id, e.event_id, later(300))
    assert stored_expiry(who.registrant_id, e.event_id) is None

    receiver.gone = False
    deliveries.set_endpoint(
        ADMIN, who.registrant_id, f'{{"url": "{receiver.url}"}}'.encode(), later(300)
    )
    assert deliveries.run(later(360))["delivered"] == 1
    assert stored_expiry(who.registrant_id, e.event_id) == later(360) + KEPT


def test_the_days_kept_are_a_setting(tables: Store, receiver: Receiver) -> None:
    who = registrant_with_endpoint(tables, receiver.url)
    _, e = event(who, 1, later(1))
    week = dataclasses.replace(settings(), delivery_kept_days=7)
    Deliveries(tables, week, sender=Sender(connect=2.0, read=5.0)).run(later(60))
    assert stored_expiry(who.registrant_id, e.event_id) == later(60) + timedelta(days=7)


@pytest.mark.parametrize("raw", ["0", "-3", "thirty"])
def test_a_days_kept_below_one_is_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("DELIVERY_KEPT_DAYS", raw)
    settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match="DELIVERY_KEPT_DAYS"):
            settings()
    finally:
        monkeypatch.delenv("DELIVERY_KEPT_DAYS")
        settings.cache_clear()


def test_reads_never_depend_on_the_ttl_an_expired_delivery_still_stored_is_listed(
    tables: Store, receiver: Receiver
) -> None:
    """DynamoDB deletes an expired item days late (moto never does): until
    then the log shows it, and the replay still works on it."""
    who = registrant_with_endpoint(tables, receiver.url)
    _, e = event(who, 1, later(1))
    deliveries = service(tables)
    deliveries.run(later(60))
    long_after = later(60) + KEPT + timedelta(days=3)
    doc = deliveries.log_of(who.registrant_id, {})
    assert [d["id"] for d in doc["data"]] == [e.event_id]
    assert deliveries.replay(ADMIN, who.registrant_id, e.event_id, long_after)["status"] == (
        "pending"
    )


def test_the_deployed_deliveries_table_has_its_ttl_enabled() -> None:
    table = merge_template("prod")["Resources"]["DeliveriesTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
