"""Erasing a person's data for one tenant (``DELETE /contacts/{phone}``).

Erasure is a sequence of per-store erasers, each idempotent and each counting what it
erased (a second run counts nothing). A store added later joins by adding an ``Eraser``
to ``ErasureService``'s list in ``reach.wiring``.

What stays is what the consent record needs: the phone, whether it opted out, and the source
and time of that choice. An opt-out must outlive the person's other data, or the next
booking would text a number that said STOP. Appointments (times, status) are the clinic's
schedule and message records (status, parts, times, no text) its delivery and cost records:
they stay, without names or text. List memberships keep their status and consent (source,
time, evidence, wording version), and the consent history stays whole: the proof of consent
to each text sent (TCPA); the member's first name and time zone go. A campaign's recipient
items keep what was sent whom and lose the copied name; the campaign texts lose their text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reach.clock import Clock
from reach.data.appointments import AppointmentRepository
from reach.data.callbacks import CallbackRepository
from reach.data.campaigns import CampaignRepository
from reach.data.contacts import ContactRepository
from reach.data.invites import member_thread_id
from reach.data.lists import ListRepository
from reach.data.messages import MessageRepository
from reach.data.recipients import PersonsRecipients
from reach.data.survey_erasure import erase_survey_answers
from reach.data.survey_responses import SurveyResponses, parse_ref
from reach.domain.caps import Contact
from reach.domain.message import Thread
from reach.domain.survey_flow import response_thread_id
from reach.ports.events import DomainEvent, EventPublisher, EventType, event_id_for
from reach.services.recipients import Recipient, RecipientService


@dataclass(frozen=True)
class Eraser:
    """One store's part: ``erase(tenant_id, phone)`` returns how many items it erased."""

    name: str
    erase: Callable[[str, str], int]


#: What erasure keeps, and why (the API answers with it).
KEPT: tuple[tuple[str, str], ...] = (
    ("phone", "the number the consent record is about"),
    ("opted_out", "an opt-out must be honoured after erasure: no text may reach the number"),
    ("consent_source", "where consent or its withdrawal came from, as carriers require"),
    ("consent_changed_at", "when consent changed, to order later consent changes"),
    (
        "appointments",
        "the clinic's schedule (times, status), without the name or a visit's home address; "
        "cancel them to stop their reminders",
    ),
    ("message_records", "delivery and cost records (status, parts, times), without text"),
    (
        "list_memberships",
        "each list's status (so no campaign texts a member who left), and the consent it was "
        "given on: source, time, evidence, wording version; the sender must be able to prove "
        "consent to every text it sent (TCPA). The first name and time zone are erased",
    ),
    (
        "campaign_recipients",
        "each campaign's record of the text it sent the number (status, reason, times), "
        "without the name or time zone: the campaign's counts and the proof of what was sent",
    ),
    (
        "consent_history",
        "every consent change with its source, time, scope, action and evidence: the consent "
        "record itself, which a later claim about a text is answered from",
    ),
    (
        "survey_responses",
        "each survey response's disposition (sent, started, partial, completed, stopped, "
        "expired) and times, so the survey's counts and response rate stay true; its answers "
        "and the phone are erased",
    ),
    (
        "survey_lane",
        "the number's survey order (response ids only, no answers), so two surveys never "
        "text it at once",
    ),
)


@dataclass(frozen=True)
class Erasure:
    recipient: Recipient
    contact: Contact
    #: Eraser name -> items erased by this call (0 everywhere on a repeat).
    erased: dict[str, int]


class ErasureService:
    def __init__(
        self,
        recipients: RecipientService,
        erasers: Sequence[Eraser],
        events: EventPublisher,
        clock: Clock,
    ) -> None:
        self._recipients = recipients
        self.erasers = tuple(erasers)
        self._events = events
        self._clock = clock

    def erase(self, tenant_id: str, phone: str, *, request_id: str) -> Erasure:
        recipient = self._recipients.recipient(tenant_id, phone)
        erased = {e.name: e.erase(tenant_id, recipient.phone) for e in self.erasers}
        contact = self._recipients.contact(tenant_id, recipient.phone)[1]
        self._publish(tenant_id, recipient.phone, erased, request_id)
        return Erasure(recipient, contact, erased)

    def _publish(self, tenant_id: str, phone: str, erased: dict[str, int], request: str) -> None:
        """``ContactErased`` carries the request id (the clinic has it from the answer) and
        the counts, never the phone nor anything derived from it alone: a hash of a phone
        number is undone by trying every number."""
        recipient = hashlib.sha256(f"{tenant_id}\x1f{phone}".encode()).hexdigest()[:16]
        self._events.publish(
            [
                DomainEvent(
                    type=EventType.CONTACT_ERASED,
                    tenant_id=tenant_id,
                    event_id=event_id_for(EventType.CONTACT_ERASED, tenant_id, recipient, request),
                    occurred_at=self._clock(),
                    ids={"request_id": request},
                    data={f"erased_{name}": count for name, count in erased.items()},
                )
            ]
        )


