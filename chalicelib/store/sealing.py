"""Registrant signing secrets at rest, sealed with the stage's KMS key.

A staff token is kept only as a hash; a registrant's signing secret cannot
be, because the webhook recomputes every request's HMAC with it. So a
deployed stage keeps it encrypted under its own KMS key
(``REGISTRANT_SECRETS_KEY_ID``, created by the deployed template; decision
0006). The stored value is ``kms:v1:`` and the base64 of KMS's ciphertext,
encrypted with the registrant's id in the encryption context: a ciphertext
copied onto another registrant's record never opens, and CloudTrail names
the registrant of every Decrypt.

A stored value without the prefix is read as it is: the local and test
stages (no key) keep secrets unsealed, and a stage that stored them before
it had a key goes on working until ``scripts/admin.py
seal-registrant-secrets`` seals them.

Cost: one KMS Encrypt per secret issued or rotated, and one KMS Decrypt per
stored ciphertext this instance has not opened in the last
``OPENED_SECONDS``; any other registrant read decrypts nothing. Only the
registrant mapping (mapping.py) and the registrant writers (repository.py)
call this module: nothing above the store sees a sealed secret.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib import aws_session
from chalicelib.settings import SettingsError, settings

from .errors import StoreUnavailable

SEALED = "kms:v1:"  # a secret stored sealed starts so; a signing secret never does
PURPOSE = "registrant-signing-secret"  # in every encryption context (and the IAM condition)
# a ciphertext always opens to the same secret, so a secret kept by its
# ciphertext is never stale; the limit is how long a key disabled in KMS
# leaves an instance the secrets it opened before
OPENED_SECONDS = 900
OPENED_MAX = 4096
_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "total_max_attempts": 3},
)
# KMS cannot answer now: answered 503 with Retry-After, like a DynamoDB outage
_RETRY_LATER = {
    "ThrottlingException",
    "KMSInternalException",
    "DependencyTimeoutException",
    "KeyUnavailableException",
    "LimitExceededException",
}
_NETWORK = (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError)


class SecretKeyError(RuntimeError):
    """KMS refuses to seal or open a secret: another key, a ciphertext
    altered or moved to another registrant, the key disabled or not granted.
    The registrant cannot authenticate until an operator acts (a 500,
    logged; never a signature accepted)."""


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED)


def sealed(secret: str, registrant_id: str) -> str:
    """What to store for ``secret``: sealed under the stage's key, or as it
    is on a stage that may keep it so (local, test)."""
    config = settings()
    key = config.registrant_secrets_key
    if key is None:
        if not config.plaintext_secrets_allowed:
            raise SettingsError(
                f"the {config.stage!r} stage stores registrant secrets sealed: set "
                "REGISTRANT_SECRETS_KEY_ID to its KMS key (docs/deploy.md)"
            )
        return secret
    reply = _call("encrypt", registrant_id, KeyId=key, Plaintext=secret.encode())
    stored = SEALED + base64.b64encode(reply["CiphertextBlob"]).decode("ascii")
    _opened.keep(registrant_id, stored, secret)  # its first read needs no Decrypt
    return stored


def opened(stored: str, registrant_id: str) -> str:
    """The secret a stored value holds."""
    if not is_sealed(stored):
        return stored
    kept = _opened.get(registrant_id, stored)
    if kept is not None:
        return kept
    try:
        blob = base64.b64decode(stored.removeprefix(SEALED), validate=True)
    except binascii.Error as exc:
        raise SecretKeyError(f"registrant {registrant_id}: its sealed secret is damaged") from exc
    key = settings().registrant_secrets_key
    pinned = {"KeyId": key} if key else {}  # only the stage's key may open it
    plaintext: bytes = _call("decrypt", registrant_id, CiphertextBlob=blob, **pinned)["Plaintext"]
    secret = plaintext.decode()
    _opened.keep(registrant_id, stored, secret)
    return secret


def forget() -> None:
    """Drop the secrets opened and the KMS client (tests, settings changed)."""
    _opened.clear()
    _kms.clear()


def _call(operation: str, registrant_id: str, **params: Any) -> dict[str, Any]:
    context = {"purpose": PURPOSE, "registrant_id": registrant_id}
    try:
        reply: dict[str, Any] = getattr(_kms.client(), operation)(
            EncryptionContext=context, **params
        )
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code in _RETRY_LATER:
            raise StoreUnavailable(f"KMS {operation}: {code}") from exc
        raise SecretKeyError(f"KMS {operation} for registrant {registrant_id}: {code}") from exc
    except _NETWORK as exc:  # after botocore's retries
        raise StoreUnavailable(f"KMS {operation}: {type(exc).__name__}") from exc
    return reply


class _Opened:
    """Secrets this instance sealed or opened, by registrant and ciphertext."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._kept: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, registrant_id: str, stored: str) -> str | None:
        now = self.clock()
        with self._lock:
            found = self._kept.get((registrant_id, stored))
            if found is None:
                return None
            if now - found[0] >= OPENED_SECONDS:
                del self._kept[(registrant_id, stored)]
                return None
            return found[1]

    def keep(self, registrant_id: str, stored: str, secret: str) -> None:
        with self._lock:
            self._kept[(registrant_id, stored)] = (self.clock(), secret)
            self._kept.move_to_end((registrant_id, stored))
            while len(self._kept) > OPENED_MAX:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


class _Kms:
    """The KMS client, made on first use in the shared botocore session of
    the store's DynamoDB client (chalicelib/aws_session.py: its endpoint data
    is loaded already, ~17 ms instead of ~150 ms in a new session)."""

    def __init__(self) -> None:
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = aws_session.session().create_client(
                    "kms", region_name=settings().region, config=_CONFIG
                )
            return self._client

    def clear(self) -> None:
        with self._lock:
            self._client = None


_opened = _Opened()
_kms = _Kms()
