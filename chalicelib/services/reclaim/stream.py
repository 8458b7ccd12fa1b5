"""DynamoDB stream of the idempotency table: TTL deletes its expired answers.

TTL is clean-up only (it may come days late; a stored answer ends by its
``created_at``). A deletion by DynamoDB's TTL is counted; any other deletion
is someone removing a stored answer by hand inside or after its 24 hours,
which would let a retry make a second registration: it is logged and
audited so it can be explained afterwards.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from chalicelib.observability import count, logger
from chalicelib.services import audit
from chalicelib.store import Store

TTL_PRINCIPAL = "dynamodb.amazonaws.com"


def is_ttl_deletion(record: dict[str, Any]) -> bool:
    """AWS marks TTL deletions with a service identity (documented for streams)."""
    identity = record.get("userIdentity") or {}
    return (
        record.get("eventName") == "REMOVE"
        and identity.get("type") == "Service"
        and identity.get("principalId") == TTL_PRINCIPAL
    )


def handle(store: Store, records: Iterable[dict[str, Any]], now: datetime) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for record in records:
        if record.get("eventName") != "REMOVE":
            counts["ignored"] += 1
            continue
        if is_ttl_deletion(record):
            counts["expired"] += 1
            continue
        counts["deleted_by_hand"] += 1
        key = (record.get("dynamodb") or {}).get("Keys", {}).get("key", {}).get("S", "?")
        logger.warning("a stored answer was deleted, not by TTL", extra={"answer_key": key})
        audit.record(
            store,
            "idempotency",
            "idempotency.deleted",
            now,
            actor="not-ttl",
            detail=f"answer {key} deleted by someone other than TTL",
        )
    for name, n in counts.items():
        count(f"IdempotencyStream{name.title().replace('_', '')}", value=n)
    return dict(counts)
