"""Survey texts, an outbound kind: a response's first question, and the one reminder (nudge)
of a question left unanswered.

Only these two go through the send path: they start a conversation, so quiet hours hold them
(never drop them), an opted-out phone is skipped, the caps apply and the number's pace. The
later questions, re-prompts and ``thanks`` answer the person's own reply and go at once.

A first question may go while its response is still ``queued`` at the version it was written
for; a nudge while the response still waits (``asked``) at the version that asked for it. An
answer, a STOP or an expiry since then makes it stale. The start transaction checks the
response's version again, so one that lands before the provider call stops the text too.

The text is filed in the response's thread (its key's ``appointment_id`` is the thread id),
with its provider-id lookup, so a reply to it is routed to the response.

Deadlines: a question held past the survey's own expiry is worthless, so a first question is
worth sending until ``expires_after`` after it was first due, a nudge until its response
expires.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.transactions import TransactWrite

from reach.data.batch_reads import ItemKey
from reach.data.reminders import Guard
from reach.data.survey_items import (
    FIRST_ASK,
    SURVEY_ITEM,
    ResponseItem,
    SurveyAskItem,
    ask_sk,
    response_pk,
    response_sk,
)
from reach.data.survey_responses import response_of
from reach.data.surveys import SURVEY_SK, SurveyItem, survey_pk
from reach.data.tables import AppointmentsTableItem, appointment_pk
from reach.data.tenants import TenantRepository
from reach.domain.models import Tenant
from reach.domain.survey_flow import (
    ResponseState,
    SurveyResponse,
    nudge_text,
    response_of_thread,
)
from reach.domain.surveys import SurveyDefinition, render_question, survey_from_dict
from reach.domain.zones import load_zone
from reach.ports.events import DomainEvent, EventType, event_id_for
from reach.ports.send_queue import QueuedReminder
from reach.services.sending.kind import Outgoing, Stale

#: The registry name, and the item family the send path moves (a ``SurveyAskItem``).
SURVEY = SURVEY_ITEM


@dataclass(frozen=True)
class SurveyTextToSend:
    """What a survey text is rendered and guarded from, as read for this send."""

    response: SurveyResponse
    definition: SurveyDefinition
    #: ``first`` or ``nudge``.
    which: str


@dataclass(frozen=True)
class _Keys:
    response: ItemKey
    survey: ItemKey
    ask: ItemKey
    tenant: ItemKey


def _keys(queued: QueuedReminder) -> _Keys | None:
    ids = response_of_thread(queued.appointment_id)
    if ids is None:
        return None
    survey_id, response_id = ids
    tenant_id = queued.tenant_id
    return _Keys(
        response=ItemKey(
            AppointmentsTableItem, response_pk(tenant_id, survey_id), response_sk(response_id)
        ),
        survey=ItemKey(AppointmentsTableItem, survey_pk(tenant_id, survey_id), SURVEY_SK),
        ask=ItemKey(
            AppointmentsTableItem,
            appointment_pk(tenant_id, queued.appointment_id),
            ask_sk(queued.reminder_id),
        ),
        tenant=TenantRepository.profile_key(tenant_id),
    )


class SurveyKind:
    """A survey's first questions and nudges, re-checked against their response."""

    name = SURVEY

    def wants(self, queued: QueuedReminder) -> Sequence[ItemKey]:
        keys = _keys(queued)
        if keys is None:
            return [TenantRepository.profile_key(queued.tenant_id)]
        return [keys.response, keys.survey, keys.ask, keys.tenant]

    def load(
        self, queued: QueuedReminder, found: Mapping[ItemKey, Any], now: datetime
    ) -> Outgoing[SurveyTextToSend] | Stale:
        keys = _keys(queued)
        if keys is None:
            return Stale("not_a_survey_text")
        response_item, survey_item = found.get(keys.response), found.get(keys.survey)
        tenant = TenantRepository.from_found(found, keys.tenant)
        if not isinstance(response_item, ResponseItem) or not isinstance(survey_item, SurveyItem):
            return Stale("response_missing")
        if tenant is None:
            return Stale("tenant_missing")
        response = response_of(response_item)
        first = queued.reminder_id == FIRST_ASK
        expected = ResponseState.QUEUED if first else ResponseState.ASKED
        if response.state is not expected or response.version != queued.plan:
            return Stale("response_changed")
        definition = survey_from_dict(json.loads(survey_item.definition))
        deadline = _deadline(response, definition, found.get(keys.ask), first)
        if deadline is None:
            return Stale("response_changed")
        return Outgoing(
            tenant_id=response.tenant_id,
            phone=response.phone,
            zone=load_zone(response.timezone or tenant.timezone),
            deadline=deadline,
            capped=True,
            subject=SurveyTextToSend(response, definition, queued.reminder_id),
        )

    def unchanged(self, outgoing: Outgoing[SurveyTextToSend]) -> Guard:
        return StillAt(outgoing.subject.response)

    def render(
        self,
        outgoing: Outgoing[SurveyTextToSend],
        tenant: Tenant,
        templates: Mapping[tuple[str, str], str],
    ) -> str:
        # The survey's own wording; the first text carries its intro and the STOP line.
        subject = outgoing.subject
        if subject.which == FIRST_ASK:
            return render_question(subject.definition, subject.definition.first)
        return nudge_text(subject.definition, subject.response.question_id)

    def failure_event(
        self,
        outgoing: Outgoing[SurveyTextToSend],
        reason: str,
        occurred_at: datetime,
        message_id: str | None,
    ) -> DomainEvent:
        response = outgoing.subject.response
        ids = {"survey_id": response.survey_id, "response_id": response.response_id}
        if message_id:
            ids["message_id"] = message_id
        return DomainEvent(
            type=EventType.DELIVERY_FAILED,
            tenant_id=response.tenant_id,
            # One text per response version: a failure of it is one event.
            event_id=event_id_for(
                EventType.DELIVERY_FAILED,
                response.tenant_id,
                response.survey_id,
                response.response_id,
                outgoing.subject.which,
                str(response.version),
            ),
            occurred_at=occurred_at,
            ids=ids,
            data={"reason": reason, "kind": SURVEY},
        )


class StillAt:
    """A start transaction's part: the response is still at the version the text was read
    for (an answer, a STOP or an expiry since then stops the text)."""

    def __init__(self, response: SurveyResponse) -> None:
        self._response = response

    def add_to(self, transaction: TransactWrite) -> None:
        response = self._response
        transaction.condition_check(
            ResponseItem,
            response_pk(response.tenant_id, response.survey_id),
            response_sk(response.response_id),
            condition=(ResponseItem.version == response.version)
            & (ResponseItem.state == response.state.value),
        )


def _deadline(
    response: SurveyResponse, definition: SurveyDefinition, ask: object, first: bool
) -> datetime | None:
    if not first:
        return response.deadline(definition)
    # From when the first question was first due: the later of its start and its delay.
    since = response.send_after
    if isinstance(ask, SurveyAskItem):
        since = max(since, ask.created_at)
    return since + definition.expiry()
