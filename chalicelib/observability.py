"""Powertools logging, metrics and tracing, wired through Chalice middleware.

Powertools' handler decorators break Chalice views (wrong signature), so the
middleware does their work. The Tracer is built only when tracing is on:
constructing it costs ~200 ms of cold start even when disabled.

The request's keys (correlation id, path, method, registrant) are kept per
thread (Powertools' thread-safe keys, a ContextVar): `chalice local` serves
each request on its own thread, and a process-global key would stamp one
request's id on another's log lines and audit entries.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

NAMESPACE = "SalesOffice"


class _PerRequestLogger(Logger):
    """Powertools' Logger whose correlation id belongs to the running thread.

    ``set_correlation_id``/``get_correlation_id`` otherwise read and write the
    formatter's process-wide keys; the audit trail reads the id through
    ``get_correlation_id``, so it follows here without its callers changing.
    """

    def set_correlation_id(self, value: str | None) -> None:
        if value is None:
            self.thread_safe_remove_keys(["correlation_id"])
        else:
            self.thread_safe_append_keys(correlation_id=value)

    def get_correlation_id(self) -> str | None:
        value = self.thread_safe_get_current_keys().get("correlation_id")
        return str(value) if value is not None else None


logger = _PerRequestLogger(service="sales-office")
metrics = Metrics(namespace=NAMESPACE, service="sales-office")

_PHONE = re.compile(
    r"(?<![0-9])(?:\+?86[ -]?)?(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})(?![0-9])"
)


class _MaskPhones(logging.Filter):
    """Last line of defence: no full mobile number reaches a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_phones(record.msg)
        if record.args:
            record.args = tuple(mask_phones(a) if isinstance(a, str) else a for a in record.args)
        return True


def mask_phones(text: str) -> str:
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


logger.addFilter(_MaskPhones())


@cache
def tracer() -> Any:
    from aws_lambda_powertools import Tracer  # noqa: PLC0415 (lazy: see module docstring)

    # botocore only: the app's calls (PynamoDB, SSM, KMS) all go through it;
    # patching every library X-Ray knows imports ~190 modules (requests,
    # sqlite3, asyncio…) on the first traced request, ~200 ms of cold start
    return Tracer(service="sales-office", patch_modules=TRACED_MODULES)


TRACED_MODULES = ("botocore",)


def count(name: str, value: int = 1, **details: str) -> None:
    """One data point of a metric, in the request's (or the job run's) one
    EMF document, which the middleware prints when the request ends.

    Every metric has the one dimension ``service``; the details (the refusing
    rule, the claim's source, the event type) go into the document as
    properties, where CloudWatch Logs Insights reads them. One dimension set
    per detail would need a document per data point (EMF dimensions hold for
    every metric of a document): two or three per registration. The counts
    by rule that people look at are kept in the store anyway (the daily
    report, the dashboard).
    """
    if is_metrics_disabled():  # the local stage and tests: nothing to keep
        return
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for key, detail in details.items():
        _add_detail(key, detail)


def _add_detail(key: str, detail: str) -> None:
    """A property of the document; a second, different value of the same
    key (the sweep publishes several event types) makes it a list."""
    kept = metrics.metadata_set.get(key)
    if kept is None:
        metrics.add_metadata(key=key, value=detail)
    elif isinstance(kept, list):
        if detail not in kept:
            kept.append(detail)
    elif kept != detail:
        metrics.add_metadata(key=key, value=[kept, detail])


def flush_metrics() -> None:
    """Print the request's one EMF document (nothing when metrics are
    disabled), and start the next request's afresh."""
    if metrics.metric_set:
        metrics.flush_metrics()
    metrics.clear_metrics()  # flush keeps them when metrics are disabled


def http_middleware(tracing: Callable[[], bool]) -> Callable[[Any, Any], Any]:
    """Correlation id and caller on every log line; one EMF document per request."""

    def middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
        context = event.context or {}
        # API Gateway gives one; chalice local does not: make one, so every
        # log line and audit entry of a request can be found by it
        request_id = context.get("requestId") or str(uuid.uuid4())
        logger.thread_safe_clear_keys()  # nothing of an earlier request on this thread
        logger.thread_safe_append_keys(
            correlation_id=request_id,
            path=context.get("resourcePath"),
            method=event.method,
            registrant_id=event.headers.get("x-registrant-id"),
        )
        try:
            if tracing():
                with tracer().provider.in_subsegment("## http") as segment:
                    segment.put_annotation("path", context.get("resourcePath") or "")
                    response = get_response(event)
            else:
                response = get_response(event)
            response.headers["X-Request-Id"] = request_id
            return response
        finally:
            flush_metrics()
            logger.thread_safe_clear_keys()

    return middleware


def job_middleware(tracing: Callable[[], bool]) -> Callable[[Any, Any], Any]:
    """Schedules and streams: the Lambda request id as correlation id and the
    function on every log line, one trace subsegment per run when tracing."""

    def middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
        context = getattr(event, "context", None)
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(
            correlation_id=getattr(context, "aws_request_id", None) or str(uuid.uuid4()),
            function=getattr(context, "function_name", None),
        )
        try:
            if tracing():
                with tracer().provider.in_subsegment("## job"):
                    return get_response(event)
            return get_response(event)
        finally:
            flush_metrics()
            logger.thread_safe_clear_keys()

    return middleware
