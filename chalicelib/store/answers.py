"""Idempotency keys: reserved by one request before it decides, then its answer.

The reservation is what makes one (caller, Idempotency-Key) one decision:
two requests with the same key never meet on the customer item when their
bodies name different phones, so they must meet here first. Both put the
key with a condition; exactly one write succeeds. The loser learns what holds
the key from the failed write itself (ReturnValuesOnConditionCheckFailure)
where the store supports it, else from one strongly consistent read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import UpdateError

from chalicelib.rules.records import IDEMPOTENCY_WINDOW, StoredAnswer

from .failures import is_condition_failure, unavailable_on_outage
from .mapping import answer_from_item, answer_item, answer_key
from .models import IdempotencyItem

# The key is free: never used, its answer 24 hours old (TTL deletes
# late, so reads compare times), or a reservation whose request died (made
# at ``stale_before`` or earlier) or gave up (released).
_FREE = (
    "attribute_not_exists(#k) OR created_at <= :expired"
    " OR (attribute_not_exists(body) AND (created_at <= :stale OR released = :yes))"
)


@dataclass(frozen=True)
class Reservation:
    """What reserving a key found: ``held`` is another request's answer
    (pending or final) and the key is not ours; else the key is ours, and
    ``taken_over`` says a request with it died or gave up before answering."""

    held: StoredAnswer | None = None
    taken_over: bool = False


class AnswerMethods:
    _client: Any

    def reserve_answer(self, pending: StoredAnswer, *, stale_before: datetime) -> Reservation:
        """Take (caller, key) for this request, or say who holds it."""
        item = answer_item(pending)
        request: dict[str, Any] = {
            "TableName": IdempotencyItem.Meta.table_name,
            "Item": item.serialize(),
            "ConditionExpression": _FREE,
            "ExpressionAttributeNames": {"#k": "key"},
            "ExpressionAttributeValues": {
                ":expired": {"S": _time(pending.created_at - IDEMPOTENCY_WINDOW)},
                ":stale": {"S": _time(stale_before)},
                ":yes": {"BOOL": True},
            },
            # on success: the reservation it replaced, if any (a take-over)
            "ReturnValues": "ALL_OLD",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        try:
            with unavailable_on_outage():
                reply = self._client.put_item(**request)
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            old = exc.response.get("Item")
            held = answer_from_item(IdempotencyItem.from_raw_data(old)) if old else None
            # dynalite ignores ReturnValuesOnConditionCheckFailure: read it
            held = held or self.get_answer(pending.registrant_id, pending.idempotency_key)
            if held is None:  # deleted in between (TTL): try once more
                return self.reserve_answer(pending, stale_before=stale_before)
            return Reservation(held=held)
        old = reply.get("Attributes")
        return Reservation(taken_over=bool(old) and "body" not in old)

    def release_answer(self, pending: StoredAnswer) -> None:
        """Give the key up after a failure before answering, so a retry takes
        it at once instead of waiting for the reservation to go stale. Only
        this request's own reservation is touched."""
        item = IdempotencyItem(key=answer_key(pending.registrant_id, pending.idempotency_key))
        try:
            with unavailable_on_outage():
                item.update(
                    actions=[IdempotencyItem.released.set(True)],
                    condition=IdempotencyItem.body.does_not_exist()
                    & (IdempotencyItem.created_at == pending.created_at),
                )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise

    def save_answer(self, answer: StoredAnswer) -> None:
        """The key's answer, in place of the reservation its request holds
        (a plain put: only that request, or one that took the key over after
        it died, gets here)."""
        with unavailable_on_outage():
            answer_item(answer).save()

    def get_answer(self, registrant_id: str, idempotency_key: str) -> StoredAnswer | None:
        with unavailable_on_outage():
            try:
                item = IdempotencyItem.get(
                    answer_key(registrant_id, idempotency_key), consistent_read=True
                )
            except IdempotencyItem.DoesNotExist:
                return None
        return answer_from_item(item)


def _time(at: datetime) -> str:
    """As the model stores times: fixed-width UTC text, so it sorts as time."""
    return str(IdempotencyItem.created_at.serialize(at))
