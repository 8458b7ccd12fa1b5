"""Registrants as the webhook authenticates them, kept per instance briefly.

Every signed request needs its registrant (kind, secrets, enabled). Reading
it each time is one DynamoDB request per registration; keeping it for
``CREDENTIALS_SECONDS`` saves that on every request of a busy registrant
but one. The price: another instance may go on accepting a registrant
disabled (or a secret rotated) elsewhere for up to that long. This instance
forgets a registrant as soon as it writes it, and a signature that does not
verify against a kept copy is checked again against a fresh read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from chalicelib.rules.records import Registrant

# How long another instance may act on a registrant as it was (docs: README,
# "Disabling a registrant").
CREDENTIALS_SECONDS = 10


class RegistrantCache:
    def __init__(self, keep: timedelta = timedelta(seconds=CREDENTIALS_SECONDS)) -> None:
        self._keep = keep
        self._kept: dict[str, tuple[datetime, Registrant]] = {}
        self._lock = threading.Lock()

    def get(
        self, registrant_id: str, now: datetime, read: Callable[[], Registrant | None]
    ) -> tuple[Registrant | None, bool]:
        """The registrant, and whether it was kept (not read just now)."""
        with self._lock:
            kept = self._kept.get(registrant_id)
        if kept is not None and kept[0] <= now < kept[0] + self._keep:
            return kept[1], True
        found = read()
        with self._lock:
            if found is None:
                self._kept.pop(registrant_id, None)
            else:
                self._kept[registrant_id] = (now, found)
        return found, False

    def forget(self, registrant_id: str) -> None:
        with self._lock:
            self._kept.pop(registrant_id, None)
