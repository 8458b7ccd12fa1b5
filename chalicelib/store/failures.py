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
# sent, and perhaps applied: DynamoDB may have done the write before failing
_SENT = (ConnectionClosedError, ReadTimeoutError)
_MAYBE_APPLIED = {"InternalServerError", "ServiceUnavailable"}


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
            raise StoreUnavailable(str(exc), ambiguous=_maybe_applied(exc)) from exc
        raise


def _code(exc: BaseException) -> str | None:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code"))
    if isinstance(exc, PynamoDBException) and isinstance(exc.cause, ClientError):
        # not exc.cause_response_code: it raises AttributeError when the
        # cause is a network error (its ``response`` is None)
        return _code(exc.cause)
    return None


def _maybe_applied(exc: BaseException) -> bool:
    cause = exc.cause if isinstance(exc, PynamoDBException) else exc
    return isinstance(cause, _SENT) or _code(exc) in _MAYBE_APPLIED


def _is_network(exc: BaseException) -> bool:
    return isinstance(exc, PynamoDBException) and isinstance(exc.cause, _NETWORK)
