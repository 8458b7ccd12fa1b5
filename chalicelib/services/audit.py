"""Audit entries for what operators and staff do outside a customer's decisions."""

from __future__ import annotations

from datetime import datetime

from chalicelib.observability import logger
from chalicelib.rules.records import AuditEntry
from chalicelib.services.ids import new_id
from chalicelib.store import Store

OPERATOR = "operator"  # the admin commands run with AWS credentials, not a token


def record(
    store: Store,
    subject: str,
    action: str,
    now: datetime,
    actor: str = OPERATOR,
    *,
    rule: str | None = None,
    code: str | None = None,
    registration_id: str | None = None,
    detail: str | None = None,
    entry_id: str | None = None,
) -> None:
    """Append an entry. With ``entry_id`` (derived from what it records, and
    ``now`` the time of that) a retry writes the same entry once."""
    store.append_audit(
        entry(
            subject,
            action,
            now,
            actor,
            rule=rule,
            code=code,
            registration_id=registration_id,
            detail=detail,
            entry_id=entry_id,
        ),
        once=entry_id is not None,
    )


def entry(
    subject: str,
    action: str,
    now: datetime,
    actor: str = OPERATOR,
    *,
    rule: str | None = None,
    code: str | None = None,
    registration_id: str | None = None,
    detail: str | None = None,
    entry_id: str | None = None,
) -> AuditEntry:
    """The entry ``record`` appends, for a caller that writes it with others."""
    return AuditEntry(
        subject=subject,
        entry_id=entry_id or new_id("au", now),
        at=now,
        action=action,
        actor=actor,
        request_id=logger.get_correlation_id(),
        rule=rule,
        code=code,
        registration_id=registration_id,
        detail=detail,
    )
