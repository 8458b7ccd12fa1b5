"""Reads made ahead: a request that knows which items it is about to read
fetches them with the read it makes first, in one BatchGetItem, instead of
one GetItem each (判客: the token with the visit, then the staff member with
the customer; services/floor/ownership.py).

Inside ``reading_ahead(first, then)`` the next read of one item (``_get``)
also reads ``first``; ``then`` names, from what that read found, the items
to read with the read after it. An item read ahead is served once, to the
first read of it, and only until ``done_reading_ahead``: a request reads
ahead what it reads before it writes anything, and every later read of an
item goes to its table. Outside the block ``_get`` is a GetItem. Each read
is strongly consistent, ahead or not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from .failures import unavailable_on_outage

# what a read found (its items as stored, or None each) -> what to read with the next
Then = Callable[[list[Any]], list[Any]]


@dataclass
class _Ahead:
    pending: list[Any]  # to read with the next read
    then: Then | None
    served: dict[tuple[str, ...], Any] = field(default_factory=dict)


_AHEAD: ContextVar[_Ahead | None] = ContextVar("read_ahead", default=None)


class AheadMethods:
    _batch_get: Callable[[list[Any]], list[Any]]

    @contextmanager
    def reading_ahead(self, first: list[Any], then: Then | None = None) -> Iterator[None]:
        """Read ``first`` (models holding only their keys) with the next read."""
        token = _AHEAD.set(_Ahead(list(first), then))
        try:
            yield
        finally:
            _AHEAD.reset(token)

    def done_reading_ahead(self) -> None:
        """Serve nothing more from reads made ahead (before a request writes)."""
        _AHEAD.set(None)

    def _get(self, item: Any) -> Any:
        """``item`` (a model holding only its key) as stored, or None."""
        ahead = _AHEAD.get()
        if ahead is None:
            return _read_one(item)
        key = _identity(item)
        if key in ahead.served:
            return ahead.served.pop(key)
        wanted = [item, *(p for p in ahead.pending if _identity(p) != key)]
        found = self._batch_get(wanted) if len(wanted) > 1 else [_read_one(item)]
        ahead.served.update((_identity(w), f) for w, f in zip(wanted[1:], found[1:], strict=True))
        ahead.pending = ahead.then(found) if ahead.then else []
        ahead.then = None
        return found[0]


def _read_one(item: Any) -> Any:
    model = type(item)
    hash_key = getattr(item, model._hash_keyname)
    range_key = getattr(item, model._range_keyname) if model._range_keyname else None
    with unavailable_on_outage():
        try:
            return model.get(hash_key, range_key, consistent_read=True)
        except model.DoesNotExist:
            return None


def _identity(item: Any) -> tuple[str, ...]:
    model = type(item)
    names = [n for n in (model._hash_keyname, model._range_keyname) if n]
    return (model.Meta.table_name, *(str(getattr(item, n)) for n in names))
