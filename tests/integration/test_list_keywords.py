"""Opt-in lists by text, end to end under moto through ``InboundService``: keyword sign-up,
"STOP <keyword>", STOP and START with lists, HELP naming the programs, YES to an
invitation, and replays."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest

from builders import FIXED_START, PATIENT, a_list, book, new_tenant
from reach.data.consent_log import TENANT_SCOPE, ConsentAction, ConsentLog, list_scope
from reach.data.contacts import ContactRepository
from reach.data.lists import ListRepository
from reach.domain.conversation_texts import ListAnswer, ReplyKind
from reach.domain.inbound import InboundSms, parse_inbound
from reach.domain.lists import (
    PENDING_FOR,
    ConsentSource,
    MemberConsent,
    MemberStatus,
    OptInList,
    confirmation_text,
    terms_version,
)
from reach.domain.replies import ReplyIntent
from reach.domain.segments import count_segments
from reach.ports.events import EventType
from reach.services.inbound import ReplyOutcome
from reach.services.membership import Joiner, Membership, recipient_ref
from reach.wiring import build_inbound
from reach_tools.demo_clock import DemoClock

FOOD_BANK = "Eastside Food Bank"
FOOD_BANK_NUMBER = "+12025550160"
_ids = itertools.count(1)


@pytest.fixture
def clock() -> DemoClock:
    return DemoClock(FIXED_START)  # 10:00 in New York: no quiet hours


@pytest.fixture
def food_bank(aws):
    return new_tenant(aws, FOOD_BANK, number=FOOD_BANK_NUMBER)


@pytest.fixture
def alerts(food_bank) -> OptInList:
    return ListRepository().create(a_list(tenant_id=food_bank.tenant_id))


@pytest.fixture
def volunteers(food_bank) -> OptInList:
    return ListRepository().create(
        a_list("volunteers", "HELPERS", tenant_id=food_bank.tenant_id, name="Volunteer calls")
    )


@pytest.fixture
def inbound(aws, clock, sms, events):
    return build_inbound(aws.settings, clock=clock, sleep=clock.sleep, sms=sms, events=events)


def text(inbound, clock, body, *, inbound_id=None, previous=None, at=None):
    parsed = parse_inbound(
        {
            "originationNumber": PATIENT,
            "destinationNumber": FOOD_BANK_NUMBER,
            "messageKeyword": "",
            "messageBody": body,
            "inboundMessageId": inbound_id or f"in-{next(_ids):06d}-x",
            "previousPublishedMessageId": previous or "",
        }
    )
    assert isinstance(parsed, InboundSms)
    return inbound.receive(parsed, at or clock())


def member(plist: OptInList):
    return ListRepository().member(plist.tenant_id, plist.list_id, PATIENT)


def opted_out(tenant) -> bool:
    return ContactRepository().get(tenant.tenant_id, PATIENT).opted_out


def history(tenant):
    return [(e.scope, e.action, e.source) for e in ConsentLog().history(tenant.tenant_id, PATIENT)]


def answers(sms):
    return [m.body for m in sms.sent_to(PATIENT)]


def of_type(events, event_type):
    return [event for event in events.events if event.type is event_type]


# --- joining by keyword ----------------------------------------------------------------


@pytest.mark.parametrize("body", ["ALERTS", "join alerts", "Alerts!"])
def test_texting_a_lists_keyword_joins_it_on_keyword_consent_and_answers_the_confirmation(
    aws, food_bank, alerts, clock, inbound, sms, events, body
):
    result = text(inbound, clock, body, inbound_id="in-join-1")

    assert (result.outcome, result.intent) == (ReplyOutcome.LIST_JOINED, ReplyIntent.JOIN_LIST)
    assert result.answer is ListAnswer.JOINED
    joined = member(alerts)
    assert joined is not None
    assert joined.status is MemberStatus.ACTIVE
    assert joined.consent is not None
    assert joined.consent.source is ConsentSource.KEYWORD
    assert joined.consent.evidence == "in-join-1"
    assert joined.terms_version == terms_version(FOOD_BANK, alerts)
    [entry] = ConsentLog().history(food_bank.tenant_id, PATIENT)
    assert (entry.scope, entry.action, entry.source) == (
        list_scope(alerts.list_id),
        ConsentAction.JOINED,
        "keyword",
    )
    assert entry.terms_version == joined.terms_version
    [answer] = answers(sms)
    assert answer == confirmation_text(FOOD_BANK, alerts)
    assert count_segments(answer).parts <= 2
    [event] = events.events
    assert event.type is EventType.LIST_JOINED
    assert dict(event.ids) == {
        "list_id": alerts.list_id,
        "recipient": recipient_ref(PATIENT),
        "inbound_message_id": "in-join-1",
    }
    assert PATIENT not in str(event.detail())


@pytest.mark.parametrize("body", ["no alerts please", "alerts are great", "ALERTSS"])
def test_a_text_that_only_mentions_the_keyword_joins_nothing(
    aws, food_bank, alerts, clock, inbound, body
):
    result = text(inbound, clock, body)

    assert result.intent is not ReplyIntent.JOIN_LIST
    assert member(alerts) is None


def test_a_keyword_wins_over_an_open_appointment_even_in_reply_to_its_reminder(
    aws, food_bank, alerts, clock, inbound, sms
):
    book(aws, food_bank, clock=clock)

    result = text(inbound, clock, "ALERTS")

    assert result.outcome is ReplyOutcome.LIST_JOINED
    assert member(alerts).status is MemberStatus.ACTIVE
    assert answers(sms) == [confirmation_text(FOOD_BANK, alerts)]


def test_a_keyword_after_stop_resubscribes_to_the_tenant_and_joins(
    aws, food_bank, alerts, clock, inbound, sms, events
):
    text(inbound, clock, "STOP")
    assert opted_out(food_bank)
    clock.advance(timedelta(minutes=5))

    result = text(inbound, clock, "ALERTS")

    assert result.outcome is ReplyOutcome.LIST_JOINED
    assert not opted_out(food_bank)
    assert member(alerts).status is MemberStatus.ACTIVE
    assert answers(sms)[-1] == confirmation_text(FOOD_BANK, alerts)
    assert [e.type for e in events.events] == [
        EventType.OPTED_OUT,
        EventType.OPTED_IN,
        EventType.LIST_JOINED,
    ]
    logged = history(food_bank)
    assert logged[0] == (TENANT_SCOPE, ConsentAction.OPTED_OUT, "sms:STOP")
    # Both at the keyword's received time
    assert set(logged[1:]) == {
        (TENANT_SCOPE, ConsentAction.OPTED_IN, "sms:ALERTS"),
        (list_scope(alerts.list_id), ConsentAction.JOINED, "keyword"),
    }


def test_a_keyword_older_than_a_stop_already_applied_neither_joins_nor_answers(
    aws, food_bank, alerts, clock, inbound, sms
):
    stop_at = clock() + timedelta(minutes=5)
    text(inbound, clock, "STOP", at=stop_at)

    # The keyword was sent before the STOP, and arrives after it
    result = text(inbound, clock, "ALERTS", at=stop_at - timedelta(minutes=1))

    assert result.outcome is ReplyOutcome.CONSENT
    assert opted_out(food_bank)
    assert member(alerts) is None
    assert len(answers(sms)) == 1  # the STOP's confirmation only


# --- leaving -----------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["STOP ALERTS", "stop alerts", "Unsubscribe alerts!"])
def test_stop_with_a_keyword_leaves_only_that_list_and_says_so(
    aws, food_bank, alerts, volunteers, clock, inbound, sms, events, body
):
    text(inbound, clock, "ALERTS")
    text(inbound, clock, "HELPERS")
    events.events.clear()

    result = text(inbound, clock, body)

    assert (result.outcome, result.intent) == (ReplyOutcome.LIST_LEFT, ReplyIntent.LEAVE_LIST)
    left = member(alerts)
    assert (left.status, left.left_reason) == (MemberStatus.LEFT, "stop_keyword")
    assert member(volunteers).status is MemberStatus.ACTIVE
    assert not opted_out(food_bank)
    assert answers(sms)[-1] == (
        f"You left Pantry alerts. Reply STOP to end all texts from {FOOD_BANK}."
    )
    [event] = events.events
    assert event.type is EventType.LIST_LEFT
    assert (event.ids["list_id"], event.data["reason"]) == (alerts.list_id, "stop_keyword")
    assert history(food_bank)[-1][:2] == (list_scope(alerts.list_id), ConsentAction.LEFT)


@pytest.mark.parametrize(
    "body", ["STOP", "stop texting me", "STOP FOOD", "Stop texting alerts", "STOP ALL", "End"]
)
def test_stop_in_any_other_phrasing_ends_everything_from_the_tenant(
    aws, food_bank, alerts, volunteers, clock, inbound, sms, events, body
):
    text(inbound, clock, "ALERTS")
    text(inbound, clock, "HELPERS")
    events.events.clear()
    clock.advance(timedelta(minutes=1))

    result = text(inbound, clock, body)

    assert (result.outcome, result.intent) == (ReplyOutcome.CONSENT, ReplyIntent.OPT_OUT)
    assert opted_out(food_bank)
    for plist in (alerts, volunteers):
        left = member(plist)
        assert (left.status, left.left_reason) == (MemberStatus.LEFT, "opted_out")
    assert sorted(e.type for e in events.events) == sorted(
        [EventType.OPTED_OUT, EventType.LIST_LEFT, EventType.LIST_LEFT]
    )
    assert {e.ids["list_id"] for e in of_type(events, EventType.LIST_LEFT)} == {
        alerts.list_id,
        volunteers.list_id,
    }
    assert set(result.events) == {EventType.OPTED_OUT, EventType.LIST_LEFT}
    scopes = {(scope, action) for scope, action, _ in history(food_bank)[-3:]}
    assert scopes == {
        (TENANT_SCOPE, ConsentAction.OPTED_OUT),
        (list_scope(alerts.list_id), ConsentAction.LEFT),
        (list_scope(volunteers.list_id), ConsentAction.LEFT),
    }
    assert "You won't get any more texts" in answers(sms)[-1]


def test_start_resubscribes_to_the_tenant_but_rejoins_no_list(
    aws, food_bank, alerts, clock, inbound, sms, events
):
    text(inbound, clock, "ALERTS")
    text(inbound, clock, "STOP")
    clock.advance(timedelta(minutes=1))

    result = text(inbound, clock, "START")

    assert result.answer is ReplyKind.OPTED_IN
    assert not opted_out(food_bank)
    assert member(alerts).status is MemberStatus.LEFT
    assert history(food_bank)[-1] == (TENANT_SCOPE, ConsentAction.OPTED_IN, "sms:START")


# --- HELP --------------------------------------------------------------------------------


def test_help_names_the_tenants_programs_and_keeps_the_carrier_disclosures(
    aws, food_bank, alerts, volunteers, clock, inbound, sms
):
    result = text(inbound, clock, "HELP")

    assert result.answer is ReplyKind.HELP
    [answer] = answers(sms)
    assert "Pantry alerts (ALERTS)" in answer
    assert "Volunteer calls (HELPERS)" in answer
    for required in (FOOD_BANK, "(202) 555-0160", "Msg frequency varies", "Msg & data rates"):
        assert required in answer
    assert "STOP" in answer
    assert count_segments(answer).parts <= 2


def test_help_with_many_long_lists_names_those_that_fit_and_counts_the_rest(
    aws, food_bank, clock, inbound, sms
):
    lists = ListRepository()
    for n in range(8):
        lists.create(
            a_list(
                f"list{n}",
                f"WORD{n}",
                tenant_id=food_bank.tenant_id,
                name=f"Neighbourhood pantry and shelter alerts {n}",
            )
        )

    text(inbound, clock, "HELP")

    [answer] = answers(sms)
    assert count_segments(answer).parts <= 2
    assert FOOD_BANK in answer
    assert "Msg & data rates may apply" in answer
    assert "(WORD0)" in answer
    assert "more." in answer


def test_help_without_lists_is_the_answer_it_always_was(aws, food_bank, clock, inbound, sms):
    text(inbound, clock, "HELP")

    [answer] = answers(sms)
    assert answer == (
        f"{FOOD_BANK} appointment reminders. Help: (202) 555-0160. Msg frequency varies. "
        "Msg & data rates may apply. Reply STOP to opt out."
    )


# --- double opt-in: YES ------------------------------------------------------------------


def invite(plist: OptInList, clock: DemoClock):
    consent = MemberConsent(ConsentSource.WEB_FORM, clock(), evidence="form 12")
    return Membership(ListRepository()).add(
        plist, Joiner(PATIENT, consent, "request_id=r1"), FOOD_BANK, clock()
    )


@pytest.fixture
def double(food_bank) -> OptInList:
    return ListRepository().create(
        a_list("pantry", "PANTRY", tenant_id=food_bank.tenant_id, double_opt_in=True)
    )


def test_yes_from_a_pending_member_confirms_and_answers_the_confirmation(
    aws, food_bank, double, clock, inbound, sms, events
):
    assert invite(double, clock).member.status is MemberStatus.PENDING
    clock.advance(timedelta(hours=3))

    result = text(inbound, clock, "YES")

    assert result.outcome is ReplyOutcome.LIST_JOINED
    confirmed = member(double)
    assert confirmed.status is MemberStatus.ACTIVE
    assert confirmed.consent.source is ConsentSource.CONFIRMATION
    assert answers(sms) == [confirmation_text(FOOD_BANK, double)]
    [event] = events.events
    assert (event.type, event.data["source"]) == (EventType.LIST_JOINED, "confirmation")


def test_yes_after_the_48_hours_confirms_nothing_and_is_handled_as_before(
    aws, food_bank, double, clock, inbound, sms
):
    invite(double, clock)
    clock.advance(PENDING_FOR + timedelta(minutes=1))

    result = text(inbound, clock, "YES")

    assert result.outcome is ReplyOutcome.NO_APPOINTMENT
    assert member(double).status_at(clock()) is MemberStatus.EXPIRED


def test_yes_with_nothing_pending_confirms_the_appointment_as_before(
    aws, food_bank, alerts, clock, inbound
):
    book(aws, food_bank, clock=clock)

    result = text(inbound, clock, "YES")

    assert result.outcome is ReplyOutcome.APPLIED


# --- replays -----------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["ALERTS", "STOP ALERTS", "YES"])
def test_a_replayed_message_changes_nothing_and_is_answered_once(
    aws, food_bank, alerts, double, clock, inbound, sms, events, body
):
    if body == "STOP ALERTS":
        text(inbound, clock, "ALERTS")
    invite(double, clock)
    before = len(answers(sms))
    events.events.clear()
    clock.advance(timedelta(minutes=1))

    at = clock()
    first = text(inbound, clock, body, inbound_id="in-replayed", at=at)
    members = (member(alerts), member(double))
    logged = history(food_bank)
    clock.advance(timedelta(minutes=3))
    again = text(inbound, clock, body, inbound_id="in-replayed", at=at)

    assert again.outcome is first.outcome
    assert (member(alerts), member(double)) == members
    assert history(food_bank) == logged
    assert len(answers(sms)) == before + 1
    # The events are published again under the same ids, for consumers to drop
    ids = [e.event_id for e in events.events]
    assert len(ids) == 2
    assert len(set(ids)) == 1


def test_a_stop_replayed_after_its_lists_were_left_publishes_the_same_events(
    aws, food_bank, alerts, clock, inbound, events
):
    text(inbound, clock, "ALERTS")
    events.events.clear()

    at = clock()
    text(inbound, clock, "STOP", inbound_id="in-stop", at=at)
    first = [e.event_id for e in events.events]
    text(inbound, clock, "STOP", inbound_id="in-stop", at=at)

    assert set(first) <= {e.event_id for e in events.events}
    assert member(alerts).status is MemberStatus.LEFT
    left = [e for e in history(food_bank) if e[1] is ConsentAction.LEFT]
    assert len(left) == 1


def test_the_tenant_consent_entry_is_written_with_the_contact_only(aws, food_bank, clock, inbound):
    text(inbound, clock, "STOP", inbound_id="in-a")
    text(inbound, clock, "STOP please", inbound_id="in-b")  # opted out already: no change

    assert history(food_bank) == [(TENANT_SCOPE, ConsentAction.OPTED_OUT, "sms:STOP")]


def test_a_second_list_of_another_tenant_is_not_touched_by_stop(
    aws, food_bank, alerts, clock, inbound
):
    other = new_tenant(aws, "Hillside Shelter", number="+12025550199")
    theirs = ListRepository().create(replace(alerts, tenant_id=other.tenant_id))
    Membership(ListRepository()).join(
        theirs,
        Joiner(PATIENT, MemberConsent(ConsentSource.KEYWORD, clock(), "in-z", "in-z"), "c"),
        "Hillside Shelter",
        clock(),
    )

    text(inbound, clock, "STOP")

    assert member(theirs).status is MemberStatus.ACTIVE
