"""Appeals of a 判客 decision under contention (decision 0012), on dynalite
(atomic conditional writes), through the services from threads:

- two appeals of one decision for one claimant at the same instant make one
  appeal (R-APPEAL-3);
- a reversal racing a new registration of the customer: one or the other,
  never both (R-APPEAL-4, R-DUP-1);
- a reversal racing a correction of the decision on its visit: the visit's
  decision in force always names the claim the customer says is live.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from chalicelib.errors import Failed
from chalicelib.rules.claims import Claim, Customer, Period, Source
from chalicelib.rules.floor import Decision, Visit
from chalicelib.rules.localtime import local_date
from chalicelib.rules.phone import customer_key, mask_phone
from chalicelib.rules.records import Registrant
from chalicelib.rules.staff import Role, Staff
from chalicelib.services import container
from chalicelib.services.customers import Customers
from chalicelib.services.floor.appeals import Appeals
from chalicelib.services.ids import new_id
from chalicelib.services.people import staff as staff_service
from chalicelib.settings import settings
from chalicelib.store import Store
from tests.races.test_exactly_one_winner import NOW, channels, fire_together, phone, signed

pytestmark = pytest.mark.dynalite

ROUNDS = 20
DECIDED = NOW - timedelta(hours=1)


def seed(store: Store, n: int, claimant: Registrant, holder: Registrant, *, ended: bool) -> str:
    """Customer ``n``: the claimant's provisional hold lapsed unvisited; the
    holder's first recommendation (ending before now when ``ended``) was
    named by 判客 at DECIDED on a visit the claimant accompanied. Returns the
    phone."""
    number = phone(n)
    key = customer_key(number, settings().phone_hmac_key)
    first_at = DECIDED - timedelta(days=70)
    first = Claim(
        f"rg_first{n}",
        claimant.registrant_id,
        Source.CHANNEL,
        first_at,
        None,
        None,
        visit_window=Period(first_at, first_at + timedelta(hours=24)),
    )
    second_at = DECIDED - timedelta(days=59, hours=23, minutes=30) if ended else DECIDED
    second = Claim(
        f"rg_second{n}",
        holder.registrant_id,
        Source.CHANNEL,
        second_at,
        1,
        Period(second_at, second_at + timedelta(days=60)),
    )
    policy = settings().policy
    Customers(store, policy).commit(key, number, Customer(claims=(first, second)), first_at)
    visit = Visit(
        visit_id=new_id("vi", DECIDED),
        group_id=new_id("gr", DECIDED),
        arrived_at=DECIDED - timedelta(minutes=10),
        day=local_date(DECIDED, policy.zone),
        party_size=1,
        greeted=True,
        logged_by="stf_desk",
        accompanied_by=claimant.registrant_id,
        customer_key=key,
        phone_masked=mask_phone(number),
        decisions=(
            Decision(
                new_id("dc", DECIDED),
                second.registration_id,
                holder.registrant_id,
                Source.CHANNEL,
                "stf_assistant",
                DECIDED,
            ),
        ),
    )
    store.save_visit(visit, DECIDED)
    return number


def outcome(call):  # type: ignore[no-untyped-def]
    def run() -> str:
        try:
            call()
            return "ok"
        except Failed as failed:
            return failed.problem.code

    return run


def registered(service: Any, request: Any) -> str:
    return str(service.register(request, NOW).code or "ok")


def managers(store: Store) -> tuple[Staff, Staff]:
    return (
        staff_service.create_staff(store, "销售经理", Role.SALES_MANAGER, NOW),
        staff_service.create_staff(store, "案场经理", Role.SITE_MANAGER, NOW),
    )


@pytest.mark.usefixtures("tight_switching")
def test_two_appeals_of_one_decision_at_once_make_one(dynalite: Store) -> None:
    """R-APPEAL-3: the registrant and the sales manager for it, at once."""
    appeals = Appeals(dynalite, settings())
    claimant, holder = channels(dynalite, 2)
    sales, _ = managers(dynalite)
    for n in range(ROUNDS):
        number = seed(dynalite, n, claimant, holder, ended=False)
        mine = json.dumps({"phone": number, "reason": "我司带访"}).encode()
        theirs = json.dumps(
            {"phone": number, "reason": "代申诉", "claimant_id": claimant.registrant_id}
        ).encode()
        got = fire_together(
            [
                outcome(
                    partial(
                        appeals.file, claimant.registrant_id, mine, NOW, idempotency_key=f"k{n}"
                    )
                ),
                outcome(partial(appeals.file, sales.staff_id, theirs, NOW, staff=sales)),
            ]
        )
        assert sorted(got) == ["APPEAL_EXISTS", "ok"], got
        key = customer_key(number, settings().phone_hmac_key)
        assert len(dynalite.appeals_of_customer(key)) == 1


@pytest.mark.usefixtures("tight_switching")
def test_a_reversal_racing_a_new_registration_is_one_or_the_other(dynalite: Store) -> None:
    """The holder's protection has just ended; a third channel registers the
    customer while the site manager reverses. Either the reversal stands and
    the registration is refused (R-DUP-1), or the registration stands and
    the reversal is refused (R-APPEAL-4) with the appeal pending again."""
    appeals = Appeals(dynalite, settings())
    registrations = container.registrations()
    claimant, holder, third = channels(dynalite, 3)
    _, site = managers(dynalite)
    seen: set[tuple[str, str]] = set()
    for n in range(ROUNDS):
        number = seed(dynalite, 100 + n, claimant, holder, ended=True)
        filed, _ = appeals.file(
            claimant.registrant_id,
            json.dumps({"phone": number, "reason": "我司带访"}).encode(),
            NOW,
            idempotency_key=f"k{n}",
        )
        answer = json.dumps({"outcome": "reversed", "reason": "监控为证"}).encode()
        got = fire_together(
            [
                outcome(partial(appeals.answer, site, filed["appeal_id"], answer, NOW)),
                partial(registered, registrations, signed(third, number, f"r{n}")),
            ]
        )
        reversal, registration = got
        assert sorted(got) in (["DUPLICATE_LIVE_CLAIM", "ok"], ["DECISION_SUPERSEDED", "ok"]), got
        seen.add((reversal, registration))
        key = customer_key(number, settings().phone_hmac_key)
        customer = dynalite.get_customer(key)
        assert customer is not None
        live = customer.live_claim(NOW)
        assert live is not None
        appeal = dynalite.get_appeal(filed["appeal_id"])
        assert appeal is not None
        if reversal == "ok":
            assert live.registrant_id == claimant.registrant_id
            assert appeal.state.value == "reversed"
        else:
            assert live.registrant_id == third.registrant_id
            assert appeal.state.value == "pending"
    assert seen  # which side wins varies with the interleaving


@pytest.mark.usefixtures("tight_switching")
def test_a_reversal_racing_a_correction_leaves_the_visit_and_customer_agreeing(
    dynalite: Store,
) -> None:
    appeals = Appeals(dynalite, settings())
    ownership = container.ownership()
    claimant, holder = channels(dynalite, 2)
    _, site = managers(dynalite)
    assistant = staff_service.create_staff(dynalite, "渠道助理", Role.CHANNEL_ASSISTANT, NOW)
    for n in range(ROUNDS):
        number = seed(dynalite, 200 + n, claimant, holder, ended=False)
        filed, _ = appeals.file(
            claimant.registrant_id,
            json.dumps({"phone": number, "reason": "我司带访"}).encode(),
            NOW,
            idempotency_key=f"k{n}",
        )
        visit = dynalite.get_visit(filed["visit_id"])
        assert visit is not None and visit.decision is not None
        correction = json.dumps(
            {
                "registration_id": visit.decision.registration_id,
                "replaces": visit.decision.decision_id,
                "reason": "复核",
            }
        ).encode()
        answer = json.dumps({"outcome": "reversed", "reason": "监控为证"}).encode()
        fire_together(
            [
                outcome(partial(appeals.answer, site, filed["appeal_id"], answer, NOW)),
                outcome(partial(ownership.decide, assistant, visit.visit_id, correction, NOW)),
            ]
        )
        key = customer_key(number, settings().phone_hmac_key)
        customer = dynalite.get_customer(key)
        after = dynalite.get_visit(visit.visit_id)
        assert customer is not None and after is not None and after.decision is not None
        live = customer.live_claim(NOW)
        assert live is not None
        assert after.decision.registration_id == live.registration_id
