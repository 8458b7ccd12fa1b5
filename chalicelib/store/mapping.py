"""Between PynamoDB items and the rules' plain records (the floor's visits and
rosters: floor_mapping.py, loaded with the floor's store methods)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from chalicelib.rules.brokers import Broker
from chalicelib.rules.claims import Claim, Customer, Deal, LateApproval, Period, Source, Tenure
from chalicelib.rules.records import (
    IDEMPOTENCY_WINDOW,
    AuditEntry,
    Event,
    Registrant,
    Registration,
    StoredAnswer,
)

from .models import (
    ApprovalMap,
    AuditItem,
    BrokerItem,
    ClaimMap,
    CustomerItem,
    DealMap,
    EventItem,
    IdempotencyItem,
    RegistrantItem,
    RegistrationItem,
    TenureMap,
)
from .sealing import opened

_R = TypeVar("_R")


def claim_from_map(m: ClaimMap) -> Claim:
    return Claim(
        registration_id=m.registration_id,
        registrant_id=m.registrant_id,
        source=Source(m.source),
        created_at=m.created_at,
        ordinal=int(m.ordinal) if m.ordinal is not None else None,
        protection=_period(m.protection_starts_at, m.protection_ends_at),
        visit_window=_period(m.window_opens_at, m.window_closes_at),
        converted_at=m.converted_at,
        reclaimed_at=m.reclaimed_at,
        confirmed_visit_id=m.confirmed_visit_id,
        arrival_visit_id=m.arrival_visit_id,
        held_until=m.held_until,
        idempotency_key=m.idempotency_key,
        request_hash=m.request_hash,
    )


def claim_to_map(c: Claim) -> ClaimMap:
    return ClaimMap(
        registration_id=c.registration_id,
        registrant_id=c.registrant_id,
        source=c.source.value,
        created_at=c.created_at,
        ordinal=c.ordinal,
        protection_starts_at=c.protection.starts_at if c.protection else None,
        protection_ends_at=c.protection.ends_at if c.protection else None,
        window_opens_at=c.visit_window.starts_at if c.visit_window else None,
        window_closes_at=c.visit_window.ends_at if c.visit_window else None,
        converted_at=c.converted_at,
        reclaimed_at=c.reclaimed_at,
        confirmed_visit_id=c.confirmed_visit_id,
        arrival_visit_id=c.arrival_visit_id,
        held_until=c.held_until,
        idempotency_key=c.idempotency_key,
        request_hash=c.request_hash,
    )


def customer_from_item(item: CustomerItem) -> Customer:
    return Customer(
        claims=tuple(claim_from_map(m) for m in item.claims),
        approvals=tuple(
            LateApproval(
                registrant_id=a.registrant_id,
                visit_date=date.fromisoformat(a.visit_date),
                approved_at=a.approved_at,
                approved_by=a.approved_by,
                reason=a.reason,
            )
            for a in item.approvals
        ),
        version=int(item.version),
        phone=item.phone,
        tenures=tuple(_record(Tenure, t) for t in item.tenures),
        last_visit_at=item.last_visit_at,
        deal=_record(Deal, item.deal) if item.deal else None,
        pooled_at=item.pooled_at,
        swept_until=item.swept_until,
        sweep_due=position_time(item.sweep_key) if item.sweep_key else None,
        reclaim_due=position_time(item.reclaim_key) if item.reclaim_key else None,
    )


def customer_to_item(key: str, phone: str, customer: Customer, version: int) -> CustomerItem:
    sweep, reclaim, pooled = customer.sweep_due, customer.reclaim_due, customer.pooled_at
    owner = customer.open_tenure()
    return CustomerItem(
        customer_key=key,
        version=version,
        phone=phone,
        claims=[claim_to_map(c) for c in customer.claims],
        approvals=[
            ApprovalMap(
                registrant_id=a.registrant_id,
                visit_date=a.visit_date.isoformat(),
                approved_at=a.approved_at,
                approved_by=a.approved_by,
                reason=a.reason,
            )
            for a in customer.approvals
        ],
        tenures=[TenureMap(**_same_named(t)) for t in customer.tenures],
        last_visit_at=customer.last_visit_at,
        deal=DealMap(**_same_named(customer.deal)) if customer.deal else None,
        pooled_at=pooled,
        swept_until=customer.swept_until,
        # the jobs' indexes: time buckets, so a run reads only what is due
        sweep_bucket=sweep_bucket(sweep) if sweep else None,
        sweep_key=position(sweep, key) if sweep else None,
        reclaim_bucket=reclaim_bucket(reclaim) if reclaim else None,
        reclaim_key=position(reclaim, key) if reclaim else None,
        pool_month=pool_month(pooled) if pooled else None,
        pool_key=position(pooled, key) if pooled else None,
        # the consultants' index: only while a tenure is open, latest visit first
        consultant_id=owner.consultant_id if owner else None,
        consultant_key=position(customer.last_visit_at or owner.since, key) if owner else None,
    )


def sweep_bucket(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H")


def reclaim_bucket(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d")


def pool_month(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m")


def registration_from_item(item: RegistrationItem) -> Registration:
    return Registration(
        claim=claim_from_map(item.claim),
        customer_key=item.customer_key,
        customer_name=item.customer_name,
        phone_masked=item.phone_masked,
        visit_at=item.visit_at,
        note=item.note,
        recorded_at=item.recorded_at,
    )


def registration_to_item(r: Registration) -> RegistrationItem:
    return RegistrationItem(
        registrant_id=r.registrant_id,
        registration_id=r.registration_id,
        customer_key=r.customer_key,
        customer_name=r.customer_name,
        phone_masked=r.phone_masked,
        visit_at=r.visit_at,
        note=r.note,
        claim=claim_to_map(r.claim),
        recorded_at=r.recorded_at,
    )


def registrant_from_item(item: RegistrantItem) -> Registrant:
    """The registrant with its secrets opened (sealed at rest: sealing.py)."""
    registrant_id = item.registrant_id
    previous = item.previous_secret
    return Registrant(
        registrant_id=registrant_id,
        kind=Source(item.kind),
        name=item.name,
        secret=opened(item.secret, registrant_id),
        enabled=bool(item.enabled),
        previous_secret=opened(previous, registrant_id) if previous else None,
        previous_secret_until=item.previous_secret_until,
        created_at=item.created_at,
    )


def answer_key(registrant_id: str, idempotency_key: str) -> str:
    return f"{registrant_id}|{idempotency_key}"


def answer_from_item(item: IdempotencyItem) -> StoredAnswer:
    registrant_id, _, idem = item.key.partition("|")
    return StoredAnswer(
        registrant_id=registrant_id,
        idempotency_key=idem,
        request_hash=item.request_hash,
        code=item.code,
        body=item.body,
        created_at=item.created_at,
    )


def position(at: datetime, item_id: str) -> str:
    """A sort key in time order: milliseconds, then the id."""
    return f"{int(at.timestamp() * 1000):013d}#{item_id}"


def event_position(event: Event) -> str:
    """The feed's order: when recorded, then when it happened (a sweep that
    catches up records "ending soon" and "ended" at one instant, in that
    order), then the id."""
    happened = int(event.occurred_at.timestamp() * 1000)
    return position(event.recorded_at, f"{happened:013d}#{event.event_id}")


def position_time(key: str) -> datetime:
    return datetime.fromtimestamp(int(key[:13]) / 1000, UTC)


def answer_item(answer: StoredAnswer) -> IdempotencyItem:
    return IdempotencyItem(
        key=answer_key(answer.registrant_id, answer.idempotency_key),
        request_hash=answer.request_hash,
        code=answer.code,
        body=answer.body,
        created_at=answer.created_at,
        expires_at=answer.created_at + IDEMPOTENCY_WINDOW,
    )


def event_item(event: Event) -> EventItem:
    return EventItem(
        position=event_position(event),
        **_same_named(event, exclude={"recorded_at"}),
    )


def event_from_item(item: EventItem) -> Event:
    return _record(Event, item, recorded_at=position_time(item.position))


def audit_item(entry: AuditEntry) -> AuditItem:
    return AuditItem(position=position(entry.at, entry.entry_id), **_same_named(entry))


def audit_from_item(item: AuditItem) -> AuditEntry:
    return _record(AuditEntry, item)


def broker_item(broker: Broker) -> BrokerItem:
    return BrokerItem(**_same_named(broker))


def broker_from_item(item: BrokerItem) -> Broker:
    return _record(Broker, item)


def _same_named(record: Any, exclude: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """A record's fields, for a model whose attributes have the same names."""
    return {f.name: getattr(record, f.name) for f in fields(record) if f.name not in exclude}


def _record(cls: type[_R], item: Any, **given: Any) -> _R:
    """A record from a model whose attributes have the same names."""
    names = (f.name for f in fields(cls) if f.name not in given)  # type: ignore[arg-type]
    return cls(**{name: getattr(item, name) for name in names}, **given)


def _period(start, end) -> Period | None:  # type: ignore[no-untyped-def]
    return Period(start, end) if start is not None and end is not None else None
