"""A deployed stage's phone-HMAC key comes from SSM Parameter Store
(SecureString), read at first use and kept; never from the template."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from chalicelib.settings import SettingsError, settings

NAME = "/sales-office/prod/phone-hmac-key"


@pytest.fixture
def ssm(_moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The session's moto (one mock for all tests), this test's parameter."""
    monkeypatch.delenv("PHONE_HMAC_KEY")
    monkeypatch.setenv("PHONE_HMAC_KEY_PARAMETER", NAME)
    settings.cache_clear()
    parameters.clear_caches()
    client = boto3.client("ssm")
    yield client
    with suppress(client.exceptions.ParameterNotFound):
        client.delete_parameter(Name=NAME)
    settings.cache_clear()
    parameters.clear_caches()


def test_the_key_is_read_from_a_secure_string_once(ssm, monkeypatch):
    ssm.put_parameter(Name=NAME, Value="k" * 32, Type="SecureString")
    calls: list[str] = []
    original = parameters.get_parameter

    def counted(name: str, **kwargs: object) -> object:
        calls.append(name)
        return original(name, **kwargs)

    monkeypatch.setattr(parameters, "get_parameter", counted)
    assert settings().phone_hmac_key == b"k" * 32
    assert settings().phone_hmac_key == b"k" * 32
    assert calls == [NAME]


def test_a_missing_parameter_is_a_clear_configuration_error(ssm):
    with pytest.raises(SettingsError, match=NAME):
        settings()


def test_a_short_key_is_refused(ssm):
    ssm.put_parameter(Name=NAME, Value="short", Type="SecureString")
    with pytest.raises(SettingsError, match="at least 16"):
        settings()
