"""The items of survey responses, in the appointments table (``reach.data.survey_responses``
reads and writes them; ``reach.data.reminders`` moves the outbound ones):

  ``<tenant>#survey#<sid> / response#<rid>``        one person's response (``ResponseItem``):
                        paged with the survey by a key-bound Query for the results; while it
                        has a timer (a nudge, its expiry, a send to settle) it sits in the
                        sparse ``lookup`` index under ``survey-timers``, by when
  ``<tenant>#survey#<sid>#<rid> / ask#first``       its first question, an outbound item
  ``<tenant>#survey#<sid>#<rid> / ask#nudge``       the one reminder of a waiting question
                        (``SurveyAskItem``): the dispatcher claims them from the ``due``
                        index and the sender holds them to quiet hours, like an invitation.
                        ``<tenant>#survey#<sid>#<rid>`` is also the response's thread: its
                        texts both ways are filed there, so a reply to any of them is
                        routed to it by the provider-id lookup
  ``<tenant>#respondent#<e164> / survey-lane``      one phone's surveys with the tenant
                        (``LaneItem``): the one it is answering, the ones waiting behind it
                        in order, the last one finished (a late reply finds it), and every
                        response it ever had (erasure finds them without a Scan)

Why a lane: one survey at a time per phone and tenant. A response is written ``waiting``
unless the lane is free; finishing one (completed, stopped, expired, unsent) frees the lane
and starts the next waiting one in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.expressions.update import Action

from reach.data.tables import AppointmentsTableItem, LookupIndex, OutboundLifecycle
from reach.domain.message import MessageStatus

#: ``ReminderKey.item`` of a survey's outbound texts (first question, nudge).
SURVEY_ITEM = "survey"
#: ``ReminderKey.reminder_id`` of a response's first question, and of its nudge.
FIRST_ASK = "first"
NUDGE_ASK = "nudge"
#: The ``lookup`` index key under which responses wait for the timer sweep.
TIMERS_KEY = "survey-timers"
LANE_SK = "survey-lane"


class ResponseItem(AppointmentsTableItem, discriminator="survey_response"):
    """One person's response (``appointment_id`` holds the survey id)."""

    survey_id = UnicodeAttribute()
    response_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    state = UnicodeAttribute()
    origin = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    send_after = UTCDateTimeAttribute()
    question_id = UnicodeAttribute()
    reprompted = BooleanAttribute(default=False)
    #: JSON: question id -> {"value", "at", "truncated"}, in the order answered.
    answers = UnicodeAttribute(default="{}")
    asked_at = UTCDateTimeAttribute(null=True)
    nudged = BooleanAttribute(default=False)
    closed_told = BooleanAttribute(default=False)
    finished_at = UTCDateTimeAttribute(null=True)
    unsent_reason = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)
    #: Written by the send path with its first question's outcome (never versioned, so it
    #: never collides with a reply's conditional write): when it went, or why it did not.
    first_sent_at = UTCDateTimeAttribute(null=True)
    first_outcome = UnicodeAttribute(null=True)
    #: The last reply that changed the response (``SurveyResponse.last_reply_*``).
    last_reply_id = UnicodeAttribute(null=True)
    last_reply_at = UTCDateTimeAttribute(null=True)
    last_reply_text = UnicodeAttribute(null=True)
    last_reply_callback = UnicodeAttribute(null=True)
    #: The respondent's zone, copied at the start (None: the tenant's).
    timezone = UnicodeAttribute(null=True)
    #: Expires with the tenant's retention, like the texts (None: kept).
    expires_at = NumberAttribute(null=True)
    lookup_key = UnicodeAttribute(null=True)
    lookup_at = UTCDateTimeAttribute(null=True)

    lookup = LookupIndex()


class SurveyAskItem(OutboundLifecycle, AppointmentsTableItem, discriminator="survey_ask"):
    """A survey text the dispatcher sends: a response's first question or its nudge
    (``appointment_id`` holds the response's thread id)."""

    survey_id = UnicodeAttribute()
    response_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    question_id = UnicodeAttribute()
    #: The response's version when this text was written: any change since makes it stale.
    response_version = NumberAttribute()
    created_at = UTCDateTimeAttribute()


class LaneItem(AppointmentsTableItem, discriminator="survey_lane"):
    """One phone's surveys with one tenant (``appointment_id`` holds ``respondent#<e164>``)."""

    phone = UnicodeAttribute()
    #: ``<survey id>#<response id>`` being answered; absent: the lane is free.
    active = UnicodeAttribute(null=True)
    waiting = cast("ListAttribute[str]", ListAttribute(of=UnicodeAttribute, default=list))
    last = UnicodeAttribute(null=True)
    history = cast("ListAttribute[str]", ListAttribute(of=UnicodeAttribute, default=list))
    version = NumberAttribute(default=0)


def response_pk(tenant_id: str, survey_id: str) -> str:
    return f"{tenant_id}#survey#{survey_id}"


def response_sk(response_id: str) -> str:
    return f"response#{response_id}"


def ask_sk(which: str) -> str:
    return f"ask#{which}"


def lane_pk(tenant_id: str, phone: str) -> str:
    return f"{tenant_id}#respondent#{phone}"


def outcome_touch(
    tenant_id: str,
    thread_id: str,
    which: str,
    status: MessageStatus,
    reason: str | None,
    now: datetime,
) -> tuple[ResponseItem, list[Action]] | None:
    """What a survey text's final outcome writes on its response, in the same transaction:
    for the first question, when it went or why not, and a timer for the sweep at once (it
    moves the response on). Unconditional, so it never refuses the outcome it rides with.
    None for a nudge: its outcome changes nothing on the response."""
    if which != FIRST_ASK:
        return None
    # "survey#<sid>#<rid>" (survey_flow.response_thread_id, not imported: this module loads
    # with every dispatcher and sender, and the survey domain is theirs only with surveys).
    _, survey_id, response_id = thread_id.split("#", 2)
    item = ResponseItem(pk=response_pk(tenant_id, survey_id), sk=response_sk(response_id))
    actions: list[Action] = [
        # The discriminator again: an update on a response erased meanwhile writes a whole,
        # readable (empty) item rather than one the survey's pages can't read.
        ResponseItem.item_type.set(ResponseItem),
        ResponseItem.first_outcome.set(reason or status.value),
        ResponseItem.lookup_key.set(TIMERS_KEY),
        ResponseItem.lookup_at.set(now),
    ]
    if status is MessageStatus.SENT:
        actions.append(ResponseItem.first_sent_at.set(now))
    return item, actions
