"""GET /v1/registrations[/{id}] and GET /v1/events: a registrant reads only its own."""

from datetime import timedelta

import pytest

from chalicelib.rules.claims import Source
from tests.conftest import payload
from tests.support import body

VISIT = "2026-11-27T09:30:00+08:00"


def test_registrant_reads_its_registration_with_status_now(api, clock):
    """R-PROT-2: the status read after the end is expired, with no job having run."""
    channel = api.registrant(Source.CHANNEL)
    created = payload(api.register(channel, body(visit_at=VISIT)))
    path = f"/v1/registrations/{created['registration_id']}"
    r = api.get(channel, path)
    assert r.status_code == 200
    assert payload(r) == created
    clock.move_to("2027-01-26T09:59:59+08:00")
    assert payload(api.get(channel, path))["status"] == "protected"
    clock.move_to("2027-01-26T10:00:00+08:00")
    assert payload(api.get(channel, path))["status"] == "expired"


def test_provisional_hold_reads_lapsed_after_its_window(api, clock):
    """R-REG-3: an unvisited registration lapses when its window closes."""
    agency = api.registrant(Source.DISTRIBUTION)
    created = payload(api.register(agency, body(visit_at="2026-11-27T12:00:00+08:00")))
    path = f"/v1/registrations/{created['registration_id']}"
    clock.move_to("2026-11-28T09:59:59+08:00")
    assert payload(api.get(agency, path))["status"] == "provisional"
    clock.move_to("2026-11-28T10:00:00+08:00")
    assert payload(api.get(agency, path))["status"] == "lapsed"


def test_another_registrants_registration_is_404_like_a_missing_one(api):
    a, b = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    created = payload(api.register(a, body(visit_at=VISIT)))
    theirs = api.get(b, f"/v1/registrations/{created['registration_id']}")
    missing = api.get(b, "/v1/registrations/rg_01M8DBP780000000000000000")
    assert theirs.status_code == missing.status_code == 404
    assert payload(theirs) == payload(missing)
    assert payload(theirs)["error"]["code"] == "NOT_FOUND"


def test_list_is_newest_first_and_pages_with_a_cursor(api, clock):
    channel = api.registrant(Source.CHANNEL)
    other = api.registrant(Source.CHANNEL)
    ids = []
    for i in range(5):
        clock.shift(timedelta(seconds=1))
        ids.append(payload(api.register(channel, body(f"1380000000{i}", VISIT)))["registration_id"])
    api.register(other, body("13900000000", VISIT))
    seen, cursor = [], None
    while True:
        path = "/v1/registrations?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = payload(api.get(channel, path))
        seen += [r["registration_id"] for r in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "cursor=%%%", "cursor=Zm9v"])
def test_bad_list_parameters_are_validation_errors(api, query):
    channel = api.registrant(Source.CHANNEL)
    r = api.get(channel, f"/v1/registrations?{query}")
    assert r.status_code == 400
    assert payload(r)["error"]["code"] == "VALIDATION_ERROR"


def test_protected_event_appears_after_the_settle_delay_and_never_repeats(api, clock):
    channel = api.registrant(Source.CHANNEL)
    created = payload(api.register(channel, body(visit_at=VISIT)))
    assert payload(api.get(channel, "/v1/events"))["data"] == []
    clock.shift(timedelta(seconds=31))
    page = payload(api.get(channel, "/v1/events"))
    [event] = page["data"]
    assert event["type"] == "registration.protected"
    assert event["registration_id"] == created["registration_id"]
    assert event["occurred_at"] == "2026-11-27T10:00:00+08:00"
    cursor = page["next_cursor"]
    clock.shift(timedelta(seconds=1))
    api.register(channel, body("13900000000", "2026-11-27T10:00:00+08:00"))
    assert payload(api.get(channel, f"/v1/events?cursor={cursor}"))["data"] == []
    clock.shift(timedelta(seconds=31))
    later = payload(api.get(channel, f"/v1/events?cursor={cursor}"))
    assert [e["type"] for e in later["data"]] == ["registration.protected"]
    assert later["data"][0]["id"] != event["id"]
    again = payload(api.get(channel, f"/v1/events?cursor={later['next_cursor']}"))
    assert again["data"] == []
    assert again["next_cursor"] == later["next_cursor"]


def test_events_are_per_registrant_and_provisional_holds_emit_none_yet(api, clock):
    channel, agency = api.registrant(Source.CHANNEL), api.registrant(Source.DISTRIBUTION)
    api.register(channel, body(visit_at=VISIT))
    api.register(agency, body("13900000000", "2026-11-27T12:00:00+08:00"))
    clock.shift(timedelta(minutes=1))
    assert len(payload(api.get(channel, "/v1/events"))["data"]) == 1
    assert payload(api.get(agency, "/v1/events"))["data"] == []
