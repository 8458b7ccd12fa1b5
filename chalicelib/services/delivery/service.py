"""The use cases of pushed events (decision 0010).

- Party A sets, reads and clears a registrant's endpoint, reads its
  delivery log and replays a delivery;
- a registrant reads its own delivery log;
- the jobs make deliveries: the events table's stream (deployed) makes and
  sends them at once, and the minute's job (deployed and ``make run``) makes
  what the stream missed, from each endpoint's watermark in the feed, and
  sends what is due.

A registrant's deliveries are sent one at a time in feed order: the first
one still pending holds the ones behind it until it is delivered or
dead-lettered. A worker takes a delivery with a conditional write (a lease
on its version) before sending it, so two workers never send it together;
a worker that dies after sending leaves it to be sent again once its lease
ends: at least once, and the receiver drops a repeated ``Event-Id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.errors import Failed, FieldError, Problem, not_found
from chalicelib.observability import count, logger
from chalicelib.rules.deliveries import Attempt, Delivery, Endpoint, EndpointStatus, Status
from chalicelib.rules.records import Event, Registrant
from chalicelib.rules.staff import Staff
from chalicelib.services import audit
from chalicelib.services.registration.intake import is_id, validated
from chalicelib.services.registration.reads import (
    decode_cursor,
    one_page,
    parse_limit,
)
from chalicelib.services.views import event_view, local_iso
from chalicelib.settings import Settings, settings
from chalicelib.signing import signature_header
from chalicelib.store import Stale, Store, store

from . import addresses
from .schedule import LEASE, LOG_KEPT, RETRY_FOR, next_attempt
from .sender import Answer, Sender

SENDS_PER_DRAIN = 100  # a registrant's sends in one run; the rest wait for the next
CATCH_UP_PAGE = 100
GONE = 410


class _EndpointBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    url: str


def deliveries() -> Deliveries:
    """The stage's delivery service (cheap to build: no I/O until used)."""
    return Deliveries(store(), settings())


