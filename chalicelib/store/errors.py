"""Store failures, wrapped once so nothing above the store knows botocore."""

from __future__ import annotations

from chalicelib.errors import StoreUnavailable
from chalicelib.rules.claims import Customer

__all__ = ["Stale", "StoreUnavailable", "VersionConflict"]


class VersionConflict(RuntimeError):
    """The customer changed since it was read; ``current`` holds it when known."""

    def __init__(self, current: Customer | None) -> None:
        super().__init__("customer changed since read")
        self.current = current


class Stale(RuntimeError):
    """A visit or roster changed since it was read: read it again and redo."""
