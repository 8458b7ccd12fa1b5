"""R-DUP-1 under contention: a customer has at most one live claim, however
many registrants race for the phone at the same instant.

Run on dynalite (atomic conditional writes), through the service layer from
threads: Chalice's test client shares ``app.current_request`` between threads
and so cannot be driven concurrently.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import pytest

from chalicelib.rules.claims import Customer, Source
from chalicelib.rules.phone import customer_key
from chalicelib.rules.records import Registrant
from chalicelib.services import container
from chalicelib.services.registration.registrations import Answer, WebhookRequest
from chalicelib.settings import settings
from chalicelib.signing import signature_header
from chalicelib.store import Store, VersionConflict
from chalicelib.store.answers import Reservation
from tests.support import body, encode, make_registrant, shanghai

pytestmark = pytest.mark.dynalite

# A channel registers a visit on its local day (R-REG-2): the visit was at
# 09:30 Shanghai time, every request is made at 10:00 the same day.
NOW = shanghai("2026-11-27 10:00")
VISIT_AT = "2026-11-27T09:30:00+08:00"
DUPLICATE = "DUPLICATE_LIVE_CLAIM"
IN_PROGRESS = "IDEMPOTENCY_IN_PROGRESS"
BARRIER_TIMEOUT_SECONDS = 60.0

T = TypeVar("T")


# -- helpers ------------------------------------------------------------------


def channels(store: Store, n: int) -> list[Registrant]:
    made = [make_registrant(Source.CHANNEL, name=f"channel {i}") for i in range(n)]
    for r in made:
        store.put_registrant(r, NOW)
    return made


def phone(n: int) -> str:
    """A distinct, valid mainland mobile number for each ``n`` < 10**8."""
    return f"139{n:08d}"


def signed(registrant: Registrant, phone_number: str, idempotency_key: str) -> WebhookRequest:
    raw = encode(body(phone=phone_number, visit_at=VISIT_AT))
    return WebhookRequest(
        registrant_id=registrant.registrant_id,
        signature=signature_header(registrant.secret, int(NOW.timestamp()), raw),
        idempotency_key=idempotency_key,
        content_type="application/json",
        body=raw,
    )


class LostWrites:
    """Counts the conditional writes on a customer that lost (VersionConflict):
    proof that the threads really met at the decisive write."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self._lock = threading.Lock()
        commit = store.commit_customer

        def counting(*args: Any, **kwargs: Any) -> Customer:
            try:
                return commit(*args, **kwargs)
            except VersionConflict:
                with self._lock:
                    self.count += 1
                raise

        monkeypatch.setattr(store, "commit_customer", counting)


class HeldKeys:
    """Counts the key reservations that found the key taken: proof that
    requests with one Idempotency-Key really met."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self._lock = threading.Lock()
        reserve = store.reserve_answer

        def counting(*args: Any, **kwargs: Any) -> Reservation:
            reservation = reserve(*args, **kwargs)
            if reservation.held is not None:
                with self._lock:
                    self.count += 1
            return reservation

        monkeypatch.setattr(store, "reserve_answer", counting)


def register(request: WebhookRequest, now: datetime = NOW) -> Answer:
    return container.registrations().register(request, now)


def stored_customer(phone_number: str) -> Customer | None:
    return container.store().get_customer(customer_key(phone_number, settings().phone_hmac_key))


def fire_together(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run every call on its own thread, released at once by a barrier; the
    results in call order. An exception in any thread fails the test."""
    barrier = threading.Barrier(len(calls), timeout=BARRIER_TIMEOUT_SECONDS)
    results: list[T | None] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = calls[i]()
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:  # the cause, not the BrokenBarrierError it left the others
        raise next(
            (e for e in errors if not isinstance(e, threading.BrokenBarrierError)), errors[0]
        )
    return results  # type: ignore[return-value]


def winners(answers: Sequence[Answer]) -> list[int]:
    return [i for i, a in enumerate(answers) if a.code is None]


def registration_id(answer: Answer) -> str:
    return str(json.loads(answer.body)["registration_id"])


# -- the races ------------------------------------------------------------------


