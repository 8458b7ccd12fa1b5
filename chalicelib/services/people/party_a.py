"""Party A's administration (R-REG-4): the admin certifies, lists and disables crowd
brokers and registrants, issues and rotates their secrets, and manages staff.

Each request body is parsed here and the work is done by ``registrants``,
``brokers`` and ``staff`` (the same functions as the operator commands), with
the acting admin as the audit actor. Secrets and tokens appear only in the
answer that issues them: never in a list, a log line or the audit trail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints

from chalicelib.errors import Failed, FieldError, Problem, not_found
from chalicelib.errors import validation_error as invalid
from chalicelib.rules.brokers import Broker
from chalicelib.rules.claims import Source
from chalicelib.rules.records import Registrant
from chalicelib.rules.staff import Role, Staff
from chalicelib.services.people import brokers, registrants, staff
from chalicelib.services.registration.intake import (
    Name,
    PhoneText,
    VisitAt,
    is_id,
    mobile,
    validated,
)
from chalicelib.services.views import local_iso
from chalicelib.settings import Settings
from chalicelib.store import Store


def _registrant_kind(value: object) -> Source:
    kinds = {kind.value: kind for kind in registrants.KINDS}
    if not isinstance(value, str) or value not in kinds:
        raise ValueError(f"one of {', '.join(kinds)}")
    return kinds[value]


RegistrantKind = Annotated[Source, BeforeValidator(_registrant_kind)]


def _storable(value: datetime) -> datetime:
    """A time the store (UTC) and the answer (local time) can both hold."""
    try:
        year = value.astimezone(UTC).year
    except OverflowError:
        year = 10_000
    if not 1970 <= year < 9999:
        raise ValueError("between the years 1970 and 9998")
    return value


Expiry = Annotated[VisitAt, AfterValidator(_storable)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class _Nothing(_Strict):
    """``{}``: the action is the path."""


class _NewRegistrant(_Strict):
    kind: RegistrantKind
    name: Name


class _Enabled(_Strict):
    enabled: bool


class _Rotation(_Strict):
    at_once: bool = False  # it leaked: the old secret stops now, not in 24 hours


class _NewBroker(_Strict):
    name: Name
    phone: PhoneText
    id_card: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    expires_at: Expiry | None = None


class _NewStaff(_Strict):
    name: Name
    role: Role


class PartyA:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._phone_key = settings.phone_hmac_key
        self._zone = settings.policy.zone

    # -- registrants ------------------------------------------------------------

    def registrants(self) -> dict[str, Any]:
        return {"registrants": [self._registrant(r) for r in self._store.list_registrants()]}

    def recommenders(self, now: datetime) -> dict[str, Any]:
        """Who may accompany or recommend a customer now, by name, for the
        floor's pickers (every staff role): enabled registrants and brokers
        certified now. Nothing else of them: no secret, phone or ID card."""
        return {
            "registrants": [
                {"id": r.registrant_id, "name": r.name, "kind": r.kind.value}
                for r in self._store.list_registrants()
                if r.enabled
            ],
            "brokers": [
                {"id": b.broker_id, "name": b.name}
                for b in self._store.list_brokers()
                if b.certified(now)
            ],
        }

    def create_registrant(self, admin: Staff, raw: bytes, now: datetime) -> dict[str, Any]:
        ask = validated(_NewRegistrant, raw)
        created = registrants.create_registrant(
            self._store, ask.kind, ask.name, now, actor=admin.staff_id
        )
        return {**self._registrant(created), "secret": created.secret}

    def set_registrant_enabled(
        self, admin: Staff, registrant_id: str, raw: bytes, now: datetime
    ) -> dict[str, Any]:
        ask = validated(_Enabled, raw)
        _known(registrant_id, "registrant")
        updated = registrants.set_enabled(
            self._store, registrant_id, ask.enabled, now, actor=admin.staff_id
        )
        return self._registrant(updated)

    def rotate_secret(
        self, admin: Staff, registrant_id: str, raw: bytes, now: datetime
    ) -> dict[str, Any]:
        ask = validated(_Rotation, raw)
        _known(registrant_id, "registrant")
        overlap = timedelta(0) if ask.at_once else registrants.ROTATION_OVERLAP
        rotated = registrants.rotate_secret(
            self._store, registrant_id, now, overlap=overlap, actor=admin.staff_id
        )
        return {
            "id": rotated.registrant_id,
            "secret": rotated.secret,
            "previous_secret_valid_until": local_iso(rotated.previous_secret_until, self._zone),
        }

    def _registrant(self, r: Registrant) -> dict[str, Any]:
        return {
            "id": r.registrant_id,
            "kind": r.kind.value,
            "name": r.name,
            "enabled": r.enabled,
            "created_at": local_iso(r.created_at, self._zone),
        }

    # -- crowd brokers (R-REG-4) -------------------------------------------------

    def brokers(self, now: datetime) -> dict[str, Any]:
        return {"brokers": [self._broker(b, now) for b in self._store.list_brokers()]}

    def certify_broker(self, admin: Staff, raw: bytes, now: datetime) -> dict[str, Any]:
        ask = validated(_NewBroker, raw)
        certified = brokers.certify(
            self._store,
            self._phone_key,
            name=ask.name,
            phone=mobile(ask.phone, "phone"),  # INVALID_PHONE, as on every route
            id_card=ask.id_card,
            now=now,
            expires_at=ask.expires_at,
            actor=admin.staff_id,
        )
        return self._broker(certified, now)

    def revoke_broker(
        self, admin: Staff, broker_id: str, raw: bytes, now: datetime
    ) -> dict[str, Any]:
        """Revoked from now on; revoking again answers the broker as it stands
        (the first revocation's time, no second audit entry)."""
        validated(_Nothing, raw)
        _known(broker_id, "broker")
        try:
            revoked = brokers.revoke(self._store, broker_id, now, admin.staff_id)
        except Failed:
            earlier = self._store.get_broker(broker_id)
            if earlier is None or earlier.revoked_at is None:
                raise Failed(not_found("broker")) from None
            revoked = earlier
        return self._broker(revoked, now)

    def _broker(self, b: Broker, now: datetime) -> dict[str, Any]:
        """Never the phone or the ID card number: masked, and the last four."""
        return {
            "id": b.broker_id,
            "name": b.name,
            "phone_masked": b.phone_masked,
            "id_card_last4": b.id_card_last4,
            "certified": b.certified(now),
            "certified_at": local_iso(b.certified_at, self._zone),
            "expires_at": local_iso(b.expires_at, self._zone),
            "revoked_at": local_iso(b.revoked_at, self._zone),
        }

    # -- staff -------------------------------------------------------------------

    def staff(self) -> dict[str, Any]:
        return {"staff": [_member(s) for s in self._store.list_staff()]}

    def directory(self, query: dict[str, str]) -> dict[str, Any]:
        """Staff by name for the managers' pickers (who is fined, which
        consultant a late entry is for), one role or all: id, name, role and
        whether enabled, nothing else (no token)."""
        wanted = query.get("role")
        roles = {role.value: role for role in Role}
        if wanted is not None and wanted not in roles:
            raise Failed(invalid(FieldError("role", f"one of {', '.join(roles)}")))
        members = [s for s in self._store.list_staff() if wanted in (None, s.role.value)]
        members.sort(key=lambda s: (not s.enabled, s.name, s.staff_id))
        return {"staff": [_member(s) for s in members]}

    def create_staff(self, admin: Staff, raw: bytes, now: datetime) -> dict[str, Any]:
        ask = validated(_NewStaff, raw)
        member = staff.create_staff(self._store, ask.name, ask.role, now, actor=admin.staff_id)
        first = staff.issue_token(self._store, member.staff_id, now, actor=admin.staff_id)
        return {**_member(member), "token": first.token}

    def set_staff_enabled(
        self, admin: Staff, staff_id: str, raw: bytes, now: datetime
    ) -> dict[str, Any]:
        """An admin may not disable themself: the last admin cannot lock
        everyone out, and nobody switches off the account they are using."""
        ask = validated(_Enabled, raw)
        if staff_id == admin.staff_id and not ask.enabled:
            raise Failed(
                Problem("CANNOT_DISABLE_SELF", "An admin may not disable themself; ask another.")
            )
        _known(staff_id, "staff member")
        updated = staff.set_staff_enabled(
            self._store, staff_id, ask.enabled, now, actor=admin.staff_id
        )
        return _member(updated)

    def issue_token(self, admin: Staff, staff_id: str, raw: bytes, now: datetime) -> dict[str, Any]:
        validated(_Nothing, raw)
        _known(staff_id, "staff member")
        issued = staff.issue_token(self._store, staff_id, now, actor=admin.staff_id)
        return {"token_id": issued.token_id, "token": issued.token}


def _member(s: Staff) -> dict[str, Any]:
    return {"id": s.staff_id, "name": s.name, "role": s.role.value, "enabled": s.enabled}


def _known(some_id: str, what: str) -> None:
    """An id of a shape we never issue is not looked up: 404 at once."""
    if not is_id(some_id):
        raise Failed(not_found(what))
