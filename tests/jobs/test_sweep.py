"""The hourly expiry sweep (R-PROT-2, R-REG-3): notices in each registrant's
feed, once each, however the sweep is run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.rules.claims import Source
from chalicelib.services import container
from chalicelib.store import Store
from tests.conftest import payload
from tests.support import body, shanghai

VISITED = "2026-11-27T09:30:00+08:00"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def sweep() -> dict[str, int]:
    return container.sweep().run(now())


def feed(api, who) -> list[tuple[str, str]]:
    events = payload(api.get(who, "/v1/events?limit=100"))["data"]
    return [(e["type"], e["registration_id"]) for e in events]


def registered(api, who, phone: str = "13812345678", visit_at: str | None = VISITED) -> str:
    r = api.register(who, body(phone=phone, visit_at=visit_at))
    assert r.status_code == 201, r.body
    return str(payload(r)["registration_id"])


def test_a_protection_gets_ending_soon_7_days_before_and_ended_at_its_end(api, clock):
    """R-PROT-2: the feed says so once each, at the instants the rule gives."""
    channel = api.registrant(Source.CHANNEL)
    rg = registered(api, channel)  # protected 2026-11-27 10:00 → 2027-01-26 10:00
    clock.move_to(shanghai("2027-01-19 09:59"))
    assert sweep().get("ending_soon", 0) == 0
    clock.move_to(shanghai("2027-01-19 10:00"))
    assert sweep()["ending_soon"] == 1
    assert sweep().get("ending_soon", 0) == 0  # run twice: nothing new
    clock.move_to(shanghai("2027-01-26 10:00"))
    assert sweep()["ended"] == 1
    clock.shift(timedelta(minutes=1))
    assert feed(api, channel) == [
        ("registration.protected", rg),
        ("protection.ending_soon", rg),
        ("protection.ended", rg),
    ]
    events = payload(api.get(channel, "/v1/events"))["data"]
    assert [e["occurred_at"] for e in events[1:]] == [
        "2027-01-19T10:00:00+08:00",
        "2027-01-26T10:00:00+08:00",
    ]


def test_the_status_is_expired_at_the_end_whether_or_not_the_sweep_ran(api, clock):
    """R-PROT-2: reads compare the end with now; the sweep only adds the event."""
    channel = api.registrant(Source.CHANNEL)
    rg = registered(api, channel)
    clock.move_to(shanghai("2027-01-26 10:00"))
    assert payload(api.get(channel, f"/v1/registrations/{rg}"))["status"] == "expired"


def test_an_unvisited_distribution_hold_lapses_with_an_event(api, clock):
    """R-REG-3: the window closes 24 hours after registering."""
    agency = api.registrant(Source.DISTRIBUTION)
    rg = registered(api, agency, visit_at="2026-11-27T12:00:00+08:00")
    clock.move_to(shanghai("2026-11-28 10:00"))
    assert sweep()["lapsed"] == 1
    clock.shift(timedelta(minutes=1))
    assert feed(api, agency) == [("registration.lapsed", rg)]
    assert payload(api.get(agency, f"/v1/registrations/{rg}"))["status"] == "lapsed"


def test_a_late_sweep_records_everything_it_missed_once(api, clock):
    """A sweep that did not run for ten days catches up; running it again
    changes nothing."""
    channel = api.registrant(Source.CHANNEL)
    agency = api.registrant(Source.DISTRIBUTION)
    first = registered(api, channel)
    hold = registered(api, agency, "13900000001", "2026-11-27T12:00:00+08:00")
    sweep()
    clock.move_to(shanghai("2027-01-26 10:00"))  # two months later, no run between
    counts = sweep()
    assert (counts["ending_soon"], counts["ended"], counts["lapsed"]) == (1, 1, 1)
    assert sweep().get("read", 0) == 0
    clock.shift(timedelta(minutes=1))
    assert [t for t, _ in feed(api, channel)] == [
        "registration.protected",
        "protection.ending_soon",
        "protection.ended",
    ]
    assert feed(api, agency) == [("registration.lapsed", hold)]
    assert first


def test_a_sweep_that_crashed_half_way_finishes_on_the_next_run(api, clock, monkeypatch):
    """Crash after some customers: the rerun does the rest, and nothing twice."""
    channel = api.registrant(Source.CHANNEL)
    for n in range(6):
        registered(api, channel, f"1390000000{n}")
    clock.move_to(shanghai("2027-01-26 10:00"))
    published = 0
    original = Store.publish

    def crashing(self, *args, **kwargs):
        nonlocal published
        if published == 7:  # in the middle of the fourth customer
            raise RuntimeError("the function timed out")
        published += 1
        return original(self, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(Store, "publish", crashing)
        with pytest.raises(RuntimeError):
            sweep()
    counts = sweep()
    assert counts["customers"] == 3  # the three the crashed run had not finished
    clock.shift(timedelta(minutes=1))
    types = [t for t, _ in feed(api, channel)]
    assert types.count("protection.ending_soon") == 6
    assert types.count("protection.ended") == 6
    assert len(set(feed(api, channel))) == len(feed(api, channel)) == 18


def test_the_sweep_reads_only_what_is_due(api, clock):
    """Customers not due are never read: the index is keyed by due hour."""
    channel = api.registrant(Source.CHANNEL)
    for n in range(5):
        registered(api, channel, f"1390000000{n}")
    clock.move_to(shanghai("2026-12-20 10:00"))
    for n in range(20):  # registered later: not due for weeks
        registered(api, channel, f"1370000{n:04d}", "2026-12-20T09:30:00+08:00")
    clock.move_to(shanghai("2027-01-19 10:00"))
    counts = sweep()
    assert counts["read"] == 5
    assert counts["ending_soon"] == 5


def test_each_run_is_recorded_with_its_counts(api, clock):
    channel = api.registrant(Source.CHANNEL)
    registered(api, channel)
    clock.move_to(shanghai("2027-01-19 10:00"))
    sweep()
    (run,) = api.store.runs("sweep")
    assert run["started_at"] == shanghai("2027-01-19 10:00")
    assert run["finished_at"] is not None
    assert run["counts"]["ending_soon"] == 1
    assert api.store.watermark("sweep") == shanghai("2027-01-19 10:00")


def test_a_converted_protection_gets_no_ended_notice(api, clock):
    """A bought customer's protection does not 'end': it converted."""
    channel = api.registrant(Source.CHANNEL)
    rg = registered(api, channel)
    manager = _manager(api)
    clock.shift(timedelta(days=3))
    r = manager("/v1/deals", {"phone": "13812345678"})
    assert r.status_code == 201, r.body
    clock.move_to(shanghai("2027-01-27 10:00"))
    sweep()
    clock.shift(timedelta(minutes=1))
    assert feed(api, channel) == [
        ("registration.protected", rg),
        ("registration.converted", rg),
    ]


def _manager(api):
    import json

    from chalicelib.rules.staff import Role
    from chalicelib.services.people import staff

    member = staff.create_staff(api.store, "经理", Role.SALES_MANAGER, now())
    token = staff.issue_token(api.store, member.staff_id, now()).token

    def post(path: str, doc: object):
        return api.client.http.post(
            path,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            body=json.dumps(doc).encode(),
        )

    return post
