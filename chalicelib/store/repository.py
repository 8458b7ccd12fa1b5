"""The store: every read and conditional write the services need.

The customer item decides; everything else (registration records, events,
idempotency answers) follows it and can be rewritten from it.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, UpdateError

from chalicelib.rules.brokers import Broker
from chalicelib.rules.claims import Customer
from chalicelib.rules.records import (
    AuditEntry,
    Event,
    Registrant,
    Registration,
    StoredAnswer,
)
from chalicelib.rules.staff import Role, Staff

from .ahead import AheadMethods
from .answers import AnswerMethods
from .counters import CounterMethods
from .credentials import RegistrantCache
from .errors import StoreUnavailable, VersionConflict
from .failures import is_condition_failure, unavailable_on_outage
from .mapping import (
    answer_item,
    audit_from_item,
    audit_item,
    broker_from_item,
    broker_item,
    customer_from_item,
    customer_to_item,
    event_from_item,
    event_item,
    position,
    registrant_from_item,
    registration_from_item,
    registration_to_item,
)
from .masks import MaskMethods
from .models import (
    AuditItem,
    BrokerItem,
    CustomerItem,
    EventItem,
    RegistrantItem,
    RegistrationItem,
    StaffItem,
    TokenItem,
)
from .sealing import is_sealed, sealed

# The areas a registration does not use, as (module, mixin), in the Store's
# method resolution order. Their modules, and the rules and models they bring
# (chalicelib/rules/floor.py, fines.py, deliveries.py, ...), are imported at
# the first use of any of their attributes, not by every cold start.
LATER_AREAS: tuple[tuple[str, str], ...] = (
    ("deliveries", "DeliveryMethods"),
    ("floor", "FloorMethods"),
    ("feed", "FeedMethods"),
    ("jobs", "JobMethods"),
    ("fines", "FineMethods"),
    ("appeals", "AppealMethods"),
)

if TYPE_CHECKING:
    from .appeals import AppealMethods
    from .deliveries import DeliveryMethods
    from .feed import FeedMethods
    from .fines import FineMethods
    from .floor import FloorMethods
    from .jobs import JobMethods

    class _LaterAreas(
        DeliveryMethods, FloorMethods, FeedMethods, JobMethods, FineMethods, AppealMethods
    ):
        """What the type checker sees: the Store has every area's methods."""

else:
    _loading = threading.Lock()

    def _load_later_areas() -> None:
        """Make LATER_AREAS' mixins the bases of _LaterAreas (once): the Store's
        method resolution order is then the one inheriting them directly gives."""
        with _loading:
            if _LaterAreas.__bases__ == (_NotYetLoaded,):
                _LaterAreas.__bases__ = tuple(
                    getattr(importlib.import_module(f"{__package__}.{module}"), mixin)
                    for module, mixin in LATER_AREAS
                )

    class _LoadedOnFirstUse(type):
        def __getattr__(cls, name: str) -> Any:  # Store.save_visit (tests patch the class)
            if name.startswith("__"):
                raise AttributeError(name)
            _load_later_areas()
            return type.__getattribute__(cls, name)  # AttributeError if no area has it

    class _NotYetLoaded:
        """_LaterAreas' base until the areas are loaded (a base class can
        replace this one, not ``object``)."""

    class _LaterAreas(_NotYetLoaded, metaclass=_LoadedOnFirstUse):
        """Stands for LATER_AREAS' mixins until one of their names is first asked for."""

        def __getattr__(self, name: str) -> Any:  # store.save_visit
            if name.startswith("__"):
                raise AttributeError(name)
            _load_later_areas()
            return object.__getattribute__(self, name)  # AttributeError if no area has it


