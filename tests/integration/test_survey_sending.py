"""Issue 14, item 2: sending surveys, under moto, through the dispatcher and the send path.

The first question (and a nudge) is a text the dispatcher claims and the send path holds to
quiet hours, skips for an opted-out phone and caps; the timer step moves each response on
from what the send path recorded: asked from the actual send (the expiry counts from it),
unsent (the next waiting survey of the phone starts), expired, nudged once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.client import BaseClient

from builders import PATIENT, a_list, book, new_tenant, survey_body
from reach.adapters.events_fake import RecordingPublisher
from reach.api.schemas import CreateSurveyRequest
from reach.data.contacts import ContactRepository
from reach.data.lists import ListRepository
from reach.data.messages import MessageRepository
from reach.data.survey_items import NUDGE_ASK, SurveyAskItem, ask_sk
from reach.data.survey_responses import SurveyResponses
from reach.data.survey_sends import SurveySendItem, SurveySends, send_sk
from reach.data.surveys import SurveyRepository, survey_pk
from reach.data.tables import appointment_pk
from reach.domain.lists import ConsentSource, MemberConsent, OptInList
from reach.domain.message import MessageKind, Thread
from reach.domain.models import AppointmentKind, AppointmentStatus
from reach.domain.survey_flow import ResponseState, SurveyResponse, nudge_text, reply
from reach.domain.surveys import Survey, render_question
from reach.services.membership import Joiner, Membership
from reach.services.sending import Delivery, SendOutcome
from reach.services.survey_sends import (
    SurveyFanOut,
    appointment_response_id,
    member_response_id,
)
from reach.services.survey_timers import SurveyTimers
from reach.wiring import Services, build_dispatcher, build_sender, build_services
from reach_tools.demo_clock import DemoClock
from stand_ins import MemoryQueue, TimedSms

#: 10:00 in New York (the tenant's zone), outside its 21:00-08:00 quiet hours.
DAYTIME = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
#: 03:00 in New York.
NIGHT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
#: 08:00 in New York, the day after DAYTIME and NIGHT.
MORNING = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
OTHER = "+12025550999"


@pytest.fixture
def clock() -> DemoClock:
    return DemoClock(DAYTIME)


@pytest.fixture
def svc(aws: Services, clock: DemoClock, events: RecordingPublisher) -> Services:
    """The API's services on the test's clock."""
    return build_services(aws.settings, clock=clock, events=events)


@pytest.fixture
def tenant(aws: Services):
    return new_tenant(aws, "Riverside Plumbing")


def a_survey(svc: Services, tenant_id: str, **changes: Any) -> Survey:
    body = survey_body(**changes)
    return svc.surveys.create(tenant_id, CreateSurveyRequest.model_validate(body).to_definition())


def responses(aws: Services) -> SurveyResponses:
    return SurveyResponses(aws.settings.due_shards)


def dispatch_and_send(aws: Services, clock: DemoClock, sms: TimedSms) -> list[SendOutcome]:
    """One dispatcher tick at the clock's time, then everything it queued sent."""
    queue = MemoryQueue()
    build_dispatcher(aws.settings, queue=queue, events=RecordingPublisher()).tick(clock())
    sender = build_sender(aws.settings, clock=clock, sleep=clock.sleep, sms=sms)
    batch = []
    while (delivery := queue.receive()) is not None:
        batch.append(Delivery(*delivery))
    return [result.outcome for result in sender.send_all(batch)]


def send_to_appointment(svc: Services, tenant_id: str, survey: Survey, phone: str = PATIENT):
    appointment = book(svc, tenant_id, phone=phone, offsets=())
    return svc.survey_sends.send(tenant_id, survey.survey_id, None, appointment.appointment_id)


def the_response(aws: Services, survey: Survey, response_id: str) -> SurveyResponse:
    found = responses(aws).get(survey.tenant_id, survey.survey_id, response_id)
    assert found is not None
    return found


def only_response(aws: Services, survey: Survey) -> SurveyResponse:
    [response] = list(responses(aws).each(survey.tenant_id, survey.survey_id))
    return response


def texts(sms: TimedSms, phone: str = PATIENT) -> list[str]:
    return [sent.body for sent in sms.sent_to(phone)]


# --- the first question -------------------------------------------------------------------


