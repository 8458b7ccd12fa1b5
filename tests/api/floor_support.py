"""The people on the floor, each with a token, calling the API as they would."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from chalicelib.rules.staff import Role, Staff
from chalicelib.services.people import staff as staff_service
from tests.conftest import Api, payload
from tests.support import body, shanghai


class Person:
    def __init__(self, api: Api, member: Staff, token: str) -> None:
        self.api = api
        self.member = member
        self.token = token

    @property
    def id(self) -> str:
        return self.member.staff_id

    def post(self, path: str, doc: Any, *, key: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.api.client.http.post(path, headers=headers, body=json.dumps(doc).encode())

    def put(self, path: str, doc: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return self.api.client.http.put(path, headers=headers, body=json.dumps(doc).encode())

    def get(self, path: str) -> Any:
        return self.api.client.http.get(path, headers={"Authorization": f"Bearer {self.token}"})


def person(api: Api, role: Role, name: str | None = None) -> Person:
    now = datetime.now(UTC)
    member = staff_service.create_staff(api.store, name or f"{role.value}", role, now)
    return Person(api, member, staff_service.issue_token(api.store, member.staff_id, now).token)


class Floor:
    """One of each role, plus helpers for the usual steps."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.desk = person(api, Role.FRONT_DESK, "前台 小李")
        self.assistant = person(api, Role.CHANNEL_ASSISTANT, "渠道助理 小王")
        self.admin = person(api, Role.SALES_ADMIN, "销管 小赵")
        self.manager = person(api, Role.SALES_MANAGER, "销售经理 老张")
        self.site_manager = person(api, Role.SITE_MANAGER, "案场经理 老陈")

    def consultants(self, n: int) -> list[Person]:
        return [person(self.api, Role.CONSULTANT, f"顾问{i}") for i in range(n)]

    def arrive(self, **doc: Any) -> dict[str, Any]:
        r = self.desk.post("/v1/visits", {"party_size": 1, "greeted": True, **doc})
        assert r.status_code == 201, r.body
        return dict(payload(r))

    def on_duty(self, day: str, *people: Person) -> dict[str, Any]:
        r = self.manager.put(f"/v1/rosters/{day}", {"consultants": [p.id for p in people]})
        assert r.status_code == 200, r.body
        return dict(payload(r))

    def assign(self, visit_id: str, **doc: Any) -> Any:
        return self.desk.post(f"/v1/visits/{visit_id}/assignment", doc)

    def decide(self, visit_id: str, registration_id: str, **doc: Any) -> Any:
        return self.assistant.post(
            f"/v1/visits/{visit_id}/decisions", {"registration_id": registration_id, **doc}
        )


def walk_in(clock: Any, consultant: Person, day: str, phone: str = "13812345678") -> str:
    """R-REG-1: a consultant's own walk-in on a local date, theirs from the
    visit (the clock moves to 10:00 that day): its registration id."""
    clock.move_to(shanghai(f"{day} 10:00"))
    r = consultant.post(
        "/v1/consultant-registrations",
        body(phone=phone, visit_at=f"{day}T09:30:00+08:00"),
        key=f"walk-in-{phone}-{day}",
    )
    assert r.status_code == 201, r.body
    return str(payload(r)["registration_id"])
