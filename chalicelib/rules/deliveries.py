"""What a pushed delivery is (decision 0010): plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class Status(Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # dead-lettered: 24 h of failures, or the endpoint answered 410


class EndpointStatus(Enum):
    ACTIVE = "active"
    DISABLED = "disabled"  # it answered 410 Gone; set it again to resume


@dataclass(frozen=True)
class Endpoint:
    registrant_id: str
    url: str
    status: EndpointStatus
    since: datetime  # events recorded from here on are pushed
    watermark: str  # the feed position up to which deliveries were made
    set_by: str
    set_at: datetime
    version: int | None = None  # as read; None: not stored yet
    disabled_at: datetime | None = None
    disabled_reason: str | None = None


@dataclass(frozen=True)
class Attempt:
    at: datetime
    status_code: int | None  # None: no HTTP answer (refused, timed out, not allowed)
    error: str | None
    latency_ms: int


@dataclass(frozen=True)
class Delivery:
    registrant_id: str
    event_id: str  # also the delivery's id and its Event-Id header
    position: str  # the event's feed position: the order of delivery
    event_type: str
    registration_id: str
    occurred_at: datetime
    status: Status
    created_at: datetime
    deadline: datetime  # after a failure at or past this, dead-lettered
    next_attempt_at: datetime
    lease_until: datetime | None = None  # a worker is sending it until then
    attempts: int = 0
    log: tuple[Attempt, ...] = field(default=())
    finished_at: datetime | None = None
    reason: str | None = None
    version: int | None = None  # as read; None: not stored yet
    # set when it becomes final (delivered or dead), cleared by a replay: the
    # store's TTL deletes it some time after (clean-up only, nothing reads it)
    expires_at: datetime | None = None
