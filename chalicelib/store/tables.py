"""Which table each model uses, decided at first use from the settings."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

import botocore.session
from pynamodb.connection import Connection

from chalicelib import aws_session
from chalicelib.settings import Settings

from . import models

LATER_MODELS = f"{__package__}.later_models"

# Each model's table, in this order (the deploy template's). models.py's are
# imported with the store; later_models.py's with the store's methods that use
# them (repository.LATER_AREAS), or when every table is asked for (TABLES).
TABLE_OF_MODEL: dict[str, str] = {
    "CustomerItem": "customers",
    "RegistrationItem": "registrations",
    "EventItem": "events",
    "IdempotencyItem": "idempotency",
    "RegistrantItem": "registrants",
    "StaffItem": "staff",
    "TokenItem": "tokens",
    "BrokerItem": "brokers",
    "AuditItem": "audit",
    "VisitItem": "visits",
    "RosterItem": "rosters",
    "JobItem": "jobs",
    "FineItem": "fines",
    "CounterItem": "counters",
    "EndpointItem": "endpoints",
    "DeliveryItem": "deliveries",
    "AppealItem": "appeals",
    "MaskItem": "masks",
}

if TYPE_CHECKING:
    TABLES: dict[type[Any], str]  # every model and its table (module __getattr__)
    ALL_MODELS: tuple[type[Any], ...]


def __getattr__(name: str) -> Any:
    """``TABLES`` and ``ALL_MODELS``: every model (later_models.py imported)."""
    if name == "TABLES":
        return every_table()
    if name == "ALL_MODELS":
        return tuple(every_table())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def every_table() -> dict[type[Any], str]:
    """Every model and its table, in the template's order."""
    importlib.import_module(LATER_MODELS)
    return loaded_tables()


def loaded_tables() -> dict[type[Any], str]:
    """The models imported so far and their tables, in the template's order."""
    found = {}
    later = sys.modules.get(LATER_MODELS)
    for name, table in TABLE_OF_MODEL.items():
        model = getattr(models, name, None) or getattr(later, name, None)
        if model is not None:
            found[model] = table
    return found


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
    _bound[:] = [(settings, shared)]
    for model, table in loaded_tables().items():
        _bind_model(model, table, settings, shared)
    return shared


# The last bind's settings and connection: models imported after it
# (later_models.py) are bound to them on import (bind_later).
_bound: list[tuple[Settings, Connection]] = []


def bind_later() -> None:
    """Bind the models imported since the last ``bind`` as it bound the others
    (later_models.py calls this when imported; before any bind, nothing to do)."""
    if not _bound:
        return
    settings, shared = _bound[0]
    for model, table in loaded_tables().items():
        if model._connection is None or model._connection.connection is not shared:
            _bind_model(model, table, settings, shared)


def _bind_model(model: Any, table: str, settings: Settings, shared: Connection) -> None:
    model.Meta.table_name = settings.table_name(table)
    model.Meta.region = settings.region
    model.Meta.host = settings.dynamodb_endpoint
    model._connection = None  # forget a connection made for other settings
    table_connection = model._get_connection()
    shared.add_meta_table(table_connection.get_meta_table())
    table_connection.connection = shared


def create_tables(*, ttl_supported: bool = True) -> None:
    """Create every table (on-demand) if missing: tests, local stage, admin."""
    for model in every_table():
        if not model.exists():
            model.create_table(
                billing_mode="PAY_PER_REQUEST",
                wait=True,
                ignore_update_ttl_errors=not ttl_supported,
            )
