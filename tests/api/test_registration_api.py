"""POST /v1/registrations through the Chalice test client on moto: every answer of API.md."""

import pytest

from chalicelib.rules.claims import Source
from tests.conftest import payload
from tests.support import body, encode, snapshot

VISIT = "2026-11-27T09:30:00+08:00"  # the clock fixture stands at 10:00 Shanghai


def test_new_phone_is_protected_for_60_days(api):
    """R-PROT-2 through the API: 201 with the protection in Shanghai time."""
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(visit_at=VISIT))
    assert r.status_code == 201
    doc = payload(r)
    assert doc["status"] == "protected"
    assert doc["customer"] == {"name": "王先生", "phone_masked": "138****5678"}
    assert doc["protection"] == {
        "ordinal": 1,
        "starts_at": "2026-11-27T10:00:00+08:00",
        "ends_at": "2027-01-26T10:00:00+08:00",
    }
    assert doc["visit_window"] is None
    assert doc["registration_id"].startswith("rg_")


def test_same_phone_in_another_format_from_another_channel_is_a_duplicate(api):
    """R-DUP-1: the reply never names or dates the holder."""
    first, second = api.registrant(Source.CHANNEL, name="渠道甲"), api.registrant(Source.CHANNEL)
    assert api.register(first, body("13812345678", VISIT)).status_code == 201
    r = api.register(second, body("+86 138-1234-5678", VISIT))
    assert r.status_code == 409
    error = payload(r)["error"]
    assert (error["code"], error["rule"]) == ("DUPLICATE_LIVE_CLAIM", "R-DUP-1")
    for leak in (first.registrant_id, "渠道甲", "2027", "01-26"):
        assert leak not in r.body.decode()


def test_second_recommendation_after_the_first_ends_gets_30_days(api, clock):
    """R-PROT-1, R-PROT-2 through the API, at the exact end instant."""
    a, b, c = (api.registrant(Source.CHANNEL) for _ in range(3))
    assert api.register(a, body(visit_at=VISIT)).status_code == 201
    clock.move_to("2027-01-26T09:59:59+08:00")
    assert api.register(b, body(visit_at="2027-01-26T09:00:00+08:00")).status_code == 409
    clock.move_to("2027-01-26T10:00:00+08:00")
    r = api.register(b, body(visit_at="2027-01-26T09:00:00+08:00"))
    assert r.status_code == 201
    assert payload(r)["protection"]["ordinal"] == 2
    assert payload(r)["protection"]["ends_at"] == "2027-02-25T10:00:00+08:00"
    clock.move_to("2027-02-25T10:00:00+08:00")
    r = api.register(c, body(visit_at="2027-02-25T09:00:00+08:00"))
    assert r.status_code == 409
    assert payload(r)["error"]["rule"] == "R-PROT-1"


def test_late_channel_registration_is_refused(api):
    """R-REG-2: a visit of yesterday (Shanghai) registered today, without approval."""
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(visit_at="2026-11-26T23:50:00+08:00"))
    assert r.status_code == 409
    assert payload(r)["error"] == {
        "code": "REGISTRATION_TOO_LATE",
        "rule": "R-REG-2",
        "message": payload(r)["error"]["message"],
    }


def test_distribution_registration_is_provisional_with_its_window(api):
    """R-REG-3 through the API."""
    agency = api.registrant(Source.DISTRIBUTION)
    r = api.register(agency, body(visit_at="2026-11-27T14:00:00+08:00"))
    assert r.status_code == 201
    doc = payload(r)
    assert doc["status"] == "provisional"
    assert doc["protection"] is None
    assert doc["visit_window"] == {
        "opens_at": "2026-11-27T10:30:00+08:00",
        "closes_at": "2026-11-28T10:00:00+08:00",
    }


