"""False duplicates of masked-number registration (隐号报备, decision 0013).

Run from the repo root: ``make bench`` (``.venv/bin/python benchmarks/masked.py``).
See docs/benchmarks.md ("Masked claims: the false-duplicate rate").

A live masked claim ``138****5678`` holds its mask: a full-number
registration of any of the 10⁴ numbers that share it is refused 409
``MASKED_CLAIM_MATCH`` (R-DUP-1) while it holds, whoever the number belongs
to. This measures how often a registration of a new, unrelated customer is
refused so, with n = 1,000 and n = 10,000 live masked claims.

For each n, on moto in-process (``mock_aws``, the environment of
bench_env.py, fresh tables):

1. n live masked claims, written through the store layer: each decided by
   the rules (``decide`` against a customer with no history, then
   ``masked_hold``) and held with ``store.hold_mask``, as the service's
   ``_decide_masked`` does. Their hidden numbers are drawn uniformly from
   ``PREFIXES`` with random last 8 digits; a live masked claim holds a mask
   no other one holds (the app refuses a second), so the n masks are distinct.
2. m = 2,000 full-number registrations of new numbers, drawn the same way
   (distinct, none a masked claim's hidden number), each a signed webhook
   request through the real service, ``container.registrations().register``.
   Every answer must be 201 or ``MASKED_CLAIM_MATCH``, and the refused must be
   exactly the numbers whose mask is held; anything else stops the benchmark.
   ``MASKED_MEASURE=note`` measures through the store's note instead
   (``store.note_full_registration``, the one conditional write that decides
   the refusal in the service), about twice as fast; the output says which.

The seed is fixed (``SEED``): the same draws, the same figures, every run.
The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import bench_env

ROOT = Path(__file__).resolve().parent.parent

SEED = 20261207
CLAIMS = (1_000, 10_000)  # n, live masked claims
FRESH = 2_000  # m, full-number registrations of new customers
# Mainland mobile prefixes in use (the three digits a mask shows), drawn uniformly.
PREFIXES = (
    *range(130, 140),  # 130–139
    *range(145, 150),  # 145–149
    *range(150, 154),  # 150–153
    *range(155, 160),  # 155–159
    166,
    *range(170, 179),  # 170–178
    *range(180, 190),  # 180–189
    191,
    193,
    *range(195, 200),  # 195–199
)
MASKS_PER_PREFIX = 10**4  # the last 4 digits
SHANGHAI = ZoneInfo("Asia/Shanghai")
# A channel registers a visit on its local day (R-REG-2): the visit at 09:30,
# every registration at 10:00 the same day, inside every masked claim's hold.
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)
VISIT_AT = "2026-11-27T09:30:00+08:00"
REFUSED = "MASKED_CLAIM_MATCH"
MEASURE = os.environ.get("MASKED_MEASURE", "service")  # or "note"
if MEASURE not in ("service", "note"):
    raise SystemExit("MASKED_MEASURE is service or note")

bench_env.apply()  # before anything imports the app
sys.path.insert(0, str(ROOT))

from moto import mock_aws  # noqa: E402

from chalicelib.rules.claims import Claim, Customer, Source  # noqa: E402
from chalicelib.rules.masked import MaskedClaim, masked_hold, surname_of  # noqa: E402
from chalicelib.rules.phone import customer_key, mask_phone  # noqa: E402
from chalicelib.rules.records import Registrant  # noqa: E402
from chalicelib.rules.registration import Recommendation, decide  # noqa: E402
from chalicelib.services import container  # noqa: E402
from chalicelib.services.ids import new_id  # noqa: E402
from chalicelib.services.registration.registrations import WebhookRequest  # noqa: E402
from chalicelib.settings import settings  # noqa: E402
from chalicelib.signing import signature_header  # noqa: E402
from chalicelib.store import create_tables  # noqa: E402

WHERE = {
    "service": "the service (Registrations.register, signed webhook requests)",
    "note": "the store's note (store.note_full_registration)",
}


def number(rng: random.Random) -> str:
    """A mainland mobile number: a uniform prefix, then 8 uniform digits."""
    return f"{rng.choice(PREFIXES)}{rng.randrange(10**8):08d}"


def draw(n: int, m: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """The hidden numbers of n masked claims (n distinct masks), then m new
    numbers, distinct, none of them a hidden number."""
    hidden: dict[str, str] = {}  # mask -> hidden number
    while len(hidden) < n:
        phone = number(rng)
        hidden.setdefault(mask_phone(phone), phone)
    taken = set(hidden.values())
    fresh: list[str] = []
    while len(fresh) < m:
        phone = number(rng)
        if phone not in taken:
            taken.add(phone)
            fresh.append(phone)
    return list(hidden.values()), fresh


def registrant(registrant_id: str) -> Registrant:
    who = Registrant(registrant_id, Source.CHANNEL, registrant_id, "s" * 32, enabled=True)
    container.store().put_registrant(who, NOW)
    return who


def masked_claim(holder: Registrant, phone: str, i: int) -> MaskedClaim:
    """What ``_decide_masked`` holds for a registration of ``phone``'s mask."""
    rec = Recommendation(
        registration_id=new_id("rg", NOW),
        registrant_id=holder.registrant_id,
        source=holder.kind,
        visit_at=datetime.fromisoformat(VISIT_AT),
        idempotency_key=f"masked-{i}",
        request_hash=f"masked-{i}",
    )
    policy = settings().policy
    outcome = decide(rec, Customer(), NOW, policy)
    if not isinstance(outcome, Claim):
        raise SystemExit(f"a masked claim was refused by the rules: {outcome}")
    return MaskedClaim(masked_hold(outcome, NOW, policy), surname_of("王先生"))


