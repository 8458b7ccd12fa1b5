"""The deployed stage's KMS key for registrant signing secrets: created with
its alias by the merge template, kept in prod, its ARN given to the API
function only, and usable by that function only, for exactly the two calls
it makes (Encrypt, Decrypt) and only with the encryption context the code
sends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.rules.claims import Source
from chalicelib.rules.records import Registrant
from chalicelib.rules.staff import Role
from chalicelib.store import sealing
from infra.template import FUNCTIONS, SECRETS_KEY, SIGNERS, merge_template
from tests.api.floor_support import person
from tests.conftest import payload
from tests.store.test_sealed_secrets import Kms, kms  # noqa: F401 (the fixture)
from tests.support import body

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
KEY_ARN = {"Fn::GetAtt": [SECRETS_KEY, "Arn"]}


def policy(function: str) -> dict[str, Any]:
    name = CONFIG["lambda_functions"][function]["iam_policy_file"]
    return dict(json.loads((ROOT / ".chalice" / name).read_text()))


def kms_statements(function: str) -> list[dict[str, Any]]:
    return [
        s
        for s in policy(function)["Statement"]
        if any(action.startswith("kms:") for action in s["Action"])
    ]


def test_the_template_creates_a_rotated_key_kept_in_prod_and_its_alias():
    resources = merge_template("prod")["Resources"]
    key = resources[SECRETS_KEY]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"
    props = key["Properties"]
    assert props["EnableKeyRotation"] is True
    assert (props["KeySpec"], props["KeyUsage"]) == ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    (root,) = props["KeyPolicy"]["Statement"]  # the account; IAM grants the use
    assert root["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
    alias = resources[f"{SECRETS_KEY}Alias"]
    assert alias["Type"] == "AWS::KMS::Alias"
    assert alias["Properties"]["TargetKeyId"] == {"Ref": SECRETS_KEY}
    assert alias["Properties"]["AliasName"] == {
        "Fn::Sub": "alias/${AWS::StackName}-registrant-secrets"
    }
    dev = merge_template("dev")["Resources"][SECRETS_KEY]
    assert dev["DeletionPolicy"] == "Delete"


def test_only_the_functions_that_sign_are_told_the_key():
    """The API, and the two that push signed events (decision 0010)."""
    resources = merge_template("prod")["Resources"]
    for chalice_name, logical in FUNCTIONS.items():
        variables = resources[logical]["Properties"]["Environment"]["Variables"]
        if chalice_name in SIGNERS:
            assert variables["REGISTRANT_SECRETS_KEY_ID"] == KEY_ARN
        else:
            assert "REGISTRANT_SECRETS_KEY_ID" not in variables, chalice_name


def test_only_the_api_function_may_use_the_key_and_only_for_registrant_secrets():
    (statement,) = kms_statements("api_handler")
    assert statement["Resource"] == [KEY_ARN]
    assert statement["Condition"] == {
        "StringEquals": {"kms:EncryptionContext:purpose": sealing.PURPOSE}
    }
    for function in CONFIG["lambda_functions"]:
        if function in SIGNERS and function != "api_handler":  # they only open secrets
            (pushing,) = kms_statements(function)
            assert pushing["Action"] == ["kms:Decrypt"], function
            assert (pushing["Resource"], pushing["Condition"]) == (
                statement["Resource"],
                statement["Condition"],
            )
        elif function != "api_handler":
            assert kms_statements(function) == [], function


def test_the_api_makes_exactly_the_kms_calls_it_is_granted_as_the_condition_allows(
    api,
    clock,
    kms: Kms,  # noqa: F811 (the fixture)
):
    """Issue, sign, rotate and list over HTTP with the key: every KMS call is
    a granted action, on the configured key, with the purpose the IAM
    condition requires; and every granted action is used."""
    admin = person(api, Role.PARTY_A_ADMIN)
    created = payload(admin.post("/v1/registrants", {"kind": "channel", "name": "鲁信渠道"}))
    sealing.forget()  # another instance signs the first request
    who = Registrant(created["id"], Source.CHANNEL, created["name"], created["secret"], True)
    assert api.register(who, body(visit_at="2026-11-27T09:30:00+08:00")).status_code == 201
    assert admin.post(f"/v1/registrants/{who.registrant_id}/secret", {}).status_code == 201
    assert admin.get("/v1/recommenders").status_code == 200

    (statement,) = kms_statements("api_handler")
    used = {f"kms:{operation}" for operation, _ in kms.calls}
    assert used == set(statement["Action"])
    for operation, params in kms.calls:
        assert params["EncryptionContext"]["purpose"] == sealing.PURPOSE
        assert params["EncryptionContext"]["registrant_id"] == who.registrant_id
        assert params["KeyId"] == kms.key_arn, operation