def test_distribution_29_minutes_ahead_is_too_close(api):
    """R-REG-3"""
    agency = api.registrant(Source.DISTRIBUTION)
    r = api.register(agency, body(visit_at="2026-11-27T10:29:00+08:00"))
    assert r.status_code == 409
    assert payload(r)["error"]["code"] == "TOO_CLOSE_TO_VISIT"


def test_ecommerce_report_needs_no_visit_and_protects(api):
    """R-PROT-3"""
    shop = api.registrant(Source.ECOMMERCE)
    r = api.register(shop, body())
    assert r.status_code == 201
    assert payload(r)["protection"]["ends_at"] == "2027-01-26T10:00:00+08:00"


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"customer": {"name": "王先生"}, "visit_at": VISIT}, "customer.phone"),
        ({"customer": {"name": "", "phone": "13812345678"}, "visit_at": VISIT}, "customer.name"),
        (
            {"customer": {"name": "x" * 65, "phone": "13812345678"}, "visit_at": VISIT},
            "customer.name",
        ),
        (
            {"customer": {"name": "王\x00", "phone": "13812345678"}, "visit_at": VISIT},
            "customer.name",
        ),
        ({"customer": {"name": "王", "phone": 13812345678}, "visit_at": VISIT}, "customer.phone"),
        (
            {"customer": {"name": "王", "phone": "13812345678"}, "visit_at": "2026-11-27T09:30:00"},
            "visit_at",
        ),
        ({"customer": {"name": "王", "phone": "13812345678"}, "visit_at": 1764207000}, "visit_at"),
        (
            {
                "customer": {"name": "王", "phone": "13812345678"},
                "visit_at": VISIT,
                "note": "n" * 501,
            },
            "note",
        ),
        (
            {
                "customer": {"name": "王", "phone": "13812345678"},
                "visit_at": VISIT,
                "kind": "ecommerce",
            },
            "kind",
        ),
        (
            {"customer": {"name": "王", "phone": "13812345678", "id": 1}, "visit_at": VISIT},
            "customer.id",
        ),
        ({"customer": {"name": "王", "phone": "13812345678"}}, "visit_at"),
        ([1, 2], "body"),
    ],
)
def test_bad_fields_get_400_listing_each_field(api, doc, field):
    channel = api.registrant(Source.CHANNEL)
    before = snapshot()
    r = api.register(channel, doc)
    assert r.status_code == 400
    error = payload(r)["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in [f["field"] for f in error["fields"]]
    assert snapshot() == before


def test_invalid_json_is_a_validation_error(api):
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, None, raw=b'{"customer": ')
    assert r.status_code == 400
    assert payload(r)["error"]["fields"][0]["field"] == "body"


def test_not_a_mobile_number_is_invalid_phone(api):
    channel = api.registrant(Source.CHANNEL)
    before = snapshot()
    r = api.register(channel, body("010-12345678", VISIT))
    assert r.status_code == 400
    assert payload(r)["error"]["code"] == "INVALID_PHONE"
    assert snapshot() == before


def test_missing_or_bad_idempotency_key_is_a_validation_error(api):
    channel = api.registrant(Source.CHANNEL)
    assert api.register(channel, body(visit_at=VISIT), key=None).status_code == 400
    for bad in ("", "x" * 256, "中文", "tab\tkey"):
        r = api.register(channel, body(visit_at=VISIT), key=bad)
        assert r.status_code == 400, bad
        assert payload(r)["error"]["fields"][0]["field"] == "Idempotency-Key"
    assert api.register(channel, body(visit_at=VISIT), key="k" * 255).status_code == 201


