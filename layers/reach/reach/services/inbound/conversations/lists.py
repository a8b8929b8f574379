"""Opt-in lists by text: joining by keyword ("ALERTS", "join alerts", "Alerts!"), leaving
one list ("STOP ALERTS", "leave alerts"), and YES to a double opt-in invitation.

**Where a keyword is read.** In two places, each for a reason:

- The pipeline re-reads every reply against the tenant's list keywords before anything else
  (``read_list_command``), because "STOP ALERTS" holds a carrier opt-out word and would
  otherwise reach the consent keywords as an opt-out of everything. The re-reading gives it
  the intent ``LEAVE_LIST`` only when the opt-out word *is* the lead-in of the keyword; "STOP"
  alone, "stop texting me", "STOP" with a word that is no list's keyword, and a longer
  opt-out phrase that ends in a keyword keep opting out of the tenant. A keyword never turns
  an opt-out into a join: STOP wins over anything before it.
- Everything else is this conversation kind, registered in ``CONVERSATION_KINDS`` like the
  others, so its texts are filed, answered and published the way every conversation's are.
  A text that names a list (``JOIN_LIST``, ``LEAVE_LIST``) carries ``Evidence.NAMED``, the
  strongest there is, so an exact keyword wins over an open appointment even when it answers
  a reminder; a YES goes to the latest open invitation to that phone (``OPEN``, or
  ``REFERENCED`` when it answers the invitation itself), and with no invitation open it is
  the appointment's, as before. On equal evidence the appointment kind, registered first,
  keeps a YES.

**Join.** Texting a keyword is consent: source ``keyword``, the inbound message as evidence,
and the wording agreed to is hashed by ``Membership`` (``terms_version``). Someone opted out
of the tenant is re-subscribed to it first (``ConsentService.opt_in``); an opt-out received
after the keyword stands, and the keyword is then neither applied nor answered. The answer is
the list's confirmation (``confirmation_text``: the program, the frequency, "Msg & data rates
may apply", HELP and STOP), two parts at most.

**Leave.** "STOP <keyword>" leaves that list only (``left_reason`` ``stop_keyword``) and says
so, with how to end everything; the answer is owed like a STOP's confirmation.

**Replays.** Each change is recognised as this message's own (the member's consent names the
message; a leave is stamped with its received time), so a replay changes nothing, publishes
the same events (same ids) and the answer, whose id derives from the message, goes once.

A conversation is filed in the member's own thread (``member_thread_id``): the invitation,
the keyword, YES and the answers read as one conversation about that membership.
"""

from __future__ import annotations

from dataclasses import dataclass

from reach.data.invites import member_thread_id
from reach.data.messages import ProviderMessageRef
from reach.domain.conversation import PendingChoice
from reach.domain.conversation_texts import ListAnswer
from reach.domain.lists import (
    ConsentSource,
    ListCommand,
    Member,
    MemberConsent,
    MemberStatus,
    OptInList,
    confirmation_text,
    keyword_command,
    left_text,
)
from reach.domain.replies import ClassifiedReply, ReplyIntent, fold
from reach.ports.events import DomainEvent, EventType
from reach.services.consent import cause_key
from reach.services.inbound.kind import Collaborators, Conversation, Evidence
from reach.services.inbound.reply import (
    AnswerText,
    InboundReply,
    ReplyOutcome,
    Response,
)
from reach.services.membership import Joiner, Membership, recipient_ref
from reach.services.replies import AnswerRule

#: ``Member.left_reason`` of "STOP <keyword>".
STOP_KEYWORD = "stop_keyword"


