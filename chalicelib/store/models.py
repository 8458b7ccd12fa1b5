"""PynamoDB models: persistence classes only. Here, the tables a registration
uses and those of the store's core (staff, tokens, brokers, audit); the other
areas' (the floor, jobs, fines, deliveries, appeals) are in later_models.py,
imported with their store methods (repository.LATER_AREAS).

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
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
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
    confirmed_visit_id = UnicodeAttribute(null=True)
    arrival_visit_id = UnicodeAttribute(null=True)
    held_until = UTCDateTimeAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)
    request_hash = UnicodeAttribute(null=True)


class ApprovalMap(MapAttribute):  # type: ignore[type-arg]
    registrant_id = UnicodeAttribute()
    visit_date = UnicodeAttribute()  # ISO local date
    approved_at = UTCDateTimeAttribute()
    approved_by = UnicodeAttribute()
    reason = UnicodeAttribute()


class TenureMap(MapAttribute):  # type: ignore[type-arg]
    consultant_id = UnicodeAttribute()
    since = UTCDateTimeAttribute()
    how = UnicodeAttribute()
    until = UTCDateTimeAttribute(null=True)


class DealMap(MapAttribute):  # type: ignore[type-arg]
    at = UTCDateTimeAttribute()
    recorded_by = UnicodeAttribute()
    consultant_id = UnicodeAttribute(null=True)
    registration_id = UnicodeAttribute(null=True)
    registrant_id = UnicodeAttribute(null=True)


class CustomersBySweep(GlobalSecondaryIndex):  # type: ignore[type-arg]
    """Sparse: customers by the UTC hour their next notice falls due."""

    class Meta:
        index_name = "by_sweep"
        projection = AllProjection()

    sweep_bucket = UnicodeAttribute(hash_key=True)  # YYYY-MM-DDTHH (UTC)
    sweep_key = UnicodeAttribute(range_key=True)  # <ms>#<customer key>


class CustomersByReclaim(GlobalSecondaryIndex):  # type: ignore[type-arg]
    """Sparse: customers by the UTC day of the reclaim run that takes them."""

    class Meta:
        index_name = "by_reclaim"
        projection = AllProjection()

    reclaim_bucket = UnicodeAttribute(hash_key=True)  # YYYY-MM-DD (UTC)
    reclaim_key = UnicodeAttribute(range_key=True)


class CustomersInPool(GlobalSecondaryIndex):  # type: ignore[type-arg]
    """Sparse: the reclaim pool, by the UTC month customers entered it."""

    class Meta:
        index_name = "by_pool"
        projection = AllProjection()

    pool_month = UnicodeAttribute(hash_key=True)  # YYYY-MM (UTC)
    pool_key = UnicodeAttribute(range_key=True)


class CustomersByConsultant(GlobalSecondaryIndex):  # type: ignore[type-arg]
    """Sparse: a consultant's customers (open tenure only), latest visit first."""

    class Meta:
        index_name = "by_consultant"
        projection = AllProjection()

    consultant_id = UnicodeAttribute(hash_key=True)  # the open tenure's consultant
    consultant_key = UnicodeAttribute(range_key=True)  # <last visit ms>#<customer key>


class CustomerItem(Model):
    """The unit of consistency: one item per customer, keyed by HMAC(phone)."""

    class Meta(_Unbound):
        pass

    customer_key = UnicodeAttribute(hash_key=True)
    version = NumberAttribute()
    phone = UnicodeAttribute()
    claims = ListAttribute(of=ClaimMap, default=list)
    approvals = ListAttribute(of=ApprovalMap, default=list)
    tenures = ListAttribute(of=TenureMap, default=list)
    last_visit_at = UTCDateTimeAttribute(null=True)
    deal = DealMap(null=True)
    pooled_at = UTCDateTimeAttribute(null=True)
    swept_until = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    # the jobs' indexes, derived from the fields above on every write
    sweep_bucket = UnicodeAttribute(null=True)
    sweep_key = UnicodeAttribute(null=True)
    reclaim_bucket = UnicodeAttribute(null=True)
    reclaim_key = UnicodeAttribute(null=True)
    pool_month = UnicodeAttribute(null=True)
    pool_key = UnicodeAttribute(null=True)
    # the consultants' index, derived from the open tenure on every write
    consultant_id = UnicodeAttribute(null=True)
    consultant_key = UnicodeAttribute(null=True)
    by_sweep = CustomersBySweep()
    by_reclaim = CustomersByReclaim()
    in_pool = CustomersInPool()
    by_consultant = CustomersByConsultant()


