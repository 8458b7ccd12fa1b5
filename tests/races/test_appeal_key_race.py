"""One Idempotency-Key, one appeal (R-APPEAL-3, decision 0012 amended), on
dynalite (atomic conditional writes), through the service from threads:
a registrant sends one key with two bodies appealing two different
decisions (two customers) at the same instant. The key is taken in the
idempotency table before anything is filed, so exactly one appeal is filed
and the other body is answered 422 IDEMPOTENCY_KEY_REUSED; the same body
twice at once files one appeal, answered 201 (or replayed) and at most once
409 IDEMPOTENCY_IN_PROGRESS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.errors import Failed
from chalicelib.rules.phone import customer_key
from chalicelib.services.floor.appeals import Appeals
from chalicelib.settings import settings
from chalicelib.store import Store
from tests.races.test_appeal_race import ROUNDS, seed
from tests.races.test_exactly_one_winner import NOW, HeldKeys, channels, fire_together

pytestmark = pytest.mark.dynalite


def filing(appeals: Appeals, claimant: str, doc: dict[str, Any], key: str) -> Any:
    def run() -> tuple[str, str | None]:
        try:
            filed, _ = appeals.file(claimant, json.dumps(doc).encode(), NOW, idempotency_key=key)
            return "ok", filed["appeal_id"]
        except Failed as failed:
            return failed.problem.code, None

    return run


def appeals_on(store: Store, number: str) -> int:
    return len(store.appeals_of_customer(customer_key(number, settings().phone_hmac_key)))


@pytest.mark.usefixtures("tight_switching")
def test_one_key_with_appeals_of_two_decisions_at_once_files_one(
    dynalite: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldKeys(dynalite, monkeypatch)
    appeals = Appeals(dynalite, settings())
    claimant, holder = channels(dynalite, 2)
    bad: list[str] = []
    for n in range(ROUNDS):
        numbers = (
            seed(dynalite, 300 + 2 * n, claimant, holder, ended=False),
            seed(dynalite, 301 + 2 * n, claimant, holder, ended=False),
        )
        docs = [{"phone": number, "reason": "我司带访"} for number in numbers]
        key = f"one-key-{n}"
        got = fire_together([filing(appeals, claimant.registrant_id, d, key) for d in docs])
        codes = sorted(code for code, _ in got)
        filed = [appeals_on(dynalite, number) for number in numbers]
        if codes != ["IDEMPOTENCY_KEY_REUSED", "ok"] or sorted(filed) != [0, 1]:
            bad.append(f"round {n}: {codes}, appeals filed per customer {filed}")
            continue
        winner = next(i for i, (code, _) in enumerate(got) if code == "ok")
        again = filing(appeals, claimant.registrant_id, docs[winner], key)()
        other = filing(appeals, claimant.registrant_id, docs[1 - winner], key)()
        if again != got[winner] or other[0] != "IDEMPOTENCY_KEY_REUSED":
            bad.append(f"round {n}: then the same body {again}, the other {other}")
    assert not bad, f"{len(bad)} of {ROUNDS} rounds broke one key, one appeal:\n" + "\n".join(
        bad[:10]
    )
    assert held.count >= ROUNDS, "the two requests never met at the key"


@pytest.mark.usefixtures("tight_switching")
def test_one_key_with_one_body_twice_at_once_files_one(dynalite: Store) -> None:
    appeals = Appeals(dynalite, settings())
    claimant, holder = channels(dynalite, 2)
    bad: list[str] = []
    for n in range(ROUNDS):
        number = seed(dynalite, 400 + n, claimant, holder, ended=False)
        doc = {"phone": number, "reason": "我司带访"}
        got = fire_together([filing(appeals, claimant.registrant_id, doc, f"same-{n}")] * 2)
        codes = sorted(code for code, _ in got)
        ids = {appeal_id for _, appeal_id in got if appeal_id}
        if codes not in (["ok", "ok"], ["IDEMPOTENCY_IN_PROGRESS", "ok"]) or len(ids) != 1:
            bad.append(f"round {n}: {codes}, {len(ids)} appeal ids")
        elif appeals_on(dynalite, number) != 1:
            bad.append(f"round {n}: {appeals_on(dynalite, number)} appeals filed")
    assert not bad, "\n".join(bad[:10])
