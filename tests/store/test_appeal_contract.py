"""The appeals store (decision 0012) against moto and dynalite alike: an
appeal is created once (R-APPEAL-3), replaced on its version, and read back
by the site manager's queue (by state) and by the 判客 lookup (by customer)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.rules.appeals import Appeal, AppealState
from chalicelib.store import Stale, Store
from tests.support import shanghai

AT = shanghai("2027-01-27 10:00")


def appeal(n: int, key: str = "key-1") -> Appeal:
    return Appeal(
        appeal_id=f"ap_{n}",
        decision_id=f"dc_{n}",
        visit_id="vi_1",
        customer_key=key,
        phone_masked="138****5678",
        decided_at=AT,
        holder_id="reg_b",
        holder_registration_id="rg_b",
        claimant_id="reg_a",
        claimant_registration_id="rg_a",
        filed_by="reg_a",
        filed_at=AT + timedelta(minutes=n),
        reason="我司带访",
        idempotency_key="k",
        request_hash="h",
    )


@pytest.fixture(params=["moto", pytest.param("dynalite", marks=pytest.mark.dynalite)])
def store(request) -> Store:
    return request.getfixturevalue("tables" if request.param == "moto" else "dynalite")


def test_an_appeal_is_created_once_and_read_back_whole(store):
    stored = store.save_appeal(appeal(1))
    assert stored == replace(appeal(1), version=1)
    with pytest.raises(Stale):
        store.save_appeal(replace(appeal(1), reason="再来一次"))
    assert store.get_appeal("ap_1") == stored
    assert store.get_appeal("ap_none") is None


def test_an_appeal_is_replaced_only_on_the_version_read(store):
    stored = store.save_appeal(appeal(1))
    answered = replace(stored, state=AppealState.UPHELD, answered_by="stf", answered_at=AT)
    assert store.save_appeal(answered).version == 2
    with pytest.raises(Stale):
        store.save_appeal(replace(stored, state=AppealState.REVERSING))


def test_the_queue_and_the_customer_read_their_appeals_oldest_first(store):
    store.save_appeal(appeal(2))
    store.save_appeal(appeal(1))
    store.save_appeal(appeal(3, key="key-2"))
    done = store.save_appeal(appeal(4))
    store.save_appeal(replace(done, state=AppealState.UPHELD))
    pending = [a.appeal_id for a in store.appeals_in_state(AppealState.PENDING)]
    assert pending == ["ap_1", "ap_2", "ap_3"]
    assert [a.appeal_id for a in store.appeals_in_state(AppealState.UPHELD)] == ["ap_4"]
    assert [a.appeal_id for a in store.appeals_of_customer("key-1")] == ["ap_1", "ap_2", "ap_4"]
