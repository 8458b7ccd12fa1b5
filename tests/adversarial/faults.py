"""Faults at the DynamoDB boundary, through botocore's own event hooks on the
store's client: an outage from the n-th call on (every attempt of every
later call answered with throttling or a 5xx, so botocore's bounded retries
run and give up), or one reply lost after its write committed."""

from __future__ import annotations

import json
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

THROTTLE = (400, "ProvisionedThroughputExceededException")
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


class Crash(BaseException):
    """The process dies (a Lambda timeout, an out-of-memory kill): nothing
    in the code may catch it, so it is not an Exception."""


SERVER_ERROR = (500, "InternalServerError")


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


class Faults:
    def __init__(self, client: Any) -> None:
        self._events = client.meta.events
        self.calls: list[str] = []  # every API call, in order
        self.attempts = 0  # HTTP attempts answered with a fault
        self._outage: tuple[int, tuple[int, str]] | None = None
        self._lost: int | None = None
        self._crash_after: int | None = None
        self.writes = 0
        self._events.register("before-call.dynamodb", self._count, unique_id="faults-count")
        self._events.register("before-send.dynamodb", self._send, unique_id="faults-send")
        self._events.register("after-call.dynamodb", self._after, unique_id="faults-after")

    def outage_from(self, call: int, fault: tuple[int, str]) -> None:
        """Every attempt of the ``call``-th call (1-based, from now) and after fails."""
        self._outage = (len(self.calls) + call, fault)

    def lose_reply_of(self, call: int) -> None:
        """The ``call``-th call (from now) reaches DynamoDB; its reply never comes back."""
        self._lost = len(self.calls) + call

    def crash_after_write(self, write: int) -> None:
        """The process dies right after the ``write``-th write (from now) committed."""
        self._crash_after = self.writes + write

    def clear(self) -> None:
        self._outage = None
        self._lost = None
        self._crash_after = None

    def remove(self) -> None:
        self._events.unregister("before-call.dynamodb", unique_id="faults-count")
        self._events.unregister("before-send.dynamodb", unique_id="faults-send")
        self._events.unregister("after-call.dynamodb", unique_id="faults-after")

    def _count(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def _send(self, request: Any, **_: Any) -> AWSResponse | None:
        if self._outage is None or len(self.calls) < self._outage[0]:
            return None
        status, code = self._outage[1]
        self.attempts += 1
        # every before-send handler runs: moto's (the store) would still do
        # the write. A URL it does not serve makes it pass, as DynamoDB would
        # if the request never reached it.
        request.url = "https://fault.invalid/"
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "x"})
        headers = {"x-amzn-RequestId": "fault", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, status, headers, _Body(body.encode()))

    def _after(self, model: Any, **_: Any) -> None:
        if model.name in WRITES:
            self.writes += 1
            if self.writes == self._crash_after:
                self._crash_after = None
                raise Crash(f"died after write {self.writes} ({model.name})")
        if self._lost is not None and len(self.calls) == self._lost:
            self._lost = None
            raise ReadTimeoutError(endpoint_url="https://dynamodb (reply lost)")