class MasksBySweep(GlobalSecondaryIndex):  # type: ignore[type-arg]
    """Sparse: a masked claim's hold until the sweep has seen it end."""

    class Meta:
        index_name = "by_sweep"
        projection = AllProjection()

    # YYYY-MM-DD (UTC) of its end: masks are few, a day's lapses one partition
    sweep_bucket = UnicodeAttribute(hash_key=True)
    sweep_key = UnicodeAttribute(range_key=True)  # <ms>#<mask key>


class MaskItem(Model):
    """隐号报备 (decision 0013): one item per mask (``138****5678``), keyed by
    HMAC(mask). The one item a masked and a full-number registration of
    the same customer both write, so one of them always sees the other."""

    class Meta(_Unbound):
        pass

    mask_key = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(default=0)
    # the latest masked claim, and while it may hold the mask, until when
    claim = ClaimMap(null=True)
    surname = UnicodeAttribute(null=True)
    held_until = UTCDateTimeAttribute(null=True)  # removed once resolved or withdrawn
    resolved_to = UnicodeAttribute(null=True)
    withdrawn = BooleanAttribute(null=True)
    # customers registered by a matching full number, and when the last began
    customers = UnicodeSetAttribute(null=True)
    full_at = UTCDateTimeAttribute(null=True)
    # numbers 判客 found are not the held claim's customer (its surname
    # differs): they may be registered while it holds; cleared by a new hold
    excluded = UnicodeSetAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    # the sweep's index: set with a hold, removed once it is resolved,
    # withdrawn, or its lapse recorded
    sweep_bucket = UnicodeAttribute(null=True)
    sweep_key = UnicodeAttribute(null=True)
    by_sweep = MasksBySweep()


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
    # when each event about it entered the feed (its position), fixed by the
    # first writer so a retry or a second job run writes the same event
    protected_recorded_at = UTCDateTimeAttribute(null=True)
    ending_soon_recorded_at = UTCDateTimeAttribute(null=True)
    ended_recorded_at = UTCDateTimeAttribute(null=True)
    lapsed_recorded_at = UTCDateTimeAttribute(null=True)
    converted_recorded_at = UTCDateTimeAttribute(null=True)


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
    """The first answer to (registrant, Idempotency-Key); also the audit record.

    Written first as a reservation (no ``body``) by the request that takes
    the key, then replaced by that request's answer.
    """

    class Meta(_Unbound):
        pass

    key = UnicodeAttribute(hash_key=True)
    request_hash = UnicodeAttribute()
    code = UnicodeAttribute(null=True)  # None: accepted (or still being decided)
    body = UnicodeAttribute(null=True)  # the JSON answered; None: being decided
    created_at = UTCDateTimeAttribute()  # the answer's time, or the reservation's
    released = BooleanAttribute(null=True)  # a reservation its request gave up
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


class AuditByDay(GlobalSecondaryIndex):  # type: ignore[type-arg]
    """Sparse: only registration outcomes carry ``day`` (the daily report)."""

    class Meta:
        index_name = "by_day"
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)
    position = UnicodeAttribute(range_key=True)


class AuditItem(Model):
    """The audit trail: appended with fresh keys, never updated by any route."""

    class Meta(_Unbound):
        pass

    by_day = AuditByDay()

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
    day = UnicodeAttribute(null=True)  # local date of a registration outcome
    claimant = UnicodeAttribute(null=True)  # the registrant or broker it was for


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


class CounterItem(Model):
    """Counts kept as things happen, so a report reads a few items, not the
    period's records: ``scope`` is what is counted over (``fines``,
    ``floor``), ``name`` what is counted (``<month>#<status>``)."""

    class Meta(_Unbound):
        pass

    scope = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    n = NumberAttribute(default=0)
