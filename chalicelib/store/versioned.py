"""The one conditional write of a record replaced whole on its version."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.exceptions import PutError

from .errors import Stale
from .failures import is_condition_failure, unavailable_on_outage


def save_versioned(
    item: Any, key: Attribute[Any], version: Attribute[Any], read_at: int | None, name: str
) -> None:
    """Put ``item`` if the stored one is still at version ``read_at`` (None:
    if there is none yet); else Stale(``name``)."""
    condition = key.does_not_exist() if read_at is None else version == read_at
    try:
        with unavailable_on_outage():
            item.save(condition=condition)
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
        raise Stale(name) from exc
