"""Logs and metrics: a request id and registrant on each line, never a full phone."""

import io
import json
import secrets
import types
from datetime import UTC, datetime

import pytest

from chalicelib import observability
from chalicelib.observability import logger, mask_phones
from chalicelib.rules.claims import Source
from chalicelib.services.container import registrations
from chalicelib.services.registration.registrations import WebhookRequest
from tests.support import body, encode, signed_headers

VISIT = "2026-11-27T09:30:00+08:00"


@pytest.fixture
def logs():
    """What the Powertools logger writes (its handler keeps the stdout of import time)."""
    handler = logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_no_full_phone_number_reaches_logs_or_metrics(api, capsys, logs, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    a, b = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    api.register(a, body("+86 138-1234-5678", VISIT))
    api.register(b, body("138 1234 5678", VISIT))
    api.register(b, body("1381234567", VISIT))  # invalid phone
    out = capsys.readouterr()
    text = out.out + out.err + logs.getvalue()
    assert "13812345678" not in text
    assert "1234-5678" not in text and "1234 5678" not in text
    assert "138****5678" in text


def test_decisions_are_logged_with_registrant(api, logs):
    a, b = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    api.register(a, body(visit_at=VISIT))
    api.register(b, body(visit_at=VISIT))
    records = lines(logs.getvalue())
    refused = next(r for r in records if r.get("message") == "registration refused")
    assert refused["registrant_id"] == b.registrant_id
    assert (refused["rule"], refused["code"]) == ("R-DUP-1", "DUPLICATE_LIVE_CLAIM")


@pytest.fixture(autouse=True)
def no_metrics_kept():
    """Nothing another test left in the process-wide metric set."""
    observability.metrics.clear_metrics()
    yield
    observability.metrics.clear_metrics()


def emf_documents(capsys):
    return [r for r in lines(capsys.readouterr().out) if "_aws" in r]


def metric_names(document):
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    return {m["Name"] for m in directive["Metrics"]}


def test_each_request_prints_one_metrics_document_with_its_rule(api, capsys, monkeypatch):
    """Called through the service, then flushed as the middleware does at the
    end of a request: the test client would patch in the local stage's
    POWERTOOLS_METRICS_DISABLED=true."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    a, b = api.registrant(Source.CHANNEL), api.registrant(Source.CHANNEL)
    documents = []
    for who in (a, b):
        service_request(who, encode(body(visit_at=VISIT)))
        observability.flush_metrics()
        documents.append(emf_documents(capsys))
    (accepted,), (refused,) = documents
    assert metric_names(accepted) == {"RegistrationAccepted", "EventPublished"}
    assert (accepted["source"], accepted["type"]) == ("channel", "registration.protected")
    assert metric_names(refused) == {"RegistrationRefused"}
    assert (refused["rule"], refused["code"]) == ("R-DUP-1", "DUPLICATE_LIVE_CLAIM")
    # one dimension, the service: the details are properties, not dimensions
    for document in (accepted, refused):
        assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]


def test_a_detail_given_twice_with_two_values_keeps_both(capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    observability.count("EventPublished", type="registration.expiring")
    observability.count("EventPublished", type="registration.expired")
    observability.count("EventPublished", type="registration.expired")
    observability.flush_metrics()
    (document,) = emf_documents(capsys)
    assert document["EventPublished"] == [1.0, 1.0, 1.0]
    assert document["type"] == ["registration.expiring", "registration.expired"]


def test_no_metric_is_printed_when_metrics_are_disabled(api, capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    service_request(api.registrant(Source.CHANNEL), encode(body(visit_at=VISIT)))
    observability.flush_metrics()
    assert "_aws" not in capsys.readouterr().out
    # and nothing is carried into the next request's document
    assert not observability.metrics.metric_set


def service_request(who, raw):
    request = WebhookRequest(
        who.registrant_id,
        signed_headers(who, raw)["X-Signature"],
        secrets.token_hex(4),
        "application/json",
        raw,
    )
    return registrations().register(request, datetime.now(UTC).replace(microsecond=0))


def test_a_phone_written_into_a_log_message_is_masked(logs):
    logger.info("caller said 138-1234-5678 and +8613912345678")
    text = logs.getvalue()
    assert "138****5678" in text and "139****5678" in text
    assert "1234-5678" not in text and "13912345678" not in text


def test_masking_leaves_other_numbers_alone():
    assert mask_phones("order 20261127000001") == "order 20261127000001"
    assert mask_phones("13812345678") == "138****5678"


def test_a_job_run_logs_with_its_request_id_and_function(api, clock, logs, monkeypatch):
    """Schedules go through middleware too (Powertools decorators would break
    Chalice handlers): each line of a run carries its Lambda request id, not
    a made-up one."""
    from chalicelib import observability

    monkeypatch.setattr(observability, "uuid", types.SimpleNamespace(uuid4=lambda: "made-up"))
    a = api.registrant(Source.CHANNEL)
    api.register(a, body(visit_at=VISIT))
    event = api.client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    clock.move_to(datetime(2027, 1, 27, tzinfo=UTC))
    api.client.lambda_.invoke("expiry_sweep", event)
    finished = next(r for r in lines(logs.getvalue()) if r.get("message") == "sweep finished")
    assert finished["correlation_id"] not in (None, "", "made-up")
    assert finished["function"] == "expiry_sweep"


def test_with_tracing_on_each_request_is_a_subsegment_and_still_answers(api, monkeypatch):
    """Deployed stages trace (X-Ray); the Tracer is built only then."""
    from chalicelib.observability import tracer
    from chalicelib.services import container
    from chalicelib.settings import settings

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    container.reset()
    assert settings().tracing
    opened: list[str] = []
    provider = tracer().provider
    original = provider.in_subsegment

    def in_subsegment(name: str, **kwargs: object) -> object:
        opened.append(name)
        return original(name, **kwargs)

    monkeypatch.setattr(provider, "in_subsegment", in_subsegment)
    r = api.client.http.get("/v1/staff/me")
    assert r.status_code == 401
    assert opened == ["## http"]
