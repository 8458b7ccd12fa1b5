"""The demo office's past, for `make run`'s first run (scripts/run_local.py).

A demo seeded "now" only has empty screens: nobody is in the pool, no fine
waits for a manager, no form is owed. This writes a few months of an
office's life instead, each step through the services the API calls, with
the clock of its moment (a service takes ``now`` from its caller, as the
routes give it theirs), so the rules decide the past as they would have
then: nothing is written to a table directly.

What it leaves, relative to ``now`` (Asia/Shanghai):

- three walk-ins last seen four months before the latest monthly reclaim
  run: stale (R-RECLAIM-1), so the reclaim that `make run` runs at start-up
  (scripts/local_schedule.py) takes them into the pool, as of that run;
- a walk-in of 40 days ago, still its consultant's (我的客户, reclaim date);
- a channel customer received 55 days ago: protected, the protection ends
  in 5 days (the start-up sweep sends ``protection.ending_soon``);
- an e-commerce report of 10 days ago (R-PROT-3);
- a fine recorded 5 days ago (R-FINE-3) and appealed the day after;
- yesterday: a channel customer received in turn whose form was never
  filed (overdue since midnight; the start-up sweep proposes R-FINE-4), and
  one logged as not greeted and led in by a consultant (R-FINE-2 and
  R-FINE-1 proposed), still without a departure;
- today: a customer received whose form is pending, one waiting for 判客
  (another channel's registration of them refused, R-DUP-1), and a
  distribution agency's provisional hold for a visit in two hours.

The phones are 135 6000 xxxx (no test or README example uses them).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from chalicelib.rules.localtime import at_local_time, local_date
from chalicelib.rules.phone import customer_key, mask_phone
from chalicelib.rules.reclaim import add_months, run_at
from chalicelib.rules.staff import Staff
from chalicelib.services import container
from chalicelib.services.registration.registrations import WebhookRequest
from chalicelib.settings import settings
from chalicelib.signing import signature_header
from chalicelib.store import store

# the customers of the history (name, phone); masked in every screen
STALE = [("周先生", "13560000101"), ("吴女士", "13560000102"), ("郑先生", "13560000103")]
KEPT = ("冯女士", "13560000201")
PROTECTED = ("陈先生", "13560000301")
ECOMMERCE = ("褚女士", "13560000401")
OVERDUE = ("卫先生", "13560000501")
NOT_GREETED = ("蒋女士", "13560000502")
PENDING = ("沈先生", "13560000601")
WAITING = ("韩女士", "13560000602")
DISTRIBUTION = ("杨先生", "13560000701")


class SeedFailed(Exception):
    """A step of the history was refused: the store is not the fresh one
    the demo expects (`make reset` starts again)."""


def latest_reclaim_run(now: datetime) -> datetime:
    """The monthly reclaim run (R-RECLAIM-1) at or before ``now``."""
    policy = settings().policy
    today = local_date(now, policy.zone)
    run = run_at(today.year, today.month, policy)
    if run <= now:
        return run
    before = add_months(date(today.year, today.month, 1), -1)
    return run_at(before.year, before.month, policy)


class History:
    def __init__(self, demo: dict[str, Any], now: datetime) -> None:
        self.now = now
        self.zone = settings().policy.zone
        self.store = store()
        self.registrants = {r["name"]: r for r in demo["registrants"]}
        self.people: dict[str, list[Staff]] = {}
        for p in demo["staff"]:
            member = self.store.get_staff(p["id"])
            assert member is not None, p
            self.people.setdefault(p["role"], []).append(member)
        self.keys = 0

    def one(self, role: str, nth: int = 0) -> Staff:
        return self.people[role][nth]

    def at(self, days_ago: int, hour: int, minute: int = 0) -> datetime:
        """A local wall-clock time ``days_ago`` calendar days before today."""
        day = local_date(self.now, self.zone) - timedelta(days=days_ago)
        return at_local_time(day, time(hour, minute), self.zone)

    def seed(self) -> dict[str, Any]:
        if self.store.get_customer(self._key(STALE[0][1])) is not None:
            return {"skipped": "the history was seeded before (make reset starts again)"}
        pooled = self.stale_walk_ins()
        kept = self.walk_in(self.one("consultant", 1), *KEPT, self.at(40, 11, 20))
        protected = self.protected_channel_customer()
        self.register("房天下电商", *ECOMMERCE, self.at(10, 20, 5), visit=False)
        appealed = self.appealed_fine()
        overdue, not_greeted = self.yesterday()
        pending, waiting, held = self.today()
        return {
            "reclaim_run": self._iso(latest_reclaim_run(self.now)),
            "pool": [mask_phone(p) for _, p in pooled],
            "kept_walk_in": kept,
            "protected": protected,
            "appealed_fine": appealed,
            "overdue_form": overdue,
            "proposed_fines": not_greeted.pop("fines"),
            "not_greeted": not_greeted,
            "pending_form": pending,
            "awaiting_decision": waiting,
            "distribution_hold": held,
        }

    # -- the pool: stale walk-ins (R-RECLAIM-1) -------------------------------------

    def stale_walk_ins(self) -> list[tuple[str, str]]:
        """Last seen in the month four months before the latest reclaim run,
        so that run (and no earlier one) takes them: a visit on the 27th of
        July is stale from 27 October, taken on 1 November."""
        run = latest_reclaim_run(self.now)
        first = add_months(local_date(run, self.zone).replace(day=1), -3)
        for n, ((name, phone), days) in enumerate(zip(STALE, (12, 8, 3), strict=True)):
            day = first - timedelta(days=days)
            visited = at_local_time(day, time(10 + 2 * n, 30), self.zone)
            self.walk_in(self.one("consultant", n % 2), name, phone, visited)
        return STALE

    def walk_in(self, consultant: Staff, name: str, phone: str, at: datetime) -> dict[str, Any]:
        """A consultant registers a walk-in on the day of the visit (R-REG-1)."""
        raw = _encode({"customer": {"name": name, "phone": phone}, "visit_at": self._iso(at)})
        request = WebhookRequest(None, None, None, "application/json", raw)
        answer = container.registrations().register_by_consultant(
            consultant, self._next_key("walk-in"), request, at
        )
        self._accepted(answer.code, answer.body, f"walk-in {mask_phone(phone)}")
        return {"consultant_id": consultant.staff_id, "phone_masked": mask_phone(phone)}

    # -- recommenders ---------------------------------------------------------------

    def register(
        self,
        registrant: str,
        name: str,
        phone: str,
        at: datetime,
        *,
        visit: bool = True,
        visit_at: datetime | None = None,
        refused: bool = False,
    ) -> str | None:
        """A signed registration (R-REG-2, R-REG-3, R-PROT-3) at ``at``."""
        who = self.registrants[registrant]
        doc: dict[str, Any] = {"customer": {"name": name, "phone": phone}}
        if visit:
            doc["visit_at"] = self._iso(visit_at or at)
        raw = _encode(doc)
        request = WebhookRequest(
            who["id"],
            signature_header(who["secret"], int(at.timestamp()), raw),
            self._next_key("registration"),
            "application/json",
            raw,
        )
        answer = container.registrations().register(request, at)
        if refused:
            if answer.code is None:
                raise SeedFailed(f"{registrant}'s registration of {mask_phone(phone)} was accepted")
            return None
        return str(
            self._accepted(answer.code, answer.body, f"{registrant} {mask_phone(phone)}")[
                "registration_id"
            ]
        )

    # -- the floor (R-FLOOR-2..5) -------------------------------------------------------

    def roster(self, at: datetime) -> None:
        """That day's duty roster, set by the sales manager that morning."""
        day = local_date(at, self.zone)
        if self.store.get_roster(day) is not None:
            return
        morning = at_local_time(day, time(8, 0), self.zone)
        consultants = [c.staff_id for c in self.people["consultant"]]
        container.rotation().set_roster(
            self.one("sales_manager"),
            day.isoformat(),
            _encode({"consultants": consultants}),
            min(morning, at),
        )

    def arrival(
        self,
        registrant: str,
        phone: str,
        at: datetime,
        *,
        greeted: bool = True,
        led_in_by: Staff | None = None,
    ) -> str:
        """The front desk logs the arrival after the greeting (R-FLOOR-2)."""
        doc: dict[str, Any] = {
            "phone": phone,
            "party_size": 2,
            "greeted": greeted,
            "accompanied_by": self.registrants[registrant]["id"],
        }
        if led_in_by is not None:
            doc["led_in_by"] = led_in_by.staff_id
        visit, _ = container.visits().log_arrival(
            self.one("front_desk"), _encode(doc), self._next_key("arrival"), at
        )
        return str(visit["id"])

    def received(
        self, registrant: str, name: str, phone: str, at: datetime, step: timedelta, **arrival: Any
    ) -> dict[str, Any]:
        """Registered at the visit, greeted, decided (判客), received in turn,
        signed in: the receiving consultant owes the form (R-FLOOR-5)."""
        self.roster(at)
        registration = self.register(registrant, name, phone, at)
        visit_id = self.arrival(registrant, phone, at + step, **arrival)
        container.ownership().decide(
            self.one("channel_assistant"),
            visit_id,
            _encode({"registration_id": registration}),
            at + 2 * step,
        )
        container.rotation().assign(self.one("front_desk"), visit_id, b"{}", at + 3 * step)
        households = {"households": [{"name": name, "phone": phone}]}
        container.visits().sign_in(
            self.one("channel_assistant"), visit_id, _encode(households), at + 4 * step
        )
        visit = self.store.get_visit(visit_id)
        assert visit is not None and visit.consultant_id is not None
        return {
            "visit_id": visit_id,
            "date": visit.day.isoformat(),
            "consultant_id": visit.consultant_id,
            "phone_masked": mask_phone(phone),
            "registration_id": registration,
        }

    def file_form(self, visit: dict[str, Any], note: str, at: datetime) -> None:
        consultant = self.store.get_staff(visit["consultant_id"])
        assert consultant is not None
        container.visits().file_form(consultant, visit["visit_id"], _encode({"note": note}), at)

    def depart(self, visit: dict[str, Any], at: datetime) -> None:
        container.visits().log_departure(self.one("front_desk"), visit["visit_id"], b"{}", at)

    def protected_channel_customer(self) -> dict[str, Any]:
        """55 days ago: the 60-day protection ends in 5 days."""
        at = self.at(55, 14, 0)
        visit = self.received("鲁信渠道", *PROTECTED, at, timedelta(minutes=3))
        self.file_form(visit, "看了 2 号楼样板间，意向 120 平", at + timedelta(minutes=50))
        self.depart(visit, at + timedelta(hours=1))
        return visit

    def appealed_fine(self) -> dict[str, Any]:
        """R-FINE-3 seen by the sales manager 5 days ago; appealed the next day."""
        consultant = self.one("consultant", 1)
        record = {
            "kind": "R-FINE-3",
            "payer_id": consultant.staff_id,
            "occurred_at": self._iso(self.at(5, 15, 10)),
            "note": "客户要求签到时未予登记",
        }
        fines = container.fines()
        fine = fines.record(self.one("sales_manager"), _encode(record), self.at(5, 17, 0))
        fines.appeal(
            consultant.staff_id,
            fine["id"],
            _encode({"reason": "客户本人不愿留下信息，并非拒绝登记"}),
            self.at(4, 10, 0),
        )
        return {"id": fine["id"], "payer_id": consultant.staff_id}

    def yesterday(self) -> tuple[dict[str, Any], dict[str, Any]]:
        step = timedelta(minutes=3)
        overdue = self.received("鲁信渠道", *OVERDUE, self.at(1, 15, 0), step)
        self.depart(overdue, self.at(1, 16, 10))
        # logged as not greeted, and led in by a consultant before the desk
        # judged the customer: the arrival proposes R-FINE-2 and R-FINE-1
        leader = self.one("consultant", 1)
        at = self.at(1, 16, 30)
        not_greeted = self.received(
            "泉城渠道", *NOT_GREETED, at, step, greeted=False, led_in_by=leader
        )
        self.file_form(not_greeted, "客户由顾问直接带入，已补做询客", at + timedelta(minutes=40))
        proposed = container.fines().waiting({}, self.now)["data"]
        not_greeted["fines"] = [
            {"id": f["id"], "rule": f["rule"], "payer_id": f["payer_id"]}
            for f in proposed
            if f["visit_id"] == not_greeted["visit_id"]
        ]
        return overdue, not_greeted

    def today(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Earlier today: moments between local midnight and ``now``."""
        midnight = at_local_time(local_date(self.now, self.zone), time(0, 0), self.zone)
        step = min(timedelta(minutes=5), (self.now - midnight) / 12)
        start = self.now - 10 * step
        pending = self.received("鲁信渠道", *PENDING, start, step)
        # a customer of 泉城渠道 arrives with them; 鲁信渠道 tries to register
        # them too (refused, R-DUP-1); the channel assistant has to decide
        name, phone = WAITING
        waiting_at = start + 5 * step
        registration = self.register("泉城渠道", name, phone, waiting_at)
        self.register("鲁信渠道", name, phone, waiting_at + step, refused=True)
        visit_id = self.arrival("泉城渠道", phone, waiting_at + 2 * step)
        # a distribution agency registers a customer for a visit in two hours:
        # held provisionally (R-REG-3)
        name, phone = DISTRIBUTION
        held_at = waiting_at + 3 * step
        self.register("链家分销", name, phone, held_at, visit_at=held_at + timedelta(hours=2))
        return (
            pending,
            {
                "visit_id": visit_id,
                "phone": phone_text(WAITING[1]),
                "phone_masked": mask_phone(WAITING[1]),
                "registration_id": registration,
            },
            {"phone_masked": mask_phone(phone)},
        )

    # -- helpers ----------------------------------------------------------------------

    def _next_key(self, what: str) -> str:
        self.keys += 1
        return f"demo-{what}-{self.keys}-{int(self.now.timestamp())}"

    def _key(self, phone: str) -> str:
        return customer_key(phone, settings().phone_hmac_key)

    def _iso(self, at: datetime) -> str:
        return at.astimezone(self.zone).isoformat(timespec="seconds")

    @staticmethod
    def _accepted(code: str | None, body: str, what: str) -> dict[str, Any]:
        doc = json.loads(body)
        if code is not None:
            raise SeedFailed(f"{what}: {code} {doc.get('error', {}).get('message')}")
        return dict(doc)


def phone_text(phone: str) -> str:
    """``135 6000 0602``: how a person types it into 判客."""
    return f"{phone[:3]} {phone[3:7]} {phone[7:]}"


def _encode(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()
