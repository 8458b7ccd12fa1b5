"""The idempotency table's stream: TTL deletions are clean-up, any other
deletion of a stored answer is someone's doing and is audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.api.jobs import idempotency_stream
from chalicelib.services.reclaim import stream

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def record(event_name: str, identity: dict[str, str] | None = None) -> dict[str, Any]:
    """A stream record as Lambda delivers it (AWS's documented shape)."""
    doc: dict[str, Any] = {
        "eventID": "1",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "cn-north-1",
        "eventSourceARN": "arn:aws-cn:dynamodb:cn-north-1:1:table/idempotency/stream/x",
        "dynamodb": {
            "ApproximateCreationDateTime": 1796176800,
            "Keys": {"key": {"S": "reg_a|key-1"}},
            "OldImage": {"key": {"S": "reg_a|key-1"}},
            "SequenceNumber": "100",
            "SizeBytes": 50,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    if identity is not None:
        doc["userIdentity"] = identity
    return doc


TTL = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def test_a_ttl_deletion_is_recognised_and_audits_nothing(tables):
    assert stream.is_ttl_deletion(record("REMOVE", TTL))
    counts = stream.handle(tables, [record("REMOVE", TTL)], NOW)
    assert counts == {"expired": 1}
    assert tables.audit_trail("idempotency") == []


def test_a_deletion_by_a_person_is_audited(tables):
    """Without TTL's service identity the deletion was someone's."""
    someone = {"type": "IAMUser", "principalId": "AIDAEXAMPLE"}
    assert not stream.is_ttl_deletion(record("REMOVE", someone))
    assert not stream.is_ttl_deletion(record("REMOVE", {"type": "Service", "principalId": "x"}))
    counts = stream.handle(tables, [record("REMOVE", someone), record("REMOVE")], NOW)
    assert counts == {"deleted_by_hand": 2}
    trail = tables.audit_trail("idempotency")
    assert [e.action for e in trail] == ["idempotency.deleted", "idempotency.deleted"]
    assert "reg_a|key-1" in (trail[0].detail or "")


def test_inserts_and_updates_are_ignored(tables):
    counts = stream.handle(tables, [record("INSERT"), record("MODIFY")], NOW)
    assert counts == {"ignored": 2}


def test_the_lambda_handler_takes_the_event_lambda_sends(tables, clock):
    """Through Chalice's handler, with the event wrapper Lambda passes."""
    event = {"Records": [record("REMOVE", TTL), record("REMOVE")]}
    assert idempotency_stream(event, None) == {"expired": 1, "deleted_by_hand": 1}


# moto's DynamoDB Streams (moto 5, region cn-north-1) answers DescribeStream with
# "Not yet implemented", so no real stream record is read here; the records
# above follow AWS's documented shape, TTL's userIdentity included.
