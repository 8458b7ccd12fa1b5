"""R-FINE-1..5: the fines ledger. A fine keeps the amount of its moment (a
later policy change never rewrites history), is proposed by the system or
recorded by a person, and is appealed at most once."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from .policy import Policy
from .refusals import Refusal


class Kind(StrEnum):
    UNGUIDED_LEAD = "R-FINE-1"  # a consultant led a customer before the front desk judged them
    GREETING_SKIPPED = "R-FINE-2"  # front-desk staff skipped or cut the greeting script
    SIGN_IN_REFUSED = "R-FINE-3"  # a consultant refused a customer's sign-in
    FORM_REFUSED = "R-FINE-4"  # a consultant refused (or failed) to fill the form
    FLYER_IMPOSTOR = "R-FINE-5"  # red-hat flyer staff posed as customers: the channel's lead pays


class Status(StrEnum):
    PROPOSED = "proposed"  # seen by the system; a manager confirms or dismisses
    DISMISSED = "dismissed"
    DUE = "due"
    APPEALED = "appealed"  # waiting for the manager's answer
    UPHELD = "upheld"  # the appeal failed: due
    CANCELLED = "cancelled"  # the appeal succeeded: stays in the ledger, owes nothing


# who pays each kind: a consultant, the front desk, or a registrant
PAYER_ROLE = {
    Kind.UNGUIDED_LEAD: "consultant",
    Kind.GREETING_SKIPPED: "front_desk",
    Kind.SIGN_IN_REFUSED: "consultant",
    Kind.FORM_REFUSED: "consultant",
    Kind.FLYER_IMPOSTOR: "registrant",
}
OWING = frozenset({Status.DUE, Status.UPHELD})


def amount(kind: Kind, policy: Policy) -> int:
    """In yuan, from the policy as it stands now."""
    return {
        Kind.UNGUIDED_LEAD: policy.fine_unguided_lead,
        Kind.GREETING_SKIPPED: policy.fine_greeting_skipped,
        Kind.SIGN_IN_REFUSED: policy.fine_sign_in_refused,
        Kind.FORM_REFUSED: policy.fine_form_refused,
        Kind.FLYER_IMPOSTOR: policy.fine_flyer_impostor,
    }[kind]


@dataclass(frozen=True)
class Appeal:
    by: str
    at: datetime
    reason: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None


@dataclass(frozen=True)
class Fine:
    fine_id: str
    kind: Kind
    payer_id: str
    occurred_at: datetime
    amount: int  # yuan, as the policy stood when it was recorded
    month: str  # the local month it belongs to (YYYY-MM), for statements
    status: Status
    recorded_by: str  # a staff id, or "system" for a proposal
    recorded_at: datetime
    visit_id: str | None = None
    customer_masked: str | None = None
    note: str | None = None
    decided_by: str | None = None  # who confirmed or dismissed a proposal
    decided_at: datetime | None = None
    appeal: Appeal | None = None
    version: int | None = None


def decided(fine: Fine, confirm: bool, by: str, at: datetime) -> Fine | Refusal:
    """A manager confirms or dismisses a proposal; nothing is fined automatically."""
    if fine.status is not Status.PROPOSED:
        return _refusal(fine, "Only a proposed fine is confirmed or dismissed.")
    status = Status.DUE if confirm else Status.DISMISSED
    return replace(fine, status=status, decided_by=by, decided_at=at)


def appealed(fine: Fine, by: str, reason: str, at: datetime) -> Fine | Refusal:
    """The payer appeals once, a fine that is due."""
    if fine.appeal is not None:
        return _refusal(fine, "A fine is appealed once.")
    if fine.status is not Status.DUE:
        return _refusal(fine, "Only a fine that is due can be appealed.")
    return replace(fine, status=Status.APPEALED, appeal=Appeal(by, at, reason))


def appeal_decided(
    fine: Fine, cancel: bool, by: str, at: datetime, note: str | None
) -> Fine | Refusal:
    if fine.status is not Status.APPEALED or fine.appeal is None:
        return _refusal(fine, "The fine has no appeal waiting.")
    appeal = replace(fine.appeal, decided_by=by, decided_at=at, note=note)
    return replace(fine, status=Status.CANCELLED if cancel else Status.UPHELD, appeal=appeal)


def _refusal(fine: Fine, message: str) -> Refusal:
    return Refusal("FINE_STATE_CONFLICT", fine.kind.value, f"{message} It is {fine.status.value}.")
