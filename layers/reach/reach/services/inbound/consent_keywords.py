"""STOP, START, HELP and free-text revocation: applied before any conversation, for all kinds.

Opt-out words win over everything (``classify_reply`` reads them first). An opt-out is
recorded by the consent service, which skips the recipient's pending reminders with the
tenant and publishes ``OptedOut``; the single confirmation is the answer. START restores
consent and the reminders the opt-out skipped that are still ahead. Both are ordered by when
the reply was received, so a late-arriving older keyword changes nothing and is not answered.
"""

from __future__ import annotations

from dataclasses import replace

from reach.domain.conversation_texts import ReplyKind, render_reply
from reach.domain.message import Thread
from reach.domain.replies import ReplyIntent, fold
from reach.ports.events import EventType
from reach.services.consent import ConsentService
from reach.services.inbound.reply import AnswerText, InboundReply, ReplyOutcome, Response

#: The intents this step owns; every other reply goes on to a conversation.
CONSENT_INTENTS = frozenset({ReplyIntent.OPT_OUT, ReplyIntent.OPT_IN, ReplyIntent.HELP})


class ConsentKeywords:
    """Applies a consent keyword (the module docstring); answers with the tenant's texts."""

    def __init__(self, consent: ConsentService) -> None:
        self._consent = consent

    @staticmethod
    def applies_to(reply: InboundReply) -> bool:
        return reply.intent in CONSENT_INTENTS

    def apply(self, reply: InboundReply, filed_under: Thread) -> Response:
        """Apply the keyword; an answered one reports the conversation it is filed under."""
        if reply.intent is ReplyIntent.OPT_OUT:
            response = self._opt_out(reply)
        elif reply.intent is ReplyIntent.OPT_IN:
            response = self._opt_in(reply)
        else:
            response = Response(ReplyOutcome.HELP, answer=_answer(reply, ReplyKind.HELP))
        if response.answer is None:
            return response
        return replace(response, subject_id=filed_under.appointment_id)

    def _opt_out(self, reply: InboundReply) -> Response:
        result = self._consent.opt_out(
            reply.tenant.tenant_id,
            reply.phone,
            _consent_source(reply),
            reply.received_at,
            cause=reply.cause,
        )
        if not result.changed:
            # Opted out already (or this STOP is older than a later START): one confirmation
            # went out with the opt-out itself; none now.
            return Response(ReplyOutcome.CONSENT)
        return Response(
            ReplyOutcome.CONSENT,
            answer=_answer(reply, ReplyKind.OPTED_OUT, confirms_opt_out=True),
            published=(EventType.OPTED_OUT,),
        )

    def _opt_in(self, reply: InboundReply) -> Response:
        result = self._consent.opt_in(
            reply.tenant.tenant_id,
            reply.phone,
            _consent_source(reply),
            reply.received_at,
            cause=reply.cause,
        )
        if result.contact.opted_out:
            # A START older than a later STOP (out of order): the STOP stands.
            return Response(ReplyOutcome.CONSENT)
        return Response(
            ReplyOutcome.CONSENT,
            answer=_answer(reply, ReplyKind.OPTED_IN),
            published=(EventType.OPTED_IN,) if result.changed else (),
        )


def _answer(reply: InboundReply, kind: ReplyKind, *, confirms_opt_out: bool = False) -> AnswerText:
    return AnswerText(kind, render_reply(kind, reply.context()), confirms_opt_out)


def _consent_source(reply: InboundReply) -> str:
    """``sms:STOP`` when the whole reply was the keyword, ``sms:text`` for a sentence."""
    matched = reply.reading.matched or ""
    if matched and " ".join(fold(reply.sms.body)) == matched:
        return f"sms:{matched.upper()}"
    return "sms:text"