class Store(AheadMethods, AnswerMethods, CounterMethods, MaskMethods, _LaterAreas):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._registrants = RegistrantCache()

    @property
    def _client(self) -> Any:
        return self._connection.client

    # -- registration path -------------------------------------------------

    def commit_customer(
        self, customer_key: str, phone: str, customer: Customer, now: datetime
    ) -> None:
        """Replace the customer if nobody changed it since it was read.

        The one write that decides ownership. On a lost race the current
        customer comes back with the refusal (ReturnValuesOnConditionCheckFailure)
        where the store supports it, so the loser needs no second read.
        """
        version = (customer.version or 0) + 1
        item = customer_to_item(customer_key, phone, customer, version)
        item.updated_at = now
        if customer.version is None:
            condition = "attribute_not_exists(customer_key)"
            values: dict[str, Any] = {}
        else:
            condition = "version = :expected"
            values = {":expected": {"N": str(customer.version)}}
        request: dict[str, Any] = {
            "TableName": CustomerItem.Meta.table_name,
            "Item": item.serialize(),
            "ConditionExpression": condition,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            with unavailable_on_outage():
                self._client.put_item(**request)
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            old = exc.response.get("Item")
            current = customer_from_item(CustomerItem.from_raw_data(old)) if old else None
            raise VersionConflict(current) from exc

    def get_customer(self, customer_key: str) -> Customer | None:
        item = self._get(CustomerItem(customer_key=customer_key))  # or read ahead (ahead.py)
        return customer_from_item(item) if item else None

    def customers_of(
        self, consultant_id: str, before: str | None, limit: int
    ) -> list[tuple[str, str, Customer]]:
        """A consultant's customers, latest visit first: (position, customer
        key, customer), at most ``limit`` of them before the ``before``
        position. One query of the sparse ``by_consultant`` index, which (a
        global index) may lag a write by a moment."""
        condition = CustomerItem.consultant_key < before if before else None
        with unavailable_on_outage():
            items = CustomerItem.by_consultant.query(
                consultant_id,
                range_key_condition=condition,
                scan_index_forward=False,
                limit=limit,
            )
            return [(str(i.consultant_key), i.customer_key, customer_from_item(i)) for i in items]

    def save_acceptance(
        self,
        registration: Registration,
        event: Event | None,
        answer: StoredAnswer,
        audit: AuditEntry,
    ) -> None:
        """Registration record, its event and the idempotent answer, in one
        BatchWriteItem. All three are derived from the committed customer and
        rewritten identically by a retry, so plain puts are safe."""
        items: list[Any] = [
            registration_to_item(registration),
            answer_item(answer),
            audit_item(audit),
        ]
        if event is not None:
            items.append(event_item(event))
        self._batch_put(items)

    def complete_acceptance(
        self,
        registration: Registration,
        event_at: Callable[[datetime], Event | None],
        answer: StoredAnswer,
        audit: AuditEntry,
    ) -> None:
        """Write the records of a request that died after its decisive write.

        Any number of completions, crashed or concurrent, converge: the
        registration record is put only if absent and fixes the feed position
        of the event (``event_at(recorded_at)``); the event and the answer
        are then rewritten identically by whoever comes.
        """
        try:
            with unavailable_on_outage():
                registration_to_item(registration).save(
                    condition=RegistrationItem.registration_id.does_not_exist()
                )
            recorded_at = registration.recorded_at
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
            earlier = self.get_registration(
                registration.registrant_id, registration.registration_id
            )
            recorded_at = earlier.recorded_at if earlier else registration.recorded_at
        event = event_at(recorded_at)
        items = [answer_item(answer), audit_item(audit)]
        self._batch_put([*items, *([event_item(event)] if event else [])])

    def save_refusal(self, answer: StoredAnswer, audit: AuditEntry) -> None:
        """Store a refusal as the key's answer, with its audit entry, in one
        BatchWriteItem. Two identical requests refused at once store the same
        answer; each leaves its own audit entry, as each was answered."""
        self._batch_put([answer_item(answer), audit_item(audit)])

    def append_audit(self, entry: AuditEntry, *, once: bool = False) -> None:
        """Append an entry; with ``once`` (a derived id, rewritten by a retry)
        an entry already there is left as it is."""
        try:
            with unavailable_on_outage():
                audit_item(entry).save(condition=AuditItem.position.does_not_exist())
        except PutError as exc:
            if not (once and is_condition_failure(exc)):
                raise

    def audit_trail(self, subject: str, limit: int = 200) -> list[AuditEntry]:
        """Oldest first, at most ``limit`` entries."""
        with unavailable_on_outage():
            return [
                audit_from_item(i)
                for i in AuditItem.query(subject, consistent_read=True, limit=limit)
            ]

    # -- reads for registrants ----------------------------------------------

    def signing_registrant(
        self, registrant_id: str, now: datetime, *, fresh: bool = False
    ) -> tuple[Registrant | None, bool]:
        """The registrant to authenticate a request with, and whether it is
        a copy this instance kept (see credentials.py); ``fresh`` reads it."""
        if fresh:
            self._registrants.forget(registrant_id)
        return self._registrants.get(registrant_id, now, lambda: self.get_registrant(registrant_id))

    def get_registrant(self, registrant_id: str) -> Registrant | None:
        with unavailable_on_outage():
            try:
                item = RegistrantItem.get(registrant_id, consistent_read=True)
            except RegistrantItem.DoesNotExist:
                return None
        return registrant_from_item(item)

    def set_registrant_enabled(self, registrant_id: str, enabled: bool) -> Registrant | None:
        """Enable or disable an existing registrant; None when there is none."""
        self._registrants.forget(registrant_id)
        item = RegistrantItem(registrant_id=registrant_id)
        try:
            with unavailable_on_outage():
                item.update(
                    actions=[RegistrantItem.enabled.set(enabled)],
                    condition=RegistrantItem.registrant_id.exists(),
                )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            return None
        return registrant_from_item(item)

    def list_registrants(self) -> list[Registrant]:
        with unavailable_on_outage():
            return sorted(
                (registrant_from_item(i) for i in RegistrantItem.scan()),
                key=lambda r: r.registrant_id,
            )

    def put_registrant(self, registrant: Registrant, created_at: datetime) -> None:
        """Its secrets sealed at rest (sealing.py), before anything is written."""
        rid = registrant.registrant_id
        secret = sealed(registrant.secret, rid)
        previous = sealed(registrant.previous_secret, rid) if registrant.previous_secret else None
        self._registrants.forget(registrant.registrant_id)
        with unavailable_on_outage():
            RegistrantItem(
                registrant_id=registrant.registrant_id,
                kind=registrant.kind.value,
                name=registrant.name,
                secret=secret,
                previous_secret=previous,
                previous_secret_until=registrant.previous_secret_until,
                enabled=registrant.enabled,
                created_at=created_at,
            ).save()

    def rotate_registrant_secret(
        self, registrant_id: str, secret: str, previous_until: datetime
    ) -> Registrant | None:
        """The new secret signs from now on; the current one until ``previous_until``.
        The stored (sealed) current secret moves as it is: the encryption
        context names the registrant, not the attribute."""
        stored = sealed(secret, registrant_id)
        self._registrants.forget(registrant_id)
        item = RegistrantItem(registrant_id=registrant_id)
        try:
            with unavailable_on_outage():
                item.update(
                    actions=[
                        RegistrantItem.previous_secret.set(RegistrantItem.secret),
                        RegistrantItem.previous_secret_until.set(previous_until),
                        RegistrantItem.secret.set(stored),
                    ],
                    condition=RegistrantItem.registrant_id.exists(),
                )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            return None
        return registrant_from_item(item)

    def seal_registrant_secrets(self) -> int:
        """Seal every secret still stored unsealed (a stage given its KMS key
        after registrants were issued); how many records were sealed. Each
        write is conditional on the values read, so a rotation in between is
        never undone (that record is sealed by its rotation, or the next run)."""
        with unavailable_on_outage():
            items = list(RegistrantItem.scan(consistent_read=True))
        done = 0
        for item in items:
            rid, current, previous = item.registrant_id, item.secret, item.previous_secret
            unsealed = [v for v in (current, previous) if v is not None and not is_sealed(v)]
            if not unsealed:
                continue
            actions: list[Any] = [RegistrantItem.secret.set(_sealed_once(current, rid))]
            condition = RegistrantItem.secret == current
            if previous is None:
                condition &= RegistrantItem.previous_secret.does_not_exist()
            else:
                condition &= RegistrantItem.previous_secret == previous
                actions.append(RegistrantItem.previous_secret.set(_sealed_once(previous, rid)))
            try:
                with unavailable_on_outage():
                    item.update(actions=actions, condition=condition)
            except UpdateError as exc:
                if not is_condition_failure(exc):
                    raise
                continue
            done += 1
        return done

    # -- brokers (R-REG-4) -----------------------------------------------------

    def put_broker(self, broker: Broker) -> None:
        with unavailable_on_outage():
            broker_item(broker).save(condition=BrokerItem.broker_id.does_not_exist())

    def get_broker(self, broker_id: str) -> Broker | None:
        with unavailable_on_outage():
            try:
                item = BrokerItem.get(broker_id, consistent_read=True)
            except BrokerItem.DoesNotExist:
                return None
        return broker_from_item(item)

    def list_brokers(self) -> list[Broker]:
        with unavailable_on_outage():
            return sorted(
                (broker_from_item(i) for i in BrokerItem.scan()), key=lambda b: b.broker_id
            )

    def revoke_broker(self, broker_id: str, now: datetime) -> Broker | None:
        item = BrokerItem(broker_id=broker_id)
        try:
            with unavailable_on_outage():
                item.update(
                    actions=[BrokerItem.revoked_at.set(now)],
                    condition=BrokerItem.broker_id.exists()
                    & BrokerItem.revoked_at.does_not_exist(),
                )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            return None
        return broker_from_item(item)

    # -- staff ---------------------------------------------------------------

    def put_staff(self, staff: Staff, created_at: datetime) -> None:
        with unavailable_on_outage():
            StaffItem(
                staff_id=staff.staff_id,
                name=staff.name,
                role=staff.role.value,
                enabled=staff.enabled,
                created_at=created_at,
            ).save(condition=StaffItem.staff_id.does_not_exist())

    def get_staff(self, staff_id: str) -> Staff | None:
        item = self._get(StaffItem(staff_id=staff_id))  # or read ahead (ahead.py)
        if item is None:
            return None
        return Staff(item.staff_id, item.name, Role(item.role), bool(item.enabled))

    def list_staff(self) -> list[Staff]:
        with unavailable_on_outage():
            return sorted(
                (
                    Staff(i.staff_id, i.name, Role(i.role), bool(i.enabled))
                    for i in StaffItem.scan()
                ),
                key=lambda s: s.staff_id,
            )

    def set_staff_enabled(self, staff_id: str, enabled: bool) -> Staff | None:
        """Enable or disable an existing member: as updated, or None when there is none."""
        item = StaffItem(staff_id=staff_id)
        try:
            with unavailable_on_outage():
                item.update(
                    actions=[StaffItem.enabled.set(enabled)],
                    condition=StaffItem.staff_id.exists(),
                )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            return None
        return Staff(item.staff_id, item.name, Role(item.role), bool(item.enabled))

    def put_token(self, token_id: str, staff_id: str, secret_hash: str, now: datetime) -> None:
        with unavailable_on_outage():
            TokenItem(
                token_id=token_id, staff_id=staff_id, secret_hash=secret_hash, created_at=now
            ).save(condition=TokenItem.token_id.does_not_exist())

    def get_token(self, token_id: str) -> tuple[str, str, datetime | None] | None:
        """(staff id, secret hash, revoked at) of a token, or None."""
        item = self._get(TokenItem(token_id=token_id))  # or read ahead (ahead.py)
        if item is None:
            return None
        return item.staff_id, item.secret_hash, item.revoked_at

    def revoke_token(self, token_id: str, now: datetime) -> bool:
        try:
            with unavailable_on_outage():
                TokenItem(token_id=token_id).update(
                    actions=[TokenItem.revoked_at.set(now)],
                    condition=TokenItem.token_id.exists() & TokenItem.revoked_at.does_not_exist(),
                )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            return False
        return True

    def get_registration(self, registrant_id: str, registration_id: str) -> Registration | None:
        with unavailable_on_outage():
            try:
                item = RegistrationItem.get(registrant_id, registration_id, consistent_read=True)
            except RegistrationItem.DoesNotExist:
                return None
        return registration_from_item(item)

    def customer_names(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The customer's name each registration took, by (registrant id,
        registration id): one BatchGetItem per 100 keys, whatever the page."""
        unique = list(dict.fromkeys(keys))
        names: dict[tuple[str, str], str] = {}
        for start in range(0, len(unique), BATCH_GET_KEYS):
            chunk = unique[start : start + BATCH_GET_KEYS]
            items = [RegistrationItem(registrant_id=r, registration_id=g) for r, g in chunk]
            for key, found in zip(chunk, self._batch_get(items), strict=True):
                if found is not None:
                    names[key] = found.customer_name
        return names

    def list_registrations(
        self, registrant_id: str, before_id: str | None, limit: int
    ) -> list[Registration]:
        """Newest first; at most ``limit`` registrations older than ``before_id``."""
        condition = RegistrationItem.registration_id < before_id if before_id else None
        with unavailable_on_outage():
            items = RegistrationItem.query(
                registrant_id,
                range_key_condition=condition,
                scan_index_forward=False,
                consistent_read=True,
                limit=limit,
            )
            return [registration_from_item(i) for i in items]

    def list_events(
        self, registrant_id: str, after: str | None, horizon: datetime, limit: int
    ) -> list[tuple[str, Event]]:
        """Oldest first: (position, event) after the ``after`` position and
        recorded before ``horizon``."""
        before = position(horizon, "")
        condition = EventItem.position > after if after else EventItem.position < before
        page: list[tuple[str, Event]] = []
        with unavailable_on_outage():
            for item in EventItem.query(
                registrant_id, range_key_condition=condition, consistent_read=True, limit=limit
            ):
                if item.position >= before or len(page) == limit:
                    break
                page.append((item.position, event_from_item(item)))
        return page

    # -- a batch PynamoDB cannot make across tables -----------------------------

    def _batch_put(self, items: list[Any]) -> None:
        request: dict[str, Any] = {}
        for item in items:
            request.setdefault(item.Meta.table_name, []).append(
                {"PutRequest": {"Item": item.serialize()}}
            )
        for attempt in range(BATCH_ATTEMPTS):
            with unavailable_on_outage():
                reply = self._client.batch_write_item(RequestItems=request)
            request = reply.get("UnprocessedItems") or {}
            if not request:
                return
            _back_off(attempt)
        raise StoreUnavailable("batch write left unprocessed items")

    def _batch_get(self, items: list[Any]) -> list[Any]:
        """Each of ``items`` (a model holding only its key; at most one per
        key) as stored, else None, in one strongly consistent BatchGetItem."""
        keys = [_key_of(item) for item in items]
        request: dict[str, Any] = {}
        for item, key in zip(items, keys, strict=True):
            table = request.setdefault(item.Meta.table_name, {"Keys": [], "ConsistentRead": True})
            table["Keys"].append(key)
        found: dict[str, list[dict[str, Any]]] = {}
        for attempt in range(BATCH_ATTEMPTS):
            with unavailable_on_outage():
                reply = self._client.batch_get_item(RequestItems=request)
            for table, raws in (reply.get("Responses") or {}).items():
                found.setdefault(table, []).extend(raws)
            request = reply.get("UnprocessedKeys") or {}
            if not request:
                return [
                    _stored(item, key, found.get(item.Meta.table_name, []))
                    for item, key in zip(items, keys, strict=True)
                ]
            _back_off(attempt)
        raise StoreUnavailable("batch read left unprocessed keys")


# Unprocessed batch entries (throttling) are retried with exponential backoff,
# as AWS advises, a bounded number of times.
BATCH_ATTEMPTS = 5
BATCH_GET_KEYS = 100  # DynamoDB's limit for one BatchGetItem


def _back_off(attempt: int) -> None:
    time.sleep(0.05 * 2**attempt)


def _key_of(item: Any) -> dict[str, Any]:
    """The item's key attributes, as DynamoDB takes them."""
    names = [a.attr_name for a in (item._hash_key_attribute(), item._range_key_attribute()) if a]
    serialized = item.serialize(null_check=False)
    return {name: serialized[name] for name in names}


def _stored(item: Any, key: dict[str, Any], raws: list[dict[str, Any]]) -> Any:
    match = next((r for r in raws if all(r.get(k) == v for k, v in key.items())), None)
    return None if match is None else type(item).from_raw_data(match)


def _sealed_once(stored: str, registrant_id: str) -> str:
    return stored if is_sealed(stored) else sealed(stored, registrant_id)
