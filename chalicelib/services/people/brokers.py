"""Party A certifies, lists and revokes crowd brokers (R-REG-4)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.errors import Failed, FieldError, not_found, validation_error
from chalicelib.rules.brokers import Broker, id_card_key, normalize_id_card
from chalicelib.rules.phone import mask_phone, normalize_phone
from chalicelib.services import audit
from chalicelib.services.ids import new_id
from chalicelib.store import Store


def certify(
    store: Store,
    secret: bytes,
    *,
    name: str,
    phone: str,
    id_card: str,
    now: datetime,
    expires_at: datetime | None = None,
    actor: str = audit.OPERATOR,
) -> Broker:
    """Certify a broker from now on; the ID card is kept only as a keyed HMAC
    and its last four characters."""
    normalized_phone = normalize_phone(phone)
    card = normalize_id_card(id_card)
    errors = []
    if not name.strip() or len(name) > 64:
        errors.append(FieldError("name", "1 to 64 characters"))
    if normalized_phone is None:
        errors.append(FieldError("phone", "a mainland China mobile number"))
    if card is None:
        errors.append(FieldError("id_card", "18 characters: 17 digits and a digit or X"))
    if expires_at is not None and expires_at <= now:
        errors.append(FieldError("expires_at", "must be in the future"))
    if errors or normalized_phone is None or card is None:
        raise Failed(validation_error(*errors))
    broker = Broker(
        broker_id=new_id("brk", now),
        name=name.strip(),
        phone_masked=mask_phone(normalized_phone),
        id_card_key=id_card_key(card, secret),
        id_card_last4=card[-4:],
        certified_at=now,
        expires_at=expires_at,
    )
    store.put_broker(broker)
    audit.record(store, f"broker:{broker.broker_id}", "broker.certified", now, actor)
    return broker


def revoke(store: Store, broker_id: str, now: datetime, actor: str = audit.OPERATOR) -> Broker:
    revoked = store.revoke_broker(broker_id, now)
    if revoked is None:
        raise Failed(not_found("certified broker"))
    audit.record(store, f"broker:{broker_id}", "broker.revoked", now, actor)
    return revoked
