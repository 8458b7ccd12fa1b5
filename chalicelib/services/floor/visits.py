"""The visitor log and what closes a visit (R-FLOOR-2, R-FLOOR-4, R-FLOOR-5).

The front desk logs arrivals and departures; the channel assistant (or the
consultant on duty) signs households in; the receiving consultant files the
viewing confirmation form, or the site manager signs an exemption.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.errors import Failed, FieldError, Problem, StoreUnavailable, not_found
from chalicelib.errors import validation_error as invalid
from chalicelib.rules.claims import Customer
from chalicelib.rules.floor import (
    Exemption,
    ExemptionKind,
    Form,
    FormState,
    Visit,
    arrival_logged,
    form_state,
)
from chalicelib.rules.localtime import local_date
from chalicelib.rules.phone import customer_key, mask_phone
from chalicelib.rules.reclaim import visited
from chalicelib.rules.staff import Role, Staff, reads_visit
from chalicelib.services import audit
from chalicelib.services.customers import Customers
from chalicelib.services.fines.ledger import Fines
from chalicelib.services.floor.views import visit_view
from chalicelib.services.ids import derived_id, new_id
from chalicelib.services.registration.intake import (
    Id,
    Name,
    Note,
    PhoneText,
    VisitAt,
    mobile,
    validated,
)
from chalicelib.services.registration.registrations import valid_idempotency_key
from chalicelib.services.registration.resolution import MaskResolution, Resolution
from chalicelib.settings import Settings
from chalicelib.store import Stale, Store

MAX_ATTEMPTS = 5


class _Arrival(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    arrived_at: VisitAt | None = None
    phone: PhoneText | None = None
    # with the phone, resolves a masked registration whose surname matches (0013)
    name: Name | None = None
    party_size: Annotated[int, Field(ge=1, le=50)]
    greeted: bool
    led_in_by: Id | None = None
    accompanied_by: Id | None = None


class _Departure(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    departed_at: VisitAt | None = None


class _Household(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    name: Name
    phone: PhoneText


class _SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    households: Annotated[list[_Household], Field(min_length=1, max_length=10)]


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    note: Note | None = None


class _Exemption(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    kind: ExemptionKind
    note: Note | None = None


class _PhoneLookup(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    phone: PhoneText


def already_recorded(rule: str, message: str) -> Failed:
    return Failed(Problem("ALREADY_RECORDED", message, rule))


def customer_unknown() -> Failed:
    return Failed(
        Problem(
            "CUSTOMER_UNKNOWN",
            "The visit has no customer yet: log the phone at arrival or sign the customer in.",
            "R-FLOOR-4",
        )
    )


class Visits:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._policy = settings.policy
        self._zone = settings.policy.zone
        self._customers = Customers(store, settings.policy)
        self._fines = Fines(store, settings)
        self._masks = MaskResolution(store, settings)

    # -- the front desk (R-FLOOR-2) -----------------------------------------------

    def log_arrival(
        self, desk: Staff, raw: bytes, idempotency_key: str | None, now: datetime
    ) -> tuple[dict[str, Any], bool]:
        """(the visit, replayed). With an Idempotency-Key a retried arrival
        is the same visit, never a second one."""
        ask = validated(_Arrival, raw)
        arrived_at = ask.arrived_at or now
        self._check_past("arrived_at", arrived_at, now)
        phone = mobile(ask.phone, "phone") if ask.phone is not None else None
        if ask.led_in_by is not None:
            self._check_consultant(ask.led_in_by, "led_in_by")
        if ask.accompanied_by is not None:
            self._check_recommender(ask.accompanied_by)
        if idempotency_key is not None and not valid_idempotency_key(idempotency_key):
            raise Failed(
                invalid(FieldError("Idempotency-Key", "1 to 255 printable ASCII characters"))
            )
        request_hash = hashlib.sha256(raw).hexdigest()
        visit_id = (
            derived_id("vi", desk.staff_id, idempotency_key)
            if idempotency_key
            else new_id("vi", now)
        )
        if idempotency_key:
            earlier = self._store.get_visit(visit_id)
            if earlier is not None:
                answer = self._replayed(earlier, request_hash, now)
                self._fines.propose_from_arrival(earlier, now)  # if the first died before
                if phone is not None and ask.name is not None:
                    self._masks.resolve(phone, ask.name, desk.staff_id, now)
                self._keep_hold(earlier, now)
                return answer, True
        visit = Visit(
            visit_id=visit_id,
            group_id=visit_id,
            arrived_at=arrived_at,
            day=local_date(arrived_at, self._zone),
            party_size=ask.party_size,
            greeted=ask.greeted,
            logged_by=desk.staff_id,
            led_in_by=ask.led_in_by,
            accompanied_by=ask.accompanied_by,
            customer_key=self._key(phone) if phone else None,
            phone_masked=mask_phone(phone) if phone else None,
            customer_name=ask.name if phone else None,
            request_hash=request_hash,
            logged_at=now,
        )
        try:
            saved = self._store.save_visit(visit, now)
        except Stale:  # the same key, at the same moment, from a retry
            earlier = self._store.get_visit(visit_id)
            if earlier is None:
                raise StoreUnavailable("visit neither written nor found") from None
            return self._replayed(earlier, request_hash, now), True
        self._fines.propose_from_arrival(saved, now)  # R-FINE-1/2, for a manager to confirm
        if phone is not None and ask.name is not None:
            self._masks.resolve(phone, ask.name, desk.staff_id, now)
        self._keep_hold(saved, now)
        return visit_view(saved, now, self._zone), False

    def log_departure(
        self, desk: Staff, visit_id: str, raw: bytes, now: datetime
    ) -> dict[str, Any]:
        """The first departure logged stands; logging it again changes nothing."""
        ask = validated(_Departure, raw)
        departed_at = ask.departed_at or now
        self._check_past("departed_at", departed_at, now)

        def depart(visit: Visit) -> Visit | None:
            if visit.departed_at is not None:
                return None
            if departed_at < visit.arrived_at:
                raise Failed(invalid(FieldError("departed_at", "before the arrival")))
            return replace(visit, departed_at=departed_at)

        visit, _ = self._change(visit_id, depart, now)
        return visit_view(visit, now, self._zone)

    def resolve_masked(self, caller: Staff, raw: bytes, now: datetime) -> Resolution:
        """隐号报备 (decision 0013): the visitor's number and name, typed by the
        front desk or the channel assistant, resolve the masked registration
        holding the number's mask if the surname matches. Repeatable."""
        told = validated(_Household, raw)
        phone = mobile(told.phone, "phone")
        return self._masks.resolve(phone, told.name, caller.staff_id, now)

    # -- reads ------------------------------------------------------------------

    def visit(self, visit_id: str, now: datetime, reader: Staff) -> dict[str, Any]:
        """A visit names its customer: a consultant reads only the visits
        they received; another's is answered 404, like a missing one."""
        visit = self._visit(visit_id)
        if not reads_visit(reader, visit.consultant_id):
            raise Failed(not_found("visit"))
        return visit_view(visit, now, self._zone)

    def on_day(self, query: dict[str, str], now: datetime) -> dict[str, Any]:
        day = self.day(query, now)
        visits = self._store.visits_on(day)
        return {"date": day.isoformat(), "data": [visit_view(v, now, self._zone) for v in visits]}

    def of_customer(self, raw: bytes, now: datetime) -> dict[str, Any]:
        phone = mobile(validated(_PhoneLookup, raw).phone, "phone")
        visits = self._store.visits_of(self._key(phone))
        return {
            "phone_masked": mask_phone(phone),
            "data": [visit_view(v, now, self._zone) for v in visits],
        }

    def forms(
        self, query: dict[str, str], now: datetime, consultant_id: str | None = None
    ) -> dict[str, Any]:
        """R-FLOOR-5: the day's forms by state, for the channel assistant; a
        consultant's own (the visits they received), given ``consultant_id``."""
        day = self.day(query, now)
        by_state: dict[str, list[dict[str, Any]]] = {
            s.value: [] for s in FormState if s is not FormState.NOT_REQUIRED
        }
        for visit in self._store.visits_on(day):
            if consultant_id is not None and visit.consultant_id != consultant_id:
                continue
            state = form_state(visit, now, self._zone)
            if state is not FormState.NOT_REQUIRED:
                by_state[state.value].append(visit_view(visit, now, self._zone))
        return {"date": day.isoformat(), **by_state}

    # -- sign-in (R-FLOOR-4) ------------------------------------------------------

    def sign_in(
        self, caller: Staff, visit_id: str, raw: bytes, now: datetime
    ) -> tuple[dict[str, Any], bool]:
        """(the signed-in visits, created). Each household of the group becomes
        its own customer on its own visit: the one whose phone the visit
        already has (else the first) stays on this visit, the others get new
        visits of the same group, received by the same consultant. Sending the
        same sign-in again answers the same visits."""
        households = validated(_SignIn, raw).households
        phones = [mobile(h.phone, f"households.{i}.phone") for i, h in enumerate(households)]
        if len(set(phones)) != len(phones):
            raise Failed(invalid(FieldError("households", "one phone per household")))
        keys = [self._key(p) for p in phones]
        visit = self._visit(visit_id)
        here = _stays(visit, keys)
        if visit.signed_in_at is not None:
            return self._signed_again(visit, keys, now), False
        signed: list[tuple[Visit, str]] = []  # each visit with its household's phone
        # the others first: derived ids, so a retry rewrites the same visits
        for i, (household, phone, key) in enumerate(zip(households, phones, keys, strict=True)):
            if i == here:
                continue
            other = replace(
                visit,
                visit_id=_sibling_id(visit.visit_id, key),
                party_size=1,
                customer_key=key,
                phone_masked=mask_phone(phone),
                customer_name=household.name,
                signed_in_at=now,
                signed_in_by=caller.staff_id,
                decisions=(),
                form=None,
                exemption=None,
                request_hash=None,
                version=None,
            )
            signed.append((self._store_new(other, now), phone))

        def sign(current: Visit) -> Visit:
            if current.signed_in_at is not None:
                raise already_recorded("R-FLOOR-4", "The visit was signed in meanwhile.")
            if _stays(current, keys) != here:  # a decision named its customer meanwhile
                raise already_recorded("R-FLOOR-4", "The visit changed meanwhile; read it again.")
            return replace(
                current,
                customer_key=keys[here],
                phone_masked=mask_phone(phones[here]),
                customer_name=households[here].name,
                signed_in_at=now,
                signed_in_by=caller.staff_id,
            )

        signed.insert(0, (self._change(visit_id, sign, now)[0], phones[here]))
        # a masked registration of a household resolved (decision 0013), then
        # each household's customer visited (R-RECLAIM-1 counts from the visit)
        for household, phone in zip(households, phones, strict=True):
            self._masks.resolve(phone, household.name, caller.staff_id, now)
        for one, phone in signed:
            self._record_visit(one, phone, now)
        audit.record(
            self._store,
            f"visit:{visit_id}",
            "visit.signed_in",
            now,
            caller.staff_id,
            rule="R-FLOOR-4",
            detail=f"{len(signed)} household(s): {', '.join(v.visit_id for v, _ in signed)}",
            entry_id=derived_id("au", visit_id, "signed_in"),
        )
        return {"data": [visit_view(v, now, self._zone) for v, _ in signed]}, True

    def _signed_again(self, visit: Visit, keys: list[str], now: datetime) -> dict[str, Any]:
        """A repeated sign-in (the reply was lost) answers the visits it made;
        a different one is refused."""
        others = [k for k in keys if k != visit.customer_key]
        siblings = [self._store.get_visit(_sibling_id(visit.visit_id, k)) for k in others]
        if visit.customer_key not in keys or any(v is None for v in siblings):
            raise already_recorded("R-FLOOR-4", "The visit is already signed in.")
        made = [visit, *(v for v in siblings if v is not None)]
        return {"data": [visit_view(v, now, self._zone) for v in made]}

    # -- the viewing confirmation form (R-FLOOR-5) -----------------------------------

    def file_form(
        self, consultant: Staff, visit_id: str, raw: bytes, now: datetime
    ) -> tuple[dict[str, Any], bool]:
        """(the visit, filed now). The first form stands; filing again
        answers the visit as it is."""
        ask = validated(_Form, raw)
        if not (ask.note or "").strip():
            # a form says what happened at the viewing: an empty one confirms
            # nothing (R-FLOOR-5); said in Chinese, as the console shows it
            raise Failed(
                Problem(
                    "VALIDATION_ERROR",
                    "请填写带看情况：确认单要写明客户看了什么（R-FLOOR-5）。",
                    "R-FLOOR-5",
                    (FieldError("note", "必填：请写下带看情况"),),
                )
            )

        def file(visit: Visit) -> Visit | None:
            if visit.consultant_id != consultant.staff_id:
                raise Failed(
                    Problem(
                        "FORBIDDEN",
                        "Only the consultant who received the customer files the form.",
                        "R-FLOOR-5",
                    )
                )
            if visit.customer_key is None:
                raise customer_unknown()
            if visit.form is not None:
                return None  # filed already: the first form stands
            if visit.exemption is not None:
                raise already_recorded("R-FLOOR-5", "The visit is exempt from the form.")
            return replace(visit, form=Form(consultant.staff_id, now, ask.note))

        visit, changed = self._change(visit_id, file, now)
        assert visit.form is not None
        audit.record(  # once, by whichever request (or retry) filed it
            self._store,
            f"visit:{visit_id}",
            "form.filed",
            visit.form.filed_at,
            visit.form.filed_by,
            rule="R-FLOOR-5",
            entry_id=derived_id("au", visit_id, "form.filed"),
        )
        return visit_view(visit, now, self._zone), changed

    def sign_exemption(
        self, manager: Staff, visit_id: str, raw: bytes, now: datetime
    ) -> tuple[dict[str, Any], bool]:
        """(the visit, exempted now): the site manager exempts a gift-only
        customer or a flyer impostor instead of a form."""
        ask = validated(_Exemption, raw)

        def exempt(visit: Visit) -> Visit | None:
            if visit.exemption is not None:
                if visit.exemption.kind is not ask.kind:
                    raise already_recorded("R-FLOOR-5", "The visit is already exempt.")
                return None
            if visit.form is not None:
                raise already_recorded("R-FLOOR-5", "A form was filed for the visit.")
            return replace(visit, exemption=Exemption(ask.kind, manager.staff_id, now, ask.note))

        visit, changed = self._change(visit_id, exempt, now)
        assert visit.exemption is not None
        audit.record(  # once, by whichever request (or retry) signed it
            self._store,
            f"visit:{visit_id}",
            "form.exempted",
            visit.exemption.signed_at,
            visit.exemption.signed_by,
            rule="R-FLOOR-5",
            detail=visit.exemption.kind.value,
            entry_id=derived_id("au", visit_id, "form.exempted"),
        )
        return visit_view(visit, now, self._zone), changed

    # -- helpers ------------------------------------------------------------------

    def day(self, query: dict[str, str], now: datetime) -> date:
        raw = query.get("date")
        return local_date(now, self._zone) if raw is None else parse_day(raw, "date")

    def _visit(self, visit_id: str) -> Visit:
        return visit_or_404(self._store, visit_id)

    def _change(
        self, visit_id: str, change: Callable[[Visit], Visit | None], now: datetime
    ) -> tuple[Visit, bool]:
        """Apply ``change`` to the visit as stored and commit it; on a lost
        race, read again and redo. ``None`` means nothing to change.
        Returns the visit and whether this call changed it."""
        return change_visit(self._store, visit_id, change, now)

    def _record_visit(self, visit: Visit, phone: str | None, now: datetime) -> None:
        self._copy_hold(record_visit(self._customers, visit, phone, now), visit)

    def _keep_hold(self, visit: Visit, now: datetime) -> None:
        """R-REG-3: an arrival logged with the customer's phone, accompanied by
        the agency that holds them, keeps the hold for 判客 (one conditional
        write on the customer, only when there is such a hold)."""
        if visit.customer_key is None or visit.accompanied_by is None:
            return
        zone = self._zone
        kept = self._customers.change(
            visit.customer_key, None, lambda c: arrival_logged(c, visit, now, zone), now
        )
        self._copy_hold(kept, visit)

    def _copy_hold(self, customer: Customer | None, visit: Visit) -> None:
        """The agency's own record says the hold is kept too (no event)."""
        held = next(
            (
                c
                for c in (customer.claims if customer else ())
                if c.arrival_visit_id == visit.visit_id and c.protection is None
            ),
            None,
        )
        if held is not None:
            self._store.copy_claim(held)

    def _store_new(self, visit: Visit, now: datetime) -> Visit:
        try:
            return self._store.save_visit(visit, now)
        except Stale:  # written by an earlier attempt of this sign-in
            return self._visit(visit.visit_id)

    def _replayed(self, earlier: Visit, request_hash: str, now: datetime) -> dict[str, Any]:
        if earlier.request_hash != request_hash:
            raise Failed(
                Problem(
                    "IDEMPOTENCY_KEY_REUSED",
                    "This Idempotency-Key was used with a different body.",
                )
            )
        return visit_view(earlier, now, self._zone)

    def _check_past(self, field: str, at: datetime, now: datetime) -> None:
        skew = timedelta(minutes=self._policy.visit_clock_skew_minutes)
        if at > now + skew:
            raise Failed(invalid(FieldError(field, "in the future")))
        if at < now - timedelta(hours=24):
            raise Failed(invalid(FieldError(field, "more than 24 hours ago")))

    def _check_consultant(self, staff_id: str, field: str) -> None:
        member = self._store.get_staff(staff_id)
        if member is None or member.role is not Role.CONSULTANT:
            raise Failed(invalid(FieldError(field, "not a consultant")))

    def _check_recommender(self, who: str) -> None:
        if self._store.get_registrant(who) is None and self._store.get_broker(who) is None:
            raise Failed(invalid(FieldError("accompanied_by", "not a registrant or broker")))

    def _key(self, phone: str) -> str:
        return customer_key(phone, self._settings.phone_hmac_key)