class Deliveries:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        sender: Sender | None = None,
        resolver: addresses.Resolver | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._zone = settings.policy.zone
        self._sender = sender or Sender()
        self._resolver = resolver  # None: the system's, looked up at each use
        self._loopback = settings.stage in addresses.LOOPBACK_STAGES
        self._kept = timedelta(days=settings.delivery_kept_days)

    # -- Party A ---------------------------------------------------------------

    def set_endpoint(
        self, admin: Staff, registrant_id: str, raw: bytes, now: datetime
    ) -> dict[str, Any]:
        """Set (or change) the endpoint; a disabled one is enabled again and
        resumes from where it stopped. 422 ENDPOINT_NOT_ALLOWED for a URL
        this stage may not call."""
        ask = validated(_EndpointBody, raw)
        self._registrant(registrant_id)
        self._check(ask.url)
        for _ in range(3):
            current = self._store.get_endpoint(registrant_id)
            if current is None:
                start = f"{int(now.timestamp() * 1000):013d}#"
                wanted = Endpoint(
                    registrant_id, ask.url, EndpointStatus.ACTIVE, now, start, admin.staff_id, now
                )
            else:
                wanted = replace(
                    current,
                    url=ask.url,
                    status=EndpointStatus.ACTIVE,
                    set_by=admin.staff_id,
                    set_at=now,
                    disabled_at=None,
                    disabled_reason=None,
                )
            try:
                stored = self._store.save_endpoint(wanted)
            except Stale:
                continue
            audit.record(
                self._store, f"registrant:{registrant_id}", "endpoint.set", now, admin.staff_id
            )
            return self.endpoint_view(stored)
        raise Failed(
            Problem("UNAVAILABLE", "The endpoint kept changing; try again.", retry_after=1)
        )

    def endpoint(self, registrant_id: str) -> dict[str, Any]:
        found = self._store.get_endpoint(registrant_id) if is_id(registrant_id) else None
        if found is None:
            raise Failed(not_found("endpoint"))
        return self.endpoint_view(found)

    def clear_endpoint(self, admin: Staff, registrant_id: str, now: datetime) -> None:
        """Nothing more is pushed; deliveries still pending wait, and are sent
        if an endpoint is set again."""
        if not is_id(registrant_id) or not self._store.delete_endpoint(registrant_id):
            raise Failed(not_found("endpoint"))
        audit.record(
            self._store, f"registrant:{registrant_id}", "endpoint.cleared", now, admin.staff_id
        )

    def log_of(self, registrant_id: str, query: dict[str, str]) -> dict[str, Any]:
        """Party A reads any registrant's delivery log."""
        self._registrant(registrant_id)
        return self._log(registrant_id, query)

    def replay(
        self, admin: Staff, registrant_id: str, event_id: str, now: datetime
    ) -> dict[str, Any]:
        """Send a delivery again (delivered or dead-lettered), with 24 hours
        of retries from now; it takes its place in feed order."""
        if not (is_id(registrant_id) and is_id(event_id)):
            raise Failed(not_found("delivery"))
        for _ in range(3):
            found = self._store.get_delivery(registrant_id, event_id)
            if found is None:
                raise Failed(not_found("delivery"))
            if found.lease_until is not None and found.lease_until > now:
                return self.delivery_view(found)  # being sent this moment
            again = replace(
                found,
                status=Status.PENDING,
                next_attempt_at=now,
                deadline=now + RETRY_FOR,
                lease_until=None,
                finished_at=None,
                reason=None,
                expires_at=None,  # pending again: kept until final once more
            )
            try:
                stored = self._store.save_delivery(again)
            except Stale:
                continue
            audit.record(
                self._store,
                f"registrant:{registrant_id}",
                "delivery.replayed",
                now,
                admin.staff_id,
                detail=event_id,
            )
            return self.delivery_view(stored)
        raise Failed(
            Problem("UNAVAILABLE", "The delivery kept changing; try again.", retry_after=1)
        )

    # -- the registrant ------------------------------------------------------------

    def log_for(self, caller: Registrant, query: dict[str, str]) -> dict[str, Any]:
        return self._log(caller.registrant_id, query)

    # -- the jobs ------------------------------------------------------------------

    def on_stream(self, records: Iterable[dict[str, Any]], now: datetime) -> dict[str, int]:
        """The events table's stream: a delivery for each new event whose
        registrant has an active endpoint, then each such registrant's queue."""
        counts = {"events": 0, "queued": 0, "sent": 0, "delivered": 0, "failed": 0}
        endpoints: dict[str, Endpoint | None] = {}
        for record in records:
            if record.get("eventName") not in ("INSERT", "MODIFY"):
                continue
            image = (record.get("dynamodb") or {}).get("NewImage")
            if not image:
                continue
            position, event = self._store.event_from_image(image)
            counts["events"] += 1
            rid = event.registrant_id
            if rid not in endpoints:
                endpoints[rid] = self._store.get_endpoint(rid)
            endpoint = endpoints[rid]
            if endpoint is not None and endpoint.status is EndpointStatus.ACTIVE:
                counts["queued"] += self._queue(event, position, endpoint, now)
        for rid, endpoint in endpoints.items():
            if endpoint is not None and endpoint.status is EndpointStatus.ACTIVE:
                _add(counts, self.drain(rid, now))
        return counts

    def run(self, now: datetime) -> dict[str, int]:
        """Every minute: each active endpoint's missed events queued, then
        what is due sent. A registrant whose run fails does not stop the
        others; the run fails at the end (retried, then the DLQ; alarmed)."""
        counts = {"queued": 0, "sent": 0, "delivered": 0, "failed": 0}
        failed: list[str] = []
        for endpoint in self._store.list_endpoints():
            if endpoint.status is not EndpointStatus.ACTIVE:
                continue
            try:
                counts["queued"] += self.catch_up(endpoint, now)
                _add(counts, self.drain(endpoint.registrant_id, now))
            except Exception:
                logger.exception("deliveries failed", extra={"registrant": endpoint.registrant_id})
                failed.append(endpoint.registrant_id)
        if failed:
            raise RuntimeError(f"deliveries failed for {len(failed)} registrant(s): {failed[:5]}")
        return counts

    def catch_up(self, endpoint: Endpoint, now: datetime) -> int:
        """Queue the events the stream did not (there is none locally), from
        the endpoint's watermark up to the feed's settle horizon; returns how
        many were new."""
        horizon = now - timedelta(seconds=self._settings.event_settle_seconds)
        watermark = endpoint.watermark
        queued = 0
        while True:
            page = self._store.list_events(
                endpoint.registrant_id, watermark, horizon, CATCH_UP_PAGE
            )
            for position, event in page:
                queued += self._queue(event, position, endpoint, now)
            if page:
                watermark = page[-1][0]
            if len(page) < CATCH_UP_PAGE:
                break
        if watermark != endpoint.watermark:
            # changed meanwhile: the next run moves it (queueing is idempotent)
            with suppress(Stale):
                self._store.save_endpoint(replace(endpoint, watermark=watermark))
        return queued

    def drain(self, registrant_id: str, now: datetime) -> dict[str, int]:
        """Send the registrant's due deliveries in feed order, until one fails,
        is not due, or is being sent by another worker."""
        counts = {"sent": 0, "delivered": 0, "failed": 0}
        endpoint = self._store.get_endpoint(registrant_id)
        if endpoint is None or endpoint.status is not EndpointStatus.ACTIVE:
            return counts
        registrant = self._store.get_registrant(registrant_id)
        while counts["sent"] < SENDS_PER_DRAIN:
            heads = self._store.pending_deliveries(registrant_id, 1)
            if not heads:
                break
            head = heads[0]
            if head.next_attempt_at > now or (head.lease_until and head.lease_until > now):
                break
            done = self._attempt(head, endpoint, registrant, now)
            if done is None:
                break  # another worker took it
            counts["sent"] += 1
            if done.status is Status.DELIVERED:
                counts["delivered"] += 1
                continue
            counts["failed"] += 1
            if done.status is Status.PENDING or (done.log and done.log[-1].status_code == GONE):
                break
        return counts

    # -- one attempt -----------------------------------------------------------------

    def _attempt(
        self, delivery: Delivery, endpoint: Endpoint, registrant: Registrant | None, now: datetime
    ) -> Delivery | None:
        try:
            leased = self._store.save_delivery(replace(delivery, lease_until=now + LEASE))
        except Stale:
            return None
        answer = self._send(leased, endpoint, registrant, now)
        outcome = self._outcome(leased, answer, now)
        try:
            stored = self._store.save_delivery(outcome)
        except Stale:
            return None  # its lease ended and another worker took it over
        facts = {
            "registrant": delivery.registrant_id,
            "event_id": delivery.event_id,
            "status_code": answer.status_code,
            "error": answer.error,
            "latency_ms": answer.latency_ms,
            "delivery_status": stored.status.value,
        }
        if stored.status is Status.DELIVERED:
            logger.info("event delivered", extra=facts)
            count("EventDelivered")
        else:
            logger.warning("event delivery failed", extra=facts)
            count("EventDeliveryFailed")
            if stored.status is Status.DEAD:
                count("EventDeliveryDeadLettered")
        if answer.status_code == GONE:
            self._disable(endpoint, now)
        return stored

    def _send(
        self, delivery: Delivery, endpoint: Endpoint, registrant: Registrant | None, now: datetime
    ) -> Answer:
        if registrant is None or not registrant.enabled:
            return Answer(None, "registrant disabled", 0)
        try:
            target = self._target(endpoint.url)
        except addresses.NotAllowed as refused:
            return Answer(None, f"endpoint not allowed: {refused}", 0)
        body = self.body(delivery)
        headers = {
            "X-Signature": signature_header(registrant.secret, int(now.timestamp()), body),
            "X-Registrant-Id": delivery.registrant_id,
            "Event-Id": delivery.event_id,
            "Event-Type": delivery.event_type,
        }
        return self._sender.post(target, body, headers)

    def _outcome(self, leased: Delivery, answer: Answer, now: datetime) -> Delivery:
        attempt = Attempt(now, answer.status_code, answer.error, answer.latency_ms)
        base = replace(
            leased,
            lease_until=None,
            attempts=leased.attempts + 1,
            log=(*leased.log, attempt)[-LOG_KEPT:],
        )
        final = replace(base, finished_at=now, expires_at=now + self._kept)
        code = answer.status_code
        if code is not None and 200 <= code < 300:
            return replace(final, status=Status.DELIVERED, reason=None)
        if code == GONE:
            return replace(final, status=Status.DEAD, reason="gone")
        retry_at = next_attempt(base.attempts, now, leased.deadline)
        if retry_at is None:
            return replace(final, status=Status.DEAD, reason="retries exhausted")
        return replace(base, next_attempt_at=retry_at)

    def _disable(self, endpoint: Endpoint, now: datetime) -> None:
        """410 Gone: the endpoint is disabled (unless Party A changed it
        meanwhile); what is pending waits until it is set again."""
        current = self._store.get_endpoint(endpoint.registrant_id)
        if current is None or current.url != endpoint.url:
            return
        disabled = replace(
            current,
            status=EndpointStatus.DISABLED,
            disabled_at=now,
            disabled_reason="the endpoint answered 410 Gone",
        )
        try:
            self._store.save_endpoint(disabled)
        except Stale:
            return
        logger.warning("endpoint disabled (410)", extra={"registrant": endpoint.registrant_id})

    # -- helpers ---------------------------------------------------------------------

    def _queue(self, event: Event, position: str, endpoint: Endpoint, now: datetime) -> int:
        if event.recorded_at < endpoint.since:
            return 0
        delivery = Delivery(
            registrant_id=event.registrant_id,
            event_id=event.event_id,
            position=position,
            event_type=event.type,
            registration_id=event.registration_id,
            occurred_at=event.occurred_at,
            status=Status.PENDING,
            created_at=now,
            deadline=now + RETRY_FOR,
            next_attempt_at=now,
        )
        return 1 if self._store.add_delivery(delivery) else 0

    def _check(self, url: str) -> None:
        try:
            self._target(url)
        except addresses.NotAllowed as refused:
            raise Failed(
                Problem(
                    "ENDPOINT_NOT_ALLOWED",
                    "This endpoint may not be called.",
                    fields=(FieldError("url", str(refused)),),
                )
            ) from refused

    def _target(self, url: str) -> addresses.Target:
        """Checked now, each time: at set time and again at every send."""
        resolver = self._resolver or addresses.resolve
        return addresses.check(url, loopback_allowed=self._loopback, resolver=resolver)

    def _registrant(self, registrant_id: str) -> Registrant:
        found = self._store.get_registrant(registrant_id) if is_id(registrant_id) else None
        if found is None:
            raise Failed(not_found("registrant"))
        return found

    def _log(self, registrant_id: str, query: dict[str, str]) -> dict[str, Any]:
        limit = parse_limit(query)
        before = decode_cursor(query.get("cursor"), "")
        rows = self._store.list_deliveries(registrant_id, before, limit + 1)
        page, cursor = one_page(rows, limit, lambda d: d.position)
        return {"data": [self.delivery_view(d) for d in page], "next_cursor": cursor}

    def body(self, delivery: Delivery) -> bytes:
        """What is POSTed: the event as ``GET /v1/events`` lists it."""
        event = Event(
            delivery.event_id,
            delivery.event_type,
            delivery.registrant_id,
            delivery.registration_id,
            delivery.occurred_at,
            delivery.occurred_at,
        )
        return json.dumps(event_view(event, self._zone), ensure_ascii=False).encode()

    def endpoint_view(self, e: Endpoint) -> dict[str, Any]:
        return {
            "registrant_id": e.registrant_id,
            "url": e.url,
            "status": e.status.value,
            "since": local_iso(e.since, self._zone),
            "set_by": e.set_by,
            "set_at": local_iso(e.set_at, self._zone),
            "disabled_at": local_iso(e.disabled_at, self._zone),
            "disabled_reason": e.disabled_reason,
        }

    def delivery_view(self, d: Delivery) -> dict[str, Any]:
        zone = self._zone
        event = json.loads(self.body(d))
        return {
            "id": d.event_id,
            "event": event,
            "status": d.status.value,
            "attempts": d.attempts,
            "created_at": local_iso(d.created_at, zone),
            "next_attempt_at": local_iso(d.next_attempt_at, zone)
            if d.status is Status.PENDING
            else None,
            "deadline": local_iso(d.deadline, zone),
            "finished_at": local_iso(d.finished_at, zone),
            "reason": d.reason,
            "log": [
                {
                    "at": local_iso(a.at, zone),
                    "status_code": a.status_code,
                    "error": a.error,
                    "latency_ms": a.latency_ms,
                }
                for a in reversed(d.log)
            ],
        }


def _add(counts: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        counts[key] = counts.get(key, 0) + value
