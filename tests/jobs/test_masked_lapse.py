"""The sweep and masked claims (decision 0013): an unresolved masked claim
lapses at the end of its hold, and its registrant's feed says so once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.rules.claims import Source
from chalicelib.services import container
from chalicelib.store import StoreUnavailable
from tests.api.floor_support import Floor
from tests.conftest import payload
from tests.support import shanghai

MASKED = {
    "customer": {"name": "王先生", "phone_masked": "138****5678"},
    "visit_at": "2026-11-27T09:30:00+08:00",
}
HOLD_ENDS = shanghai("2026-11-28 10:00")


def sweep() -> dict[str, int]:
    return container.sweep().run(datetime.now(UTC))


def feed(api, who) -> list[str]:
    return [e["type"] for e in payload(api.get(who, "/v1/events?limit=100"))["data"]]


def test_an_unresolved_masked_claim_lapses_in_the_feed_once(api, clock):
    channel = api.registrant(Source.CHANNEL)
    rid = payload(api.register(channel, MASKED))["registration_id"]
    clock.move_to(HOLD_ENDS + timedelta(seconds=59))
    assert sweep().get("masked_lapsed", 0) == 0  # a resolution may still be finishing
    clock.move_to(HOLD_ENDS + timedelta(minutes=1))
    assert sweep()["masked_lapsed"] == 1
    assert sweep().get("masked_lapsed", 0) == 0  # run twice: once
    clock.shift(timedelta(minutes=1))
    events = payload(api.get(channel, "/v1/events?limit=100"))["data"]
    assert [(e["type"], e["registration_id"]) for e in events] == [("registration.lapsed", rid)]
    assert events[0]["occurred_at"] == "2026-11-28T10:00:00+08:00"
    assert payload(api.get(channel, f"/v1/registrations/{rid}"))["status"] == "lapsed"


def test_a_late_sweep_still_records_the_lapse(api, clock):
    channel = api.registrant(Source.CHANNEL)
    api.register(channel, MASKED)
    clock.move_to(HOLD_ENDS + timedelta(hours=5))
    assert sweep()["masked_lapsed"] == 1


def test_a_resolved_masked_claim_never_lapses(api, clock):
    channel = api.registrant(Source.CHANNEL)
    api.register(channel, MASKED)
    Floor(api).arrive(phone="13812345678", name="王小明")
    clock.move_to(HOLD_ENDS + timedelta(hours=1))
    assert sweep().get("masked_lapsed", 0) == 0
    clock.shift(timedelta(minutes=1))
    assert feed(api, channel) == ["registration.protected"]


def test_a_resolution_that_died_before_freeing_the_mask_is_finished_by_the_sweep(
    api, clock, monkeypatch: pytest.MonkeyPatch
):
    """The customer holds the claim, the mask was never let go: the sweep
    frees it instead of announcing a lapse, and the customer's claim stands."""
    channel, other = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    rid = payload(api.register(channel, MASKED))["registration_id"]
    store = container.store()

    def dies(*args, **kwargs):
        raise StoreUnavailable("the request died here")

    with monkeypatch.context() as patch:
        patch.setattr(store, "resolve_mask", dies)
        floor = Floor(api)
        r = floor.desk.post(
            "/v1/masked-claims/resolutions", {"phone": "13812345678", "name": "王小明"}
        )
        assert r.status_code == 503
    clock.move_to(HOLD_ENDS + timedelta(hours=1))
    assert sweep().get("masked_lapsed", 0) == 0
    clock.shift(timedelta(minutes=1))
    assert feed(api, channel) == ["registration.protected"]
    assert payload(api.get(channel, f"/v1/registrations/{rid}"))["status"] == "protected"
    later = {**MASKED, "visit_at": "2026-11-28T10:30:00+08:00"}
    assert payload(api.register(other, later))["error"]["code"] == "MASKED_CLAIM_MATCH"
