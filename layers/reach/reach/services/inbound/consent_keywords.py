"""STOP, START, HELP and free-text revocation: applied before any conversation, for all kinds.

Opt-out words win over everything (``classify_reply`` reads them first). An opt-out is
recorded by the consent service, which skips the recipient's pending reminders with the
tenant and publishes ``OptedOut``; its confirmation is the answer. START restores consent and
the reminders the opt-out skipped that are still ahead. Both are ordered by when the reply was
received, so a late-arriving older keyword changes nothing and is not answered.

STOP also takes the person off every list of the tenant (``ConsentService.opt_out``); START
does not put them back on any (see ``reach.services.consent``). HELP names the tenant's
lists and their keywords when it has any (``reply.programs``), within the carriers' rules
and two parts.

HELP and STOP are answered whether or not the person is subscribed
(docs/facts.md#help-and-stop): HELP always gets the program's answer, and a STOP from someone
opted out already gets a confirmation again (no second ``OptedOut``). Each distinct message is
answered once (the answer's id derives from the inbound message's), within a daily limit
per tenant and phone (``reach.services.replies.KEYWORD_ANSWERS_PER_DAY``).
"""

from __future__ import annotations

from dataclasses import replace

from reach.domain.conversation_texts import ReplyKind, render_reply
from reach.domain.message import Thread
from reach.domain.replies import ReplyIntent, fold
from reach.ports.events import EventType
from reach.services.consent import ConsentService
from reach.services.inbound.reply import AnswerText, InboundReply, ReplyOutcome, Response
from reach.services.replies import AnswerRule

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
            help_text = _answer(reply, ReplyKind.HELP, AnswerRule.KEYWORD_ANSWER)
            response = Response(ReplyOutcome.HELP, answer=help_text)
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
            lists=reply.programs,
        )
        left = (EventType.LIST_LEFT,) if result.lists_left else ()
        if result.changed:
            return Response(
                ReplyOutcome.CONSENT,
                answer=_answer(reply, ReplyKind.OPTED_OUT, AnswerRule.OPT_OUT_CONFIRMATION),
                published=(EventType.OPTED_OUT, *left),
            )
        if not result.contact.opted_out:
            # Older than a later START, which stands and was answered: confirming an opt-out
            # that did not happen would tell them the opposite of their consent record.
            return Response(ReplyOutcome.CONSENT)
        # Opted out already (an earlier STOP, the API, the provider's list): confirmed again.
        return Response(
            ReplyOutcome.CONSENT,
            answer=_answer(reply, ReplyKind.OPTED_OUT, AnswerRule.KEYWORD_ANSWER),
            published=left,
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


def _answer(
    reply: InboundReply, kind: ReplyKind, rule: AnswerRule = AnswerRule.CONSENTED
) -> AnswerText:
    return AnswerText(kind, render_reply(kind, reply.context()), rule)


def _consent_source(reply: InboundReply) -> str:
    """``sms:STOP`` when the whole reply was the keyword, ``sms:text`` for a sentence."""
    matched = reply.reading.matched or ""
    if matched and " ".join(fold(reply.sms.body)) == matched:
        return f"sms:{matched.upper()}"
    return "sms:text"
