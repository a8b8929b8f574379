"""Consent changes and what follows from them, whoever makes them (a text, the API, the
provider's opt-out list): the consent record, the recipient's pending reminders with the
tenant, and the OptedOut / OptedIn event for the clinic.

Each change is also an entry in the consent history (scope ``tenant``), written in the same
transaction as the contact (``ContactRepository.opt_out(record=...)``), so no change goes
unrecorded and no entry names a change that did not happen.

An opt-out ends everything from the tenant (docs/facts.md#help-and-stop): the recipient also
leaves every list of the tenant they are on (reason ``opted_out``, each with its history
entry and a ``ListLeft``). An opt-in does not put them back on any list: START resubscribes
to the tenant's number, as the carriers define it, while each list is a program whose own
consent the opt-out revoked; rejoining one takes its keyword (HELP names them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from reach.clock import Clock
from reach.data.appointments import AppointmentRepository
from reach.data.consent_log import TENANT_SCOPE, ConsentAction, ConsentEntry
from reach.data.contacts import ConsentChange, ContactRepository
from reach.data.lists import ListRepository
from reach.domain.caps import Contact
from reach.domain.lists import MemberStatus, OptInList
from reach.ports.events import DomainEvent, EventPublisher, EventType, event_id_for
from reach.services.membership import MemberResult, Membership, member_event

if TYPE_CHECKING:
    from reach.data.survey_responses import SurveyResponses

#: Upcoming appointments of one recipient looked at when pausing or resuming reminders.
MAX_APPOINTMENTS = 100


@dataclass(frozen=True)
class ConsentResult:
    contact: Contact
    #: This call changed the record (False: it already said so, or the change was stale).
    changed: bool
    #: Reminders skipped (opt-out) or put back (opt-in).
    reminders: int = 0
    #: Lists the recipient left because of this opt-out.
    lists_left: int = 0


class ConsentService:
    def __init__(
        self,
        contacts: ContactRepository,
        appointments: AppointmentRepository,
        events: EventPublisher,
        clock: Clock,
        lists: ListRepository | None = None,
        responses: SurveyResponses | None = None,
    ) -> None:
        self._contacts = contacts
        #: Survey responses, whose phone's surveys an opt-out ends (``survey_stops``).
        self._responses = responses
        self._appointments = appointments
        self._events = events
        self._clock = clock
        self._lists = lists or ListRepository()
        self._membership = Membership(self._lists)

    def opt_out(
        self,
        tenant_id: str,
        phone: str,
        source: str,
        at: datetime,
        *,
        cause: Mapping[str, str],
        note: str | None = None,
        lists: Sequence[OptInList] | None = None,
    ) -> ConsentResult:
        """Record an opt-out and skip the recipient's pending reminders.

        ``lists`` are the tenant's lists when the caller has read them already (a reply
        reads them once); otherwise they are read here.

        ``cause`` names what caused it in the event's ids (``inbound_message_id``, the API's
        ``request_id``, a provider ``listing_id``). The event id names the consent change
        itself, so a repeat that finds the change already made (a retried message, a client
        retrying after a failed publish) completes the follow-up again without a new event.
        """
        entry = _entry(tenant_id, phone, at, ConsentAction.OPTED_OUT, source, cause, note)
        change = self._contacts.opt_out(
            tenant_id, phone, source, at, note, cause_key(cause), record=entry
        )
        result = self._follow_up(change, source, cause, EventType.OPTED_OUT, self.pause_reminders)
        if not result.contact.opted_out:
            return result  # older than a later opt-in, which stands
        left = self.leave_lists(tenant_id, phone, source, at, cause=cause, lists=lists)
        if self._responses is not None:
            from reach.services.survey_stops import stop_surveys

            stop_surveys(self._responses, tenant_id, phone, self._clock())
        return replace(result, lists_left=left)

    def leave_lists(
        self,
        tenant_id: str,
        phone: str,
        source: str,
        at: datetime,
        *,
        cause: Mapping[str, str],
        lists: Sequence[OptInList] | None = None,
    ) -> int:
        """Take the recipient off every list of the tenant they are active or pending on
        (reason ``opted_out``), publishing ``ListLeft`` for each; how many they left.

        A retry of the same cause finds them left already, at the same time, and publishes
        the same events again (consumers dedupe on their ids).
        """
        events = []
        for plist in self._lists.all(tenant_id) if lists is None else lists:
            left = self._membership.leave(
                plist, phone, reason="opted_out", source=source, cause=cause_key(cause), at=at
            )
            if left is not None and _left_by(left, at):
                events.append(member_event(EventType.LIST_LEFT, left.member, at, cause))
        if events:
            self._events.publish(events)
        return len(events)

    def opt_in(
        self,
        tenant_id: str,
        phone: str,
        source: str,
        at: datetime,
        *,
        cause: Mapping[str, str],
        note: str | None = None,
    ) -> ConsentResult:
        """Record an opt-in and put back the reminders an opt-out skipped that are ahead."""
        entry = _entry(tenant_id, phone, at, ConsentAction.OPTED_IN, source, cause, note)
        change = self._contacts.opt_in(
            tenant_id, phone, source, at, note, cause_key(cause), record=entry
        )
        return self._follow_up(change, source, cause, EventType.OPTED_IN, self.resume_reminders)

    def _follow_up(
        self,
        change: ConsentChange,
        source: str,
        cause: Mapping[str, str],
        event_type: EventType,
        reminders: Callable[[str, str], int],
    ) -> ConsentResult:
        contact = change.contact
        opted_out = event_type is EventType.OPTED_OUT
        if self._by(change, cause, opted_out=opted_out):
            moved = reminders(contact.tenant_id, contact.phone)
            self._publish(event_type, contact, cause)
            return ConsentResult(contact, True, moved)
        if _same_kind(contact, source, opted_out=opted_out):
            # A repeat of a change already made the same way (a client retrying after its
            # first call failed to publish): the event again, under the change's own id.
            self._publish(event_type, contact, cause)
        return ConsentResult(contact, False)

    def pause_reminders(self, tenant_id: str, phone: str) -> int:
        """Skip the pending reminders of every upcoming appointment of the recipient."""
        now = self._clock()
        skipped = 0
        for listed in self._appointments.for_phone(tenant_id, phone, now, MAX_APPOINTMENTS):
            appointment = self._appointments.get(tenant_id, listed.appointment_id)
            skipped += self._appointments.pause_for_opt_out(appointment, now)
        return skipped

    def resume_reminders(self, tenant_id: str, phone: str) -> int:
        """Put back the reminders an opt-out skipped that are still ahead."""
        now = self._clock()
        resumed = 0
        for listed in self._appointments.for_phone(tenant_id, phone, now, MAX_APPOINTMENTS):
            if listed.is_closed:
                continue
            appointment = self._appointments.get(tenant_id, listed.appointment_id)
            resumed += self._appointments.resume_after_opt_in(appointment, now)
        return resumed

    @staticmethod
    def _by(change: ConsentChange, cause: Mapping[str, str], *, opted_out: bool) -> bool:
        """Whether the record now says what this change said, because of this change: made
        now, or made by an earlier try of the same cause (the same inbound message retried
        after its follow-up failed). A second STOP sent at the same second is not that."""
        contact = change.contact
        return change.changed or (
            contact.opted_out is opted_out and contact.consent_cause == cause_key(cause)
        )

    def _publish(self, event_type: EventType, contact: Contact, cause: Mapping[str, str]) -> None:
        """The event of the consent change ``contact`` records. Its id names that change (the
        recipient, the time and the state), so publishing it again is deduplicated."""
        at = contact.consent_changed_at or self._clock()
        recipient = hashlib.sha256(contact.phone.encode()).hexdigest()[:16]
        self._events.publish(
            [
                DomainEvent(
                    type=event_type,
                    tenant_id=contact.tenant_id,
                    event_id=event_id_for(event_type, contact.tenant_id, recipient, at.isoformat()),
                    occurred_at=at,
                    ids=dict(cause),
                    data={"source": source_kind(contact.consent_source or "")},
                )
            ]
        )


def _entry(
    tenant_id: str,
    phone: str,
    at: datetime,
    action: ConsentAction,
    source: str,
    cause: Mapping[str, str],
    note: str | None,
) -> ConsentEntry:
    return ConsentEntry(
        tenant_id, phone, at, TENANT_SCOPE, action, source, cause=cause_key(cause), evidence=note
    )


def _left_by(result: MemberResult, at: datetime) -> bool:
    """This opt-out (or an earlier try of it) took the member off the list."""
    member = result.member
    return member.status is MemberStatus.LEFT and (result.changed or member.updated_at == at)


def cause_key(cause: Mapping[str, str]) -> str:
    """The cause of a consent change as the record keeps it: ``name=value`` pairs, sorted."""
    return ";".join(f"{name}={value}" for name, value in sorted(cause.items()))


def _same_kind(contact: Contact, source: str, *, opted_out: bool) -> bool:
    """The record says ``opted_out`` because of a change of the same kind as ``source``
    (a repeat from the API finds the API's own change)."""
    return (
        contact.opted_out is opted_out
        and contact.consent_source is not None
        and source_kind(contact.consent_source) == source_kind(source)
        and source_kind(source) == "api"
    )


def source_kind(source: str) -> str:
    """The consent source as events and the API name it: sms_keyword, sms_text, api, ..."""
    if source == "sms:text":
        return "sms_text"
    if source.startswith("sms:"):
        return "sms_keyword"
    return source
