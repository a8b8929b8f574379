"""Properties of two-way replies under moto, over any sequence of replies, replays, bookings
and sends:

- nothing but the single opt-out confirmation reaches an opted-out number;
- START restores sending;
- a replayed reply changes nothing and sends nothing.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from types import ModuleType

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import builders
from builders import FIXED_START, new_tenant
from conftest import examples, load_function
from reach.adapters.events_fake import RecordingPublisher
from reach.data.contacts import ContactRepository
from reach.domain.inbound import InboundSms, parse_inbound
from reach.domain.models import AppointmentKind
from reach.domain.replies import ReplyIntent, classify_reply
from reach.wiring import build_inbound
from reach_tools.demo_clock import DemoClock
from stand_ins import MemoryQueue, TimedSms, drain, make_sender, tick

NUMBERS = itertools.count(2000)
REPLIES = [
    "STOP",
    "stop",
    "Stop. Thank you",
    "please stop texting me",
    "CANCEL",
    "START",
    "unstop",
    "1",
    "2",
    "3",
    "HELP",
    "call me",
    "late 10",
    "what time is it?",
    "A",
]
ACTIONS = st.one_of(
    st.tuples(st.just("reply"), st.sampled_from(REPLIES)),
    st.tuples(st.just("replay"), st.integers(min_value=0, max_value=20)),
    st.tuples(st.just("book"), st.integers(min_value=1, max_value=5)),
    st.tuples(st.just("wait"), st.sampled_from([20, 180, 600, 1440])),
)


def message(body: str, phone: str, to: str, inbound_id: str) -> InboundSms:
    parsed = parse_inbound(
        {
            "originationNumber": phone,
            "destinationNumber": to,
            "messageBody": body,
            "inboundMessageId": inbound_id,
        }
    )
    assert isinstance(parsed, InboundSms)
    return parsed


@pytest.fixture
def inbound_function(aws) -> ModuleType:
    """functions/inbound/app.py, loaded once per test as a cold start would."""
    return load_function("inbound")


@settings(
    max_examples=examples(20),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(ACTIONS, min_size=1, max_size=14))
# Found by CI: a second STOP in the same second as the first was taken for a retry of the
# first and confirmed again; and a START in the same second as a STOP cannot outrank it.
@example(actions=[("reply", "STOP"), ("reply", "STOP"), ("reply", "unstop"), ("reply", "stop")])
@example(
    actions=[
        ("wait", 20),
        ("book", 4),
        ("reply", "please stop texting me"),
        ("replay", 0),
        ("reply", "unstop"),
        ("reply", "stop"),
    ]
)
def test_only_the_opt_out_confirmation_reaches_an_opted_out_number_and_start_restores(
    aws, inbound_function, actions
):
    function = inbound_function
    number = next(NUMBERS)
    tenant_number, phone = f"+1202555{number:04d}", f"+1312555{number:04d}"
    tenant = new_tenant(aws, f"Clinic {number}", number=tenant_number)
    clock = DemoClock(FIXED_START)
    sms = TimedSms(clock)
    inbound = build_inbound(
        aws.settings, clock=clock, sleep=clock.sleep, sms=sms, events=RecordingPublisher()
    )
    # Replies go through the function's own once-per-inboundMessageId guard (Powertools
    # idempotency on the template's table), with this test's clock and recording provider.
    function.__dict__["inbound_from_env"] = lambda: inbound

    def receive(sms_in: InboundSms, at: datetime) -> None:
        function.process_reply(sms=sms_in, received_at=at.isoformat())

    sender = make_sender(aws, sms, clock)
    queue = MemoryQueue()
    aws.appointments._clock = clock
    received: list[tuple[InboundSms, datetime]] = []
    opted_out = False
    opted_out_at: datetime | None = None

    def book(days: int, kind: AppointmentKind = AppointmentKind.CLINIC_VISIT) -> None:
        builders.book(
            aws,
            tenant,
            phone=phone,
            days=days,
            offsets=("P1D", "PT2H"),
            first_name=None,
            clock=clock,
            kind=kind,
        )

    def send_due() -> None:
        tick(aws, queue, clock())
        drain(queue, sender)

    for step, (action, value) in enumerate(actions):
        before = len(sms.sent_to(phone))
        if action == "reply":
            sms_in = message(str(value), phone, tenant_number, f"in-{number}-{step}")
            received.append((sms_in, clock()))
            receive(sms_in, clock())
            intent = classify_reply(str(value)).intent
            new = sms.sent_to(phone)[before:]
            if intent is ReplyIntent.OPT_OUT and not opted_out:
                # The one text an opt-out allows: its confirmation, exactly once
                assert len(new) == 1
                assert "START" in new[0].body
                opted_out, opted_out_at = True, received[-1][1]
            elif intent is ReplyIntent.OPT_IN and opted_out and opted_out_at == received[-1][1]:
                # A START received at the very instant of the STOP: their order is unknown,
                # and opting out wins. Still opted out, so nothing is sent.
                assert new == []
            elif intent is ReplyIntent.OPT_IN:
                opted_out = False
            elif opted_out:
                assert new == []
        elif action == "replay" and received:
            sms_in, at = received[int(value) % len(received)]
            contact_before = ContactRepository().get(tenant.tenant_id, phone)
            receive(sms_in, at)
            assert sms.sent_to(phone)[before:] == []
            assert ContactRepository().get(tenant.tenant_id, phone) == contact_before
        elif action == "book":
            book(int(value))
        elif action == "wait":
            clock.advance(timedelta(minutes=int(value)))
            send_due()
            if opted_out:
                assert sms.sent_to(phone)[before:] == []
        assert ContactRepository().get(tenant.tenant_id, phone).opted_out is opted_out

    # START restores sending: a new booking's reminder reaches the recipient
    clock.advance(timedelta(days=1))
    receive(message("START", phone, tenant_number, f"in-{number}-start"), clock())
    book(3, AppointmentKind.SERVICE_VISIT)
    before = len(sms.sent_to(phone))
    for _ in range(4 * 24):
        clock.advance(timedelta(hours=1))
        send_due()
        if len(sms.sent_to(phone)) > before:
            break
    assert len(sms.sent_to(phone)) > before
