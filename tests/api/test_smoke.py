from chalicelib.rules.claims import Source
from tests.conftest import payload
from tests.support import body


def test_channel_registration_is_protected(api):
    channel = api.registrant(Source.CHANNEL)
    r = api.register(channel, body(visit_at="2026-11-27T09:30:00+08:00"))
    print(r.body)
    assert r.status_code == 201
    other = api.registrant(Source.CHANNEL)
    r2 = api.register(other, body(phone="+86 138-1234-5678", visit_at="2026-11-27T09:30:00+08:00"))
    print(r2.body)
    assert r2.status_code == 409
    assert payload(r2)["error"]["code"] == "DUPLICATE_LIVE_CLAIM"