def record_visit(
    customers: Customers, visit: Visit, phone: str | None, now: datetime
) -> Customer | None:
    """The visit's customer visited at its arrival, received by its consultant
    (the last visit and the consultant's ownership of R-RECLAIM-1), and a
    distribution hold the visit's agency accompanied kept for 判客 (R-REG-3),
    in one write. Returns the customer as written (None: not stored)."""
    if visit.customer_key is None:
        return None
    arrived, consultant = visit.arrived_at, visit.consultant_id
    zone = customers.policy.zone

    def update(customer: Customer) -> Customer:
        seen = visited(customer, arrived, consultant)
        return arrival_logged(seen, visit, now, zone) or seen

    return customers.change(visit.customer_key, phone, update, now)


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(text: str, field: str) -> date:
    """A local date written YYYY-MM-DD, nothing looser (no week dates)."""
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise Failed(invalid(FieldError(field, "a local date, YYYY-MM-DD"))) from None


def _stays(visit: Visit, keys: list[str]) -> int:
    """Which household stays on the visit: the one it already names (which a
    decision requires), else the first."""
    if visit.customer_key in keys:
        return keys.index(visit.customer_key)
    if visit.decision is not None:
        # the decision is about that customer: they cannot leave the visit
        raise Failed(
            invalid(FieldError("households", "must include the customer the visit was decided for"))
        )
    return 0


def _sibling_id(visit_id: str, customer_key: str) -> str:
    return derived_id("vi", visit_id, customer_key)


def visit_or_404(store: Store, visit_id: str) -> Visit:
    plausible = visit_id.startswith("vi_") and len(visit_id) <= 64
    found = store.get_visit(visit_id) if plausible else None
    if found is None:
        raise Failed(not_found("visit"))
    return found


def change_visit(
    store: Store,
    visit_id: str,
    change: Callable[[Visit], Visit | None],
    now: datetime,
    read: Visit | None = None,
) -> tuple[Visit, bool]:
    """Read the visit (unless the caller has just ``read`` it), apply
    ``change`` and commit it on its version; on a lost race read again and
    redo. ``change`` returns None when there is nothing to change. Returns
    the visit and whether this call changed it."""
    for _ in range(MAX_ATTEMPTS):
        visit = read or visit_or_404(store, visit_id)
        read = None
        changed = change(visit)
        if changed is None:
            return visit, False
        try:
            return store.save_visit(changed, now), True
        except Stale:
            continue
    raise StoreUnavailable("too much contention on one visit")
