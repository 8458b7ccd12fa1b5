"""Helpers the tests share: signing, registrants, request building."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.rules.claims import Source
from chalicelib.rules.records import Registrant
from chalicelib.signing import signature_header

SHANGHAI_OFFSET = "+08:00"


def shanghai(text: str) -> datetime:
    """``"2026-11-27 10:30"`` in Shanghai local time, as an aware UTC datetime."""
    return datetime.fromisoformat(text.replace(" ", "T") + SHANGHAI_OFFSET).astimezone(UTC)


def make_registrant(kind: Source, name: str | None = None, enabled: bool = True) -> Registrant:
    return Registrant(
        registrant_id=f"reg_{kind.value}_{secrets.token_hex(4)}",
        kind=kind,
        name=name or f"{kind.value} company",
        secret=secrets.token_hex(16),
        enabled=enabled,
    )


def body(phone: str = "138 1234 5678", visit_at: str | None = None, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"customer": {"name": "王先生", "phone": phone}}
    if visit_at is not None:
        doc["visit_at"] = visit_at
    doc.update(extra)
    return doc


def signed_headers(
    registrant: Registrant,
    raw: bytes,
    *,
    at: datetime | None = None,
    key: str | None = "auto",
    secret: str | None = None,
) -> dict[str, str]:
    timestamp = int((at or datetime.now(UTC)).timestamp())
    headers = {
        "Content-Type": "application/json",
        "X-Registrant-Id": registrant.registrant_id,
        "X-Signature": signature_header(secret or registrant.secret, timestamp, raw),
    }
    if key == "auto":
        key = secrets.token_hex(8)
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def encode(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every item of every table, to prove a refused request wrote nothing."""
    from chalicelib.store.tables import ALL_MODELS

    return {
        model.Meta.table_name: sorted(
            (json.dumps(i.serialize(), sort_keys=True, default=str) for i in model.scan()),
        )
        for model in ALL_MODELS
    }


def empty_tables() -> None:
    """Every table emptied: a test that loops over fresh starts."""
    from chalicelib.store.tables import ALL_MODELS

    for model in ALL_MODELS:
        with model.batch_write() as batch:
            for item in model.scan():
                batch.delete(item)


def old_secret_signs_one_day_more(api: Any, clock: Any, old: Registrant, new: Registrant) -> None:
    """After a rotation at the clock's 2026-11-27 10:00 Shanghai: the new
    secret signs at once; the old one still signs at +23 h 59 m and no
    longer at +24 h 1 m."""
    assert api.register(new, body("13800000001", "2026-11-27T09:30:00+08:00")).status_code == 201
    clock.shift(timedelta(hours=23, minutes=59))
    tomorrow = "2026-11-28T09:30:00+08:00"
    assert api.register(old, body("13800000002", tomorrow)).status_code == 201
    clock.shift(timedelta(minutes=2))
    assert api.register(old, body("13800000003", tomorrow)).status_code == 401
    assert api.register(new, body("13800000004", tomorrow)).status_code == 201
