"""Registrant signing secrets at rest (chalicelib/store/sealing.py): a stage
with a KMS key stores them sealed (KMS Encrypt, the registrant's id in the
encryption context) and opens them on read; secrets stored unsealed before
the key keep working until the migration seals them. On moto's KMS (the
session's mock_aws covers it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.client
import pytest
from botocore.awsrequest import AWSResponse

from chalicelib.rules.claims import Source
from chalicelib.rules.records import Registrant
from chalicelib.rules.staff import Role
from chalicelib.services.container import reset
from chalicelib.services.people import registrants
from chalicelib.settings import SettingsError
from chalicelib.store import sealing, store
from chalicelib.store.models import RegistrantItem
from chalicelib.store.sealing import SEALED, SecretKeyError
from scripts import admin
from tests.api.floor_support import person
from tests.conftest import payload
from tests.support import body, make_registrant, old_secret_signs_one_day_more, snapshot

VISIT = "2026-11-27T09:30:00+08:00"  # the clock fixture stands at 10:00 Shanghai


class Kms:
    """The stage's key on moto, and every KMS call the code makes."""

    def __init__(self, key_arn: str) -> None:
        self.key_arn = key_arn
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def count(self, operation: str) -> int:
        return sum(1 for op, _ in self.calls if op == operation)

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def kms(tables, monkeypatch) -> Iterator[Kms]:
    key = boto3.client("kms").create_key(Description="registrant secrets")["KeyMetadata"]
    recorder = Kms(key["Arn"])
    original = botocore.client.BaseClient._make_api_call

    def recorded(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "kms":
            recorder.calls.append((operation, params))
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recorded)
    monkeypatch.setenv("REGISTRANT_SECRETS_KEY_ID", key["Arn"])
    reset()
    store()  # the settings read now, not inside a request (the test client's env)
    sealing.forget()
    yield recorder
    monkeypatch.delenv("REGISTRANT_SECRETS_KEY_ID")
    reset()
    sealing.forget()


def stored(registrant_id: str) -> RegistrantItem:
    return RegistrantItem.get(registrant_id, consistent_read=True)


def rotated(who: Registrant, secret: str) -> Registrant:
    return replace(
        who,
        secret=secret,
        previous_secret=who.secret,
        previous_secret_until=datetime.now(UTC) + timedelta(hours=24),
    )


# -- sealed at rest, opened on read -------------------------------------------------


def test_a_stage_with_a_key_stores_both_secrets_sealed_and_reads_them_back(tables, kms):
    who = rotated(make_registrant(Source.CHANNEL), "whsec_new")
    tables.put_registrant(who, datetime.now(UTC))
    item = stored(who.registrant_id)
    assert item.secret.startswith(SEALED) and item.previous_secret.startswith(SEALED)
    everything = json.dumps(snapshot())
    assert who.secret not in everything and who.previous_secret not in everything
    sealing.forget()  # another instance: nothing opened yet
    assert tables.get_registrant(who.registrant_id) == who
    (encrypt, *_) = (params for op, params in kms.calls if op == "Encrypt")
    assert encrypt["KeyId"] == kms.key_arn
    assert encrypt["EncryptionContext"] == {
        "purpose": "registrant-signing-secret",
        "registrant_id": who.registrant_id,
    }


def test_a_registrant_issued_and_rotated_over_http_signs_with_sealed_secrets(api, clock, kms):
    """The admin's routes, the webhook's signature check and the 24-hour
    overlap work unchanged on sealed secrets: nothing above the store knows."""
    admin = person(api, Role.PARTY_A_ADMIN)
    created = payload(admin.post("/v1/registrants", {"kind": "channel", "name": "鲁信渠道"}))
    assert stored(created["id"]).secret.startswith(SEALED)
    first = Registrant(created["id"], Source.CHANNEL, created["name"], created["secret"], True)
    assert api.register(first, body(visit_at=VISIT)).status_code == 201
    new = payload(admin.post(f"/v1/registrants/{first.registrant_id}/secret", {}))["secret"]
    item = stored(first.registrant_id)
    assert item.secret.startswith(SEALED) and item.previous_secret.startswith(SEALED)
    sealing.forget()
    old_secret_signs_one_day_more(api, clock, first, replace(first, secret=new))


