"""Which conversation a reply answers, across every registered kind.

The router asks each kind where the reply belongs and keeps the strongest evidence: the
answer to a pending "which one?" question, then the message it replies to
(``previousPublishedMessageId``, followed only when that message is the same tenant's), then
the most recent open question to that phone from that tenant. On equal evidence the kind
registered first wins, except between open questions of which one says when it was asked
(``Conversation.asked_at``, a survey's): then the one asked last wins, the others' times
looked up in their threads (``last_outbound_at``), so a reply answers the latest question.
A kind that finds several conversations equally likely says so, and asks which (see
``reach.domain.conversation``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reach.data.contacts import ContactRepository
from reach.data.messages import MessageRepository, ProviderMessageRef
from reach.domain.conversation import PendingChoice
from reach.domain.message import Thread
from reach.domain.replies import ReplyIntent
from reach.services.inbound.kind import Conversation, ConversationKind, Evidence
from reach.services.inbound.reply import InboundReply


@dataclass(frozen=True)
class Route:
    """The kind that handles a reply, the conversation it found, and where it is filed."""

    kind: ConversationKind[Any]
    conversation: Conversation[Any] | None
    thread: Thread


class ConversationRouter:
    """Picks the conversation a reply answers (see the module docstring)."""

    def __init__(
        self,
        *,
        kinds: Sequence[ConversationKind[Any]],
        contacts: ContactRepository,
        messages: MessageRepository,
    ) -> None:
        if not kinds:
            raise ValueError("at least one conversation kind is needed")
        self._kinds = tuple(kinds)
        self._contacts = contacts
        self._messages = messages

    def route(self, reply: InboundReply) -> Route:
        """The conversation ``reply`` answers. Settles the recipient's conversation state: a
        "which one?" question it answers is cleared, and a recognised reply ends the nudge."""
        tenant_id, phone = reply.tenant.tenant_id, reply.phone
        state = self._contacts.conversation_state(tenant_id, phone)
        reply.nudged = state.nudged
        pending = state.pending
        if pending is not None and not pending.is_current(reply.received_at):
            pending = None
        kind, found = self._locate(reply, pending)
        if found is not None and found.evidence is Evidence.CHOSEN and pending is not None:
            reply.reading = found.reading or reply.reading
            self._contacts.clear_choice(tenant_id, phone, pending.asked_at)
        if state.nudged and reply.intent is not ReplyIntent.UNKNOWN:
            self._contacts.recognised(tenant_id, phone)
        return Route(kind, found, self._thread(reply, found))

    def filing_thread(self, reply: InboundReply) -> Thread:
        """Where a reply that no kind handles (STOP, START, HELP) is filed: the conversation
        it answers or would be about, so the clinic reads it there; the recipient's own
        thread when there is none, or several equally likely."""
        _, found = self._locate(reply, None)
        return self._thread(reply, found)

    def _locate(
        self, reply: InboundReply, pending: PendingChoice | None
    ) -> tuple[ConversationKind[Any], Conversation[Any] | None]:
        referenced = self._referenced(reply)
        best: list[tuple[ConversationKind[Any], Conversation[Any]]] = []
        for kind in self._kinds:
            found = kind.locate(reply, referenced, pending)
            if found is None or (best and found.evidence < best[0][1].evidence):
                continue
            if best and found.evidence > best[0][1].evidence:
                best = []
            best.append((kind, found))
        if not best:
            return self._kinds[0], None
        return self._latest(reply, best)

    def _latest(
        self, reply: InboundReply, tied: list[tuple[ConversationKind[Any], Conversation[Any]]]
    ) -> tuple[ConversationKind[Any], Conversation[Any]]:
        """Of conversations with equal evidence, the one to answer (the module docstring)."""
        first = tied[0]
        if first[1].evidence is not Evidence.OPEN or all(f.asked_at is None for _, f in tied):
            return first
        never = datetime.min.replace(tzinfo=UTC)

        def asked(found: Conversation[Any]) -> datetime:
            if found.asked_at is not None:
                return found.asked_at
            if found.subject_id is None:
                return never
            thread = Thread(reply.tenant.tenant_id, found.subject_id, reply.phone)
            return self._messages.last_outbound_at(thread) or never

        # max() keeps the first of equals: the earlier registered kind.
        return max(tied, key=lambda pair: asked(pair[1]))

    def _referenced(self, reply: InboundReply) -> ProviderMessageRef | None:
        """The tenant's message the reply answers; another tenant's is never followed."""
        previous = reply.sms.previous_published_message_id
        if not previous:
            return None
        ref = self._messages.find_provider_message(previous)
        if ref is None or ref.tenant_id != reply.tenant.tenant_id:
            return None
        return ref

    @staticmethod
    def _thread(reply: InboundReply, found: Conversation[Any] | None) -> Thread:
        return Thread(reply.tenant.tenant_id, found.subject_id if found else None, reply.phone)
