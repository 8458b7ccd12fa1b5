"""Which table each model uses, decided at first use from the settings."""

from __future__ import annotations

from typing import Any

import botocore.session
from pynamodb.connection import Connection

from chalicelib import aws_session
from chalicelib.settings import Settings

from .models import (
    AppealItem,
    AuditItem,
    BrokerItem,
    CounterItem,
    CustomerItem,
    DeliveryItem,
    EndpointItem,
    EventItem,
    FineItem,
    IdempotencyItem,
    JobItem,
    MaskItem,
    RegistrantItem,
    RegistrationItem,
    RosterItem,
    StaffItem,
    TokenItem,
    VisitItem,
)

TABLES: dict[type[Any], str] = {
    CustomerItem: "customers",
    RegistrationItem: "registrations",
    EventItem: "events",
    IdempotencyItem: "idempotency",
    RegistrantItem: "registrants",
    StaffItem: "staff",
    TokenItem: "tokens",
    BrokerItem: "brokers",
    AuditItem: "audit",
    VisitItem: "visits",
    RosterItem: "rosters",
    JobItem: "jobs",
    FineItem: "fines",
    CounterItem: "counters",
    EndpointItem: "endpoints",
    DeliveryItem: "deliveries",
    AppealItem: "appeals",
    MaskItem: "masks",
}

ALL_MODELS: tuple[type[Any], ...] = tuple(TABLES)

# Bounded retries: a request the store cannot serve fails within seconds
# (answered 503) instead of holding a caller for minutes.
CONNECTION_OPTIONS: dict[str, Any] = {
    "connect_timeout_seconds": 2,
    "read_timeout_seconds": 5,
    "retry_configuration": {"mode": "standard", "total_max_attempts": 3},
}


class SharedSessionConnection(Connection):
    """PynamoDB's connection, in the thread's shared botocore session
    (chalicelib/aws_session.py) instead of a session of its own."""

    @property
    def session(self) -> botocore.session.Session:
        return aws_session.session()


def bind(settings: Settings) -> Connection:
    """Point every model at this stage's tables, all through one connection.

    PynamoDB gives each model its own connection, hence its own botocore
    session and client: ~200 ms of cold start each, five times over. One
    shared connection (also used for the calls PynamoDB cannot make:
    cross-table batches, ALL_OLD on a failed condition) costs that once.
    """
    shared = SharedSessionConnection(
        region=settings.region, host=settings.dynamodb_endpoint, **CONNECTION_OPTIONS
    )
    for model, table in TABLES.items():
        model.Meta.table_name = settings.table_name(table)
        model.Meta.region = settings.region
        model.Meta.host = settings.dynamodb_endpoint
        model._connection = None  # forget a connection made for other settings
        table_connection = model._get_connection()
        shared.add_meta_table(table_connection.get_meta_table())
        table_connection.connection = shared
    return shared


def create_tables(*, ttl_supported: bool = True) -> None:
    """Create every table (on-demand) if missing: tests, local stage, admin."""
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(
                billing_mode="PAY_PER_REQUEST",
                wait=True,
                ignore_update_ttl_errors=not ttl_supported,
            )