def test_a_first_question_due_at_night_is_held_to_8am_and_expires_a_day_after_it_went(
    aws, svc, clock, sms, tenant
):
    survey = a_survey(svc, tenant.tenant_id)
    clock.set(NIGHT)
    send_to_appointment(svc, tenant.tenant_id, survey)

    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.HELD]
    assert sms.sent_to(PATIENT) == []
    assert only_response(aws, survey).state is ResponseState.QUEUED

    clock.set(MORNING + timedelta(minutes=1))
    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SENT]
    assert texts(sms) == [render_question(survey.definition, survey.definition.first)]
    went = clock()
    dispatch_and_send(aws, clock, sms)  # the timer step sees the send recorded
    asked = only_response(aws, survey)
    assert (asked.state, asked.asked_at) == (ResponseState.ASKED, went)

    clock.set(went + timedelta(hours=24) - timedelta(minutes=1))
    dispatch_and_send(aws, clock, sms)
    assert only_response(aws, survey).state is ResponseState.ASKED  # not from the night
    clock.set(went + timedelta(hours=24))
    dispatch_and_send(aws, clock, sms)
    assert only_response(aws, survey).state is ResponseState.EXPIRED
    assert len(sms.sent_to(PATIENT)) == 1


def test_the_first_question_is_filed_in_the_responses_thread_as_a_survey_text(
    aws, svc, clock, sms, tenant
):
    survey = a_survey(svc, tenant.tenant_id)
    send_to_appointment(svc, tenant.tenant_id, survey)

    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SENT]

    response = only_response(aws, survey)
    thread = MessageRepository().thread(Thread(tenant.tenant_id, response.thread_id, PATIENT))
    assert [(m.kind, m.status) for m in thread] == [(MessageKind.SURVEY, "sent")]
    assert thread[0].provider_message_id  # the lookup a reply references it by


def test_an_opted_out_phone_gets_nothing_and_its_next_waiting_survey_starts(
    aws, svc, clock, sms, tenant
):
    first, second = a_survey(svc, tenant.tenant_id), a_survey(svc, tenant.tenant_id)
    ContactRepository().opt_out(tenant.tenant_id, PATIENT, "sms:STOP", clock())
    send_to_appointment(svc, tenant.tenant_id, first)
    send_to_appointment(svc, tenant.tenant_id, second)
    assert only_response(aws, second).state is ResponseState.WAITING

    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SKIPPED]
    # The next tick settles the first (unsent), which starts the second: its question is
    # claimed in the same tick, and skipped too.
    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SKIPPED]
    skipped = only_response(aws, first)
    assert (skipped.state, skipped.unsent_reason) == (ResponseState.UNSENT, "opted_out")
    assert responses(aws).lane(tenant.tenant_id, PATIENT).active == (
        f"{second.survey_id}#{only_response(aws, second).response_id}"
    )

    dispatch_and_send(aws, clock, sms)
    assert only_response(aws, second).state is ResponseState.UNSENT
    assert responses(aws).lane(tenant.tenant_id, PATIENT).active is None
    assert sms.sent_to(PATIENT) == []


def test_two_surveys_for_one_phone_never_interleave(aws, svc, clock, sms, tenant):
    first = a_survey(svc, tenant.tenant_id, intro="First survey.")
    second = a_survey(svc, tenant.tenant_id, intro="Second survey.")
    send_to_appointment(svc, tenant.tenant_id, first)
    send_to_appointment(svc, tenant.tenant_id, second)

    dispatch_and_send(aws, clock, sms)
    dispatch_and_send(aws, clock, sms)
    assert texts(sms) == [render_question(first.definition, first.definition.first)]
    went = clock()

    for hours in (6, 12, 23):  # the first still waits for its answer
        clock.set(went + timedelta(hours=hours))
        dispatch_and_send(aws, clock, sms)
        assert len(sms.sent_to(PATIENT)) == 1

    clock.set(went + timedelta(hours=24))
    dispatch_and_send(aws, clock, sms)  # the first expires, the second's question is due
    dispatch_and_send(aws, clock, sms)
    assert only_response(aws, first).state is ResponseState.EXPIRED
    assert texts(sms) == [
        render_question(first.definition, first.definition.first),
        render_question(second.definition, second.definition.first),
    ]
    assert sms.sent_times[1] >= went + timedelta(hours=24)


# --- the nudge ----------------------------------------------------------------------------


def evening_survey(aws, svc, clock, sms, tenant) -> tuple[Survey, datetime]:
    """A survey with a 4-hour nudge whose first question went at 18:00 in New York."""
    survey = a_survey(svc, tenant.tenant_id, nudge_after="PT4H")
    clock.set(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    send_to_appointment(svc, tenant.tenant_id, survey)
    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SENT]
    return survey, clock()


