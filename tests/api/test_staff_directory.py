"""The staff directory the managers' pickers read (GET /v1/staff/directory):
people by name and role, so nobody types a ``stf_…`` id, and never a token."""

from __future__ import annotations

import pytest

from chalicelib.rules.staff import Role
from tests.api.floor_support import person
from tests.conftest import payload

DIRECTORY = "/v1/staff/directory"


@pytest.fixture
def office(api):
    """A sales manager, two consultants (one disabled) and a front desk."""
    people = {
        "manager": person(api, Role.SALES_MANAGER, "销售经理 王"),
        "zhang": person(api, Role.CONSULTANT, "置业顾问 张"),
        "li": person(api, Role.CONSULTANT, "置业顾问 李"),
        "desk": person(api, Role.FRONT_DESK, "前台 刘"),
    }
    admin = person(api, Role.PARTY_A_ADMIN, "甲方 周")
    r = admin.post(f"/v1/staff/{people['li'].id}/enabled", {"enabled": False})
    assert r.status_code == 200, r.body
    return people


def test_a_manager_reads_the_consultants_by_name_enabled_first(api, office):
    r = office["manager"].get(f"{DIRECTORY}?role=consultant")
    assert r.status_code == 200, r.body
    assert payload(r)["staff"] == [
        {"id": office["zhang"].id, "name": "置业顾问 张", "role": "consultant", "enabled": True},
        {"id": office["li"].id, "name": "置业顾问 李", "role": "consultant", "enabled": False},
    ]


def test_without_a_role_everyone_is_listed_and_no_token_is_in_the_answer(api, office):
    r = office["manager"].get(DIRECTORY)
    staff = payload(r)["staff"]
    assert {s["name"] for s in staff} >= {"销售经理 王", "置业顾问 张", "前台 刘"}
    assert all(set(s) == {"id", "name", "role", "enabled"} for s in staff)
    assert b"tok_" not in r.body


@pytest.mark.parametrize(
    "role", [Role.SITE_MANAGER, Role.PARTY_A_ADMIN, Role.CHANNEL_ASSISTANT, Role.SALES_ADMIN]
)
def test_the_other_managers_and_reviewers_read_it(api, office, role):
    assert person(api, role).get(f"{DIRECTORY}?role=front_desk").status_code == 200


@pytest.mark.parametrize("role", [Role.CONSULTANT, Role.FRONT_DESK])
def test_the_floor_may_not_read_it(api, office, role):
    r = person(api, role).get(DIRECTORY)
    assert r.status_code == 403
    assert payload(r)["error"]["code"] == "FORBIDDEN"


def test_a_role_that_is_not_one_is_refused_naming_the_field(api, office):
    r = office["manager"].get(f"{DIRECTORY}?role=owner")
    assert r.status_code == 400
    error = payload(r)["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert [f["field"] for f in error["fields"]] == ["role"]
