"""Identifiers: time-ordered (so lists sort by creation) and unguessable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str, now: datetime) -> str:
    """``prefix_`` + 48-bit milliseconds + 80 random bits, Crockford base32."""
    millis = int(now.timestamp() * 1000)
    value = (millis << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return f"{prefix}_{''.join(reversed(chars))}"


def derived_id(prefix: str, *parts: str) -> str:
    """A stable id for something rebuilt identically by a retry."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:26]
    return f"{prefix}_{digest}"