def read_list_command(
    reading: ClassifiedReply, body: str, programs: tuple[OptInList, ...]
) -> ClassifiedReply:
    """``reading`` (the appointment vocabulary's) re-read with the tenant's list keywords:
    ``JOIN_LIST`` or ``LEAVE_LIST`` with the keyword as ``matched``, or as it was."""
    found = keyword_command(body, frozenset(plist.keyword for plist in programs))
    if found is None:
        return reading
    command, keyword = found
    if command is ListCommand.LEAVE:
        lead = " ".join(fold(body)[:-1])
        if reading.intent is ReplyIntent.OPT_OUT and reading.matched != lead:
            return reading  # an opt-out phrase longer than the lead-in ends everything
        return ClassifiedReply(ReplyIntent.LEAVE_LIST, matched=keyword)
    if reading.intent is ReplyIntent.OPT_OUT:
        return reading
    return ClassifiedReply(ReplyIntent.JOIN_LIST, matched=keyword)


@dataclass(frozen=True)
class ListTopic:
    """The list a reply is about, and its member as found (an invitation's)."""

    plist: OptInList
    member: Member | None = None


type Found = Conversation[ListTopic]

_NAMING = frozenset({ReplyIntent.JOIN_LIST, ReplyIntent.LEAVE_LIST})


