"""PynamoDB models: persistence classes only.

Table names and the endpoint are set by ``tables.bind`` at first use, never
at import, so tests and stages choose them.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model


class _Unbound:
    table_name = "unbound"  # replaced by tables.bind()
    region = "cn-north-1"
    host: str | None = None


class ClaimMap(MapAttribute):  # type: ignore[type-arg]
    registration_id = UnicodeAttribute()
    registrant_id = UnicodeAttribute()
    source = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    ordinal = NumberAttribute(null=True)
    protection_starts_at = UTCDateTimeAttribute(null=True)
    protection_ends_at = UTCDateTimeAttribute(null=True)
    window_opens_at = UTCDateTimeAttribute(null=True)
    window_closes_at = UTCDateTimeAttribute(null=True)
    converted_at = UTCDateTimeAttribute(null=True)
    reclaimed_at = UTCDateTimeAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)
    request_hash = UnicodeAttribute(null=True)


class ApprovalMap(MapAttribute):  # type: ignore[type-arg]
    registrant_id = UnicodeAttribute()
    visit_date = UnicodeAttribute()  # ISO local date
    approved_at = UTCDateTimeAttribute()
    approved_by = UnicodeAttribute()
    reason = UnicodeAttribute()


class CustomerItem(Model):
    """The unit of consistency: one item per customer, keyed by HMAC(phone)."""

    class Meta(_Unbound):
        pass

    customer_key = UnicodeAttribute(hash_key=True)
    version = NumberAttribute()
    phone = UnicodeAttribute()
    claims = ListAttribute(of=ClaimMap, default=list)
    approvals = ListAttribute(of=ApprovalMap, default=list)
    updated_at = UTCDateTimeAttribute()


class RegistrationItem(Model):
    """A registrant's view of one registration (read by its registrant only)."""

    class Meta(_Unbound):
        pass

    registrant_id = UnicodeAttribute(hash_key=True)
    registration_id = UnicodeAttribute(range_key=True)
    customer_key = UnicodeAttribute()
    customer_name = UnicodeAttribute()
    phone_masked = UnicodeAttribute()
    visit_at = UTCDateTimeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    claim = ClaimMap()
    # when its records were written: the feed position of its first event
    recorded_at = UTCDateTimeAttribute()


class EventItem(Model):
    """A registrant's feed, ordered by ``position`` (time, then id)."""

    class Meta(_Unbound):
        pass

    registrant_id = UnicodeAttribute(hash_key=True)
    position = UnicodeAttribute(range_key=True)
    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    occurred_at = UTCDateTimeAttribute()
    registration_id = UnicodeAttribute()


class IdempotencyItem(Model):
    """The first answer to (registrant, Idempotency-Key); also the audit record."""

    class Meta(_Unbound):
        pass

    key = UnicodeAttribute(hash_key=True)
    request_hash = UnicodeAttribute()
    code = UnicodeAttribute(null=True)  # None: accepted
    body = UnicodeAttribute()  # the JSON answered
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()  # clean-up only; reads compare created_at


class RegistrantItem(Model):
    class Meta(_Unbound):
        pass

    registrant_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    name = UnicodeAttribute()
    secret = UnicodeAttribute()
    # after a rotation the previous secret keeps working until this instant
    previous_secret = UnicodeAttribute(null=True)
    previous_secret_until = UTCDateTimeAttribute(null=True)
    enabled = BooleanAttribute(default=True)
    created_at = UTCDateTimeAttribute()


class BrokerItem(Model):
    """A certified crowd broker (R-REG-4)."""

    class Meta(_Unbound):
        pass

    broker_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    phone_masked = UnicodeAttribute()
    id_card_key = UnicodeAttribute()
    id_card_last4 = UnicodeAttribute()
    certified_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute(null=True)
    revoked_at = UTCDateTimeAttribute(null=True)


class AuditItem(Model):
    """The audit trail: appended with fresh keys, never updated by any route."""

    class Meta(_Unbound):
        pass

    subject = UnicodeAttribute(hash_key=True)
    position = UnicodeAttribute(range_key=True)  # <ms>#<entry id>
    entry_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    action = UnicodeAttribute()
    actor = UnicodeAttribute()
    request_id = UnicodeAttribute(null=True)
    rule = UnicodeAttribute(null=True)
    code = UnicodeAttribute(null=True)
    registration_id = UnicodeAttribute(null=True)
    detail = UnicodeAttribute(null=True)


class StaffItem(Model):
    class Meta(_Unbound):
        pass

    staff_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    enabled = BooleanAttribute(default=True)
    created_at = UTCDateTimeAttribute()


class TokenItem(Model):
    """A staff bearer token: only a hash of its secret part is kept."""

    class Meta(_Unbound):
        pass

    token_id = UnicodeAttribute(hash_key=True)
    staff_id = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)
