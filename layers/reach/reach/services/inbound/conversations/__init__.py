"""The registered conversation kinds: the one place a new kind is added.

Each entry builds one ``ConversationKind`` from the shared ``Collaborators``. The router asks
them in this order and keeps the strongest evidence (the earlier kind wins a tie); the first
kind also answers a reply that matches no open conversation of any kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reach.services.inbound.conversations.appointment import AppointmentConversation
from reach.services.inbound.conversations.lists import ListConversation
from reach.services.inbound.conversations.survey import SurveyConversation
from reach.services.inbound.kind import Collaborators, ConversationKind

type KindFactory = Callable[[Collaborators], ConversationKind[Any]]

#: Register a new kind here (see ``ConversationKind`` for the checklist).
#: The appointment kind first: it answers replies that match nothing, and keeps a YES when an
#: open appointment and an open list invitation are equally likely. A survey's open question
#: is weighed against an appointment's by when each was asked (``Conversation.asked_at``).
CONVERSATION_KINDS: tuple[KindFactory, ...] = (
    AppointmentConversation,
    ListConversation,
    SurveyConversation,
)
