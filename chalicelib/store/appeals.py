"""Appeals of a 判客 decision (decision 0012): one item per (decision,
claimant), created once by a conditional put and replaced whole on its
version; the site manager's queue and a customer's appeals are index queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.rules.appeals import Appeal, AppealState
from chalicelib.rules.claims import Claim
from chalicelib.rules.records import AuditEntry, Event, Registration

from .failures import is_condition_failure, unavailable_on_outage
from .later_models import AppealItem
from .mapping import audit_item, claim_to_map, event_item, position, registration_to_item
from .models import RegistrationItem
from .versioned import save_versioned


class AppealMethods:
    _batch_put: Callable[[list[Any]], None]  # repository.py

    def save_appeal(self, appeal: Appeal) -> Appeal:
        """Store the appeal if nobody changed it since it was read (a new
        one: if its id is free, R-APPEAL-3), else Stale."""
        item = _item(appeal, (appeal.version or 0) + 1)
        save_versioned(
            item, AppealItem.appeal_id, AppealItem.version, appeal.version, appeal.appeal_id
        )
        return _appeal(item)

    def get_appeal(self, appeal_id: str) -> Appeal | None:
        with unavailable_on_outage():
            try:
                return _appeal(AppealItem.get(appeal_id, consistent_read=True))
            except AppealItem.DoesNotExist:
                return None

    def appeals_in_state(self, state: AppealState, limit: int = 200) -> list[Appeal]:
        """Oldest first."""
        with unavailable_on_outage():
            return [_appeal(i) for i in AppealItem.by_state.query(state.value, limit=limit)]

    def appeals_of_customer(self, customer_key: str, limit: int = 50) -> list[Appeal]:
        with unavailable_on_outage():
            return [_appeal(i) for i in AppealItem.by_customer.query(customer_key, limit=limit)]

    def save_reversal_records(
        self,
        registration: Registration | None,
        events: list[Event],
        entries: list[AuditEntry],
        overturned: Claim | None,
    ) -> None:
        """What follows a reversal, rewritten identically by a retry: the
        appellant's record, the events, the audit entries in one batch; the
        overturned claim copied onto its holder's record."""
        items: list[Any] = [event_item(e) for e in events]
        items += [audit_item(e) for e in entries]
        if registration is not None:
            items.append(registration_to_item(registration))
        if items:
            self._batch_put(items)
        if overturned is not None:
            record = RegistrationItem(
                registrant_id=overturned.registrant_id,
                registration_id=overturned.registration_id,
            )
            try:
                with unavailable_on_outage():
                    record.update(
                        actions=[RegistrationItem.claim.set(claim_to_map(overturned))],
                        condition=RegistrationItem.registration_id.exists(),
                    )
            except UpdateError as exc:
                if not is_condition_failure(exc):
                    raise


def _item(a: Appeal, version: int) -> AppealItem:
    return AppealItem(
        appeal_id=a.appeal_id,
        version=version,
        decision_id=a.decision_id,
        visit_id=a.visit_id,
        customer_key=a.customer_key,
        phone_masked=a.phone_masked,
        decided_at=a.decided_at,
        holder_id=a.holder_id,
        holder_registration_id=a.holder_registration_id,
        claimant_id=a.claimant_id,
        claimant_registration_id=a.claimant_registration_id,
        filed_by=a.filed_by,
        filed_at=a.filed_at,
        reason=a.reason,
        state=a.state.value,
        answered_by=a.answered_by,
        answered_at=a.answered_at,
        answer_reason=a.answer_reason,
        new_registration_id=a.new_registration_id,
        idempotency_key=a.idempotency_key,
        request_hash=a.request_hash,
        events_at=a.events_at,
        filed=position(a.filed_at, a.appeal_id),
    )


def _appeal(i: AppealItem) -> Appeal:
    return Appeal(
        appeal_id=i.appeal_id,
        decision_id=i.decision_id,
        visit_id=i.visit_id,
        customer_key=i.customer_key,
        phone_masked=i.phone_masked,
        decided_at=i.decided_at,
        holder_id=i.holder_id,
        holder_registration_id=i.holder_registration_id,
        claimant_id=i.claimant_id,
        claimant_registration_id=i.claimant_registration_id,
        filed_by=i.filed_by,
        filed_at=i.filed_at,
        reason=i.reason,
        state=AppealState(i.state),
        answered_by=i.answered_by,
        answered_at=i.answered_at,
        answer_reason=i.answer_reason,
        new_registration_id=i.new_registration_id,
        idempotency_key=i.idempotency_key,
        request_hash=i.request_hash,
        events_at=i.events_at,
        version=int(i.version),
    )
