"""The mask's item (decision 0013): masked claims and the full-number
registrations of matching numbers meet here, each in one conditional update.

A full-number registration notes itself on the mask before it claims the
customer, on condition that no masked claim holds the mask; a masked
registration holds the mask on condition that no other does, and reads back
the customers noted there, to refuse if one of them has a live claim or may
still be deciding one. Both write the same item, so of the two one sees the
other: never both win.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.rules.claims import Claim, Customer
from chalicelib.rules.masked import MaskedClaim

from .failures import is_condition_failure, unavailable_on_outage
from .mapping import claim_from_map, claim_to_map, customer_from_item, position, reclaim_bucket
from .models import CustomerItem, MaskItem, RegistrationItem


@dataclass(frozen=True)
class Mask:
    """What the mask's item says: its latest masked claim, the customers
    registered by a matching number, and when the last of those began."""

    masked: MaskedClaim | None = None
    customers: frozenset[str] = frozenset()
    full_at: datetime | None = None
    excluded: frozenset[str] = frozenset()  # not the held claim's customer


class MaskMethods:
    _batch_get: Callable[[list[Any]], list[Any]]  # repository.py

    def get_mask(self, mask_key: str) -> Mask:
        with unavailable_on_outage():
            try:
                return _mask(MaskItem.get(mask_key, consistent_read=True))
            except MaskItem.DoesNotExist:
                return Mask()

    def note_full_registration(self, mask_key: str, customer_key: str, now: datetime) -> bool:
        """Before a full-number registration claims its customer: note it on
        the mask, unless a masked claim holds the mask (False), one that 判客
        found is not this customer's excepted."""
        item = MaskItem(mask_key=mask_key)
        try:
            with unavailable_on_outage():
                item.update(
                    actions=[
                        MaskItem.customers.add({customer_key}),
                        MaskItem.full_at.set(now),
                        MaskItem.updated_at.set(now),
                    ],
                    condition=_free(now) | MaskItem.excluded.contains(customer_key),
                )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            return False
        return True

    def hold_mask(self, mask_key: str, masked: MaskedClaim, now: datetime) -> Mask | None:
        """Hold the mask with ``masked`` unless another masked claim holds it
        (None); returns the mask as written, with the customers to check."""
        item = MaskItem(mask_key=mask_key)
        try:
            with unavailable_on_outage():
                item.update(
                    actions=[
                        MaskItem.claim.set(claim_to_map(masked.claim)),
                        MaskItem.surname.set(masked.surname),
                        MaskItem.held_until.set(masked.holds_until()),
                        MaskItem.resolved_to.remove(),
                        MaskItem.withdrawn.remove(),
                        MaskItem.excluded.remove(),
                        MaskItem.version.add(1),
                        MaskItem.updated_at.set(now),
                        MaskItem.sweep_bucket.set(reclaim_bucket(masked.holds_until())),
                        MaskItem.sweep_key.set(position(masked.holds_until(), mask_key)),
                    ],
                    condition=_free(now),
                )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            return None
        return _mask(item)

    def withdraw_mask(self, mask_key: str, registration_id: str, now: datetime) -> None:
        """A masked claim that found a live claim after holding the mask lets
        it go (it never held: its request is refused)."""
        self._end_hold(mask_key, registration_id, [MaskItem.withdrawn.set(True)], now)

    def exclude_from_mask(
        self, mask_key: str, registration_id: str, customer_key: str, now: datetime
    ) -> None:
        """判客 found this number is not the masked claim's customer."""
        self._end_hold(
            mask_key, registration_id, [MaskItem.excluded.add({customer_key})], now, ends=False
        )

    def resolve_mask(
        self, mask_key: str, registration_id: str, customer_key: str, now: datetime
    ) -> None:
        """The masked claim now lives on ``customer_key``: the mask is free,
        and the customer is one of the mask's (a later masked registration
        sees its live claim)."""
        self._end_hold(
            mask_key,
            registration_id,
            [MaskItem.resolved_to.set(customer_key), MaskItem.customers.add({customer_key})],
            now,
        )

    def note_customer(self, mask_key: str, customer_key: str) -> None:
        """The customer is one of the mask's (the one-off backfill of the
        customers stored before masks were kept: unconditional, repeatable)."""
        with unavailable_on_outage():
            MaskItem(mask_key=mask_key).update(actions=[MaskItem.customers.add({customer_key})])

    def customer_phones(self) -> Iterator[tuple[str, str]]:
        """(key, phone) of every stored customer: one Scan, for the backfill."""
        with unavailable_on_outage():
            for item in CustomerItem.scan(attributes_to_get=["customer_key", "phone"]):
                yield item.customer_key, item.phone

    def name_customer(self, registrant_id: str, registration_id: str, customer_key: str) -> None:
        """A resolved masked registration's record names its customer."""
        record = RegistrationItem(registrant_id=registrant_id, registration_id=registration_id)
        try:
            with unavailable_on_outage():
                record.update(
                    actions=[RegistrationItem.customer_key.set(customer_key)],
                    condition=RegistrationItem.registration_id.exists(),
                )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            # no record: its request died before writing it, and its retry
            # writes it (the claim says the customer)

    def customers_by_key(self, keys: list[str]) -> dict[str, Customer]:
        """The stored customers among ``keys``, in one consistent batch read."""
        if not keys:
            return {}
        found = self._batch_get([CustomerItem(customer_key=k) for k in keys])
        return {i.customer_key: customer_from_item(i) for i in found if i is not None}

    def masks_due_for_sweep(self, bucket: str, until: datetime) -> Iterator[tuple[str, Mask]]:
        """Masks whose hold, ending on this UTC day, ended by ``until``
        and has not been seen to end yet."""
        with unavailable_on_outage():
            condition = MaskItem.sweep_key <= position(until, "~")
            for item in MaskItem.by_sweep.query(bucket, range_key_condition=condition):
                yield item.mask_key, _mask(item)

    def mask_swept(self, mask_key: str, registration_id: str) -> None:
        """The sweep has seen this masked claim's hold end: out of its index."""
        item = MaskItem(mask_key=mask_key)
        try:
            with unavailable_on_outage():
                item.update(
                    actions=[MaskItem.sweep_bucket.remove(), MaskItem.sweep_key.remove()],
                    condition=_claim_is(registration_id),
                )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise

    def _end_hold(
        self,
        mask_key: str,
        registration_id: str,
        actions: list[Any],
        now: datetime,
        *,
        ends: bool = True,
    ) -> None:
        """``actions`` on the mask if ``registration_id``'s claim is still the
        one it holds; with ``ends``, the hold ends too."""
        if ends:
            actions = [
                *actions,
                MaskItem.held_until.remove(),
                MaskItem.sweep_bucket.remove(),
                MaskItem.sweep_key.remove(),
            ]
        item = MaskItem(mask_key=mask_key)
        try:
            with unavailable_on_outage():
                item.update(
                    actions=[*actions, MaskItem.updated_at.set(now)],
                    condition=_claim_is(registration_id),
                )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            # another masked claim holds the mask since: this one's hold is over


def _claim_is(registration_id: str) -> Condition:
    """The mask's latest masked claim is still ``registration_id``'s."""
    # a map's attribute compares to a Condition (PynamoDB's stubs say bool)
    return cast(Condition, MaskItem.claim.registration_id == registration_id)


def _free(now: datetime) -> Any:
    """No masked claim holds the mask at ``now``."""
    return MaskItem.held_until.does_not_exist() | (MaskItem.held_until <= now)


def _mask(item: MaskItem) -> Mask:
    masked = None
    if item.claim is not None:
        claim: Claim = claim_from_map(item.claim)
        masked = MaskedClaim(
            claim=claim,
            surname=item.surname or "",
            resolved_to=item.resolved_to,
            withdrawn=bool(item.withdrawn),
        )
    return Mask(
        masked=masked,
        customers=frozenset(item.customers or ()),
        full_at=item.full_at,
        excluded=frozenset(item.excluded or ()),
    )
