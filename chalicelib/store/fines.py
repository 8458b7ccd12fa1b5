"""The fines ledger's reads and writes. A fine is replaced whole on its
version; statements and the managers' queue are index queries by month."""

from __future__ import annotations

from chalicelib.rules.fines import Appeal, Fine, Kind, Status

from .failures import unavailable_on_outage
from .later_models import AppealMap, FineItem
from .mapping import position
from .versioned import save_versioned

# statuses a manager has to act on: listed in the sparse "waiting" index
WAITING = frozenset({Status.PROPOSED, Status.APPEALED})


class FineMethods:
    def save_fine(self, fine: Fine) -> Fine:
        """Store the fine if nobody changed it since it was read (a new one:
        if its id is free), else Stale."""
        item = _item(fine, (fine.version or 0) + 1)
        save_versioned(item, FineItem.fine_id, FineItem.version, fine.version, fine.fine_id)
        return _fine(item)

    def get_fine(self, fine_id: str) -> Fine | None:
        with unavailable_on_outage():
            try:
                return _fine(FineItem.get(fine_id, consistent_read=True))
            except FineItem.DoesNotExist:
                return None

    def fines_of(self, payer_id: str, month: str) -> list[Fine]:
        """A payer's fines of a local month, oldest first."""
        with unavailable_on_outage():
            return [_fine(i) for i in FineItem.by_payer.query(f"{payer_id}#{month}")]

    def waiting_fines(self, status: Status, month: str) -> list[Fine]:
        with unavailable_on_outage():
            return [_fine(i) for i in FineItem.waiting.query(f"{status.value}#{month}")]


def _item(fine: Fine, version: int) -> FineItem:
    appeal = fine.appeal
    return FineItem(
        fine_id=fine.fine_id,
        version=version,
        kind=fine.kind.value,
        payer_id=fine.payer_id,
        occurred_at=fine.occurred_at,
        amount=fine.amount,
        status=fine.status.value,
        recorded_by=fine.recorded_by,
        recorded_at=fine.recorded_at,
        visit_id=fine.visit_id,
        customer_masked=fine.customer_masked,
        note=fine.note,
        decided_by=fine.decided_by,
        decided_at=fine.decided_at,
        appeal=AppealMap(**appeal.__dict__) if appeal else None,
        payer_month=f"{fine.payer_id}#{fine.month}",
        occurred=position(fine.occurred_at, fine.fine_id),
        waiting_month=f"{fine.status.value}#{fine.month}" if fine.status in WAITING else None,
    )


def _fine(item: FineItem) -> Fine:
    a = item.appeal
    return Fine(
        fine_id=item.fine_id,
        kind=Kind(item.kind),
        payer_id=item.payer_id,
        occurred_at=item.occurred_at,
        amount=int(item.amount),
        month=item.payer_month.rpartition("#")[2],
        status=Status(item.status),
        recorded_by=item.recorded_by,
        recorded_at=item.recorded_at,
        visit_id=item.visit_id,
        customer_masked=item.customer_masked,
        note=item.note,
        decided_by=item.decided_by,
        decided_at=item.decided_at,
        appeal=Appeal(a.by, a.at, a.reason, a.decided_by, a.decided_at, a.note) if a else None,
        version=int(item.version),
    )
