"""A deployed stage's phone-HMAC key comes from SSM Parameter Store
(SecureString), read at first use and kept; never from the template; with
botocore alone (decision 0008), neither boto3 nor Powertools' parameters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import boto3
import botocore.session
import pytest

from chalicelib.settings import SettingsError, settings

NAME = "/sales-office/prod/phone-hmac-key"


@pytest.fixture
def ssm(_moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The session's moto (one mock for all tests), this test's parameter."""
    monkeypatch.delenv("PHONE_HMAC_KEY")
    monkeypatch.setenv("PHONE_HMAC_KEY_PARAMETER", NAME)
    settings.cache_clear()
    client = boto3.client("ssm")
    yield client
    with suppress(client.exceptions.ParameterNotFound):
        client.delete_parameter(Name=NAME)
    settings.cache_clear()


def test_the_key_is_read_from_a_secure_string_once(ssm, monkeypatch):
    ssm.put_parameter(Name=NAME, Value="k" * 32, Type="SecureString")
    calls: list[dict[str, Any]] = []
    create_client = botocore.session.Session.create_client

    def watched(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, service, *args, **kwargs)
        client.meta.events.register(
            "provide-client-params.ssm.GetParameter", lambda params, **_: calls.append(params)
        )
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", watched)
    assert settings().phone_hmac_key == b"k" * 32
    assert settings().phone_hmac_key == b"k" * 32
    assert [(c["Name"], c["WithDecryption"]) for c in calls] == [(NAME, True)]


def test_reading_the_key_imports_neither_boto3_nor_powertools_parameters():
    """Measured: those imports and a boto3 session were most of the ~300 ms
    the first request of a deployed instance paid for its key."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, app\n"
        "from chalicelib.settings import SettingsError, settings\n"
        "try:\n"
        "    settings()\n"
        "except SettingsError:\n"
        "    pass\n"
        "print(sorted(m for m in ('boto3', 'aws_lambda_powertools.utilities.parameters')"
        " if m in sys.modules))"
    )
    env = {
        **os.environ,
        "PHONE_HMAC_KEY": "",
        "PHONE_HMAC_KEY_PARAMETER": NAME,
        "AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:9",  # nothing listens: refused at once
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_missing_parameter_is_a_clear_configuration_error(ssm):
    with pytest.raises(SettingsError, match=NAME):
        settings()


def test_a_short_key_is_refused(ssm):
    ssm.put_parameter(Name=NAME, Value="short", Type="SecureString")
    with pytest.raises(SettingsError, match="at least 16"):
        settings()
