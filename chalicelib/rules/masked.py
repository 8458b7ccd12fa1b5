"""Masked-number registration (隐号报备, docs/decisions/0013).

A registrant may name a customer by ``138****5678`` (the first 3 and last 4
digits) and a name instead of the full number. Such a claim holds the mask,
the 10⁴ numbers that share it, until the visit makes the number known:

- it is decided like any other recommendation, against a customer with no
  history (which customer it is, nobody knows yet);
- it is refused while any claim on the mask lives: another masked claim, or
  a live claim on a customer whose number matches (R-DUP-1,
  ``MASKED_CLAIM_MATCH``), and a full-number registration is refused while a
  masked claim on its mask lives;
- until resolved it is a hold, like an unvisited distribution hold (R-REG-3):
  it lapses when its window closes, ``masked_hold_hours`` after registering
  (a distribution registration keeps R-REG-3's own window);
- resolved at the visit, when the number is known and the name's first
  character (the surname) matches, it becomes the claim it would have been,
  its protection counted from the registration (R-PROT-2), and R-PROT-1
  counted on the customer it turned out to be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .claims import Claim, Customer, Period, Source
from .localtime import add_local_days
from .phone import without_country_code
from .policy import Policy
from .refusals import Refusal, recommendation_limit
from .registration import protection_days

_MASK = re.compile(r"(1[3-9][0-9])\*{4}([0-9]{4})")


def normalize_mask(raw: str) -> str | None:
    """``138****5678``, or None when ``raw`` is not a mainland mobile's mask
    (spaces, dashes and a +86/86 prefix allowed, like a full number)."""
    compact = without_country_code(raw)
    return compact if _MASK.fullmatch(compact) else None


def surname_of(name: str) -> str:
    """What a masked claim and a visit's name must share: the first
    character (a surname: 王 of 王先生; 欧 of 欧阳明), case-folded."""
    return name.strip()[:1].casefold()


def masked_claim_match() -> Refusal:
    # Never says whether the match is a masked or a full-number claim, nor whose.
    return Refusal(
        "MASKED_CLAIM_MATCH",
        "R-DUP-1",
        "A live claim matches this number's first 3 and last 4 digits, so the "
        "registration was not accepted; ask the channel assistant to decide at the visit (判客).",
    )


@dataclass(frozen=True)
class MaskedClaim:
    """A registration by mask, as the mask's item holds it."""

    claim: Claim  # a hold: protection None, visit_window its resolution window
    surname: str
    resolved_to: str | None = None  # the customer's key, once resolved
    withdrawn: bool = False  # lost a race after it was written: never held

    def holds(self, now: datetime) -> bool:
        """Unresolved and its window still open."""
        return self.resolved_to is None and not self.withdrawn and self.claim.is_live(now)

    def holds_until(self) -> datetime:
        window = self.claim.visit_window
        assert window is not None  # every masked claim is a hold
        return window.ends_at


def masked_hold(claim: Claim, now: datetime, policy: Policy) -> Claim:
    """The claim ``decide`` gave a masked registration, as a hold until the
    visit: a distribution hold keeps its R-REG-3 window; any other claim holds
    ``masked_hold_hours`` and takes its protection only when resolved."""
    if claim.source is Source.DISTRIBUTION:
        return claim
    window = Period(now, now + timedelta(hours=policy.masked_hold_hours))
    return replace(claim, protection=None, ordinal=None, visit_window=window)


def check_masked(
    masked: MaskedClaim | None,
    customers: list[Customer],
    recent_full_at: datetime | None,
    now: datetime,
    policy: Policy,
) -> Refusal | None:
    """R-DUP-1 for a masked registration: refused while another masked claim
    holds the mask, while a customer whose number matches has a live claim,
    or while a full-number registration of a matching number may still be
    deciding (``recent_full_at`` within ``masked_in_flight_seconds``)."""
    if masked is not None and masked.holds(now):
        return masked_claim_match()
    if any(c.live_claim(now) is not None for c in customers):
        return masked_claim_match()
    in_flight = timedelta(seconds=policy.masked_in_flight_seconds)
    if recent_full_at is not None and now < recent_full_at + in_flight:
        return masked_claim_match()
    return None


def resolved_claim(
    masked: MaskedClaim, customer: Customer, name: str, now: datetime, policy: Policy
) -> Claim | Refusal | None:
    """What resolving ``masked`` to ``customer`` (known by number, its visitor
    called ``name``) adds to the customer: the claim it would have been, or
    the rule that refuses it, or None when it is not this customer's (the
    surname differs, or it no longer holds)."""
    if not masked.holds(now) or surname_of(name) != masked.surname:
        return None
    if customer.live_claim(now) is not None:
        # cannot happen while the protocol holds (the mask was held); refuse
        # rather than give a customer two live claims
        return masked_claim_match()
    claim = masked.claim
    if claim.source is Source.DISTRIBUTION:
        return claim  # confirmed at 判客 like any hold (decision 0004)
    counts = claim.source is not Source.ECOMMERCE or policy.ecommerce_counts_toward_limit
    done = customer.recommendations()
    if counts and done >= policy.max_recommendations:
        return recommendation_limit()
    ordinal = done + 1 if counts else None
    days = protection_days(claim.source, ordinal, policy)
    starts = claim.created_at
    protection = Period(starts, add_local_days(starts, days, policy.zone))
    return replace(claim, ordinal=ordinal, protection=protection, visit_window=None)