def test_a_nudge_is_sent_once_within_allowed_hours(aws, svc, clock, sms, tenant):
    survey, went = evening_survey(aws, svc, clock, sms, tenant)

    clock.set(went + timedelta(hours=4))  # 22:00 in New York: quiet
    dispatch_and_send(aws, clock, sms)  # settles the first question: asked
    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.HELD]
    assert only_response(aws, survey).nudged

    clock.set(MORNING + timedelta(minutes=1))
    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SENT]
    for hours in (1, 2):
        clock.set(MORNING + timedelta(hours=hours))
        assert dispatch_and_send(aws, clock, sms) == []
    assert texts(sms)[1:] == [nudge_text(survey.definition, survey.definition.first.id)]
    assert MORNING < sms.sent_times[1] < MORNING + timedelta(minutes=2)  # 08:01 in New York


def test_a_nudge_for_a_question_answered_meanwhile_is_not_sent(aws, svc, clock, sms, tenant):
    survey, went = evening_survey(aws, svc, clock, sms, tenant)
    clock.set(went + timedelta(hours=4))
    dispatch_and_send(aws, clock, sms)
    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.HELD]

    # The person answers before 8:00 (the reply path stores it; its texts are not ours).
    clock.set(MORNING - timedelta(hours=1))
    store = responses(aws)
    waiting = only_response(aws, survey)
    step = reply(waiting, survey.definition, "9", clock())
    assert store.save(step.response, waiting.version, step.response.next_timer(survey.definition))

    clock.set(MORNING + timedelta(minutes=1))
    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SKIPPED]
    assert len(sms.sent_to(PATIENT)) == 1
    response = only_response(aws, survey)
    nudge = SurveyAskItem.get(
        appointment_pk(tenant.tenant_id, response.thread_id), ask_sk(NUDGE_ASK)
    )
    assert (nudge.status, nudge.reason) == ("skipped", "response_changed")


def test_each_waiting_question_gets_its_own_nudge(aws, svc, clock, sms, tenant):
    survey, went = evening_survey(aws, svc, clock, sms, tenant)
    clock.set(went + timedelta(hours=4))
    dispatch_and_send(aws, clock, sms)
    dispatch_and_send(aws, clock, sms)
    clock.set(MORNING + timedelta(minutes=1))
    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SENT]  # the first's nudge
    clock.set(MORNING + timedelta(hours=2))
    store = responses(aws)
    waiting = only_response(aws, survey)
    step = reply(waiting, survey.definition, "9", clock())  # on to "on_time"
    assert store.save(step.response, waiting.version, step.response.next_timer(survey.definition))

    clock.set(clock() + timedelta(hours=4))
    dispatch_and_send(aws, clock, sms)  # held: one capped text a local day
    assert only_response(aws, survey).nudged
    clock.set(MORNING + timedelta(days=1, minutes=1))
    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SENT]

    assert texts(sms)[1:] == [
        nudge_text(survey.definition, "nps"),
        nudge_text(survey.definition, "on_time"),
    ]


# --- the timer step's cost ----------------------------------------------------------------


def test_the_timer_step_costs_one_query_a_tick_when_nothing_is_due(
    aws, svc, clock, sms, tenant, monkeypatch
):
    survey = a_survey(svc, tenant.tenant_id)
    send_to_appointment(svc, tenant.tenant_id, survey)
    dispatch_and_send(aws, clock, sms)
    dispatch_and_send(aws, clock, sms)  # asked: its timer is its expiry, a day away
    calls: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counted(self: BaseClient, operation: str, params: Any) -> Any:
        calls[operation] += 1
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    report = SurveyTimers(responses(aws), svc.surveys.get).step(clock() + timedelta(hours=1))

    assert report.read == 0
    assert calls == Counter({"Query": 1})


# --- list sends ---------------------------------------------------------------------------


def member_of(plist: OptInList, phone: str, at: datetime, timezone: str | None = None) -> None:
    consent = MemberConsent(ConsentSource.WEB_FORM, at, evidence="form 12")
    Membership(ListRepository()).add(
        plist, Joiner(phone, consent, f"request_id={phone}", timezone=timezone), "Riverside", at
    )


@pytest.fixture
def customers(tenant, clock) -> OptInList:
    plist = ListRepository().create(a_list("customers", "NEWS", tenant_id=tenant.tenant_id))
    for phone in (PATIENT, OTHER, "+12025550998"):
        member_of(plist, phone, clock())
    Membership(ListRepository()).leave(
        plist, "+12025550998", reason="removed", source="api", cause="request_id=x", at=clock()
    )
    return plist


