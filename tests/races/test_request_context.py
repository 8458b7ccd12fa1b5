"""Each request's id, path and caller stay its own while others run (the
local server serves every request on a thread of one process): the audit
entry a registration writes and every log line it prints carry the id its
answer names in ``X-Request-Id``, never a neighbour's. Once, 34 of 40
concurrent audit entries carried another request's id."""

from __future__ import annotations

import http.client
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from app import app
from chalicelib.observability import logger
from chalicelib.rules.phone import customer_key
from chalicelib.services.registration.registrations import customer_subject
from chalicelib.settings import settings
from chalicelib.store import Store
from tests.adversarial.burst import served
from tests.races.test_exactly_one_winner import channels, phone
from tests.support import body, encode, signed_headers

pytestmark = pytest.mark.dynalite

REQUESTS = 40


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    handler = logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def test_concurrent_requests_keep_their_own_request_id_in_audit_and_logs(
    dynalite: Store, log_lines: io.StringIO
) -> None:
    registrants = channels(dynalite, REQUESTS)
    phones = [phone(70_000_000 + n) for n in range(REQUESTS)]
    answered: dict[int, tuple[int, str]] = {}
    with served(app) as port:
        # connected before the barrier: the server's listen backlog is 5
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in phones]
        for connection in connections:
            connection.connect()
        barrier = threading.Barrier(REQUESTS)

        def send(n: int) -> None:
            raw = encode(body(phones[n], datetime.now(UTC).replace(microsecond=0).isoformat()))
            headers = signed_headers(registrants[n], raw)
            barrier.wait()
            connections[n].request("POST", "/v1/registrations", raw, headers)
            reply = connections[n].getresponse()
            reply.read()
            answered[n] = (reply.status, reply.getheader("X-Request-Id") or "")

        threads = [threading.Thread(target=send, args=(n,)) for n in range(REQUESTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for connection in connections:
            connection.close()

    assert sorted(answered) == list(range(REQUESTS))
    assert {status for status, _ in answered.values()} == {201}
    ids = {n: request_id for n, (_, request_id) in answered.items()}
    assert len(set(ids.values())) == REQUESTS

    # the audit entry of each decision names the request that made it
    wrong_audit = []
    for n in range(REQUESTS):
        key = customer_key(phones[n], settings().phone_hmac_key)
        (entry,) = dynalite.audit_trail(customer_subject(key))
        if entry.request_id != ids[n] or entry.actor != registrants[n].registrant_id:
            wrong_audit.append((n, entry.request_id, ids[n]))
    assert wrong_audit == [], f"{len(wrong_audit)} of {REQUESTS} audit entries name another request"

    # every log line of a request carries that request's caller and path
    owner = {ids[n]: registrants[n].registrant_id for n in range(REQUESTS)}
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines() if line[:1] == "{"]
    mine = [line for line in lines if line.get("correlation_id") in owner]
    assert {line["correlation_id"] for line in mine} == set(owner), "a request logged nothing"
    wrong_lines = [
        line
        for line in mine
        if line.get("registrant_id") != owner[line["correlation_id"]]
        or line.get("path") != "/v1/registrations"
        or line.get("method") != "POST"
    ]
    assert wrong_lines == [], f"{len(wrong_lines)} log lines carry another request's keys"
    # and nothing of them is left on the log after the requests
    assert logger.get_correlation_id() is None
