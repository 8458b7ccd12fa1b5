"""The edge: error codes to HTTP status codes, and the one error shape."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from chalice.app import Response

from chalicelib.errors import Failed, Problem, Retry, StoreUnavailable, unavailable
from chalicelib.observability import logger

STATUS = {
    "VALIDATION_ERROR": 400,
    "INVALID_PHONE": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "DUPLICATE_LIVE_CLAIM": 409,
    "MASKED_CLAIM_MATCH": 409,
    "RECOMMENDATION_LIMIT": 409,
    "REGISTRATION_TOO_LATE": 409,
    "TOO_CLOSE_TO_VISIT": 409,
    "BROKER_NOT_CERTIFIED": 409,
    "BROKER_ID_MISMATCH": 409,
    "IDEMPOTENCY_IN_PROGRESS": 409,
    "VISIT_NOT_RECOGNIZED": 409,
    "CLAIM_NOT_LIVE": 409,
    "DECISION_SUPERSEDED": 409,
    "NO_CONSULTANT_AVAILABLE": 409,
    "ALREADY_RECORDED": 409,
    "CUSTOMER_UNKNOWN": 409,
    "FINE_STATE_CONFLICT": 409,
    "CANNOT_DISABLE_SELF": 409,
    "NOT_PASSED_OVER": 409,
    "APPEAL_WINDOW_CLOSED": 409,
    "APPEAL_EXISTS": 409,
    "APPEAL_ALREADY_DECIDED": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "ENDPOINT_NOT_ALLOWED": 422,
    "RATE_LIMITED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
}
# every JSON answer: a browser never second-guesses the type (a name or a note
# a registrant typed is never run as HTML or script)
JSON = {"Content-Type": "application/json; charset=utf-8", "X-Content-Type-Options": "nosniff"}
# an answer that carries a secret or a token: no cache (browser, proxy) keeps it
NO_STORE = {"Cache-Control": "no-store"}


def json_response(body: str | dict[str, Any], status: int, **headers: str) -> Response:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return Response(body=text, status_code=status, headers={**JSON, **headers})


def secret_response(body: dict[str, Any], status: int) -> Response:
    """An answer that shows a secret or a token (once): never stored by a cache."""
    return json_response(body, status, **NO_STORE)


def problem_response(problem: Problem) -> Response:
    headers = {"Retry-After": str(problem.retry_after)} if problem.retry_after else {}
    return json_response(problem.document(), STATUS[problem.code], **headers)


def answer_response(
    code: str | None, body: str, *, replayed: bool, retry_after: int | None
) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    return json_response(body, 201 if code is None else STATUS[code], **headers)


# Chalice answers a few things itself ({"Code": ..., "Message": ...}):
# rewrite them into the one error shape.
_CHALICE_CODES = {
    "MethodNotAllowedError": "METHOD_NOT_ALLOWED",
    "UnsupportedMediaType": "UNSUPPORTED_MEDIA_TYPE",
    "NotFoundError": "NOT_FOUND",
    "BadRequestError": "VALIDATION_ERROR",
    "InternalServerError": "INTERNAL",
}


def normalize_chalice_error(response: Response) -> Response:
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = _CHALICE_CODES.get(str(body["Code"]), "INTERNAL")
        if code == "INTERNAL":
            logger.error("unhandled error answered by chalice", extra={"chalice": body["Code"]})
            return problem_response(Problem("INTERNAL", "Something went wrong on our side."))
        fixed = json_response(Problem(code, str(body["Message"])).document(), response.status_code)
        fixed.headers.update({k: v for k, v in response.headers.items() if k.lower() == "allow"})
        return fixed
    return response


# what a 503 of the request being served tells its caller to do (set per
# request by ``advising``; a context variable, so threads never share it)
_retry: ContextVar[Retry] = ContextVar("retry", default=Retry.SAME_KEY)


def retry_advice(method: str, keyed: bool) -> Retry:
    """A read is sent again as it is; a POST whose route keeps its
    Idempotency-Key is retried with it; any other change is told the truth."""
    if method in ("GET", "HEAD"):
        return Retry.READ
    return Retry.SAME_KEY if keyed else Retry.RESEND


@contextmanager
def advising(retry: Retry) -> Iterator[None]:
    token = _retry.set(retry)
    try:
        yield
    finally:
        _retry.reset(token)


def answers(view: Any) -> Any:
    """Turn a view's Failed/StoreUnavailable into the one error shape."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except Failed as failed:
            return problem_response(failed.problem)
        except StoreUnavailable as exc:
            logger.exception("store unavailable")
            return problem_response(unavailable(exc.ambiguous, _retry.get()))

    return wrapper