def test_a_sealed_secret_moved_to_another_registrant_never_opens(api, tables, kms):
    """The encryption context names the registrant: someone who can write the
    table but not use the key cannot give B the secret A's company holds."""
    a, b = make_registrant(Source.CHANNEL), make_registrant(Source.CHANNEL)
    for who in (a, b):
        tables.put_registrant(who, datetime.now(UTC))
    moved = stored(b.registrant_id)
    moved.secret = stored(a.registrant_id).secret
    moved.save()
    sealing.forget()
    with pytest.raises(SecretKeyError):
        tables.get_registrant(b.registrant_id)
    r = api.register(replace(b, secret=a.secret), body(visit_at=VISIT))
    assert r.status_code == 500
    assert payload(r)["error"]["code"] == "INTERNAL"


def test_a_secret_sealed_under_another_key_never_opens(tables, kms, monkeypatch):
    who = make_registrant(Source.CHANNEL)
    tables.put_registrant(who, datetime.now(UTC))
    other = boto3.client("kms").create_key(Description="another stage")["KeyMetadata"]["Arn"]
    monkeypatch.setenv("REGISTRANT_SECRETS_KEY_ID", other)
    reset()
    store()
    sealing.forget()
    with pytest.raises(SecretKeyError):
        tables.get_registrant(who.registrant_id)