class ListConversation:
    """The list conversation kind (module docstring): a ``ConversationKind``."""

    def __init__(self, collaborators: Collaborators) -> None:
        self._lists = collaborators.lists
        self._membership = Membership(collaborators.lists)
        self._contacts = collaborators.contacts
        self._consent = collaborators.consent

    # --- locate -------------------------------------------------------------------------

    def locate(
        self,
        reply: InboundReply,
        referenced: ProviderMessageRef | None,
        pending: PendingChoice | None,
    ) -> Found | None:
        if reply.intent in _NAMING:
            plist = _by_keyword(reply.programs, reply.reading.matched)
            if plist is None:
                return None
            return Conversation(
                Evidence.NAMED, ListTopic(plist), member_thread_id(plist.list_id, reply.phone)
            )
        if reply.intent is ReplyIntent.CONFIRM:
            return self._invitation(reply, referenced)
        return None

    def _invitation(
        self, reply: InboundReply, referenced: ProviderMessageRef | None
    ) -> Found | None:
        """The latest invitation to this phone still open when the reply came (or the one
        this very message answered on an earlier try)."""
        open_ones: list[tuple[OptInList, Member]] = []
        for plist in reply.programs:
            member = self._lists.member(plist.tenant_id, plist.list_id, reply.phone)
            if member is not None and (
                member.status_at(reply.received_at) is MemberStatus.PENDING
                or _joined_by(member, reply)
            ):
                open_ones.append((plist, member))
        if not open_ones:
            return None
        by_reference = {member_thread_id(p.list_id, reply.phone): (p, m) for p, m in open_ones}
        if referenced is not None and referenced.appointment_id in by_reference:
            plist, member = by_reference[referenced.appointment_id]
            evidence = Evidence.REFERENCED
        else:
            plist, member = max(open_ones, key=lambda found: found[1].updated_at)
            evidence = Evidence.OPEN
        thread = member_thread_id(plist.list_id, reply.phone)
        return Conversation(evidence, ListTopic(plist, member), thread)

    # --- handle -------------------------------------------------------------------------

    def handle(self, reply: InboundReply, conversation: Found | None) -> Response:
        if conversation is None or conversation.subject is None:
            return Response(ReplyOutcome.UNKNOWN)  # never the first kind: not reached
        plist = conversation.subject.plist
        if reply.intent is ReplyIntent.LEAVE_LIST:
            return self._leave(reply, plist)
        if reply.intent is ReplyIntent.JOIN_LIST:
            return self._join(reply, plist)
        return self._confirm(reply, plist)

    def _join(self, reply: InboundReply, plist: OptInList) -> Response:
        tenant_id, phone, at = reply.tenant.tenant_id, reply.phone, reply.received_at
        contact = self._contacts.get(tenant_id, phone)
        published: tuple[EventType, ...] = ()
        if contact.opted_out or contact.consent_cause == cause_key(reply.cause):
            # Texting in is consent: back with the tenant first (or again, on a retry).
            result = self._consent.opt_in(
                tenant_id, phone, f"sms:{plist.keyword}", at, cause=reply.cause
            )
            if result.contact.opted_out:
                return Response(ReplyOutcome.CONSENT)  # a later STOP stands
            published = (EventType.OPTED_IN,) if result.changed else ()
        consent = MemberConsent(
            ConsentSource.KEYWORD, at, evidence=reply.inbound_id, message_id=reply.inbound_id
        )
        joined = self._membership.join(
            plist, Joiner(phone, consent, cause_key(reply.cause)), reply.tenant.name, at
        )
        events: tuple[DomainEvent, ...] = ()
        if _joined_by(joined.member, reply):
            events = (_list_event(reply, EventType.LIST_JOINED, plist, {"source": "keyword"}),)
        answer = AnswerText(ListAnswer.JOINED, confirmation_text(reply.tenant.name, plist))
        return Response(ReplyOutcome.LIST_JOINED, plist.list_id, answer, events, published)

    def _confirm(self, reply: InboundReply, plist: OptInList) -> Response:
        confirmed = self._membership.confirm(
            plist, reply.phone, cause_key(reply.cause), reply.tenant.name, reply.received_at
        )
        member = (
            confirmed.member
            if confirmed is not None
            else self._lists.member(plist.tenant_id, plist.list_id, reply.phone)
        )
        if member is None or not _joined_by(member, reply):
            # Lost to a change since it was located (expired, removed): nothing confirmed.
            return Response(ReplyOutcome.LIST_JOINED, plist.list_id)
        joined = _list_event(reply, EventType.LIST_JOINED, plist, {"source": "confirmation"})
        answer = AnswerText(ListAnswer.JOINED, confirmation_text(reply.tenant.name, plist))
        return Response(ReplyOutcome.LIST_JOINED, plist.list_id, answer, (joined,))

    def _leave(self, reply: InboundReply, plist: OptInList) -> Response:
        at = reply.received_at
        result = self._membership.leave(
            plist,
            reply.phone,
            reason=STOP_KEYWORD,
            source=f"sms:{' '.join(fold(reply.sms.body)).upper()}",
            cause=cause_key(reply.cause),
            at=at,
        )
        made = (
            result is not None
            and result.member.status is MemberStatus.LEFT
            and (result.changed or result.member.updated_at == at)
        )
        events = (
            (_list_event(reply, EventType.LIST_LEFT, plist, {"reason": STOP_KEYWORD}),)
            if made
            else ()
        )
        # Owed like a STOP's confirmation when it left the list; a repeat is a keyword answer.
        rule = AnswerRule.OPT_OUT_CONFIRMATION if made else AnswerRule.KEYWORD_ANSWER
        answer = AnswerText(ListAnswer.LEFT, left_text(reply.tenant.name, plist), rule)
        return Response(ReplyOutcome.LIST_LEFT, plist.list_id, answer, events)


def _by_keyword(programs: tuple[OptInList, ...], keyword: str | None) -> OptInList | None:
    return next((plist for plist in programs if plist.keyword == keyword), None)


def _joined_by(member: Member, reply: InboundReply) -> bool:
    """This very message made ``member`` active (a keyword, or a YES)."""
    consent = member.consent
    return (
        member.status is MemberStatus.ACTIVE
        and consent is not None
        and consent.message_id in (reply.inbound_id, cause_key(reply.cause))
    )


def _list_event(
    reply: InboundReply,
    event_type: EventType,
    plist: OptInList,
    data: dict[str, str | int | bool | None],
) -> DomainEvent:
    return reply.event(
        event_type, {"list_id": plist.list_id, "recipient": recipient_ref(reply.phone)}, data
    )


__all__ = ["ListConversation", "ListTopic", "member_thread_id", "read_list_command"]
