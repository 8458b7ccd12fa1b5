"""A Hypothesis state machine over the services and the store (moto, one
thread): registrations from every kind of registrant, consultants' walk-ins,
visits and 判客 decisions (which confirm distribution holds), clock moves,
sweeps, reclaims, pool assignments and deals, in any order. After every step:

* at most one live protection per customer (R-DUP-1);
* at most two recommendations per customer, lapsed holds excluded (R-PROT-1);
* no protection longer than its policy length (R-PROT-2, R-PROT-3);
* every refusal carries a rule id;
* every accepted registration has its audit entry;
* each registrant's feed, polled with its cursor, never repeats or skips.

`make test` runs 200 examples; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) 2,000.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from chalicelib.errors import Failed
from chalicelib.rules.claims import Source, Status
from chalicelib.rules.phone import customer_key
from chalicelib.rules.policy import Policy
from chalicelib.rules.staff import Role
from chalicelib.services import container
from chalicelib.services.people import staff as staff_service
from chalicelib.services.registration.reads import MAX_LIMIT
from chalicelib.services.registration.registrations import WebhookRequest
from chalicelib.settings import settings as app_settings
from chalicelib.signing import signature_header
from tests.support import body, empty_tables, encode, make_registrant, shanghai

EXAMPLES = {"fuzz": 2_000}.get(os.environ.get("HYPOTHESIS_PROFILE", ""), 200)
PHONES = [f"1381234000{n}" for n in range(4)]
START = shanghai("2026-11-27 10:00")
POLICY = Policy()
LENGTHS = {
    1: {
        timedelta(days=POLICY.first_protection_days),
        timedelta(days=POLICY.ecommerce_protection_days),
    },
    2: {timedelta(days=POLICY.second_protection_days)},
}
SOURCES = [Source.CHANNEL, Source.CHANNEL, Source.DISTRIBUTION, Source.ECOMMERCE]


class Project(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        empty_tables()
        container.reset()
        self.store = container.store()
        self.now = START
        self.registrants = [make_registrant(kind, name=f"r{i}") for i, kind in enumerate(SOURCES)]
        for r in self.registrants:
            self.store.put_registrant(r, START)
        self.consultants = [self._staff(Role.CONSULTANT, n) for n in range(2)]
        self.desk = self._staff(Role.FRONT_DESK, 0)
        self.assistant = self._staff(Role.CHANNEL_ASSISTANT, 0)
        self.manager = self._staff(Role.SALES_MANAGER, 0)
        self.cursors: dict[str, str | None] = {r.registrant_id: None for r in self.registrants}
        self.seen: dict[str, list[str]] = {r.registrant_id: [] for r in self.registrants}
        self.accepted: set[str] = set()
        self.keys = 0

    def _staff(self, role: Role, n: int) -> Any:
        return staff_service.create_staff(self.store, f"{role.value} {n}", role, START)

    def _key(self) -> str:
        self.keys += 1
        return f"k-{self.keys}"

    def _customer(self, phone: str) -> Any:
        return self.store.get_customer(customer_key(phone, app_settings().phone_hmac_key))

    # -- rules ----------------------------------------------------------------------

    @rule(
        who=st.integers(0, len(SOURCES) - 1),
        phone=st.sampled_from(PHONES),
        visit=st.sampled_from([None, -30, 0, 60, 180]),
    )
    def register(self, who: int, phone: str, visit: int | None) -> None:
        registrant = self.registrants[who]
        doc = body(phone=phone)
        if visit is not None and registrant.kind is not Source.ECOMMERCE:
            doc["visit_at"] = (self.now + timedelta(minutes=visit)).isoformat()
        raw = encode(doc)
        request = WebhookRequest(
            registrant_id=registrant.registrant_id,
            signature=signature_header(registrant.secret, int(self.now.timestamp()), raw),
            idempotency_key=self._key(),
            content_type="application/json",
            body=raw,
        )
        answer = container.registrations().register(request, self.now)
        self._check_answer(answer.code, answer.body)

    @rule(who=st.integers(0, 1), phone=st.sampled_from(PHONES))
    def walk_in(self, who: int, phone: str) -> None:
        raw = encode(body(phone=phone, visit_at=(self.now - timedelta(minutes=5)).isoformat()))
        request = WebhookRequest(None, None, None, "application/json", raw)
        answer = container.registrations().register_by_consultant(
            self.consultants[who], self._key(), request, self.now
        )
        self._check_answer(answer.code, answer.body)

    @rule(phone=st.sampled_from(PHONES))
    def visit_and_decide(self, phone: str) -> None:
        """The customer walks in with their recommender; the assistant decides
        for the live claim (confirming a distribution hold, R-REG-3)."""
        customer = self._customer(phone)
        live = [c for c in customer.claims if c.is_live(self.now)] if customer else []
        recommended = [c for c in live if c.source in (Source.CHANNEL, Source.DISTRIBUTION)]
        if not recommended:
            return
        claim = recommended[0]
        doc = {
            "party_size": 1,
            "greeted": True,
            "phone": phone,
            "accompanied_by": claim.registrant_id,
        }
        visit, _ = container.visits().log_arrival(self.desk, encode(doc), None, self.now)
        raw = encode({"registration_id": claim.registration_id})
        try:
            container.ownership().decide(self.assistant, visit["id"], raw, self.now)
        except Failed as failed:
            assert failed.problem.rule, failed.problem

    @rule(hours=st.sampled_from([1, 6, 24, 24 * 7, 24 * 30, 24 * 61, 24 * 95]))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule()
    def sweep(self) -> None:
        container.sweep().run(self.now)

    @rule()
    def reclaim(self) -> None:
        container.reclaim().run(self.now)

    @rule(who=st.integers(0, 1))
    def assign_from_the_pool(self, who: int) -> None:
        pool = container.pool().view(self.now)["data"]
        if pool:
            doc = {
                "assignments": [
                    {
                        "customer_id": pool[0]["customer_id"],
                        "consultant_id": self.consultants[who].staff_id,
                    }
                ]
            }
            container.pool().assign(self.manager, encode(doc), self.now)

    @rule(phone=st.sampled_from(PHONES))
    def deal(self, phone: str) -> None:
        try:
            container.deals().record(self.manager, encode({"phone": phone}), self.now)
        except Failed as failed:
            assert failed.problem.code in ("NOT_FOUND", "ALREADY_RECORDED"), failed.problem

    def _check_answer(self, code: str | None, text: str) -> None:
        doc = json.loads(text)
        if code is None:
            self.accepted.add(doc["registration_id"])
        else:
            assert doc["error"]["rule"], doc  # every refusal names its rule

    # -- invariants -------------------------------------------------------------------

    @invariant()
    def each_customer_obeys_the_rulebook(self) -> None:
        for phone in PHONES:
            customer = self._customer(phone)
            if customer is None:
                continue
            statuses = [c.status(self.now) for c in customer.claims]
            assert statuses.count(Status.PROTECTED) <= 1, statuses
            recommendations = [
                c
                for c in customer.claims
                if c.ordinal is not None and c.status(self.now) is not Status.LAPSED
            ]
            assert len(recommendations) <= 2, recommendations
            for claim in customer.claims:
                if claim.protection is not None and claim.ordinal is not None:
                    length = claim.protection.ends_at - claim.protection.starts_at
                    assert length in LENGTHS[claim.ordinal], (claim, length)

    @invariant()
    def every_acceptance_is_audited(self) -> None:
        audited = {
            e.registration_id
            for phone in PHONES
            for e in self.store.audit_trail(
                "customer:" + customer_key(phone, app_settings().phone_hmac_key), limit=1000
            )
            if e.action == "registration.accepted"
        }
        assert self.accepted <= audited

    @invariant()
    def feeds_never_repeat_or_skip(self) -> None:
        for registrant in self.registrants:
            rid = registrant.registrant_id
            while True:
                query = {"limit": "100"}
                if self.cursors[rid]:
                    query["cursor"] = self.cursors[rid]
                page = container.reads().events(registrant, query, self.now)
                ids = [e["id"] for e in page["data"]]
                assert not set(ids) & set(self.seen[rid]), "an event came twice"
                self.seen[rid] += ids
                self.cursors[rid] = page["next_cursor"]
                if len(ids) < 100:
                    break

    def teardown(self) -> None:
        """From the start, the feed is exactly what the polls saw (no skips)."""
        later = self.now + timedelta(hours=1)
        for registrant in self.registrants:
            everything: list[str] = []
            query = {"limit": str(MAX_LIMIT)}
            while True:
                page = container.reads().events(registrant, query, later)
                everything += [e["id"] for e in page["data"]]
                if len(page["data"]) < MAX_LIMIT:
                    break
                query["cursor"] = page["next_cursor"]
            seen = self.seen[registrant.registrant_id]
            assert everything[: len(seen)] == seen


def test_the_rulebook_holds_whatever_happens(tables):
    run_state_machine_as_test(
        Project,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