def hold(holder: Registrant, hidden: list[str]) -> None:
    store, secret = container.store(), settings().phone_hmac_key
    for i, phone in enumerate(hidden):
        mask_key = customer_key(mask_phone(phone), secret)
        if store.hold_mask(mask_key, masked_claim(holder, phone, i), NOW) is None:
            raise SystemExit(f"mask {mask_phone(phone)} was already held")


def request(who: Registrant, phone: str) -> WebhookRequest:
    doc = {"customer": {"name": "李女士", "phone": phone}, "visit_at": VISIT_AT}
    raw = json.dumps(doc, ensure_ascii=False).encode()
    return WebhookRequest(
        registrant_id=who.registrant_id,
        signature=signature_header(who.secret, int(NOW.timestamp()), raw),
        idempotency_key=f"fresh-{phone}",
        content_type="application/json",
        body=raw,
    )


def registered(who: Registrant, phone: str) -> bool:
    """Registers ``phone``: True when accepted, False when refused
    ``MASKED_CLAIM_MATCH``; any other answer stops the benchmark."""
    if MEASURE == "note":
        secret = settings().phone_hmac_key
        mask_key = customer_key(mask_phone(phone), secret)
        return bool(
            container.store().note_full_registration(mask_key, customer_key(phone, secret), NOW)
        )
    answer = container.registrations().register(request(who, phone), NOW)
    if answer.code not in (None, REFUSED):
        raise SystemExit(f"{phone}: {answer.code} {answer.body}")
    return answer.code is None


def run(n: int, rng: random.Random) -> dict[str, float | str]:
    hidden, fresh = draw(n, FRESH, rng)
    held = {mask_phone(p) for p in hidden}
    predicted = sum(mask_phone(p) in held for p in fresh)  # what the draw alone says
    with mock_aws():
        container.reset()
        create_tables()
        holder, other = registrant("reg_channel_masked"), registrant("reg_channel_fresh")
        began = time.perf_counter()
        hold(holder, hidden)
        held_s = time.perf_counter() - began
        refused, began = 0, time.perf_counter()
        for phone in fresh:
            if not registered(other, phone):
                refused += 1
                if mask_phone(phone) not in held:
                    raise SystemExit(f"{phone} refused, its mask unheld")
            elif mask_phone(phone) in held:
                raise SystemExit(f"{phone} accepted, its mask held")
        registered_s = time.perf_counter() - began
        container.reset()
    if refused != predicted:
        raise SystemExit(f"n={n}: {refused} refused, {predicted} masks matched")
    pool = len(PREFIXES) * MASKS_PER_PREFIX
    rate = refused / FRESH
    expected = n / pool  # exact: n distinct masks among `pool`, a uniform new number
    independent = 1 - (1 - 1 / pool) ** n  # n masks drawn independently, repeats allowed
    per_prefix = min(n / MASKS_PER_PREFIX, 1.0)
    sd = math.sqrt(expected * (1 - expected) / FRESH)
    print(
        f"  masked_false_duplicate_rate n={n}: measured {rate:.4f} ({refused}/{FRESH}), "
        f"expected n/(10^4 · prefixes) = {n}/(10^4 · {len(PREFIXES)}) = {expected:.4f} "
        f"(1 − (1 − 1/{pool:,})^n = {independent:.4f}; ±{sd:.4f}, one s.d. at m={FRESH})"
    )
    print(
        f"    per prefix: with all {n:,} claims in one prefix, a new number in it "
        f"collides with probability n/10^4 = {per_prefix:.2f}; here each prefix holds "
        f"~{n / len(PREFIXES):.0f} of them, so {n / len(PREFIXES) / MASKS_PER_PREFIX:.4f}"
    )
    print(
        f"    ({n:,} masks held through the store in {held_s:.1f} s; "
        f"{FRESH:,} registrations through {WHERE[MEASURE]} in {registered_s:.1f} s)"
    )
    return {
        f"masked_false_duplicate_rate_{n}": round(rate, 5),
        f"masked_false_duplicate_expected_{n}": round(expected, 5),
        f"masked_false_duplicate_refused_{n}": refused,
    }


def main() -> None:
    print(
        f"Masked claims (隐号报备): full-number registrations of new customers refused "
        f"{REFUSED}, m = {FRESH:,} per n, seed {SEED}"
    )
    print(
        f"  numbers uniform over {len(PREFIXES)} prefixes (130–139, 145–149, 150–153, "
        "155–159, 166, 170–178, 180–189, 191, 193, 195–199), random last 8 digits;"
    )
    print(
        "  masked claims held through the store (decide + masked_hold, hold_mask); "
        f"the measured registrations through {WHERE[MEASURE]}"
    )
    figures: dict[str, float | str] = {"masked_fresh_registrations": FRESH}
    figures["masked_measured_through"] = MEASURE
    for n in CLAIMS:
        figures.update(run(n, random.Random(SEED + n)))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
