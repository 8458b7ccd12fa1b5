"""Push endpoints and deliveries (decision 0010). Every change is a
conditional write: an endpoint or a delivery is replaced whole on its
version, a delivery is created once per event."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DeleteError, PutError

from chalicelib.rules.deliveries import (
    Attempt,
    Delivery,
    Endpoint,
    EndpointStatus,
    Status,
)
from chalicelib.rules.records import Event

from .failures import is_condition_failure, unavailable_on_outage
from .later_models import AttemptMap, DeliveryItem, EndpointItem
from .mapping import event_from_item
from .models import EventItem
from .versioned import save_versioned


class DeliveryMethods:
    # -- endpoints ---------------------------------------------------------

    def get_endpoint(self, registrant_id: str) -> Endpoint | None:
        with unavailable_on_outage():
            try:
                item = EndpointItem.get(registrant_id, consistent_read=True)
            except EndpointItem.DoesNotExist:
                return None
        return _endpoint(item)

    def save_endpoint(self, endpoint: Endpoint) -> Endpoint:
        """Stored if the stored one is still at ``endpoint.version`` (None:
        if there is none); else Stale. The endpoint as stored comes back."""
        version = (endpoint.version or 0) + 1
        item = EndpointItem(
            registrant_id=endpoint.registrant_id,
            version=version,
            url=endpoint.url,
            status=endpoint.status.value,
            since=endpoint.since,
            watermark=endpoint.watermark,
            set_by=endpoint.set_by,
            set_at=endpoint.set_at,
            disabled_at=endpoint.disabled_at,
            disabled_reason=endpoint.disabled_reason,
        )
        save_versioned(
            item, EndpointItem.registrant_id, EndpointItem.version, endpoint.version, "endpoint"
        )
        return _endpoint(item)

    def delete_endpoint(self, registrant_id: str) -> bool:
        """False when there was none."""
        try:
            with unavailable_on_outage():
                EndpointItem(registrant_id=registrant_id).delete(
                    condition=EndpointItem.registrant_id.exists()
                )
        except DeleteError as exc:
            if not is_condition_failure(exc):
                raise
            return False
        return True

    def list_endpoints(self) -> list[Endpoint]:
        """Every endpoint (one per registrant that has one: a short scan)."""
        with unavailable_on_outage():
            return [_endpoint(item) for item in EndpointItem.scan()]

    # -- deliveries ----------------------------------------------------------

    def event_from_image(self, image: dict[str, Any]) -> tuple[str, Event]:
        """(position, event) of an events-table stream record's new image."""
        item = EventItem.from_raw_data(image)
        return item.position, event_from_item(item)

    def add_delivery(self, delivery: Delivery) -> bool:
        """Create it unless the event has one already (False)."""
        item = _delivery_item(delivery, 1)
        try:
            with unavailable_on_outage():
                item.save(condition=DeliveryItem.event_id.does_not_exist())
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
            return False
        return True

    def save_delivery(self, delivery: Delivery) -> Delivery:
        """Replace it if still at ``delivery.version``; else Stale."""
        assert delivery.version is not None
        item = _delivery_item(delivery, delivery.version + 1)
        save_versioned(
            item, DeliveryItem.event_id, DeliveryItem.version, delivery.version, "delivery"
        )
        return _delivery(item)

    def get_delivery(self, registrant_id: str, event_id: str) -> Delivery | None:
        with unavailable_on_outage():
            try:
                item = DeliveryItem.get(registrant_id, event_id, consistent_read=True)
            except DeliveryItem.DoesNotExist:
                return None
        return _delivery(item)

    def pending_deliveries(self, registrant_id: str, limit: int) -> list[Delivery]:
        """The first ``limit`` still to send, in feed order (read consistently)."""
        with unavailable_on_outage():
            items = DeliveryItem.pending.query(registrant_id, consistent_read=True, limit=limit)
            return [_delivery(item) for item in items]

    def list_deliveries(self, registrant_id: str, before: str | None, limit: int) -> list[Delivery]:
        """Newest first: the delivery log, ``limit`` before the ``before`` position."""
        condition = DeliveryItem.position < before if before else None
        with unavailable_on_outage():
            items = DeliveryItem.by_position.query(
                registrant_id,
                range_key_condition=condition,
                scan_index_forward=False,
                consistent_read=True,
                limit=limit,
            )
            return [_delivery(item) for item in items]


def _endpoint(item: EndpointItem) -> Endpoint:
    return Endpoint(
        registrant_id=item.registrant_id,
        url=item.url,
        status=EndpointStatus(item.status),
        since=item.since,
        watermark=item.watermark,
        set_by=item.set_by,
        set_at=item.set_at,
        version=int(item.version),
        disabled_at=item.disabled_at,
        disabled_reason=item.disabled_reason,
    )


def _delivery_item(d: Delivery, version: int) -> DeliveryItem:
    return DeliveryItem(
        registrant_id=d.registrant_id,
        event_id=d.event_id,
        version=version,
        position=d.position,
        pending_position=d.position if d.status is Status.PENDING else None,
        event_type=d.event_type,
        registration_id=d.registration_id,
        occurred_at=d.occurred_at,
        status=d.status.value,
        created_at=d.created_at,
        deadline=d.deadline,
        next_attempt_at=d.next_attempt_at,
        lease_until=d.lease_until,
        attempts=d.attempts,
        log=[
            AttemptMap(at=a.at, status_code=a.status_code, error=a.error, latency_ms=a.latency_ms)
            for a in d.log
        ],
        finished_at=d.finished_at,
        reason=d.reason,
        expires_at=d.expires_at,
    )


def _delivery(item: DeliveryItem) -> Delivery:
    log: list[Any] = item.log or []
    return Delivery(
        registrant_id=item.registrant_id,
        event_id=item.event_id,
        position=item.position,
        event_type=item.event_type,
        registration_id=item.registration_id,
        occurred_at=item.occurred_at,
        status=Status(item.status),
        created_at=item.created_at,
        deadline=item.deadline,
        next_attempt_at=item.next_attempt_at,
        lease_until=item.lease_until,
        attempts=int(item.attempts),
        log=tuple(
            Attempt(
                at=a.at,
                status_code=None if a.status_code is None else int(a.status_code),
                error=a.error,
                latency_ms=int(a.latency_ms),
            )
            for a in log
        ),
        finished_at=item.finished_at,
        reason=item.reason,
        version=int(item.version),
        expires_at=item.expires_at,
    )
