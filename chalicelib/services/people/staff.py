"""Staff identity: people, roles and bearer tokens (shown once, kept as a hash)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from chalicelib.errors import Failed, Problem, not_found, unauthenticated
from chalicelib.rules.staff import Role, Staff
from chalicelib.services import audit
from chalicelib.services.ids import new_id
from chalicelib.store import Store


@dataclass(frozen=True)
class IssuedToken:
    token_id: str
    token: str  # shown to the operator once; only its hash is stored


def create_staff(
    store: Store, name: str, role: Role, now: datetime, *, actor: str = audit.OPERATOR
) -> Staff:
    staff = Staff(new_id("stf", now), name, role, enabled=True)
    store.put_staff(staff, now)
    audit.record(store, f"staff:{staff.staff_id}", f"staff.created as {role.value}", now, actor)
    return staff


def issue_token(
    store: Store, staff_id: str, now: datetime, *, actor: str = audit.OPERATOR
) -> IssuedToken:
    if store.get_staff(staff_id) is None:
        raise Failed(not_found("staff member"))
    token_id = new_id("tok", now)
    secret = secrets.token_urlsafe(32)
    store.put_token(token_id, staff_id, _hash(secret), now)
    audit.record(store, f"staff:{staff_id}", f"token.issued {token_id}", now, actor)
    return IssuedToken(token_id, f"{token_id}.{secret}")


def revoke_token(store: Store, token_id: str, now: datetime) -> None:
    if not store.revoke_token(token_id, now):
        raise Failed(not_found("active token"))
    audit.record(store, f"token:{token_id}", "token.revoked", now)


def set_staff_enabled(
    store: Store, staff_id: str, enabled: bool, now: datetime, *, actor: str = audit.OPERATOR
) -> Staff:
    updated = store.set_staff_enabled(staff_id, enabled)
    if updated is None:
        raise Failed(not_found("staff member"))
    action = "staff.enabled" if enabled else "staff.disabled"
    audit.record(store, f"staff:{staff_id}", action, now, actor)
    return updated


def authenticate(store: Store, authorization: str | None) -> Staff:
    """The enabled staff member whose unrevoked token this is, or 401."""
    scheme, _, token = (authorization or "").partition(" ")
    token_id, _, secret = token.strip().partition(".")
    if scheme.lower() != "bearer" or not token_id.startswith("tok_") or not secret:
        raise Failed(unauthenticated())
    found = store.get_token(token_id) if len(token_id) <= 64 else None
    if found is None:
        raise Failed(unauthenticated())
    staff_id, secret_hash, revoked_at = found
    if revoked_at is not None or not hmac.compare_digest(secret_hash, _hash(secret)):
        raise Failed(unauthenticated())
    staff = store.get_staff(staff_id)
    if staff is None or not staff.enabled:
        raise Failed(unauthenticated())
    return staff


def require(staff: Staff, roles: Collection[Role]) -> Staff:
    if staff.role not in roles:
        raise Failed(Problem("FORBIDDEN", f"The role {staff.role.value} may not do this."))
    return staff


def _hash(secret: str) -> str:
    # the secret is 256 random bits: a plain hash cannot be reversed by search
    return hashlib.sha256(secret.encode()).hexdigest()
