"""Pushed events through the API (decision 0010): a KMS-sealed secret signs
the deliveries, a rotated secret signs the next one, and every change Party A
makes is audited with the admin as actor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.rules.claims import Source
from chalicelib.rules.records import Registrant
from chalicelib.rules.staff import Role
from chalicelib.services.delivery.service import deliveries
from chalicelib.signing import verify
from chalicelib.store import sealing
from chalicelib.store.models import RegistrantItem
from tests.api.floor_support import person
from tests.conftest import payload
from tests.jobs.test_deliveries import Receiver
from tests.store.test_sealed_secrets import Kms, kms  # noqa: F401 (the fixture)
from tests.support import body


def the_minutes_run(clock) -> datetime:
    clock.shift(timedelta(minutes=1))
    at = datetime.now(UTC).replace(microsecond=0)
    deliveries().run(at)
    return at


def test_a_sealed_secret_signs_each_delivery_and_a_rotated_one_the_next(
    api,
    clock,
    kms: Kms,  # noqa: F811 (the fixture)
):
    admin = person(api, Role.PARTY_A_ADMIN)
    made = payload(admin.post("/v1/registrants", {"kind": "channel", "name": "鲁信渠道"}))
    assert sealing.is_sealed(RegistrantItem.get(made["id"]).secret)  # stored sealed
    who = Registrant(made["id"], Source.CHANNEL, made["name"], made["secret"], True)
    with Receiver() as receiver:
        r = admin.put(f"/v1/registrants/{who.registrant_id}/endpoint", {"url": receiver.url})
        assert r.status_code == 200, r.body
        sealing.forget()  # the delivering function opens the secret itself
        assert api.register(who, body(visit_at="2026-11-27T09:30:00+08:00")).status_code == 201
        at = the_minutes_run(clock)
        ((headers, raw),) = receiver.requests
        assert verify(made["secret"], headers["X-Signature"], raw, at.timestamp())
        assert kms.count("Decrypt") >= 1

        rotated = payload(admin.post(f"/v1/registrants/{who.registrant_id}/secret", {}))
        api.register(who, body(phone="13912345678", visit_at="2026-11-27T09:30:00+08:00"))
        at = the_minutes_run(clock)
        headers, raw = receiver.requests[-1]
        assert verify(rotated["secret"], headers["X-Signature"], raw, at.timestamp())
        assert not verify(made["secret"], headers["X-Signature"], raw, at.timestamp())


def test_party_as_changes_are_audited_with_the_admin_as_actor(api, clock):
    admin = person(api, Role.PARTY_A_ADMIN)
    who = api.registrant(Source.CHANNEL)
    path = f"/v1/registrants/{who.registrant_id}/endpoint"
    assert admin.put(path, {"url": "http://127.0.0.1:9/hooks"}).status_code == 200
    clock.shift(1)  # the trail is in time order; entries of one second have no order
    headers = {"Authorization": f"Bearer {admin.token}"}
    assert api.client.http.delete(path, headers=headers).status_code == 200
    trail = api.store.audit_trail(f"registrant:{who.registrant_id}")
    assert [(e.action, e.actor) for e in trail if e.action.startswith("endpoint.")] == [
        ("endpoint.set", admin.id),
        ("endpoint.cleared", admin.id),
    ]
