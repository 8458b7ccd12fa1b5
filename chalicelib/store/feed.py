"""Events written after the fact (a confirmed visit, the sweep's notices, a
deal) at one feed position each, however often they are retried.

The registration record fixes the position: the first writer stamps it with
a conditional update, later writers read it and put the same event item. A
stamp whose event never got written (the writer died between the two) is
moved to now once it is older than the feed's settle delay, so the event
lands ahead of every cursor already handed out (decision 0002).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pynamodb.attributes import UTCDateTimeAttribute
from pynamodb.exceptions import UpdateError

from chalicelib.rules.claims import Claim
from chalicelib.rules.records import Event

from .failures import is_condition_failure, unavailable_on_outage
from .mapping import claim_to_map, event_item, event_position
from .models import EventItem, RegistrationItem

# which attribute of the registration record holds each event's position
POSITION_ATTRIBUTES: dict[str, UTCDateTimeAttribute] = {
    "registration.protected": RegistrationItem.protected_recorded_at,
    "protection.ending_soon": RegistrationItem.ending_soon_recorded_at,
    "protection.ended": RegistrationItem.ended_recorded_at,
    "registration.lapsed": RegistrationItem.lapsed_recorded_at,
    "registration.converted": RegistrationItem.converted_recorded_at,
}


class FeedMethods:
    def publish(
        self,
        claim: Claim,
        event_type: str,
        event_at: Callable[[datetime], Event],
        now: datetime,
        settle: timedelta,
    ) -> bool:
        """Copy ``claim`` onto its registration record and put its event at
        the record's fixed position. False when the record is not written
        yet (its request died): the retry that writes it copies the claim."""
        attribute = POSITION_ATTRIBUTES[event_type]
        stamped = self._stamp(claim, attribute, now, expected=None)
        if stamped is None:
            return False
        event = event_at(stamped)
        if stamped != now and now - stamped > settle and not self._has_event(event):
            # its first writer died before the event: move it ahead of the cursors
            restamped = self._stamp(claim, attribute, now, expected=stamped)
            if restamped is None:
                return False
            event = event_at(restamped)
        with unavailable_on_outage():
            event_item(event).save()
        return True

    def copy_claim(self, claim: Claim) -> bool:
        """Copy a provisional hold onto its registration record, with no event
        (a hold kept for 判客 by its agency's visit, R-REG-3), unless the record
        shows the protection already: a copy never undoes a confirmation.
        False when it was not copied."""
        item = RegistrationItem(
            registrant_id=claim.registrant_id, registration_id=claim.registration_id
        )
        try:
            with unavailable_on_outage():
                item.update(
                    actions=[RegistrationItem.claim.set(claim_to_map(claim))],
                    condition=RegistrationItem.registration_id.exists()
                    & RegistrationItem.protected_recorded_at.does_not_exist(),
                )
            return True
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
        return False

    def _stamp(
        self,
        claim: Claim,
        attribute: UTCDateTimeAttribute,
        now: datetime,
        expected: datetime | None,
    ) -> datetime | None:
        """Set the position to ``now`` if it is still ``expected`` (None: not
        set); otherwise the position stored. None when there is no record."""
        item = RegistrationItem(
            registrant_id=claim.registrant_id, registration_id=claim.registration_id
        )
        unchanged = attribute.does_not_exist() if expected is None else attribute == expected
        try:
            with unavailable_on_outage():
                item.update(
                    actions=[
                        RegistrationItem.claim.set(claim_to_map(claim)),
                        attribute.set(now),
                    ],
                    condition=RegistrationItem.registration_id.exists() & unchanged,
                )
            return now
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
        with unavailable_on_outage():
            try:
                found = RegistrationItem.get(
                    claim.registrant_id, claim.registration_id, consistent_read=True
                )
            except RegistrationItem.DoesNotExist:
                return None
        stored: datetime | None = getattr(found, attribute.attr_name)
        return stored or now

    def has_event(self, event: Event) -> bool:
        """The event is in its registrant's feed at its position."""
        return self._has_event(event)

    def _has_event(self, event: Event) -> bool:
        with unavailable_on_outage():
            try:
                EventItem.get(
                    event.registrant_id,
                    event_position(event),
                    consistent_read=True,
                )
            except EventItem.DoesNotExist:
                return False
        return True
