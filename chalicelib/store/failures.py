"""Recognise the store failures a caller should retry later (503)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from pynamodb.exceptions import PynamoDBException

from .errors import StoreUnavailable

_RETRY_LATER = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
}
_NETWORK = (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError)


def is_condition_failure(exc: BaseException) -> bool:
    return _code(exc) == "ConditionalCheckFailedException"


@contextmanager
def unavailable_on_outage() -> Iterator[None]:
    """Turn throttling, 5xx and network failures (after botocore's retries)
    into StoreUnavailable; everything else passes through unchanged."""
    try:
        yield
    except (ClientError, PynamoDBException, *_NETWORK) as exc:
        if isinstance(exc, _NETWORK) or _code(exc) in _RETRY_LATER or _is_network(exc):
            raise StoreUnavailable(str(exc)) from exc
        raise


def _code(exc: BaseException) -> str | None:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code"))
    if isinstance(exc, PynamoDBException):
        return exc.cause_response_code
    return None


def _is_network(exc: BaseException) -> bool:
    return isinstance(exc, PynamoDBException) and isinstance(exc.cause, _NETWORK)
