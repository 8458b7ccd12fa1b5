"""The environment the in-process benchmarks run the app in: the shape of
tests/conftest.py's, set before anything imports the app (``apply``)."""

from __future__ import annotations

import os

ENV = {
    "AWS_DEFAULT_REGION": "cn-north-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "STAGE": "bench",
    "TABLE_PREFIX": "sales-office-bench",
    "PHONE_HMAC_KEY": "bench-phone-hmac-key-0123456789",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",  # keep INFO log lines out of the report
    "RATE_PER_SECOND": "100000",
    "RATE_BURST": "100000",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as every stage sets it (.chalice/config.json)
}
# set on a developer's machine, they would send the app elsewhere
UNSET = ("DYNAMODB_ENDPOINT", "AWS_REGION", "AWS_SESSION_TOKEN", "AWS_PROFILE")


def apply() -> None:
    os.environ.update(ENV)
    for name in UNSET:
        os.environ.pop(name, None)
