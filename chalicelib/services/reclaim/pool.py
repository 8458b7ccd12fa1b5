"""The reclaim pool (R-RECLAIM-1): the sales manager sees the customers the
monthly reclaim took from their consultants and gives them out again, one by
one or in bulk, with a round-robin suggestion over the active consultants."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.errors import Failed, FieldError
from chalicelib.errors import validation_error as invalid
from chalicelib.rules.claims import Customer
from chalicelib.rules.phone import mask_phone
from chalicelib.rules.reclaim import assigned_from_pool
from chalicelib.rules.staff import Role, Staff
from chalicelib.services import audit, tallies
from chalicelib.services.customers import Customers
from chalicelib.services.ids import derived_id
from chalicelib.services.registration.intake import Id, validated
from chalicelib.services.registration.registrations import customer_subject
from chalicelib.services.views import local_iso
from chalicelib.settings import Settings
from chalicelib.store import Store

# how far back the pool is listed: customers nobody assigned for two years
# are still there, and cost one query per month to find
POOL_MONTHS = 24
CustomerId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[0-9a-f]+$")]


class _One(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    customer_id: CustomerId
    consultant_id: Id


class _Assign(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    assignments: Annotated[list[_One], Field(min_length=1, max_length=200)]


class Pool:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._zone = settings.policy.zone
        self._customers = Customers(store, settings.policy)

    def view(self, now: datetime) -> dict[str, Any]:
        """The pool, oldest first, each with a suggested consultant."""
        pooled = sorted(self._pooled(now), key=lambda kc: (kc[1].pooled_at, kc[0]))
        active = self._active()
        data = []
        for i, (key, customer) in enumerate(pooled):
            previous = customer.tenures[-1].consultant_id if customer.tenures else None
            data.append(
                {
                    "customer_id": key,
                    "phone_masked": mask_phone(customer.phone) if customer.phone else None,
                    "pooled_at": local_iso(customer.pooled_at, self._zone),
                    "last_visit_at": local_iso(customer.last_visit_at, self._zone),
                    "previous_consultant_id": previous,
                    "suggested_consultant_id": active[i % len(active)].staff_id if active else None,
                }
            )
        return {
            "data": data,
            "consultants": [{"id": s.staff_id, "name": s.name} for s in active],
        }

    def assign(self, manager: Staff, raw: bytes, now: datetime) -> dict[str, Any]:
        """Each customer to its consultant; a customer no longer in the pool
        (assigned meanwhile, or back on the floor) is reported, not changed."""
        ask = validated(_Assign, raw)
        active = {s.staff_id for s in self._active()}
        for i, one in enumerate(ask.assignments):
            if one.consultant_id not in active:
                raise Failed(
                    invalid(
                        FieldError(f"assignments.{i}.consultant_id", "not an active consultant")
                    )
                )
        results = []
        for one in ask.assignments:
            assigned = self._assign_one(manager, one.customer_id, one.consultant_id, now)
            results.append(
                {
                    "customer_id": one.customer_id,
                    "consultant_id": one.consultant_id,
                    "assigned": assigned,
                }
            )
        return {"data": results}

    def _assign_one(self, manager: Staff, key: str, consultant_id: str, now: datetime) -> bool:
        entered: list[datetime] = []  # when the customer given out had entered the pool

        def give(customer: Customer) -> Customer | None:
            if customer.pooled_at is None:
                return None
            entered.append(customer.pooled_at)
            return assigned_from_pool(customer, consultant_id, now)

        after = self._customers.change(key, None, give, now)
        done = (
            after is not None
            and after.consultant_at(now) == consultant_id
            and any(
                t.how == "pool" and t.since == now and t.consultant_id == consultant_id
                for t in after.tenures
            )
        )
        if done and entered:  # this call gave the customer out
            tallies.pool_left(self._store, entered[-1], self._zone)
            audit.record(
                self._store,
                customer_subject(key),
                "pool.assigned",
                now,
                manager.staff_id,
                rule="R-RECLAIM-1",
                detail=f"to {consultant_id}",
                entry_id=derived_id("au", key, "pool.assigned", now.isoformat()),
            )
        return done

    def _pooled(self, now: datetime) -> list[tuple[str, Customer]]:
        found: list[tuple[str, Customer]] = []
        year, month = now.astimezone(UTC).year, now.astimezone(UTC).month
        for back in range(POOL_MONTHS):
            index = year * 12 + month - 1 - back
            found += self._store.pooled(f"{index // 12:04d}-{index % 12 + 1:02d}")
        return found

    def _active(self) -> list[Staff]:
        return sorted(
            (s for s in self._store.list_staff() if s.role is Role.CONSULTANT and s.enabled),
            key=lambda s: s.staff_id,
        )
