"""Configuration, read from the environment when first asked for, never at import.

Chalice puts each stage's ``environment_variables`` (``.chalice/config.json``)
into the environment; tests set them before calling ``settings()``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from chalicelib import aws_session
from chalicelib.rules.policy import Policy, policy_from_overrides


class SettingsError(RuntimeError):
    """The stage's configuration is missing a value or has a wrong one."""


# the stages that may store registrant signing secrets unsealed (no KMS key):
# the local stack, the test suite and the benchmarks, whose registrants are
# all made up; any other stage refuses to store one without its key
PLAINTEXT_STAGES = frozenset({"local", "test", "bench"})


@dataclass(frozen=True)
class Settings:
    stage: str
    table_prefix: str
    region: str
    dynamodb_endpoint: str | None
    phone_hmac_key: bytes
    policy: Policy
    # events become visible in the feed after this delay, so that a writer
    # still in flight can never slip an event behind a reader's cursor
    event_settle_seconds: int
    # per-registrant request rate for this instance (requests per second, burst)
    rate_per_second: float
    rate_burst: int
    tracing: bool
    # R-DUP-1 probing watch: a registrant with at least this many registration
    # attempts in an hour, this share of them refused as duplicates
    probe_min_attempts: int
    probe_duplicate_share: float
    # the KMS key (id, ARN or alias) that seals registrant signing secrets at
    # rest (store/sealing.py); None: kept as they are, allowed only on
    # PLAINTEXT_STAGES
    registrant_secrets_key: str | None = None
    # a pushed delivery is kept this many days after it became final
    # (delivered or dead-lettered), then DynamoDB's TTL deletes it (decision
    # 0010). 30: longer than the 8-day Spring Festival break plus the week
    # after, so a dead letter raised on its eve is still there to be seen and
    # replayed, and a channel can reconcile a month of pushes; the events
    # themselves stay in the feed (GET /v1/events) for good
    delivery_kept_days: int = 30

    def table_name(self, table: str) -> str:
        return f"{self.table_prefix}-{table}"

    @property
    def plaintext_secrets_allowed(self) -> bool:
        return self.stage in PLAINTEXT_STAGES


@cache
def settings() -> Settings:
    env = os.environ
    key = env.get("PHONE_HMAC_KEY") or _parameter(env.get("PHONE_HMAC_KEY_PARAMETER"))
    if len(key) < 16:
        raise SettingsError(
            "PHONE_HMAC_KEY (local) or PHONE_HMAC_KEY_PARAMETER (an SSM SecureString) "
            "must give a key of at least 16 characters"
        )
    try:
        overrides = json.loads(env.get("POLICY_OVERRIDES") or "{}")
    except json.JSONDecodeError as exc:
        raise SettingsError(f"POLICY_OVERRIDES is not JSON: {exc}") from exc
    stage = env.get("STAGE", "local")
    return Settings(
        stage=stage,
        table_prefix=env.get("TABLE_PREFIX", f"sales-office-{stage}"),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "cn-north-1",
        dynamodb_endpoint=env.get("DYNAMODB_ENDPOINT") or None,
        phone_hmac_key=key.encode(),
        policy=policy_from_overrides(overrides),
        event_settle_seconds=int(env.get("EVENT_SETTLE_SECONDS", "30")),
        rate_per_second=float(env.get("RATE_PER_SECOND", "20")),
        rate_burst=int(env.get("RATE_BURST", "40")),
        tracing=env.get("POWERTOOLS_TRACE_DISABLED", "true").lower() != "true",
        probe_min_attempts=int(env.get("PROBE_MIN_ATTEMPTS", "20")),
        probe_duplicate_share=float(env.get("PROBE_DUPLICATE_SHARE", "0.5")),
        registrant_secrets_key=env.get("REGISTRANT_SECRETS_KEY_ID") or None,
        delivery_kept_days=_positive(env, "DELIVERY_KEPT_DAYS", 30),
    )


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name) or str(default)
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1, not {raw!r}")
    return value


def _parameter(name: str | None) -> str:
    """A deployed stage's secret, from SSM Parameter Store (SecureString),
    read once per Lambda instance (``settings`` is cached).

    With botocore alone (docs/decisions/0008): PynamoDB has loaded it already,
    where Powertools' parameters utility would import boto3 and build a
    session of its own on the first request. The client is made in the
    thread's shared session (aws_session), which the store then reuses.
    """
    if not name:
        return ""
    from botocore.config import Config  # noqa: PLC0415 (lazily: only deployed stages read SSM)
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    config = Config(
        connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3}
    )
    try:
        ssm = aws_session.session().create_client("ssm", region, config=config)
        value = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except (BotoCoreError, ClientError) as exc:
        raise SettingsError(f"cannot read the SSM parameter {name}: {exc}") from exc
    return value if isinstance(value, str) else ""
