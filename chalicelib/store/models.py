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
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
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

    sweep_bucket = UnicodeAttribute(hash_key=True)  # YYYY-MM-DDTHH (UTC) of its end
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


class DecisionMap(MapAttribute):  # type: ignore[type-arg]
    decision_id = UnicodeAttribute()
    registration_id = UnicodeAttribute()
    registrant_id = UnicodeAttribute()
    source = UnicodeAttribute()
    decided_by = UnicodeAttribute()
    decided_at = UTCDateTimeAttribute()
    replaces = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)


class FormMap(MapAttribute):  # type: ignore[type-arg]
    filed_by = UnicodeAttribute()
    filed_at = UTCDateTimeAttribute()
    note = UnicodeAttribute(null=True)


class ExemptionMap(MapAttribute):  # type: ignore[type-arg]
    kind = UnicodeAttribute()
    signed_by = UnicodeAttribute()
    signed_at = UTCDateTimeAttribute()
    note = UnicodeAttribute(null=True)


class VisitsByDay(GlobalSecondaryIndex):  # type: ignore[type-arg]
    class Meta:
        index_name = "by_day"
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)
    arrival = UnicodeAttribute(range_key=True)  # <ms>#<visit id>


class VisitsByCustomer(GlobalSecondaryIndex):  # type: ignore[type-arg]
    """Sparse: a visit is indexed once its customer is known."""

    class Meta:
        index_name = "by_customer"
        projection = AllProjection()

    customer_key = UnicodeAttribute(hash_key=True)
    arrival = UnicodeAttribute(range_key=True)


class VisitItem(Model):
    """One household's visit (R-FLOOR-2..5): the unit of consistency on the floor."""

    class Meta(_Unbound):
        pass

    visit_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute()
    group_id = UnicodeAttribute()
    day = UnicodeAttribute()  # local date of arrival
    arrival = UnicodeAttribute()
    arrived_at = UTCDateTimeAttribute()
    party_size = NumberAttribute()
    greeted = BooleanAttribute()
    logged_by = UnicodeAttribute()
    led_in_by = UnicodeAttribute(null=True)
    accompanied_by = UnicodeAttribute(null=True)
    departed_at = UTCDateTimeAttribute(null=True)
    customer_key = UnicodeAttribute(null=True)
    phone_masked = UnicodeAttribute(null=True)
    customer_name = UnicodeAttribute(null=True)
    signed_in_at = UTCDateTimeAttribute(null=True)
    signed_in_by = UnicodeAttribute(null=True)
    consultant_id = UnicodeAttribute(null=True)
    decisions = ListAttribute(of=DecisionMap, default=list)
    form = FormMap(null=True)
    exemption = ExemptionMap(null=True)
    request_hash = UnicodeAttribute(null=True)
    logged_at = UTCDateTimeAttribute(null=True)
    by_day = VisitsByDay()
    by_customer = VisitsByCustomer()


class SkipMap(MapAttribute):  # type: ignore[type-arg]
    consultant_id = UnicodeAttribute()
    reason = UnicodeAttribute()


class AssignmentMap(MapAttribute):  # type: ignore[type-arg]
    visit_id = UnicodeAttribute()
    consultant_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    by = UnicodeAttribute()
    skipped = ListAttribute(of=SkipMap, default=list)
    passed_over = ListAttribute(of=UnicodeAttribute, default=list)


class RosterItem(Model):
    """A day's duty roster and its rotation (R-FLOOR-3)."""

    class Meta(_Unbound):
        pass

    day = UnicodeAttribute(hash_key=True)  # local date
    version = NumberAttribute()
    queue = ListAttribute(of=UnicodeAttribute, default=list)
    assignments = ListAttribute(of=AssignmentMap, default=list)
    updated_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()


class CounterItem(Model):
    """Counts kept as things happen, so a report reads a few items, not the
    period's records: ``scope`` is what is counted over (``fines``,
    ``floor``), ``name`` what is counted (``<month>#<status>``)."""

    class Meta(_Unbound):
        pass

    scope = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    n = NumberAttribute(default=0)


class JobItem(Model):
    """The scheduled jobs: each run's record, and each job's watermark."""

    class Meta(_Unbound):
        pass

    job = UnicodeAttribute(hash_key=True)  # sweep | reclaim
    run = UnicodeAttribute(range_key=True)  # run#<ms>#<id>, or "watermark"
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    done_until = UTCDateTimeAttribute(null=True)  # the watermark: all due up to here is done
    counts = MapAttribute(null=True)  # type: ignore[var-annotated]


class AppealMap(MapAttribute):  # type: ignore[type-arg]
    by = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    reason = UnicodeAttribute()
    decided_by = UnicodeAttribute(null=True)
    decided_at = UTCDateTimeAttribute(null=True)
    note = UnicodeAttribute(null=True)


class FinesByPayer(GlobalSecondaryIndex):  # type: ignore[type-arg]
    """A payer's fines by local month: their statement is one query."""

    class Meta:
        index_name = "by_payer"
        projection = AllProjection()

    payer_month = UnicodeAttribute(hash_key=True)  # <payer id>#<YYYY-MM local>
    occurred = UnicodeAttribute(range_key=True)  # <ms>#<fine id>


class FinesByStatus(GlobalSecondaryIndex):  # type: ignore[type-arg]
    """Sparse: proposals and appeals waiting for a manager, by local month."""

    class Meta:
        index_name = "waiting"
        projection = AllProjection()

    waiting_month = UnicodeAttribute(hash_key=True)  # <status>#<YYYY-MM local>
    occurred = UnicodeAttribute(range_key=True)