def list_erasers(lists: ListRepository, messages: MessageRepository) -> list[Eraser]:
    """The person's list memberships: each list of the tenant (a handful, one Query) and the
    person's member item on it, read one at a time. ``list_memberships`` erases the first
    name and time zone; ``list_message_bodies`` the texts of the membership's own thread
    (the "Reply YES to join" invitation and the replies to it)."""

    def memberships(tenant_id: str, phone: str) -> int:
        return sum(
            lists.erase_personal(tenant_id, plist.list_id, phone) for plist in lists.all(tenant_id)
        )

    def bodies(tenant_id: str, phone: str) -> int:
        return sum(
            messages.erase_bodies(Thread(tenant_id, member_thread_id(plist.list_id, phone), phone))
            for plist in lists.all(tenant_id)
        )

    return [Eraser("list_memberships", memberships), Eraser("list_message_bodies", bodies)]


def campaign_erasers(
    campaigns: CampaignRepository,
    messages: MessageRepository,
    recipients: PersonsRecipients | None = None,
) -> list[Eraser]:
    """The person's campaign texts: the tenant's campaigns paged through (one small item
    each) and the person's recipient item in each, found by key. ``campaign_recipients``
    erases the first name and time zone each recipient copied from the member;
    ``campaign_message_bodies`` the text each one was sent, which a campaign files in its
    own thread among every recipient's (the recipient keeps the message's sort key).
    Erasing the member first (``list_memberships``) keeps a campaign still sending from
    writing the name again: its texts are rendered from the member, read at each send."""
    found = recipients or PersonsRecipients()

    def names(tenant_id: str, phone: str) -> int:
        items = found.found(tenant_id, campaigns.ids(tenant_id), phone)
        return sum(found.erase_personal(item) for item in items)

    def bodies(tenant_id: str, phone: str) -> int:
        return sum(
            messages.erase_body(Thread(tenant_id, item.campaign_id, phone), item.message_sk)
            for item in found.found(tenant_id, campaigns.ids(tenant_id), phone)
            if item.message_sk
        )

    return [Eraser("campaign_recipients", names), Eraser("campaign_message_bodies", bodies)]


def store_erasers(
    appointments: AppointmentRepository,
    messages: MessageRepository,
    contacts: ContactRepository,
    callbacks: CallbackRepository,
) -> list[Eraser]:
    """The erasers of today's stores, in order: the contact's conversation state first (so
    no pending question points at erased data), then each appointment's name and thread,
    the recipient's own thread, and callback notes."""

    def appointment_data(tenant_id: str, phone: str, *, bodies: bool) -> int:
        count = 0
        for appointment_id in appointments.ids_for_phone(tenant_id, phone):
            if bodies:
                count += messages.erase_bodies(Thread(tenant_id, appointment_id, phone))
            else:
                count += appointments.erase_names(tenant_id, appointment_id)
        return count

    return [
        Eraser("conversation_state", contacts.erase),
        Eraser("names", lambda t, p: appointment_data(t, p, bodies=False)),
        Eraser(
            "message_bodies",
            lambda t, p: (
                appointment_data(t, p, bodies=True) + messages.erase_bodies(Thread(t, None, p))
            ),
        ),
        Eraser("callback_notes", callbacks.erase_notes),
    ]


def survey_erasers(responses: SurveyResponses, messages: MessageRepository) -> list[Eraser]:
    """The person's survey responses, found through their survey lane (every response the
    phone ever had, no Scan): ``survey_answers`` erases each response's answers and phone and
    keeps its disposition; ``survey_message_bodies`` the texts of each response's thread
    (the questions and the person's replies)."""

    def bodies(tenant_id: str, phone: str) -> int:
        return sum(
            messages.erase_bodies(Thread(tenant_id, response_thread_id(*parse_ref(ref)), phone))
            for ref in responses.lane(tenant_id, phone).history
        )

    return [
        Eraser("survey_answers", lambda t, p: erase_survey_answers(responses, t, p)),
        Eraser("survey_message_bodies", bodies),
    ]
