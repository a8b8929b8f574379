"""Sending a survey: to a list's active members, to one appointment's phone, or after each
completed visit of the kinds its trigger names.

Every way ends in ``SurveyResponses.start``: one response per person, its first question
handed to the send path (quiet hours, consent, caps, pacing) when the phone's survey lane is
free, else waiting behind the survey it is answering. Response ids are deterministic, so a
repeated call, a retried completion or a fan-out page read twice adds nobody twice:

- an appointment (a send naming it, or the trigger): ``r_`` + sha256(appointment id), once
  per survey and appointment whichever way it came;
- a list member: ``r_`` + sha256(send id + phone), once per send.

A list may hold 10,000 members and more, so the API call only files the send; the
dispatcher's fan-out step (``SurveyFanOut``) pages the active members from a cursor stored on
the send, ``FANOUT_BUDGET`` members a tick.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from reach.clock import Clock
from reach.data.appointments import AppointmentRepository
from reach.data.lists import ListRepository
from reach.data.survey_responses import SurveyResponses
from reach.data.survey_sends import DONE, SurveySend, SurveySends
from reach.data.surveys import SurveyRepository
from reach.domain.durations import fixed_duration
from reach.domain.errors import Conflict, InvalidInput, NotFound
from reach.domain.lists import MEMBER_SEGMENTS, MemberStatus
from reach.domain.models import Appointment, AppointmentStatus
from reach.domain.survey_flow import ResponseState, SurveyResponse
from reach.domain.surveys import Survey

_log = logging.getLogger("reach-surveys")

#: Members one tick starts responses for, across all sends (each start: a few small writes).
FANOUT_BUDGET = 300
#: Members read in one page of a list.
MEMBER_PAGE = 100
#: Sends looked at in one tick.
SENDS_PER_TICK = 10
#: Appointments a survey may be sent for: the visit took place or may still.
_SENDABLE = frozenset(
    {
        AppointmentStatus.SCHEDULED,
        AppointmentStatus.CONFIRMED,
        AppointmentStatus.RESCHEDULE_REQUESTED,
        AppointmentStatus.COMPLETED,
    }
)


def appointment_response_id(appointment_id: str) -> str:
    return "r_" + hashlib.sha256(appointment_id.encode()).hexdigest()[:24]


def member_response_id(send_id: str, phone: str) -> str:
    return "r_" + hashlib.sha256(f"{send_id}{phone}".encode()).hexdigest()[:24]


def new_response(
    survey: Survey,
    response_id: str,
    phone: str,
    origin: str,
    now: datetime,
    *,
    send_after: datetime | None = None,
    timezone: str | None = None,
) -> SurveyResponse:
    return SurveyResponse(
        tenant_id=survey.tenant_id,
        survey_id=survey.survey_id,
        response_id=response_id,
        phone=phone,
        # ``start`` decides: queued when the lane is free, else waiting.
        state=ResponseState.QUEUED,
        origin=origin,
        created_at=now,
        send_after=send_after or now,
        question_id=survey.definition.first.id,
        timezone=timezone,
    )


class SurveySendService:
    """The API's sends: file one, read one."""

    def __init__(
        self,
        surveys: SurveyRepository,
        sends: SurveySends,
        responses: SurveyResponses,
        lists: ListRepository,
        appointments: AppointmentRepository,
        clock: Clock,
        *,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._surveys = surveys
        self._sends = sends
        self._responses = responses
        self._lists = lists
        self._appointments = appointments
        self._clock = clock
        self._new_id = new_id

    def send(
        self, tenant_id: str, survey_id: str, list_id: str | None, appointment_id: str | None
    ) -> SurveySend:
        """File a send to ``list_id``'s active members (started by the dispatcher) or to
        ``appointment_id``'s phone (started now). InvalidInput unless exactly one is given;
        NotFound for an unknown survey, list or appointment; Conflict for an appointment that
        was cancelled or missed."""
        if (list_id is None) == (appointment_id is None):
            raise InvalidInput("list_id", "give exactly one of list_id or appointment_id")
        survey = self._surveys.get(tenant_id, survey_id)
        now = self._clock()
        send_id = f"snd_{self._new_id()}"
        if list_id is not None:
            try:
                self._lists.get(tenant_id, list_id)
            except NotFound:
                raise NotFound(f"list_id: you have no list {list_id!r}") from None
            send = SurveySend(tenant_id, survey_id, send_id, now, list_id=list_id)
            return self._sends.create(send)
        assert appointment_id is not None
        try:
            appointment = self._appointments.get(tenant_id, appointment_id)
        except NotFound:
            raise NotFound(f"appointment_id: you have no appointment {appointment_id!r}") from None
        if appointment.status not in _SENDABLE:
            raise Conflict(
                f"the appointment is {appointment.status.value}: there is no visit to ask about",
                field="appointment_id",
            )
        start_for_appointment(self._responses, survey, appointment, now, now)
        done = SurveySend(
            tenant_id,
            survey_id,
            send_id,
            now,
            status=DONE,
            appointment_id=appointment_id,
            finished_at=now,
            responses=1,
        )
        return self._sends.create(done)

    def get(self, tenant_id: str, survey_id: str, send_id: str) -> SurveySend:
        self._surveys.get(tenant_id, survey_id)
        return self._sends.get(tenant_id, survey_id, send_id)


def start_for_appointment(
    responses: SurveyResponses,
    survey: Survey,
    appointment: Appointment,
    send_after: datetime,
    now: datetime,
) -> bool:
    """Start the survey for the appointment's phone, once per appointment; whether this call
    created the response."""
    response = new_response(
        survey,
        appointment_response_id(appointment.appointment_id),
        appointment.phone,
        f"appointment:{appointment.appointment_id}",
        now,
        send_after=send_after,
        timezone=appointment.timezone,
    )
    return responses.start(response, now).created


class SurveyTriggers:
    """Starts every survey whose trigger follows a completed visit of its kind."""

    def __init__(self, surveys: SurveyRepository, responses: SurveyResponses, clock: Clock) -> None:
        self._surveys = surveys
        self._responses = responses
        self._clock = clock

    def completed(self, appointment: Appointment) -> int:
        """Called after each completion, repeated ones too (a client retrying after a
        failure): each matching survey's response is created once. How many were created."""
        if appointment.status is not AppointmentStatus.COMPLETED:
            return 0
        created = 0
        # Called right after the completion is written: its time is now (the first call's
        # now counts, since each survey starts once per appointment).
        completed_at = self._clock()
        for survey in self._triggered(appointment):
            trigger = survey.definition.trigger
            assert trigger is not None
            send_after = completed_at + fixed_duration(trigger.delay, field="trigger.delay")
            if start_for_appointment(
                self._responses, survey, appointment, send_after, self._clock()
            ):
                created += 1
        return created

    def _triggered(self, appointment: Appointment) -> Iterator[Survey]:
        for survey in self._surveys.each(appointment.tenant_id):
            trigger = survey.definition.trigger
            if (
                trigger is not None
                and trigger.on == "appointment_completed"
                and appointment.kind.value in trigger.kinds
            ):
                yield survey


@dataclass
class FanOutReport:
    """What the fan-out step of one tick did."""

    sends: int = 0
    members: int = 0
    created: int = 0
    finished: int = 0
    lost_races: int = 0


class SurveyFanOut:
    """The dispatcher's step that starts list sends' responses, a bounded page at a time."""

    def __init__(
        self,
        surveys: SurveyRepository,
        sends: SurveySends,
        responses: SurveyResponses,
        lists: ListRepository,
        *,
        budget: int = FANOUT_BUDGET,
    ) -> None:
        self._surveys = surveys
        self._sends = sends
        self._responses = responses
        self._lists = lists
        self._budget = budget

    def step(self, now: datetime) -> FanOutReport:
        report = FanOutReport()
        left = self._budget
        for send in self._sends.starting(SENDS_PER_TICK):
            if left <= 0:
                break
            report.sends += 1
            survey = self._surveys.get(send.tenant_id, send.survey_id)
            left -= self._feed(survey, send, left, now, report)
        return report

    def _feed(
        self, survey: Survey, send: SurveySend, budget: int, now: datetime, report: FanOutReport
    ) -> int:
        """Start responses for up to ``budget`` members of the send's list; how many were read."""
        read = 0
        current = send
        while read < budget and not current.done:
            moved, members = self._page(
                survey, current, min(MEMBER_PAGE, budget - read), now, report
            )
            # An empty page still costs one: a list of empty segments is gone through in
            # bounded ticks too.
            read += max(1, members)
            if moved is None:
                report.lost_races += 1
                break
            current = moved
        return read

    def _page(
        self, survey: Survey, send: SurveySend, limit: int, now: datetime, report: FanOutReport
    ) -> tuple[SurveySend | None, int]:
        """One page of members started and the cursor moved past it, and how many members
        it held; None if another dispatcher moved the cursor first (it read the same page:
        nobody is added twice)."""
        assert send.list_id is not None
        page = self._lists.members(
            send.tenant_id,
            send.list_id,
            MemberStatus.ACTIVE,
            send.segment,
            start=send.cursor,
            limit=limit,
        )
        for member in page.members:
            response = new_response(
                survey,
                member_response_id(send.send_id, member.phone),
                member.phone,
                f"list:{send.list_id}",
                now,
                timezone=member.timezone,
            )
            if self._responses.start(response, now).created:
                report.created += 1
        report.members += len(page.members)
        segment, cursor = send.segment, page.next_key
        if cursor is None:
            segment += 1
        finished = segment >= MEMBER_SEGMENTS
        after = replace(
            send,
            segment=segment,
            cursor=cursor,
            responses=send.responses + len(page.members),
            status=DONE if finished else send.status,
            finished_at=now if finished else None,
            version=send.version + 1,
        )
        if not self._sends.advance(send, after):
            return None, len(page.members)
        if finished:
            report.finished += 1
        return after, len(page.members)
