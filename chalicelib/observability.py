"""Powertools logging, metrics and tracing, wired through Chalice middleware.

Powertools' handler decorators break Chalice views (wrong signature), so the
middleware does their work. The Tracer is built only when tracing is on:
constructing it costs ~200 ms of cold start even when disabled.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

NAMESPACE = "SalesOffice"
logger = Logger(service="sales-office")
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

    return Tracer(service="sales-office")


def count(name: str, value: int = 1, **dimensions: str) -> None:
    """One metric data point, with its own dimensions (e.g. the refusing rule).

    ``single_metric`` prints even when metrics are disabled, so check first.
    """
    if is_metrics_disabled():
        return
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE) as m:
        for key, dimension in dimensions.items():
            m.add_dimension(name=key, value=dimension)


def http_middleware(tracing: Callable[[], bool]) -> Callable[[Any, Any], Any]:
    """Correlation id and caller on every log line; metrics flushed per request."""

    def middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
        context = event.context or {}
        # API Gateway gives one; chalice local does not: make one, so every
        # log line and audit entry of a request can be found by it
        request_id = context.get("requestId") or str(uuid.uuid4())
        logger.set_correlation_id(request_id)
        logger.append_keys(
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
            if metrics.metric_set:
                metrics.flush_metrics()
                metrics.clear_metrics()  # flush keeps them when metrics are disabled
            logger.remove_keys(["path", "method", "registrant_id"])

    return middleware


def job_middleware(tracing: Callable[[], bool]) -> Callable[[Any, Any], Any]:
    """Schedules and streams: the Lambda request id as correlation id and the
    function on every log line, one trace subsegment per run when tracing."""

    def middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
        context = getattr(event, "context", None)
        logger.set_correlation_id(getattr(context, "aws_request_id", None) or str(uuid.uuid4()))
        logger.append_keys(function=getattr(context, "function_name", None))
        try:
            if tracing():
                with tracer().provider.in_subsegment("## job"):
                    return get_response(event)
            return get_response(event)
        finally:
            logger.remove_keys(["function"])

    return middleware