def test_body_over_16_kib_is_too_large(api):
    channel = api.registrant(Source.CHANNEL)
    raw = encode(body(visit_at=VISIT, note="n")).replace(b'"n"', b'"' + b"n" * 16400 + b'"')
    r = api.register(channel, None, raw=raw)
    assert r.status_code == 413
    assert payload(r)["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_non_json_content_type_is_unsupported(api):
    channel = api.registrant(Source.CHANNEL)
    for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
        r = api.register(channel, body(visit_at=VISIT), headers={"Content-Type": content_type})
        assert r.status_code == 415, content_type
        assert payload(r)["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    r = api.register(
        channel, body(visit_at=VISIT), headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert r.status_code == 201


def test_refusal_writes_nothing_but_its_audit_record(api):
    """API.md: a refused request writes only its audit record and its stored
    answer; and, as it began as a registration of a new customer, its note on
    the number's mask (decision 0013), which names no phone."""
    a, b = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    api.register(a, body(visit_at=VISIT))
    before = snapshot()
    assert api.register(b, body(visit_at=VISIT), key="refused-1").status_code == 409
    after = snapshot()
    changed = {t for t in after if after[t] != before[t]}
    assert changed - {"sales-office-test-masks"} == {
        "sales-office-test-idempotency",
        "sales-office-test-audit",
    }
    for table in changed - {"sales-office-test-masks"}:
        added = set(after[table]) - set(before[table])
        assert len(added) == 1
        assert "R-DUP-1" in next(iter(added))
    holding_phone = {t for t, items in after.items() if "13812345678" in str(items)}
    assert holding_phone == {"sales-office-test-customers"}


def test_rate_limit_answers_429_with_retry_after(api, monkeypatch):
    monkeypatch.setenv("RATE_PER_SECOND", "1")
    monkeypatch.setenv("RATE_BURST", "2")
    from chalicelib.services.container import registrations, reset

    reset()
    registrations()  # build now: inside a request the client patches in the stage's env
    channel = api.registrant(Source.CHANNEL)
    answers = [api.register(channel, body(f"1390000000{i}", VISIT)) for i in range(3)]
    assert [r.status_code for r in answers] == [201, 201, 429]
    assert answers[2].headers["Retry-After"] == "1"
    assert payload(answers[2])["error"]["code"] == "RATE_LIMITED"


def test_unknown_method_answers_405_in_the_error_shape(api):
    r = api.client.http.request("DELETE", "/v1/registrations", headers={}, body=b"")
    assert r.status_code == 405
    assert payload(r)["error"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    "visit_at",
    [
        "1795744800",
        "2026-11-27 09:30:00+08:00",
        "2026-11-27T09:30:00",
        "2026-13-27T09:30:00+08:00",
        "2026-11-27T09:30:00+0800",
        "２０２６-11-27T09:30:00+08:00",
        "",
    ],
)
def test_visit_at_must_be_iso_8601_with_an_offset(api, visit_at):
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(visit_at=visit_at))
    assert r.status_code == 400
    assert payload(r)["error"]["fields"][0]["field"] == "visit_at"


def test_visit_at_in_utc_with_z_is_accepted(api):
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(visit_at="2026-11-27T01:30:00Z"))
    assert r.status_code == 201
    assert payload(r)["visit_at"] == "2026-11-27T09:30:00+08:00"


def test_stage_policy_overrides_change_the_protection_without_code(api, monkeypatch):
    """R-PROT-2's 60 days is a default: POLICY_OVERRIDES in the stage config changes it."""
    from chalicelib.services.container import registrations, reset

    monkeypatch.setenv("POLICY_OVERRIDES", '{"first_protection_days": 45}')
    reset()
    registrations()  # build now: inside a request the client patches in the stage's env
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(visit_at=VISIT))
    assert payload(r)["protection"]["ends_at"] == "2027-01-11T10:00:00+08:00"


def test_unknown_policy_setting_stops_the_app_with_a_clear_message(monkeypatch):
    from chalicelib.rules.policy import PolicyError
    from chalicelib.settings import settings

    monkeypatch.setenv("POLICY_OVERRIDES", '{"first_protection_dayz": 45}')
    settings.cache_clear()
    try:
        with pytest.raises(PolicyError, match="first_protection_dayz"):
            settings()
    finally:
        settings.cache_clear()
