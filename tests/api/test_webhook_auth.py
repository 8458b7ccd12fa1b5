"""The signed webhook of API.md: who may call, and what 401 means."""

from datetime import UTC, datetime, timedelta

from chalicelib.rules.claims import Source
from tests.conftest import payload
from tests.support import body, encode, signed_headers

VISIT = "2026-11-27T09:30:00+08:00"


def test_signed_request_is_accepted(api):
    channel = api.registrant(Source.CHANNEL)
    assert api.register(channel, body(visit_at=VISIT)).status_code == 201


def test_signature_301_seconds_old_or_ahead_is_refused_300_is_accepted(api):
    channel = api.registrant(Source.CHANNEL)
    now = datetime.now(UTC)
    for skew, status in [(-301, 401), (301, 401), (-300, 201)]:
        phone = "13800000301" if status == 201 else "13800000300"
        r = api.register(channel, body(phone, VISIT), signed_at=now + timedelta(seconds=skew))
        assert r.status_code == status, skew
    assert (
        api.register(
            channel, body("13800000302", VISIT), signed_at=now + timedelta(seconds=300)
        ).status_code
        == 201
    )


def test_a_flipped_byte_in_the_body_fails_the_signature(api):
    channel = api.registrant(Source.CHANNEL)
    raw = encode(body(visit_at=VISIT))
    headers = signed_headers(channel, raw)
    tampered = raw.replace(b"5678", b"5679")
    r = api.client.http.post("/v1/registrations", headers=headers, body=tampered)
    assert r.status_code == 401
    assert payload(r)["error"]["code"] == "UNAUTHENTICATED"


def test_a_flipped_hex_digit_in_the_signature_fails(api):
    channel = api.registrant(Source.CHANNEL)
    raw = encode(body(visit_at=VISIT))
    headers = signed_headers(channel, raw)
    sig = headers["X-Signature"]
    headers["X-Signature"] = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    assert api.client.http.post("/v1/registrations", headers=headers, body=raw).status_code == 401


def test_another_registrants_secret_does_not_sign_for_this_one(api):
    channel = api.registrant(Source.CHANNEL)
    other = api.registrant(Source.CHANNEL)
    raw = encode(body(visit_at=VISIT))
    headers = signed_headers(channel, raw, secret=other.secret)
    assert api.client.http.post("/v1/registrations", headers=headers, body=raw).status_code == 401


def test_missing_headers_are_unauthenticated(api):
    channel = api.registrant(Source.CHANNEL)
    raw = encode(body(visit_at=VISIT))
    for missing in ("X-Registrant-Id", "X-Signature"):
        headers = signed_headers(channel, raw)
        del headers[missing]
        r = api.client.http.post("/v1/registrations", headers=headers, body=raw)
        assert r.status_code == 401, missing
        assert payload(r) == {
            "error": {
                "code": "UNAUTHENTICATED",
                "rule": None,
                "message": "Missing or invalid credentials.",
            }
        }


def test_malformed_signature_headers_are_unauthenticated(api):
    channel = api.registrant(Source.CHANNEL)
    raw = encode(body(visit_at=VISIT))
    for value in ("", "v1=abc", "t=abc,v1=00", "t=1,v1=", "garbage", "t=99999999999999999999,v1=0"):
        headers = signed_headers(channel, raw)
        headers["X-Signature"] = value
        assert (
            api.client.http.post("/v1/registrations", headers=headers, body=raw).status_code == 401
        )


def test_unknown_and_disabled_registrants_are_unauthenticated(api):
    disabled = api.registrant(Source.CHANNEL, enabled=False)
    assert api.register(disabled, body(visit_at=VISIT)).status_code == 401
    ghost = api.registrant(Source.CHANNEL)
    ghost = type(ghost)("reg_ghost", ghost.kind, ghost.name, ghost.secret, True)
    assert api.register(ghost, body(visit_at=VISIT)).status_code == 401


def test_reads_need_a_signature_too(api):
    r = api.client.http.get("/v1/registrations")
    assert r.status_code == 401
    r = api.client.http.get(
        "/v1/events", headers={"X-Registrant-Id": "reg_x", "X-Signature": "t=1,v1=0"}
    )
    assert r.status_code == 401


def another_instance():
    """The store as another Lambda instance holds it: its own kept registrants."""
    from chalicelib.settings import settings
    from chalicelib.store import Store
    from chalicelib.store.tables import bind

    return Store(bind(settings()))


def test_a_registrant_disabled_on_another_instance_is_refused_within_10_seconds(api, clock):
    """Credentials are kept 10 s per instance (README): a registrant Party A
    disables elsewhere may register here for up to 10 s, never longer."""
    channel = api.registrant(Source.CHANNEL)
    assert api.register(channel, body("13800000001", VISIT)).status_code == 201
    another_instance().set_registrant_enabled(channel.registrant_id, False)
    clock.shift(timedelta(seconds=9))
    assert api.register(channel, body("13800000002", VISIT)).status_code == 201
    clock.shift(timedelta(seconds=1))
    r = api.register(channel, body("13800000003", VISIT))
    assert (r.status_code, payload(r)["error"]["code"]) == (401, "UNAUTHENTICATED")


def test_a_registrant_disabled_on_this_instance_is_refused_at_once(api):
    channel = api.registrant(Source.CHANNEL)
    assert api.register(channel, body("13800000001", VISIT)).status_code == 201
    api.store.set_registrant_enabled(channel.registrant_id, False)
    assert api.register(channel, body("13800000002", VISIT)).status_code == 401


def test_a_secret_rotated_on_another_instance_signs_here_at_once(api, clock):
    """A signature that fails against the kept credentials is checked against
    a fresh read, so the new secret works everywhere from the rotation on."""
    channel = api.registrant(Source.CHANNEL)
    assert api.register(channel, body("13800000001", VISIT)).status_code == 201
    another_instance().rotate_registrant_secret(
        channel.registrant_id, "new-secret-0123456789", datetime.now(UTC) + timedelta(hours=24)
    )
    raw = encode(body("13800000002", VISIT))
    headers = signed_headers(channel, raw, secret="new-secret-0123456789")
    assert api.client.http.post("/v1/registrations", headers=headers, body=raw).status_code == 201