@pytest.mark.usefixtures("tight_switching")
def test_eight_registrants_racing_for_one_phone_yield_exactly_one_winner(
    dynalite: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R-DUP-1: eight channel registrants register the same new phone at the
    same instant, 200 times over. Each round exactly one gets 201, the seven
    others DUPLICATE_LIVE_CLAIM, and the stored customer holds exactly one
    claim: the winner's."""
    lost = LostWrites(dynalite, monkeypatch)
    racers = channels(dynalite, 8)
    rounds = 200
    bad: list[str] = []
    for n in range(rounds):
        number = phone(n)
        requests = [signed(r, number, f"race-{n}-{i}") for i, r in enumerate(racers)]
        answers = fire_together([lambda q=q: register(q) for q in requests])

        won = winners(answers)
        losers = sorted({a.code or "" for a in answers if a.code is not None})
        customer = stored_customer(number)
        claims = customer.claims if customer else ()
        if len(won) != 1 or losers != [DUPLICATE] or len(claims) != 1:
            bad.append(
                f"round {n}: {len(won)} accepted, refusals {losers}, {len(claims)} stored claims"
            )
            continue
        winner = racers[won[0]]
        if claims[0].registrant_id != winner.registrant_id or claims[0].registration_id != (
            registration_id(answers[won[0]])
        ):
            bad.append(f"round {n}: the stored claim is not the 201's ({claims[0]})")
    assert not bad, f"{len(bad)} of {rounds} rounds broke R-DUP-1:\n" + "\n".join(bad[:20])
    # not vacuous: threads did meet at the conditional write and lose it
    assert lost.count >= rounds // 2, (
        f"only {lost.count} lost conditional writes in {rounds} rounds"
    )


# Every phone is raced by this many of the ten registrants (a different set
# for each phone). All ten on every phone would be 10,000 registrations, about
# 100 s of CPU in botocore alone; three give 3,000 and the same proof per phone.
CONTENDERS_PER_PHONE = 3


