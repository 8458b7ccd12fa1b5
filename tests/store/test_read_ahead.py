"""Reads made ahead (store/ahead.py), on moto and on dynalite alike: the items
come in one BatchGetItem with the read that triggers it, each is served once,
and none after ``done_reading_ahead``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.rules.claims import Customer
from chalicelib.rules.floor import Visit
from chalicelib.rules.staff import Role, Staff
from chalicelib.store import Store
from chalicelib.store.floor import DecisionReads
from tests.support import shanghai

NOW = shanghai("2026-11-27 10:00")


@pytest.fixture(params=["moto", "dynalite"])
def store(request) -> Store:
    return request.getfixturevalue("tables" if request.param == "moto" else "dynalite")


@pytest.fixture
def calls(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []
    events = store._connection.client.meta.events

    def count(model: Any, **_: Any) -> None:
        seen.append(model.name)

    events.register("before-call.dynamodb", count, unique_id="read-ahead-test")
    yield seen
    events.unregister("before-call.dynamodb", unique_id="read-ahead-test")


def visit(customer_key: str | None) -> Visit:
    return Visit(
        visit_id="vi_1",
        group_id="vi_1",
        arrived_at=NOW,
        day=NOW.date(),
        party_size=1,
        greeted=True,
        logged_by="stf_desk",
        customer_key=customer_key,
    )


def test_each_read_ahead_comes_with_the_next_read_and_is_served_once(store, calls):
    store.put_staff(Staff("stf_1", "小王", Role.CHANNEL_ASSISTANT, True), NOW)
    store.put_token("tok_1", "stf_1", "hash", NOW)
    store.save_visit(visit("k1"), NOW)
    store.commit_customer("k1", "13812345678", Customer(), NOW)
    seen: list[Visit | None] = []

    def then(found: Visit | None) -> DecisionReads:
        seen.append(found)
        return DecisionReads("k1", ("reg_a", "rg_missing"))

    calls.clear()
    with store.reading_ahead_of_decision("vi_1", then):
        assert store.get_token("tok_1") == ("stf_1", "hash", None)
        assert calls == ["BatchGetItem"]
        assert [v.visit_id if v else None for v in seen] == ["vi_1"]
        assert store.get_staff("stf_1").name == "小王"
        assert calls == ["BatchGetItem", "BatchGetItem"]
        assert store.get_visit("vi_1").customer_key == "k1"  # served
        assert store.get_customer("k1").version == 1  # served
        assert store.registration_as_read("reg_a", "rg_missing") is None  # served: not there
        assert calls == ["BatchGetItem", "BatchGetItem"]
        assert store.get_visit("vi_1") is not None  # served once: read again
        assert calls[-1] == "GetItem"
    assert store.get_token("tok_1") is not None
    assert calls[-1] == "GetItem"


def test_nothing_is_served_after_the_reads_are_done(store, calls):
    store.put_token("tok_1", "stf_1", "hash", NOW)
    store.save_visit(visit(None), NOW)
    calls.clear()
    with store.reading_ahead_of_decision("vi_1", lambda _: DecisionReads()):
        assert store.get_token("tok_1") is not None
        store.done_reading_ahead()
        assert store.get_visit("vi_1") is not None
    assert calls == ["BatchGetItem", "GetItem"]


def test_a_missing_visit_reads_nothing_more(store, calls):
    calls.clear()
    with store.reading_ahead_of_decision("vi_none", lambda v: DecisionReads()):
        assert store.get_token("tok_none") is None
        assert store.get_staff("stf_none") is None
        assert store.get_visit("vi_none") is None
    assert calls == ["BatchGetItem", "GetItem"]