def test_a_list_send_texts_its_active_members_only(aws, svc, clock, sms, tenant, customers):
    survey = a_survey(svc, tenant.tenant_id)

    send = svc.survey_sends.send(tenant.tenant_id, survey.survey_id, customers.list_id, None)
    assert (send.status, send.responses) == ("starting", 0)
    dispatch_and_send(aws, clock, sms)

    first = render_question(survey.definition, survey.definition.first)
    assert texts(sms, PATIENT) == [first]
    assert texts(sms, OTHER) == [first]
    assert sms.sent_to("+12025550998") == []
    done = svc.survey_sends.get(tenant.tenant_id, survey.survey_id, send.send_id)
    assert (done.status, done.responses) == ("done", 2)
    origins = {r.origin for r in responses(aws).each(tenant.tenant_id, survey.survey_id)}
    assert origins == {f"list:{customers.list_id}"}


def test_a_list_send_starts_a_bounded_page_a_tick_and_a_page_read_again_adds_nobody(
    aws, svc, clock, tenant, customers
):
    survey = a_survey(svc, tenant.tenant_id)
    send = svc.survey_sends.send(tenant.tenant_id, survey.survey_id, customers.list_id, None)
    fan_out = SurveyFanOut(
        SurveyRepository(), SurveySends(), responses(aws), ListRepository(), budget=1
    )

    first = fan_out.step(clock())
    assert (first.members, first.created) == (1, 1)
    # A crash before the cursor moved: the page is read again.
    item = SurveySendItem.get(survey_pk(tenant.tenant_id, survey.survey_id), send_sk(send.send_id))
    item.update(actions=[SurveySendItem.cursor.remove(), SurveySendItem.segment.set(0)])
    while not SurveySends().get(tenant.tenant_id, survey.survey_id, send.send_id).done:
        fan_out.step(clock())

    stored = list(responses(aws).each(tenant.tenant_id, survey.survey_id))
    assert sorted(r.response_id for r in stored) == sorted(
        member_response_id(send.send_id, phone) for phone in (PATIENT, OTHER)
    )


# --- the trigger --------------------------------------------------------------------------


def completed_visit(svc: Services, tenant_id: str, clock: DemoClock, phone: str = PATIENT):
    appointment = book(
        svc,
        tenant_id,
        phone=phone,
        offsets=(),
        kind=AppointmentKind.SERVICE_VISIT,
        starts_at=clock() + timedelta(hours=1),
    )
    clock.set(clock() + timedelta(hours=2))
    return svc.appointments.close_visit(
        tenant_id, appointment.appointment_id, AppointmentStatus.COMPLETED
    )


TRIGGER = {"on": "appointment_completed", "delay": "PT2H", "kinds": ["service_visit"]}


def test_a_completed_visit_starts_its_triggered_survey_once_after_the_delay(
    aws, svc, clock, sms, tenant
):
    survey = a_survey(svc, tenant.tenant_id, trigger=TRIGGER)
    untriggered = a_survey(svc, tenant.tenant_id)
    visit = completed_visit(svc, tenant.tenant_id, clock)
    svc.appointments.close_visit(
        tenant.tenant_id, visit.appointment_id, AppointmentStatus.COMPLETED
    )

    response = only_response(aws, survey)
    assert response.response_id == appointment_response_id(visit.appointment_id)
    assert response.send_after == visit.updated_at + timedelta(hours=2)
    assert list(responses(aws).each(tenant.tenant_id, untriggered.survey_id)) == []
    assert dispatch_and_send(aws, clock, sms) == []  # not before the delay
    clock.set(response.send_after)
    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SENT]
    assert dispatch_and_send(aws, clock, sms) == []
    assert len(sms.sent_to(PATIENT)) == 1


def test_a_visit_of_another_kind_triggers_nothing(aws, svc, clock, tenant):
    survey = a_survey(svc, tenant.tenant_id, trigger={**TRIGGER, "kinds": ["clinic_visit"]})
    completed_visit(svc, tenant.tenant_id, clock)
    assert list(responses(aws).each(tenant.tenant_id, survey.survey_id)) == []


def test_a_recipient_opted_out_before_the_trigger_gets_nothing(aws, svc, clock, sms, tenant):
    survey = a_survey(svc, tenant.tenant_id, trigger=TRIGGER)
    ContactRepository().opt_out(tenant.tenant_id, PATIENT, "sms:STOP", clock())
    completed_visit(svc, tenant.tenant_id, clock)

    clock.set(clock() + timedelta(hours=3))
    for _ in range(3):
        dispatch_and_send(aws, clock, sms)

    assert sms.sent_to(PATIENT) == []
    response = only_response(aws, survey)
    assert (response.state, response.unsent_reason) == (ResponseState.UNSENT, "opted_out")
