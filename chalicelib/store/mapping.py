"""Between PynamoDB items and the rules' plain records."""

from __future__ import annotations

from datetime import date

from chalicelib.rules.claims import Claim, Customer, LateApproval, Period, Source
from chalicelib.rules.records import Registrant, Registration, StoredAnswer

from .models import (
    ApprovalMap,
    ClaimMap,
    CustomerItem,
    IdempotencyItem,
    RegistrantItem,
    RegistrationItem,
)


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
    )


def customer_to_item(key: str, phone: str, customer: Customer, version: int) -> CustomerItem:
    item = CustomerItem(
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
    )
    return item


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
    return Registrant(
        registrant_id=item.registrant_id,
        kind=Source(item.kind),
        name=item.name,
        secret=item.secret,
        enabled=bool(item.enabled),
        previous_secret=item.previous_secret,
        previous_secret_until=item.previous_secret_until,
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


def _period(start, end) -> Period | None:  # type: ignore[no-untyped-def]
    return Period(start, end) if start is not None and end is not None else None
