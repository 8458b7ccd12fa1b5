"""What a registrant reads: its registrations and its event feed."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from chalicelib.errors import Failed, FieldError, not_found, validation_error
from chalicelib.rules.records import Registrant
from chalicelib.services.views import event_view, registration_view
from chalicelib.settings import Settings
from chalicelib.store import Store

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Reads:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._zone = settings.policy.zone

    def registration(
        self, caller: Registrant, registration_id: str, now: datetime
    ) -> dict[str, Any]:
        """Another registrant's registration is answered 404, like a missing one."""
        found = None
        if registration_id.startswith("rg_") and len(registration_id) <= 64:
            found = self._store.get_registration(caller.registrant_id, registration_id)
        if found is None:
            raise Failed(not_found("registration"))
        return registration_view(found, now, self._zone)

    def registrations(
        self, caller: Registrant, query: dict[str, str], now: datetime
    ) -> dict[str, Any]:
        """Newest first, ``limit`` at a time; ``next_cursor`` continues."""
        limit = parse_limit(query)
        before = decode_cursor(query.get("cursor"), "rg_")
        rows = self._store.list_registrations(caller.registrant_id, before, limit + 1)
        page, cursor = one_page(rows, limit, lambda r: r.registration_id)
        return {
            "data": [registration_view(r, now, self._zone) for r in page],
            "next_cursor": cursor,
        }

    def events(self, caller: Registrant, query: dict[str, str], now: datetime) -> dict[str, Any]:
        """Oldest first. Only events older than the settle delay are listed,
        so a slow writer can never place an event behind a cursor already
        handed out: polling with ``next_cursor`` never misses or repeats."""
        limit = parse_limit(query)
        after = decode_cursor(query.get("cursor"), "")
        horizon = now - timedelta(seconds=self._settings.event_settle_seconds)
        page = self._store.list_events(caller.registrant_id, after, horizon, limit)
        cursor = page[-1][0] if page else after
        return {
            "data": [event_view(e, self._zone) for _, e in page],
            "next_cursor": encode_cursor(cursor) if cursor else None,
        }


def parse_limit(query: dict[str, str]) -> int:
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    # a few digits at most: int() refuses (ValueError) beyond 4,300
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= MAX_LIMIT):
        raise Failed(validation_error(FieldError("limit", f"an integer from 1 to {MAX_LIMIT}")))
    return int(raw)


def one_page(rows: list[T], limit: int, position: Callable[[T], str]) -> tuple[list[T], str | None]:
    """``rows`` read as ``limit + 1``: the first ``limit``, and the cursor after
    the last of them when one more exists."""
    page = rows[:limit]
    return page, encode_cursor(position(page[-1])) if len(rows) > limit else None


def encode_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, prefix: str) -> str | None:
    if cursor is None:
        return None
    try:
        if len(cursor) > 200:
            raise ValueError
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        text = ""
    if not text or not text.startswith(prefix) or not text.isprintable():
        raise Failed(validation_error(FieldError("cursor", "not a cursor this API returned")))
    return text
