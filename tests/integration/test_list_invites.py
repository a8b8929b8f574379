"""The double opt-in invitation ("reply YES to join") as an outbound kind, under moto: the
dispatcher claims it from the due index, the send path sends it once, holds it through quiet
hours, skips it for an opted-out phone, and a YES to it confirms the member."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from builders import PATIENT, a_list, new_tenant
from reach.data.contacts import ContactRepository
from reach.data.invites import ListInvites, member_thread_id
from reach.data.lists import ListRepository
from reach.data.messages import MessageRepository
from reach.data.tables import INVITE_SK, InviteItem, member_pk
from reach.domain.inbound import InboundSms, parse_inbound
from reach.domain.lists import (
    ConsentSource,
    MemberConsent,
    MemberStatus,
    OptInList,
    confirmation_text,
    join_request_text,
)
from reach.domain.message import MessageKind, Thread
from reach.services.inbound import ReplyOutcome
from reach.services.membership import Joiner, Membership
from reach.services.sending import Delivery, SendOutcome
from reach.wiring import build_inbound, build_sender
from reach_tools.demo_clock import DemoClock
from stand_ins import MemoryQueue, tick

FOOD_BANK = "Eastside Food Bank"
FOOD_BANK_NUMBER = "+12025550160"
#: 10:00 in New York, outside the 21:00-08:00 quiet hours.
DAYTIME = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
#: 03:00 in New York.
NIGHT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> DemoClock:
    """The clock the SMS fake judges expiry by, too."""
    return DemoClock(DAYTIME)


@pytest.fixture
def food_bank(aws):
    return new_tenant(aws, FOOD_BANK, number=FOOD_BANK_NUMBER)


@pytest.fixture
def pantry(food_bank) -> OptInList:
    return ListRepository().create(
        a_list("pantry", "PANTRY", tenant_id=food_bank.tenant_id, double_opt_in=True)
    )


def added(plist: OptInList, at: datetime):
    consent = MemberConsent(ConsentSource.WEB_FORM, at, evidence="form 12")
    result = Membership(ListRepository()).add(
        plist, Joiner(PATIENT, consent, "request_id=r1"), FOOD_BANK, at
    )
    assert result.member.status is MemberStatus.PENDING
    return result.member


def dispatch_and_send(aws, clock, sms, events=None):
    queue = MemoryQueue()
    tick(aws, queue, clock())
    sender = build_sender(aws.settings, clock=clock, sleep=clock.sleep, sms=sms, events=events)
    batch = []
    while (delivery := queue.receive()) is not None:
        batch.append(Delivery(*delivery))
    return [result.outcome for result in sender.send_all(batch)]


def invitation(plist: OptInList) -> InviteItem:
    return InviteItem.get(member_pk(plist.tenant_id, plist.list_id, PATIENT), INVITE_SK)


def test_a_pending_member_is_sent_one_join_request_however_often_invited(
    aws, clock, food_bank, pantry, sms
):
    member = added(pantry, clock())
    invites = ListInvites(aws.settings.due_shards)

    assert invites.invite(pantry, member)
    assert not invites.invite(pantry, member)

    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SENT]
    assert dispatch_and_send(aws, clock, sms) == []
    [sent] = sms.sent_to(PATIENT)
    assert sent.body == join_request_text(FOOD_BANK, pantry)
    assert sent.origination_identity == FOOD_BANK_NUMBER
    assert not invites.invite(pantry, member)  # a sent invitation is not sent again
    thread = MessageRepository().thread(
        Thread(pantry.tenant_id, member_thread_id(pantry.list_id, PATIENT), PATIENT)
    )
    assert [(m.kind, m.status) for m in thread] == [(MessageKind.INVITE, "sent")]


def test_only_a_pending_member_is_invited(aws, clock, food_bank, sms):
    single = ListRepository().create(a_list(tenant_id=food_bank.tenant_id))
    consent = MemberConsent(ConsentSource.WEB_FORM, clock(), evidence="form 12")
    active = Membership(ListRepository()).add(
        single, Joiner(PATIENT, consent, "request_id=r1"), FOOD_BANK, clock()
    )

    assert not ListInvites(aws.settings.due_shards).invite(single, active.member)
    assert dispatch_and_send(aws, clock, sms) == []


def test_an_invitation_due_in_quiet_hours_is_held_until_they_end(
    aws, clock, food_bank, pantry, sms
):
    clock.set(NIGHT)
    ListInvites(aws.settings.due_shards).invite(pantry, added(pantry, clock()))

    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.HELD]
    assert sms.sent_to(PATIENT) == []
    held = invitation(pantry)
    assert (held.status, held.reason) == ("pending", "held_quiet_hours")
    assert held.due_at == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)  # 08:00 in New York

    clock.set(held.due_at + timedelta(minutes=1))
    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SENT]
    assert len(sms.sent_to(PATIENT)) == 1


def test_an_invitation_to_an_opted_out_phone_is_skipped(aws, clock, food_bank, pantry, sms):
    ContactRepository().opt_out(food_bank.tenant_id, PATIENT, "sms:STOP", clock())
    ListInvites(aws.settings.due_shards).invite(pantry, added(pantry, clock()))

    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SKIPPED]
    assert sms.sent_to(PATIENT) == []
    assert (invitation(pantry).status, invitation(pantry).reason) == ("skipped", "opted_out")


def test_an_invitation_whose_member_confirmed_first_is_not_sent(aws, clock, food_bank, pantry, sms):
    member = added(pantry, clock())
    ListInvites(aws.settings.due_shards).invite(pantry, member)
    Membership(ListRepository()).confirm(pantry, PATIENT, "web", FOOD_BANK, clock())

    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SKIPPED]
    assert invitation(pantry).reason == "not_pending"
    assert sms.sent_to(PATIENT) == []


def test_yes_in_reply_to_the_invitation_confirms_the_member(
    aws, clock, food_bank, pantry, sms, events
):
    ListInvites(aws.settings.due_shards).invite(pantry, added(pantry, clock()))
    dispatch_and_send(aws, clock, sms)
    [sent] = sms.sent_to(PATIENT)
    provider_id = sms.receipts[-1].provider_message_id
    inbound = build_inbound(aws.settings, clock=clock, sleep=clock.sleep, sms=sms, events=events)
    parsed = parse_inbound(
        {
            "originationNumber": PATIENT,
            "destinationNumber": FOOD_BANK_NUMBER,
            "messageKeyword": "",
            "messageBody": "Yes",
            "inboundMessageId": "in-yes-1",
            "previousPublishedMessageId": provider_id,
        }
    )
    assert isinstance(parsed, InboundSms)

    result = inbound.receive(parsed, clock())

    assert result.outcome is ReplyOutcome.LIST_JOINED
    assert (
        ListRepository().member(pantry.tenant_id, pantry.list_id, PATIENT).status
        is MemberStatus.ACTIVE
    )
    assert sms.sent_to(PATIENT)[-1].body == confirmation_text(FOOD_BANK, pantry)
    assert sent.body != sms.sent_to(PATIENT)[-1].body


def test_an_invitation_still_queued_after_the_yes_deadline_is_not_sent(
    aws, clock, food_bank, pantry, sms
):
    member = added(pantry, clock())
    ListInvites(aws.settings.due_shards).invite(pantry, member)
    clock.set(member.pending_until + timedelta(minutes=1))

    assert dispatch_and_send(aws, clock, sms) == [SendOutcome.SKIPPED]
    assert invitation(pantry).reason == "expired"
    assert sms.sent_to(PATIENT) == []