def test_thousand_phones_from_ten_registrants_never_get_two_protections(
    dynalite: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R-DUP-1 at volume: ten channel registrants on ten threads register
    1,000 phones at once, each phone raced by three of them. The threads walk
    one shared shuffled order, so a phone's contenders tend to reach it
    together. Every phone ends with exactly one 201, DUPLICATE_LIVE_CLAIM for
    the others, and one stored claim, held by the registrant that got the 201."""
    lost = LostWrites(dynalite, monkeypatch)
    racers = channels(dynalite, 10)
    numbers = [phone(10_000 + n) for n in range(1_000)]
    rng = random.Random(20261127)
    rng.shuffle(numbers)
    contenders = {p: rng.sample(range(len(racers)), CONTENDERS_PER_PHONE) for p in numbers}

    def register_all(i: int) -> dict[str, Answer]:
        mine = [p for p in numbers if i in contenders[p]]
        return {p: register(signed(racers[i], p, f"bulk-{p}")) for p in mine}

    per_racer = fire_together([lambda i=i: register_all(i) for i in range(len(racers))])

    bad: list[str] = []
    for number in numbers:
        answers = [per_racer[i][number] for i in contenders[number]]
        won = winners(answers)
        losers = sorted({a.code or "" for a in answers if a.code is not None})
        customer = stored_customer(number)
        claims = customer.claims if customer else ()
        if len(won) != 1 or losers != [DUPLICATE] or len(claims) != 1:
            bad.append(
                f"{number}: {len(won)} accepted, refusals {losers}, {len(claims)} stored claims"
            )
        elif claims[0].registrant_id != racers[contenders[number][won[0]]].registrant_id:
            bad.append(f"{number}: the stored claim is not the 201's ({claims[0]})")
    assert not bad, f"{len(bad)} of {len(numbers)} phones broke R-DUP-1:\n" + "\n".join(bad[:20])
    assert lost.count > 0, "no two registrants ever met at a conditional write"


@pytest.mark.usefixtures("tight_switching")
def test_same_idempotency_key_from_two_threads_never_creates_two_claims(
    dynalite: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R-DUP-1 and idempotency: one registrant sends the same request (same
    Idempotency-Key, same body) twice at once, 100 times over. The customer
    ends with exactly one claim; one answer is the 201, the other either the
    same 201 replayed byte for byte or 409 IDEMPOTENCY_IN_PROGRESS."""
    held = HeldKeys(dynalite, monkeypatch)
    (channel,) = channels(dynalite, 1)
    rounds = 100
    outcomes: Counter[str] = Counter()
    bad: list[str] = []
    for n in range(rounds):
        number = phone(20_000 + n)
        request = signed(channel, number, f"twice-{n}")
        answers = fire_together([lambda q=request: register(q)] * 2)

        customer = stored_customer(number)
        claims = customer.claims if customer else ()
        won = winners(answers)
        codes = sorted(a.code or "201" for a in answers)
        same_201 = len(won) == 2 and answers[0].body == answers[1].body
        one_in_progress = codes == ["201", IN_PROGRESS]
        if len(claims) != 1 or not (same_201 or one_in_progress):
            bad.append(f"round {n}: answers {codes}, {len(claims)} stored claims")
            continue
        if registration_id(answers[won[0]]) != claims[0].registration_id:
            bad.append(f"round {n}: the 201 names another registration than the stored claim")
        outcomes["replayed" if same_201 else "in progress"] += 1
    assert not bad, f"{len(bad)} of {rounds} rounds broke idempotency:\n" + "\n".join(bad[:20])
    # not vacuous: in some rounds both copies reached the key before either answered
    assert outcomes["in progress"] > 0, f"the two copies never met ({outcomes})"
    assert held.count == rounds, f"{held.count} second copies found the key taken"


@pytest.mark.usefixtures("tight_switching")
def test_one_key_with_two_bodies_from_eight_threads_is_one_decision(
    dynalite: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idempotency (API.md) and R-DUP-1: one registrant sends one
    Idempotency-Key with two bodies that differ only in the phone, each from
    four threads at once, 200 times over. Each round exactly one request is
    decided (one 201, one registration stored); the others with its body get
    the same 201 replayed or 409 IDEMPOTENCY_IN_PROGRESS, those with the other
    body 422 IDEMPOTENCY_KEY_REUSED, and the other phone stays unclaimed. A
    later retry of the winner replays it; one of the loser's body is 422."""
    held = HeldKeys(dynalite, monkeypatch)
    (channel,) = channels(dynalite, 1)
    rounds = 200
    seen: Counter[str] = Counter()
    bad: list[str] = []
    for n in range(rounds):
        phones = (phone(30_000 + 2 * n), phone(30_001 + 2 * n))
        key = f"two-bodies-{n}"
        requests = [signed(channel, p, key) for p in phones for _ in range(4)]
        answers = fire_together([lambda q=q: register(q) for q in requests])

        won = winners(answers)
        if not won:
            bad.append(f"round {n}: nothing decided ({[a.code for a in answers]})")
            continue
        winning_body = won[0] // 4
        ids = {registration_id(answers[i]) for i in won}
        mine = [answers[i].code for i in range(8) if i // 4 == winning_body and i not in won]
        theirs = [answers[i].code for i in range(8) if i // 4 != winning_body]
        stored = [stored_customer(p) for p in phones]
        claims = [c.claims if c else () for c in stored]
        if (
            len(ids) != 1
            or set(mine) - {IN_PROGRESS}
            or set(theirs) != {"IDEMPOTENCY_KEY_REUSED"}
            or len(claims[winning_body]) != 1
            or claims[1 - winning_body]
            or dynalite.get_registration(channel.registrant_id, next(iter(ids))) is None
        ):
            bad.append(
                f"round {n}: 201s {len(won)} ({len(ids)} ids), same body {mine}, "
                f"other body {theirs}, claims {[len(c) for c in claims]}"
            )
            continue
        seen["in progress"] += mine.count(IN_PROGRESS)
        retry = register(requests[winning_body * 4])
        other = register(requests[(1 - winning_body) * 4])
        if (retry.code, retry.body, retry.replayed) != (None, answers[won[0]].body, True):
            bad.append(f"round {n}: the winner's retry was not its replay ({retry.code})")
        if other.code != "IDEMPOTENCY_KEY_REUSED":
            bad.append(f"round {n}: the other body's retry answered {other.code}")
    assert not bad, f"{len(bad)} of {rounds} rounds broke one key, one decision:\n" + "\n".join(
        bad[:20]
    )
    # not vacuous: the eight met at the key, and some while it was being decided
    assert held.count >= rounds * 7, f"only {held.count} reservations found the key taken"
    assert seen["in progress"] > 0, "no request ever arrived while the key was being decided"
