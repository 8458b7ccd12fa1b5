"""Appeals of a 判客 decision (申诉, decision 0012).

A passed-over registrant (signed) or the sales manager for it (bearer) files
an appeal of the decision in force on one of the customer's visits, once
(R-APPEAL-1..4); the site manager upholds or reverses it (R-APPEAL-5). A
reversal takes the answer on the appeal, then moves the protection in one
conditional write on the customer (R-APPEAL-6), then records it on the visit,
the registrants' records and feeds and the audit trail, then settles the
appeal; a retry of the same answer finishes what a died request left.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import suppress
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.errors import (
    Failed,
    FieldError,
    Problem,
    StoreUnavailable,
    from_refusal,
    not_found,
    validation_error,
)
from chalicelib.observability import count
from chalicelib.rules.appeals import (
    Appeal,
    AppealState,
    Outcome,
    already_appealed,
    answered,
    check_appeal,
    moved_claim,
    reversed_customer,
    superseded,
    window_ends_at,
)
from chalicelib.rules.claims import Claim, Customer
from chalicelib.rules.floor import Decision, Visit
from chalicelib.rules.phone import customer_key, mask_phone
from chalicelib.rules.records import AuditEntry, Event, Registrant, Registration, StoredAnswer
from chalicelib.rules.refusals import Refusal
from chalicelib.rules.staff import Staff
from chalicelib.services import audit
from chalicelib.services.customers import Customers
from chalicelib.services.floor.visits import change_visit, visit_or_404
from chalicelib.services.ids import derived_id
from chalicelib.services.registration.intake import Id, PhoneText, Reason, mobile, validated
from chalicelib.services.registration.registrations import (
    IN_PROGRESS_SECONDS,
    customer_subject,
    protected_event,
)
from chalicelib.services.views import local_iso
from chalicelib.settings import Settings
from chalicelib.store import Stale, Store, VersionConflict

MAX_ATTEMPTS = 5


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    phone: PhoneText
    reason: Reason
    decision_id: Id | None = None  # default: the latest decision in force


class _StaffFile(_File):
    claimant_id: Id  # the passed-over registrant the sales manager appeals for


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    outcome: Outcome
    reason: Reason


class Appeals:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._policy = settings.policy
        self._zone = settings.policy.zone
        self._customers = Customers(store, settings.policy)

    # -- filing (R-APPEAL-1..4) -------------------------------------------------

    def file(
        self,
        caller: str,
        raw: bytes,
        now: datetime,
        *,
        staff: Staff | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """(the appeal as filed, created). A registrant's retry with the same
        key and body is answered as the first (created False)."""
        ask = validated(_StaffFile, raw) if staff else validated(_File, raw)
        phone = mobile(ask.phone, "phone")  # bad input is answered before the key is taken
        request_hash = _hash(ask.model_dump(mode="json"))
        if idempotency_key is None:
            return self._file(caller, ask, phone, request_hash, now, staff=staff)
        return self._file_once(
            caller, ask, phone, request_hash, now=now, idempotency_key=idempotency_key
        )

    def _file_once(
        self,
        caller: str,
        ask: _File,
        phone: str,
        request_hash: str,
        *,
        now: datetime,
        idempotency_key: str,
    ) -> tuple[dict[str, Any], bool]:
        """A registrant's filing takes its Idempotency-Key first, as a
        registration does (store/answers.py): one key files at most one
        appeal, whatever its body names. Another request holding the key is
        answered 422 for another body, 409 while it is still filing, its
        answer replayed once given. A refusal gives the key back (nothing
        was filed under it: a retry is decided again)."""
        pending = StoredAnswer(caller, idempotency_key, request_hash, None, None, now)
        stale = now - timedelta(seconds=IN_PROGRESS_SECONDS)
        held = self._store.reserve_answer(pending, stale_before=stale).held
        if held is not None:
            return _held(held, request_hash), False
        try:
            doc, created = self._file(
                caller, ask, phone, request_hash, now, idempotency_key=idempotency_key
            )
        except (Failed, StoreUnavailable):
            with suppress(StoreUnavailable):  # else it is free once stale
                self._store.release_answer(pending)
            raise
        self._store.save_answer(replace(pending, body=json.dumps(doc, ensure_ascii=False)))
        return doc, created

    def _file(
        self,
        caller: str,
        ask: _File,
        phone: str,
        request_hash: str,
        now: datetime,
        *,
        staff: Staff | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        claimant = ask.claimant_id if isinstance(ask, _StaffFile) else caller
        key = customer_key(phone, self._settings.phone_hmac_key)
        customer = self._store.get_customer(key) or Customer()
        if staff is None and not any(c.registrant_id == caller for c in customer.claims):
            raise Failed(not_found("decision"))  # not yours: learn nothing (API.md)
        visit, decision = self._decision(key, ask.decision_id)
        appeal_id = derived_id("ap", decision.decision_id, claimant)
        for _ in range(MAX_ATTEMPTS):
            existing = self._store.get_appeal(appeal_id)
            if existing is not None:
                return self._filed_again(existing, caller, idempotency_key, request_hash), False
            outcome = check_appeal(
                customer, visit, decision, claimant, now=now, policy=self._policy
            )
            if isinstance(outcome, Refusal):
                raise self._refused(outcome, key, caller, claimant, now)
            appeal = Appeal(
                appeal_id=appeal_id,
                decision_id=decision.decision_id,
                visit_id=visit.visit_id,
                customer_key=key,
                phone_masked=mask_phone(phone),
                decided_at=decision.decided_at,
                holder_id=decision.registrant_id,
                holder_registration_id=decision.registration_id,
                claimant_id=claimant,
                claimant_registration_id=outcome.registration_id,
                filed_by=caller,
                filed_at=now,
                reason=ask.reason,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
            )
            try:
                appeal = self._store.save_appeal(appeal)
            except Stale:
                continue  # another filed it at the same instant: R-APPEAL-3
            audit.record(
                self._store,
                customer_subject(key),
                "appeal.filed",
                now,
                caller,
                rule="R-APPEAL-1",
                registration_id=appeal.claimant_registration_id,
                detail=f"appeal {appeal_id} of decision {decision.decision_id}",
                entry_id=derived_id("au", appeal_id, "filed"),
            )
            count("AppealFiled")
            return self._filed_view(appeal, staff is not None), True
        raise StoreUnavailable("too much contention on one appeal")

    def _decision(self, key: str, decision_id: str | None) -> tuple[Visit, Decision]:
        """The decision in force asked for (default: the latest one) on one of
        the customer's visits. A decision replaced since is found too, so its
        appeal is refused for what it is (R-APPEAL-4)."""
        found: list[tuple[Visit, Decision]] = []
        for visit in self._store.visits_of(key):
            for d in visit.decisions:
                if (decision_id is None and d is visit.decision) or d.decision_id == decision_id:
                    found.append((visit, d))
        if not found:
            raise Failed(not_found("decision"))
        visit, decision = max(found, key=lambda vd: vd[1].decided_at)
        return visit_or_404(self._store, visit.visit_id), decision  # read consistently

    def _filed_again(
        self, appeal: Appeal, caller: str, idempotency_key: str | None, request_hash: str
    ) -> dict[str, Any]:
        """R-APPEAL-3: the same request again is answered as the first."""
        same_caller = appeal.filed_by == caller and idempotency_key is not None
        if same_caller and appeal.idempotency_key == idempotency_key:
            if appeal.request_hash == request_hash:
                return self._filed_view(appeal, idempotency_key is None)
            raise Failed(_key_reused())
        raise Failed(from_refusal(already_appealed()))

    def _refused(
        self, refusal: Refusal, key: str, caller: str, claimant: str, now: datetime
    ) -> Failed:
        audit.record(
            self._store,
            customer_subject(key),
            "appeal.refused",
            now,
            caller,
            rule=refusal.rule,
            code=refusal.code,
            detail=f"for {claimant}",
        )
        count("AppealRefused", rule=refusal.rule or "none", code=refusal.code)
        return Failed(from_refusal(refusal))

    # -- the site manager's answer (R-APPEAL-5, R-APPEAL-6) -----------------------

    def answer(self, manager: Staff, appeal_id: str, raw: bytes, now: datetime) -> dict[str, Any]:
        ask = validated(_Answer, raw)
        appeal = self._take(manager, appeal_id, ask.outcome, ask.reason, now)
        if appeal.state in (AppealState.UPHELD,):
            self._upheld_records(appeal, now)
        else:
            appeal = self._reverse(appeal, now)
        return self.view(appeal)

    def _take(
        self, manager: Staff, appeal_id: str, outcome: Outcome, reason: str, now: datetime
    ) -> Appeal:
        """The answer, taken on the appeal's version: one answer wins."""
        for _ in range(MAX_ATTEMPTS):
            appeal = self._get(appeal_id)
            taken = answered(appeal, outcome, manager.staff_id, reason, now)
            if isinstance(taken, Refusal):
                raise Failed(from_refusal(taken))
            if taken is None:
                return appeal  # this answer, again: finish it
            if outcome is Outcome.REVERSED:
                taken = replace(taken, new_registration_id=derived_id("rg", appeal_id, "reversal"))
            try:
                return self._store.save_appeal(taken)
            except Stale:
                continue
        raise StoreUnavailable("too much contention on one appeal")

    def _upheld_records(self, appeal: Appeal, now: datetime) -> None:
        at = appeal.answered_at
        assert at is not None and appeal.answered_by is not None
        event = _event(appeal, "appeal.upheld", appeal.claimant_id, appeal.claimant_registration_id)
        entry = self._entry(appeal, "appeal.upheld", appeal.claimant_registration_id)
        events = self._in_feed_order(appeal, [event], now)
        self._store.save_reversal_records(None, events, [entry], None)
        count("AppealAnswered", outcome="upheld")

    def _reverse(self, appeal: Appeal, now: datetime) -> Appeal:
        visit = visit_or_404(self._store, appeal.visit_id)
        decision = next(d for d in visit.decisions if d.decision_id == appeal.decision_id)
        registrant = self._store.get_registrant(appeal.claimant_id)
        assert registrant is not None  # it filed, or was named, as a claimant
        customer = self._store.get_customer(appeal.customer_key) or Customer()
        overturned: Claim | None = None
        for _ in range(MAX_ATTEMPTS):
            moved = moved_claim(customer, appeal)
            if moved is not None:
                break
            refusal = _visit_moved_on(visit, appeal, decision)
            outcome = refusal or reversed_customer(
                customer, appeal, decision, registrant.kind, self._policy
            )
            if isinstance(outcome, Refusal):
                raise self._reversal_refused(appeal, outcome, now)
            try:
                assert customer.phone is not None
                customer = self._customers.commit(appeal.customer_key, customer.phone, outcome, now)
            except VersionConflict as conflict:
                customer = (
                    conflict.current or self._store.get_customer(appeal.customer_key) or Customer()
                )
                continue
        else:
            raise StoreUnavailable("too much contention on one customer")
        overturned = next(
            (c for c in customer.claims if c.registration_id == appeal.holder_registration_id),
            None,
        )
        self._on_visit(appeal, moved)
        self._reversal_records(appeal, moved, overturned, visit, now)
        return self._settle(appeal)

    def _reversal_refused(self, appeal: Appeal, refusal: Refusal, now: datetime) -> Failed:
        """The answer is given back: the appeal waits again (the site manager
        may uphold it); the refusal is on the customer's trail."""
        back = replace(
            appeal,
            state=AppealState.PENDING,
            answered_by=None,
            answered_at=None,
            answer_reason=None,
            new_registration_id=None,
        )
        with suppress(Stale):  # answered meanwhile: the refusal stands for this request
            self._store.save_appeal(back)
        audit.record(
            self._store,
            customer_subject(appeal.customer_key),
            "appeal.reversal_refused",
            now,
            appeal.answered_by or "",
            rule=refusal.rule,
            code=refusal.code,
            detail=f"appeal {appeal.appeal_id}",
        )
        return Failed(from_refusal(refusal))

    def _on_visit(self, appeal: Appeal, moved: Claim) -> None:
        """The reversal becomes the visit's decision in force (replacing any
        correction that raced in), once."""
        assert appeal.answered_at is not None and appeal.answered_by is not None
        reversal_id = derived_id("dc", appeal.appeal_id, "reversal")

        def append(visit: Visit) -> Visit | None:
            if any(d.decision_id == reversal_id for d in visit.decisions):
                return None
            in_force = visit.decision
            return visit.with_decision(
                Decision(
                    decision_id=reversal_id,
                    registration_id=moved.registration_id,
                    registrant_id=moved.registrant_id,
                    source=moved.source,
                    decided_by=appeal.answered_by or "",
                    decided_at=appeal.answered_at or moved.created_at,
                    replaces=in_force.decision_id if in_force else None,
                    reason=f"申诉改判 {appeal.appeal_id}: {appeal.answer_reason}"[:200],
                )
            )

        change_visit(self._store, appeal.visit_id, append, appeal.answered_at)

    def _reversal_records(
        self,
        appeal: Appeal,
        moved: Claim,
        overturned: Claim | None,
        visit: Visit,
        now: datetime,
    ) -> None:
        at = appeal.answered_at
        assert at is not None
        earlier = self._store.get_registration(appeal.claimant_id, appeal.claimant_registration_id)
        registration = Registration(
            claim=moved,
            customer_key=appeal.customer_key,
            customer_name=(earlier.customer_name if earlier else visit.customer_name) or "",
            phone_masked=appeal.phone_masked or "",
            visit_at=visit.arrived_at,
            note=None,
            recorded_at=at,
        )
        events = [
            _event(appeal, "appeal.reversed", appeal.claimant_id, moved.registration_id),
            _event(appeal, "appeal.reversed", appeal.holder_id, appeal.holder_registration_id),
        ]
        protected = protected_event(moved, recorded_at=at)
        if protected is not None and moved.protection and now < moved.protection.ends_at:
            events.append(protected)
        entries = [self._entry(appeal, "appeal.reversed", moved.registration_id)]
        events = self._in_feed_order(appeal, events, now)
        self._store.save_reversal_records(registration, events, entries, overturned)
        count("AppealAnswered", outcome="reversed")

    def _in_feed_order(self, appeal: Appeal, events: list[Event], now: datetime) -> list[Event]:
        """The answer's events at the answer's time, unless a retry writes
        them after the feed's settle delay: then at one later position, kept
        on the appeal (the first retry to write it wins), ahead of every
        cursor handed out meanwhile (as store/feed.py does for registrations)."""
        at = appeal.answered_at
        assert at is not None
        settle = timedelta(seconds=self._settings.event_settle_seconds)
        late = appeal.events_at
        if late is None and now - at > settle:
            if all(self._store.has_event(e) for e in events):
                return events  # written in time by the first attempt
            late = self._stamp_events(appeal, now)
        return [replace(e, recorded_at=late) for e in events] if late else events

    def _stamp_events(self, appeal: Appeal, now: datetime) -> datetime:
        for _ in range(MAX_ATTEMPTS):
            if appeal.events_at is not None:
                return appeal.events_at
            try:
                self._store.save_appeal(replace(appeal, events_at=now))
                return now
            except Stale:
                found = self._store.get_appeal(appeal.appeal_id)
                assert found is not None  # appeals are never deleted
                appeal = found
        raise StoreUnavailable("too much contention on one appeal")

    def _settle(self, appeal: Appeal) -> Appeal:
        for _ in range(MAX_ATTEMPTS):
            if appeal.state is AppealState.REVERSED:
                return appeal
            try:
                return self._store.save_appeal(replace(appeal, state=AppealState.REVERSED))
            except Stale:
                appeal = self._get(appeal.appeal_id)
        raise StoreUnavailable("too much contention on one appeal")

    def _entry(self, appeal: Appeal, action: str, registration_id: str) -> AuditEntry:
        assert appeal.answered_at is not None
        return audit.entry(
            customer_subject(appeal.customer_key),
            action,
            appeal.answered_at,
            appeal.answered_by or "",
            rule="R-APPEAL-5" if action == "appeal.upheld" else "R-APPEAL-6",
            registration_id=registration_id,
            detail=f"appeal {appeal.appeal_id} of decision {appeal.decision_id}: "
            f"{appeal.answer_reason}"[:300],
            entry_id=derived_id("au", appeal.appeal_id, action),
        )

    # -- reading ----------------------------------------------------------------

    def queue(self, query: dict[str, str]) -> dict[str, Any]:
        """The site manager's queue: appeals in one state (default pending),
        oldest first."""
        state = query.get("state", AppealState.PENDING.value)
        try:
            wanted = AppealState(state)
        except ValueError:
            raise Failed(
                validation_error(FieldError("state", "pending, reversing, upheld or reversed"))
            ) from None
        return {
            "state": wanted.value,
            "data": [self.view(a) for a in self._store.appeals_in_state(wanted)],
        }

    def of_registrant(self, caller: Registrant, appeal_id: str) -> dict[str, Any]:
        """The appellant reads its appeal back (whether it filed it or the
        sales manager did for it): its state, and the answer once given.
        Anyone else's is answered 404 like a missing one, and the holder is
        never named (API.md)."""
        appeal = self._get(appeal_id)
        if appeal.claimant_id != caller.registrant_id:
            raise Failed(not_found("appeal"))
        return self.view(appeal, staff=False)

    def of_customer(self, key: str) -> list[dict[str, Any]]:
        """For the 判客 lookup: every appeal of the customer's decisions."""
        return [self.view(a) for a in self._store.appeals_of_customer(key)]

    def view(self, appeal: Appeal, *, staff: bool = True) -> dict[str, Any]:
        z = self._zone
        doc: dict[str, Any] = {
            "appeal_id": appeal.appeal_id,
            "state": appeal.state.value,
            "decision_id": appeal.decision_id,
            "visit_id": appeal.visit_id,
            "decided_at": local_iso(appeal.decided_at, z),
            "window_ends_at": local_iso(window_ends_at(appeal.decided_at, self._policy), z),
            "customer": {"phone_masked": appeal.phone_masked},
            "claimant_id": appeal.claimant_id,
            "claimant_registration_id": appeal.claimant_registration_id,
            "filed_by": appeal.filed_by,
            "filed_at": local_iso(appeal.filed_at, z),
            "reason": appeal.reason,
            "answer": None,
            "new_registration_id": appeal.new_registration_id,
        }
        if staff:  # a registrant is never told who holds the customer (API.md)
            doc["holder_id"] = appeal.holder_id
            doc["holder_registration_id"] = appeal.holder_registration_id
        if appeal.answered_at is not None:
            outcome = "upheld" if appeal.state is AppealState.UPHELD else "reversed"
            doc["answer"] = {
                "outcome": outcome,
                "by": appeal.answered_by,
                "at": local_iso(appeal.answered_at, z),
                "reason": appeal.answer_reason,
            }
        return doc

    def _filed_view(self, appeal: Appeal, staff: bool) -> dict[str, Any]:
        """As filed (a replay answers the same body, whatever came since)."""
        filed = replace(
            appeal,
            state=AppealState.PENDING,
            answered_by=None,
            answered_at=None,
            answer_reason=None,
            new_registration_id=None,
        )
        return self.view(filed, staff=staff)

    def _get(self, appeal_id: str) -> Appeal:
        plausible = appeal_id.startswith("ap_") and len(appeal_id) <= 64
        found = self._store.get_appeal(appeal_id) if plausible else None
        if found is None:
            raise Failed(not_found("appeal"))
        return found


