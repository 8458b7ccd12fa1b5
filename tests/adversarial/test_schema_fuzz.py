"""Schema fuzzing with schemathesis over docs/openapi.yaml, against the app
served over HTTP (Chalice's local server in this process, on the session's
moto store). Registrant requests are signed over the exact bytes sent, staff
requests carry a token of a role the route admits, so the fuzzer gets past
authentication. Checks: no server error; status codes, content types,
headers and bodies as the spec declares; data the spec forbids refused.

`make test` runs a bounded number of cases per operation; `make fuzz`
(HYPOTHESIS_PROFILE=fuzz) many more."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app import app
from chalicelib.rules.claims import Source
from chalicelib.services.people import staff as staff_service
from chalicelib.signing import signature_header
from chalicelib.store import store
from tests.adversarial.burst import served
from tests.adversarial.routes import role_for
from tests.support import make_registrant

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
EXAMPLES = {"fuzz": 300}.get(os.environ.get("HYPOTHESIS_PROFILE", ""), 12)
SIGNED = re.compile(r"^/v1/(registrations(/[^/]+)?|events)$")

# schemathesis' refusals, and 413: a body the spec forbids may be refused as
# too large before it is read (5xx is never a refusal here)
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}
)
schema = schemathesis.openapi.from_path(SPEC, config=CONFIG)
SERVED = {path: {m.lower() for m in methods} for path, methods in app.routes.items()}


class Callers(requests.auth.AuthBase):
    """Makes the credentials the fuzzer drew valid: a registrant's signature
    over the body as sent, or the bearer token of a role the route admits.
    A credential the case leaves out stays out (it tests the 401)."""

    def __init__(self) -> None:
        now = datetime.now(UTC)
        self.registrant = make_registrant(Source.CHANNEL)
        store().put_registrant(self.registrant, now)
        self.tokens: dict[str, str] = {}

    def token(self, path: str, method: str) -> str:
        role = role_for(method, path)
        if role.value not in self.tokens:
            now = datetime.now(UTC)
            member = staff_service.create_staff(store(), role.value, role, now)
            self.tokens[role.value] = staff_service.issue_token(store(), member.staff_id, now).token
        return self.tokens[role.value]

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        path = (r.path_url or "").split("?")[0]
        if SIGNED.match(path):
            raw = r.body or b""
            raw = raw.encode() if isinstance(raw, str) else raw
            if "X-Registrant-Id" in r.headers:
                r.headers["X-Registrant-Id"] = self.registrant.registrant_id
            if "X-Signature" in r.headers:
                r.headers["X-Signature"] = signature_header(
                    self.registrant.secret, int(datetime.now(UTC).timestamp()), raw
                )
        elif "Authorization" in r.headers:
            r.headers["Authorization"] = f"Bearer {self.token(path, r.method or 'GET')}"
        return r


@pytest.fixture(scope="module")
def base_url(_moto: None) -> Iterator[str]:
    with served(app) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def session(base_url: str) -> requests.Session:
    s = requests.Session()
    s.auth = Callers()
    return s


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_spec_says(case: Any, base_url: str, session: Any) -> None:
    if case.method.lower() not in SERVED.get(case.path, ()):
        return  # an undeclared method: API Gateway answers it in a stage, chalice local here
    case.call_and_validate(
        base_url=base_url,
        session=session,
        additional_checks=[not_a_server_error],
        excluded_checks=[positive_data_acceptance],
    )