def test_a_deployed_stage_without_its_key_refuses_to_store_a_secret_unsealed(tables, monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.delenv("REGISTRANT_SECRETS_KEY_ID", raising=False)
    reset()
    who = make_registrant(Source.CHANNEL)
    with pytest.raises(SettingsError, match="REGISTRANT_SECRETS_KEY_ID"):
        tables.put_registrant(who, datetime.now(UTC))
    assert tables.get_registrant(who.registrant_id) is None
    reset()


def test_local_and_test_stages_keep_secrets_unsealed_without_kms(tables):
    who = make_registrant(Source.CHANNEL)
    tables.put_registrant(who, datetime.now(UTC))
    assert stored(who.registrant_id).secret == who.secret
    assert tables.get_registrant(who.registrant_id) == who


def test_a_signing_secret_never_looks_sealed():
    """The prefix tells sealed from unsealed: no issued secret can carry it."""
    for _ in range(200):
        secret = registrants.new_secret()
        assert not sealing.is_sealed(secret) and ":" not in secret


# -- migration: secrets stored before the stage had its key ------------------------------


def unsealed_before_the_key(who: Registrant) -> None:
    RegistrantItem(
        registrant_id=who.registrant_id,
        kind=who.kind.value,
        name=who.name,
        secret=who.secret,
        previous_secret=who.previous_secret,
        previous_secret_until=who.previous_secret_until,
        enabled=True,
        created_at=datetime.now(UTC),
    ).save()


def test_unsealed_secrets_keep_signing_until_the_migration_seals_them(api, tables, kms, capsys):
    rotating = rotated(make_registrant(Source.CHANNEL), "whsec_after_rotation")
    plain = make_registrant(Source.DISTRIBUTION)
    done = make_registrant(Source.ECOMMERCE)
    for who in (rotating, plain):
        unsealed_before_the_key(who)
    tables.put_registrant(done, datetime.now(UTC))  # sealed already
    assert api.register(rotating, body(visit_at=VISIT)).status_code == 201
    assert tables.get_registrant(plain.registrant_id) == plain

    assert admin.main(["seal-registrant-secrets"]) == 0
    assert json.loads(capsys.readouterr().out) == {"sealed": 2}
    for who in (rotating, plain, done):
        item = stored(who.registrant_id)
        assert item.secret.startswith(SEALED)
        assert item.previous_secret is None or item.previous_secret.startswith(SEALED)
        sealing.forget()
        assert tables.get_registrant(who.registrant_id) == who
    assert tables.seal_registrant_secrets() == 0  # a second run finds nothing to do
    old = replace(rotating, secret=rotating.previous_secret or "")
    assert api.register(old, body("13900000000", VISIT)).status_code == 201


def test_the_migration_never_undoes_a_rotation_made_meanwhile(tables, kms, monkeypatch):
    who = make_registrant(Source.CHANNEL)
    unsealed_before_the_key(who)
    original = RegistrantItem.scan

    def scan_then_rotate(*args: Any, **kwargs: Any) -> Any:
        found = list(original(*args, **kwargs))
        registrants.rotate_secret(tables, who.registrant_id, datetime.now(UTC))
        return iter(found)

    monkeypatch.setattr(RegistrantItem, "scan", scan_then_rotate)
    assert tables.seal_registrant_secrets() == 0  # its write found the record changed
    after = tables.get_registrant(who.registrant_id)
    assert after is not None and after.secret != who.secret and after.previous_secret == who.secret


# -- the cost: KMS calls ------------------------------------------------------------------


def test_one_kms_decrypt_per_ciphertext_an_instance_has_not_opened(tables, kms, monkeypatch):
    """Sealing costs one Encrypt and primes this instance; another instance
    pays one Decrypt per secret on its first read, then none until
    OPENED_SECONDS have passed."""
    who = make_registrant(Source.CHANNEL)
    tables.put_registrant(who, datetime.now(UTC))
    assert (kms.count("Encrypt"), kms.count("Decrypt")) == (1, 0)
    tables.get_registrant(who.registrant_id)
    assert kms.count("Decrypt") == 0  # the instance that sealed it

    sealing.forget()  # a new instance
    kms.clear()
    for _ in range(5):
        tables.get_registrant(who.registrant_id)
    assert kms.count("Decrypt") == 1

    registrants.rotate_secret(tables, who.registrant_id, datetime.now(UTC))
    sealing.forget()
    kms.clear()
    tables.get_registrant(who.registrant_id)
    assert kms.count("Decrypt") == 2  # the new secret and the previous one, for 24 h

    later = sealing._opened.clock() + sealing.OPENED_SECONDS
    monkeypatch.setattr(sealing._opened, "clock", lambda: later)
    kms.clear()
    tables.get_registrant(who.registrant_id)
    assert kms.count("Decrypt") == 2


def test_listing_registrants_decrypts_each_secret_once_per_instance(api, tables, kms):
    """GET /v1/recommenders reads every registrant: its first call on an
    instance opens each secret; later calls open none."""
    for _ in range(3):
        tables.put_registrant(make_registrant(Source.CHANNEL), datetime.now(UTC))
    sealing.forget()
    kms.clear()
    desk = person(api, Role.FRONT_DESK)
    assert desk.get("/v1/recommenders").status_code == 200
    assert kms.count("Decrypt") == 3
    assert desk.get("/v1/recommenders").status_code == 200
    assert kms.count("Decrypt") == 3


# -- KMS unavailable ------------------------------------------------------------------------


def test_kms_throttled_is_a_503_with_retry_after_and_writes_nothing(api, kms):
    client = sealing._kms.client()

    def throttled(**_: Any) -> Any:
        response = AWSResponse("https://kms", 400, {}, None)
        return response, {
            "Error": {"Code": "ThrottlingException", "Message": "slow down"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    client.meta.events.register("before-call.kms.Encrypt", throttled, unique_id="kms-throttle")
    try:
        admin = person(api, Role.PARTY_A_ADMIN)
        before = snapshot()
        r = admin.post("/v1/registrants", {"kind": "channel", "name": "鲁信渠道"})
        assert r.status_code == 503, r.body
        assert payload(r)["error"]["code"] == "UNAVAILABLE"
        assert r.headers["Retry-After"] == "5"
        assert snapshot() == before
    finally:
        client.meta.events.unregister("before-call.kms.Encrypt", unique_id="kms-throttle")


# -- what scripts/admin.py says is kept ----------------------------------------------------


def test_admin_says_a_secret_is_kept_encrypted_and_a_token_only_as_a_hash(api, kms, capsys):
    assert admin.main(["create-registrant", "--kind", "channel", "--name", "渠道甲"]) == 0
    said = capsys.readouterr().err
    assert "encrypted with the stage's KMS key" in said and "hash" not in said
    assert admin.main(["create-staff", "--role", "front_desk", "--name", "前台"]) == 0
    assert "keeps only a hash of the token" in capsys.readouterr().err


def test_admin_on_a_stage_without_a_key_says_the_secret_is_kept_unencrypted(api, capsys):
    assert admin.main(["create-registrant", "--kind", "channel", "--name", "渠道甲"]) == 0
    said = capsys.readouterr().err
    assert "unencrypted" in said and "hash" not in said


def test_admin_refuses_to_store_a_deployed_stages_secret_without_its_key(
    tables, monkeypatch, capsys
):
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.delenv("REGISTRANT_SECRETS_KEY_ID", raising=False)
    reset()
    store()
    before = snapshot()
    assert admin.main(["create-registrant", "--kind", "channel", "--name", "渠道甲"]) == 1
    assert "REGISTRANT_SECRETS_KEY_ID" in capsys.readouterr().err
    assert snapshot() == before
    reset()
