"""The hourly duplicate watch (R-DUP-1 probing): a registrant whose
registrations of the last hour are mostly refused as duplicates is flagged
for the operator's alarm. Read-only; thresholds from the settings (20
attempts, half of them duplicates)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.rules.claims import Source
from chalicelib.services import container
from tests.support import body, shanghai

VISIT = "2026-11-27T09:30:00+08:00"


def probe(api, clock, prober, phones: list[str], *, every: timedelta = timedelta(seconds=10)):
    for phone in phones:
        api.register(prober, body(phone=phone, visit_at=VISIT))
        clock.shift(every)


def held(api, phones: list[str]) -> None:
    owner = api.registrant(Source.CHANNEL)
    for phone in phones:
        api.register(owner, body(phone=phone, visit_at=VISIT))


def test_mostly_duplicates_in_an_hour_is_flagged(api, clock):
    taken = [f"1381234{n:04d}" for n in range(12)]
    fresh = [f"1391234{n:04d}" for n in range(8)]
    held(api, taken)
    prober = api.registrant(Source.CHANNEL)
    probe(api, clock, prober, taken + fresh)  # 12 of 20 refused as duplicates
    watch = container.duplicate_watch()
    assert watch.run(datetime.now(UTC)) == {"outcomes": 32, "suspected": 1}
    assert watch.run(datetime.now(UTC)) == {"outcomes": 32, "suspected": 1}  # read-only


def test_a_registrant_below_either_threshold_is_not_flagged(api, clock):
    taken = [f"1381234{n:04d}" for n in range(19)]
    held(api, taken)
    few = api.registrant(Source.CHANNEL)
    probe(api, clock, few, taken)  # 19 attempts: all duplicates, but under 20
    mostly_new = api.registrant(Source.CHANNEL)
    probe(api, clock, mostly_new, taken[:9] + [f"1391234{n:04d}" for n in range(11)])
    assert container.duplicate_watch().run(datetime.now(UTC))["suspected"] == 0


def test_only_the_last_hour_counts_across_shanghai_midnight(api, clock):
    """23:50 to 00:10 local: the window spans two local days, both read;
    what happened more than an hour ago is not counted."""
    taken = [f"1381234{n:04d}" for n in range(30)]
    held(api, taken)
    prober = api.registrant(Source.CHANNEL)
    clock.move_to(shanghai("2026-11-27 22:30"))
    probe(api, clock, prober, taken[:10])  # over an hour before the run
    clock.move_to(shanghai("2026-11-27 23:50"))
    probe(api, clock, prober, taken[10:30], every=timedelta(minutes=1))
    run_at = shanghai("2026-11-28 00:15")
    assert container.duplicate_watch().run(run_at) == {"outcomes": 20, "suspected": 1}
