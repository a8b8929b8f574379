"""Inbound replies: a pipeline (``pipeline``) that applies the consent keywords first, then
routes each reply (``routing``) to the conversation kind it answers (``conversations``),
each kind behind one interface (``kind.ConversationKind``)."""

from reach.services.inbound.pipeline import DEFAULT_CALLBACK_WITHIN, InboundService
from reach.services.inbound.reply import InboundResult, ReplyOutcome

__all__ = ["DEFAULT_CALLBACK_WITHIN", "InboundResult", "InboundService", "ReplyOutcome"]
