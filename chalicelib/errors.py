"""Errors as values: a code, the rule that decided (if one did), a message.

Nothing here knows HTTP; the edge (``chalicelib/http.py``) maps codes to
status codes and renders the one error shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from chalicelib.rules.refusals import Refusal


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    rule: str | None = None
    fields: tuple[FieldError, ...] = ()
    retry_after: int | None = None  # seconds, for 429/409-in-progress/503

    def document(self) -> dict[str, Any]:
        """The one error shape of API.md."""
        error: dict[str, Any] = {"code": self.code, "rule": self.rule, "message": self.message}
        if self.fields:
            error["fields"] = [{"field": f.field, "message": f.message} for f in self.fields]
        return {"error": error}


class StoreUnavailable(RuntimeError):
    """The store could not be reached or stayed throttled after retries.
    ``ambiguous``: the request may have reached DynamoDB and been applied (a
    lost reply, a timeout, a 500), so the caller must not be told nothing
    was written."""

    def __init__(self, message: str, *, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


class Failed(Exception):
    """Raised to stop a use case early; carries the Problem to answer."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


def from_refusal(refusal: Refusal) -> Problem:
    fields = (FieldError(refusal.field, refusal.message),) if refusal.field else ()
    return Problem(refusal.code, refusal.message, refusal.rule, fields)


def validation_error(*fields: FieldError) -> Problem:
    return Problem("VALIDATION_ERROR", "The request is not valid; see error.fields.", None, fields)


def unauthenticated() -> Problem:
    # One message for every cause: a caller probing ids or secrets learns nothing.
    return Problem("UNAUTHENTICATED", "Missing or invalid credentials.")


def not_found(what: str) -> Problem:
    return Problem("NOT_FOUND", f"No such {what}.")


# a write whose outcome is unknown has settled by then; as long as a request
# with the same key counts as in progress (services/registration/registrations.py)
UNCERTAIN_RETRY_SECONDS = 30


class Retry(Enum):
    """What the caller of a request the store failed may safely do next."""

    READ = "read"  # a read: it changed nothing, so it can simply be sent again
    SAME_KEY = "same_key"  # a POST whose Idempotency-Key the route keeps
    RESEND = "resend"  # a change without a key: no stored answer to receive


def unavailable(ambiguous: bool = False, retry: Retry = Retry.SAME_KEY) -> Problem:
    """The 503, saying what is true for this kind of request: only a keyed
    POST can be told to retry with its Idempotency-Key."""
    if retry is Retry.READ:
        return Problem(
            "UNAVAILABLE",
            "The store is unavailable; a read changes nothing. "
            "Send the same request again after Retry-After.",
            retry_after=5,
        )
    if retry is Retry.RESEND:
        if ambiguous:
            return Problem(
                "UNAVAILABLE",
                "The store did not confirm the change; it may have been made. "
                "Read the current state after Retry-After before sending it again.",
                retry_after=UNCERTAIN_RETRY_SECONDS,
            )
        return Problem(
            "UNAVAILABLE",
            "The store is unavailable; nothing was written. "
            "Send the same request again after Retry-After.",
            retry_after=5,
        )
    if ambiguous:
        return Problem(
            "UNAVAILABLE",
            "The store did not confirm the change; it may have been made. Retry with the same "
            "Idempotency-Key after Retry-After: it receives the outcome, never a second one.",
            retry_after=UNCERTAIN_RETRY_SECONDS,
        )
    return Problem(
        "UNAVAILABLE",
        "The store is unavailable; nothing was written. Retry with the same Idempotency-Key.",
        retry_after=5,
    )
