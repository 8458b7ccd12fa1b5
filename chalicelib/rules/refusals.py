"""A refusal is a value: the code the caller sees and the rule that decided."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    code: str
    rule: str | None
    message: str
    field: str | None = None  # set when the refusal is about one request field


def duplicate_live_claim() -> Refusal:
    # Never names or dates the holder: that would tell a registrant who else
    # brought the customer and when the protection ends.
    return Refusal(
        "DUPLICATE_LIVE_CLAIM",
        "R-DUP-1",
        "The customer already has a live claim; the registration was not accepted.",
    )


def recommendation_limit() -> Refusal:
    return Refusal(
        "RECOMMENDATION_LIMIT",
        "R-PROT-1",
        "The customer has already been recommended the maximum number of times.",
    )
