"""Between the floor's PynamoDB items (visits, rosters) and its rules' records:
apart from mapping.py so that the floor's rules load with the floor's store
methods (store/floor.py), not with every route."""

from __future__ import annotations

from datetime import date

from chalicelib.rules.claims import Source
from chalicelib.rules.floor import Decision, Exemption, ExemptionKind, Form, Visit
from chalicelib.rules.rotation import Assignment, Roster, Skip

from .later_models import (
    AssignmentMap,
    DecisionMap,
    ExemptionMap,
    FormMap,
    RosterItem,
    SkipMap,
    VisitItem,
)
from .mapping import _record, _same_named, position


def visit_to_item(visit: Visit, version: int) -> VisitItem:
    return VisitItem(
        visit_id=visit.visit_id,
        version=version,
        group_id=visit.group_id,
        day=visit.day.isoformat(),
        arrival=position(visit.arrived_at, visit.visit_id),
        arrived_at=visit.arrived_at,
        party_size=visit.party_size,
        greeted=visit.greeted,
        logged_by=visit.logged_by,
        led_in_by=visit.led_in_by,
        accompanied_by=visit.accompanied_by,
        departed_at=visit.departed_at,
        customer_key=visit.customer_key,
        phone_masked=visit.phone_masked,
        customer_name=visit.customer_name,
        signed_in_at=visit.signed_in_at,
        signed_in_by=visit.signed_in_by,
        consultant_id=visit.consultant_id,
        decisions=[
            DecisionMap(**_same_named(d, exclude={"source"}), source=d.source.value)
            for d in visit.decisions
        ],
        form=FormMap(**_same_named(visit.form)) if visit.form else None,
        exemption=(
            ExemptionMap(
                **_same_named(visit.exemption, exclude={"kind"}), kind=visit.exemption.kind.value
            )
            if visit.exemption
            else None
        ),
        request_hash=visit.request_hash,
        logged_at=visit.logged_at,
    )


def visit_from_item(item: VisitItem) -> Visit:
    exemption = item.exemption
    return Visit(
        visit_id=item.visit_id,
        group_id=item.group_id,
        arrived_at=item.arrived_at,
        day=date.fromisoformat(item.day),
        party_size=int(item.party_size),
        greeted=bool(item.greeted),
        logged_by=item.logged_by,
        led_in_by=item.led_in_by,
        accompanied_by=item.accompanied_by,
        departed_at=item.departed_at,
        customer_key=item.customer_key,
        phone_masked=item.phone_masked,
        customer_name=item.customer_name,
        signed_in_at=item.signed_in_at,
        signed_in_by=item.signed_in_by,
        consultant_id=item.consultant_id,
        decisions=tuple(_record(Decision, d, source=Source(d.source)) for d in item.decisions),
        form=_record(Form, item.form) if item.form else None,
        exemption=(
            _record(Exemption, exemption, kind=ExemptionKind(exemption.kind)) if exemption else None
        ),
        request_hash=item.request_hash,
        logged_at=item.logged_at,
        version=int(item.version),
    )


def roster_to_item(roster: Roster, version: int) -> RosterItem:
    return RosterItem(
        day=roster.day.isoformat(),
        version=version,
        queue=list(roster.queue),
        assignments=[
            AssignmentMap(
                **_same_named(a, exclude={"skipped", "passed_over"}),
                skipped=[SkipMap(**_same_named(s)) for s in a.skipped],
                passed_over=list(a.passed_over),
            )
            for a in roster.assignments
        ],
        updated_by=roster.updated_by,
    )


def roster_from_item(item: RosterItem) -> Roster:
    return Roster(
        day=date.fromisoformat(item.day),
        queue=tuple(str(c) for c in item.queue),
        assignments=tuple(
            _record(
                Assignment,
                a,
                skipped=tuple(_record(Skip, s) for s in a.skipped),
                passed_over=tuple(a.passed_over),
            )
            for a in item.assignments
        ),
        updated_by=item.updated_by,
        version=int(item.version),
    )
