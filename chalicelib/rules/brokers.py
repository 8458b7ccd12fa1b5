"""Crowd brokers (全民经纪人), R-REG-4: certified by Party A before recommending,
and verified by the ID card shown at the accompanied visit."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from .claims import Deal
from .refusals import Refusal

_ID_CARD = re.compile(r"[0-9]{17}[0-9X]")


@dataclass(frozen=True)
class Broker:
    broker_id: str
    name: str
    phone_masked: str
    id_card_key: str  # keyed HMAC of the ID card number; the number itself is never kept
    id_card_last4: str
    certified_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def certified(self, now: datetime) -> bool:
        """Certified strictly before ``now``, not expired, not revoked."""
        if not self.certified_at < now:
            return False
        if self.expires_at is not None and now >= self.expires_at:
            return False
        return self.revoked_at is None or now < self.revoked_at


def normalize_id_card(raw: str) -> str | None:
    """An 18-character mainland ID card number (last may be X), or None."""
    compact = raw.replace(" ", "").upper()
    return compact if _ID_CARD.fullmatch(compact) else None


def id_card_key(id_card: str, secret: bytes) -> str:
    return hmac.new(secret, b"id-card:" + id_card.encode(), hashlib.sha256).hexdigest()


def check_broker(broker: Broker | None, shown_card_key: str, now: datetime) -> Refusal | None:
    """R-REG-4: the broker was certified at this instant and the card matches."""
    if broker is None or not broker.certified(now):
        return Refusal(
            "BROKER_NOT_CERTIFIED",
            "R-REG-4",
            "The broker was not certified by Party A at the time of this registration.",
        )
    if not hmac.compare_digest(broker.id_card_key, shown_card_key):
        return Refusal(
            "BROKER_ID_MISMATCH",
            "R-REG-4",
            "The ID card shown does not match the certified broker's record.",
        )
    return None


def check_certified_before_deal(certified_at: datetime | None, deal: Deal | None) -> Refusal | None:
    """R-REG-4: 先成交后认定为经纪人的不予承认 — a broker certified at or after
    the customer's deal is not recognized for that customer, whenever they
    register them. ``certified_at`` None: not a broker's recommendation."""
    if certified_at is None or deal is None or certified_at < deal.at:
        return None
    return Refusal(
        "BROKER_NOT_CERTIFIED",
        "R-REG-4",
        "The broker was certified after the customer's deal; a broker certified "
        "after the deal is not recognized for that customer.",
    )