def _visit_moved_on(visit: Visit, appeal: Appeal, decision: Decision) -> Refusal | None:
    """R-APPEAL-4 on the visit: a correction recorded before this reversal
    was taken supersedes the appeal."""
    in_force = visit.decision
    if in_force is None or in_force.decision_id == decision.decision_id:
        return None
    taken = appeal.answered_at
    if taken is not None and in_force.decided_at >= taken:
        return None  # raced in after the answer: the reversal replaces it
    return superseded("A later decision replaced this one on its visit.")


def _event(appeal: Appeal, kind: str, registrant_id: str, registration_id: str) -> Event:
    at = appeal.answered_at
    assert at is not None
    return Event(
        event_id=derived_id("ev", appeal.appeal_id, kind, registrant_id),
        type=kind,
        registrant_id=registrant_id,
        registration_id=registration_id,
        occurred_at=at,
        recorded_at=at,
    )


def _held(stored: StoredAnswer, request_hash: str) -> dict[str, Any]:
    """The answer for a filing whose key another request holds."""
    if stored.request_hash != request_hash:
        raise Failed(_key_reused())
    if stored.body is None:  # still filing
        raise Failed(
            Problem(
                "IDEMPOTENCY_IN_PROGRESS",
                "A request with this Idempotency-Key is still being processed.",
                retry_after=1,
            )
        )
    doc: dict[str, Any] = json.loads(stored.body)
    return doc


def _key_reused() -> Problem:
    return Problem(
        "IDEMPOTENCY_KEY_REUSED",
        "This Idempotency-Key was used with another request body.",
    )


def _hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
