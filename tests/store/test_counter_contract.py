"""The counters the dashboard reads, against moto and dynalite alike: a range
of dated names read with one Query, a snapshot written twice the same."""

from __future__ import annotations

import pytest

from chalicelib.store import Store


@pytest.fixture(params=["moto", pytest.param("dynalite", marks=pytest.mark.dynalite)])
def store(request) -> Store:
    return request.getfixturevalue("tables" if request.param == "moto" else "dynalite")


def test_a_range_of_dated_names_is_read_and_nothing_outside_it(store):
    store.add_count("floor", "2026-11-26#arrivals", 4)
    store.add_count("floor", "2026-11-27#arrivals")
    store.add_count("floor", "2026-11-27#people", 3)
    store.add_count("floor", "2026-11-28#arrivals", 2)
    store.add_count("other", "2026-11-27#arrivals", 9)
    assert store.counts_between("floor", "2026-11-27", "2026-11-27#~") == {
        "2026-11-27#arrivals": 1,
        "2026-11-27#people": 3,
    }
    assert store.counts_between("floor", "2026-11-27", "2026-11-28#~") == {
        "2026-11-27#arrivals": 1,
        "2026-11-27#people": 3,
        "2026-11-28#arrivals": 2,
    }
    assert store.counts_between("floor", "2026-12-01", "2026-12-31") == {}


def test_a_snapshot_written_twice_holds_the_numbers_once(store):
    snapshot = {"2026-11-27#arrivals": 5, "2026-11-27#decided#channel": 0}
    store.set_counts("floor", snapshot)
    store.set_counts("floor", snapshot)
    assert store.counts("floor") == snapshot
    store.set_counts("floor", {"2026-11-27#arrivals": 6})
    assert store.counts("floor")["2026-11-27#arrivals"] == 6


def test_counts_go_down_as_well_as_up(store):
    store.add_count("fines", "2026-11#proposed")
    store.add_count("fines", "2026-11#proposed", -1)
    store.add_count("fines", "2026-11#due")
    assert store.counts("fines") == {"2026-11#proposed": 0, "2026-11#due": 1}


def test_a_token_is_counted_once_however_often_it_is_sent(store):
    assert store.add_count_once("ending", "2027-01-26", "rg_1") is True
    assert store.add_count_once("ending", "2027-01-26", "rg_1") is False
    assert store.add_count_once("ending", "2027-01-26", "rg_2") is True
    assert store.add_count_once("fines", "2026-11#due#yuan", "fn_1@2", 100) is True
    assert store.add_count_once("fines", "2026-11#due#yuan", "fn_1@2", 100) is False
    store.add_count("ending", "2027-01-26")  # a plain add still adds
    assert store.counts("ending") == {"2027-01-26": 3}
    assert store.counts_between("fines", "2026-11", "2026-11#~") == {"2026-11#due#yuan": 100}