class FineItem(Model):
    """One fine (R-FINE-1..5): replaced whole on its version."""

    class Meta(_Unbound):
        pass

    fine_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute()
    kind = UnicodeAttribute()
    payer_id = UnicodeAttribute()
    occurred_at = UTCDateTimeAttribute()
    amount = NumberAttribute()
    status = UnicodeAttribute()
    recorded_by = UnicodeAttribute()
    recorded_at = UTCDateTimeAttribute()
    visit_id = UnicodeAttribute(null=True)
    customer_masked = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    decided_at = UTCDateTimeAttribute(null=True)
    appeal = AppealMap(null=True)
    payer_month = UnicodeAttribute()
    occurred = UnicodeAttribute()
    waiting_month = UnicodeAttribute(null=True)
    by_payer = FinesByPayer()
    waiting = FinesByStatus()


# -- events pushed to registrants (decision 0010) ------------------------------


class EndpointItem(Model):
    """A registrant's push endpoint, set by Party A; replaced whole on its version."""

    class Meta(_Unbound):
        pass

    registrant_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute()
    url = UnicodeAttribute()
    status = UnicodeAttribute()  # active | disabled (the endpoint answered 410)
    since = UTCDateTimeAttribute()  # events recorded from here on are pushed
    watermark = UnicodeAttribute()  # the feed position up to which deliveries are made
    set_by = UnicodeAttribute()
    set_at = UTCDateTimeAttribute()
    disabled_at = UTCDateTimeAttribute(null=True)
    disabled_reason = UnicodeAttribute(null=True)


class AttemptMap(MapAttribute):  # type: ignore[type-arg]
    at = UTCDateTimeAttribute()
    status_code = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    latency_ms = NumberAttribute()


class DeliveriesByPosition(LocalSecondaryIndex):  # type: ignore[type-arg]
    """A registrant's deliveries in feed order: the delivery log."""

    class Meta:
        index_name = "by_position"
        projection = AllProjection()

    registrant_id = UnicodeAttribute(hash_key=True)
    position = UnicodeAttribute(range_key=True)


class DeliveriesPending(LocalSecondaryIndex):  # type: ignore[type-arg]
    """Sparse: a registrant's deliveries still to send, in feed order (a
    local index: read consistently, so the head of the queue is never stale)."""

    class Meta:
        index_name = "pending"
        projection = AllProjection()

    registrant_id = UnicodeAttribute(hash_key=True)
    pending_position = UnicodeAttribute(range_key=True)


class DeliveryItem(Model):
    """One event pushed to one registrant's endpoint: its attempts and state."""

    class Meta(_Unbound):
        pass

    registrant_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
    position = UnicodeAttribute()
    pending_position = UnicodeAttribute(null=True)  # set while pending
    event_type = UnicodeAttribute()
    registration_id = UnicodeAttribute()
    occurred_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()  # pending | delivered | dead
    created_at = UTCDateTimeAttribute()
    deadline = UTCDateTimeAttribute()
    next_attempt_at = UTCDateTimeAttribute()
    lease_until = UTCDateTimeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    log = ListAttribute(of=AttemptMap, default=list)
    finished_at = UTCDateTimeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    # set once final (delivered or dead): clean-up only, DynamoDB may delete
    # it days late, and reads show whatever is still there
    expires_at = TTLAttribute(null=True)
    by_position = DeliveriesByPosition()
    pending = DeliveriesPending()


# -- appeals of a 判客 decision (decision 0012) ---------------------------------


class AppealsByState(GlobalSecondaryIndex):  # type: ignore[type-arg]
    """The site manager's queue: appeals in one state, oldest first."""

    class Meta:
        index_name = "by_state"
        projection = AllProjection()

    state = UnicodeAttribute(hash_key=True)
    filed = UnicodeAttribute(range_key=True)  # <ms>#<appeal id>


class AppealsByCustomer(GlobalSecondaryIndex):  # type: ignore[type-arg]
    """A customer's appeals, for the 判客 lookup."""

    class Meta:
        index_name = "by_customer"
        projection = AllProjection()

    customer_key = UnicodeAttribute(hash_key=True)
    filed = UnicodeAttribute(range_key=True)


class AppealItem(Model):
    """One appeal of one 判客 decision by one passed-over claimant: its id is
    derived from both, so it is created once; replaced whole on its version."""

    class Meta(_Unbound):
        pass

    appeal_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute()
    decision_id = UnicodeAttribute()
    visit_id = UnicodeAttribute()
    customer_key = UnicodeAttribute()
    phone_masked = UnicodeAttribute(null=True)
    decided_at = UTCDateTimeAttribute()
    holder_id = UnicodeAttribute()
    holder_registration_id = UnicodeAttribute()
    claimant_id = UnicodeAttribute()
    claimant_registration_id = UnicodeAttribute()
    filed_by = UnicodeAttribute()
    filed_at = UTCDateTimeAttribute()
    reason = UnicodeAttribute()
    state = UnicodeAttribute()
    answered_by = UnicodeAttribute(null=True)
    answered_at = UTCDateTimeAttribute(null=True)
    answer_reason = UnicodeAttribute(null=True)
    new_registration_id = UnicodeAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)
    request_hash = UnicodeAttribute(null=True)
    filed = UnicodeAttribute()
    by_state = AppealsByState()
    by_customer = AppealsByCustomer()
