"""Every response docs/openapi.yaml declares is produced by a case of the
conformance tests, and every case's answer is declared."""

from __future__ import annotations

from tests.api.test_console import CONSOLE_CASES
from tests.api.test_openapi import CASES, declared_responses, spec  # noqa: F401 (the fixture)
from tests.api.test_openapi_appeals import APPEAL_CASES
from tests.api.test_openapi_dashboard import DASHBOARD_CASES
from tests.api.test_openapi_deliveries import DELIVERY_CASES
from tests.api.test_openapi_fines import FINE_CASES
from tests.api.test_openapi_floor import FLOOR_CASES
from tests.api.test_openapi_masked import MASKED_CASES
from tests.api.test_openapi_party_a import PARTY_A_CASES
from tests.api.test_openapi_query import QUERY_CASES


def test_every_documented_response_is_exercised(spec):  # noqa: F811
    documented = {(m, p, s) for m, p, s, _ in declared_responses(spec)}
    exercised = {
        (c.method, c.path, c.status)
        for c in (
            *CASES,
            *FLOOR_CASES,
            *FINE_CASES,
            *QUERY_CASES,
            *CONSOLE_CASES,
            *PARTY_A_CASES,
            *DASHBOARD_CASES,
            *DELIVERY_CASES,
            *APPEAL_CASES,
            *MASKED_CASES,
        )
    }
    assert documented - exercised == set(), "documented, never produced by a test"
    assert exercised - documented == set(), "produced, not documented"
