"""Registrants: the outside companies that sign webhook requests (Party A issues them)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from chalicelib.errors import Failed, not_found
from chalicelib.rules.claims import Source
from chalicelib.rules.records import Registrant
from chalicelib.services import audit
from chalicelib.services.ids import new_id
from chalicelib.store import Store

KINDS = (Source.CHANNEL, Source.DISTRIBUTION, Source.ECOMMERCE)


ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def create_registrant(
    store: Store, kind: Source, name: str, now: datetime, *, actor: str = audit.OPERATOR
) -> Registrant:
    """A new registrant with a fresh signing secret (shown to the operator once)."""
    if kind not in KINDS:
        raise ValueError(f"a registrant is one of {', '.join(k.value for k in KINDS)}")
    registrant = Registrant(
        registrant_id=new_id("reg", now),
        kind=kind,
        name=name,
        secret=new_secret(),
        enabled=True,
        created_at=now,
    )
    store.put_registrant(registrant, now)
    audit.record(store, f"registrant:{registrant.registrant_id}", "registrant.created", now, actor)
    return registrant


def set_enabled(
    store: Store, registrant_id: str, enabled: bool, now: datetime, *, actor: str = audit.OPERATOR
) -> Registrant:
    updated = store.set_registrant_enabled(registrant_id, enabled)
    if updated is None:
        raise Failed(not_found("registrant"))
    action = "registrant.enabled" if enabled else "registrant.disabled"
    audit.record(store, f"registrant:{registrant_id}", action, now, actor)
    return updated


def rotate_secret(
    store: Store,
    registrant_id: str,
    now: datetime,
    *,
    overlap: timedelta = ROTATION_OVERLAP,
    actor: str = audit.OPERATOR,
) -> Registrant:
    """A new secret (shown once); the old one keeps signing for ``overlap``
    (24 hours; none when it leaked)."""
    rotated = store.rotate_registrant_secret(registrant_id, new_secret(), now + overlap)
    if rotated is None:
        raise Failed(not_found("registrant"))
    audit.record(store, f"registrant:{registrant_id}", "registrant.secret_rotated", now, actor)
    return rotated
