"""PynamoDB models of the areas a registration does not use: the floor (visits,
rosters), the jobs, fines, pushed deliveries and appeals. Imported with the
store's methods of those areas (repository.LATER_AREAS), or when every table
is asked for (tables.TABLES); bound to the stage's tables like models.py's
(tables.bind), when imported after them.
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
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from . import tables
from .models import _Unbound


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
    events_at = UTCDateTimeAttribute(null=True)
    filed = UnicodeAttribute()
    by_state = AppealsByState()
    by_customer = AppealsByCustomer()


# imported after the store was bound: bound now, as tables.bind binds models.py's
tables.bind_later()
