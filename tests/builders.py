"""Small builders the tests share: a tenant, a booking, an outbound text, a queue on the bus.

Each takes keyword arguments with the defaults most tests want, so that a test names only
what matters to it. Tests import them as ``from builders import ...``, the way they import
``conftest``: pytest puts this folder on the path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3

from reach.data.tenants import TenantRepository
from reach.domain.lists import Frequency, FrequencyPeriod, ListPurpose, OptInList
from reach.domain.models import Appointment, Tenant
from reach.domain.quiet_hours import QuietHours
from reach.ports.sms import OutboundSms
from reach.services.appointments import NewAppointment
from reach.wiring import Services
from reach_tools.demo_clock import DemoClock

NEW_YORK = ZoneInfo("America/New_York")
CLINIC_NUMBER = "+12025550143"
PATIENT = "+12025550187"
# What the provider adapters' tests send: one text, from a toll-free number
RECIPIENT = "+12025550143"
TOLL_FREE = "+18885550100"
REMINDER_BODY = "Hi Ana, reminder: Riverside Clinic tomorrow 9:30. Reply 1 to confirm."
FIXED_START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
"""A moment for tests that book against a demo clock rather than the wall clock."""


def new_tenant(
    aws: Services,
    name: str = "Riverside Family Clinic",
    *,
    timezone: str = "America/New_York",
    number: str = CLINIC_NUMBER,
    quiet_hours: str = "21:00-08:00",
    reminders: tuple[str, ...] = ("P1D",),
) -> Tenant:
    """A tenant created through the admin service (its API key is not kept).

    An empty quiet-hours window (``00:00-00:00``: none, for tests that must pass at any
    hour) is refused by the admin service, so such a tenant is created with the default
    window and then stored with the empty one, as a tenant stored before that check was.
    """
    if not QuietHours.parse(quiet_hours).is_empty:
        tenant, _ = aws.admin.create_tenant(name, timezone, number, quiet_hours, reminders)
        return tenant
    return without_quiet_hours(
        aws.tenants, aws.admin.create_tenant(name, timezone, number, "21:00-08:00", reminders)[0]
    )


def without_quiet_hours(tenants: TenantRepository, tenant: Tenant) -> Tenant:
    """``tenant`` stored with no quiet hours, which the admin service no longer sets."""
    quiet_free = replace(tenant, quiet_hours="00:00-00:00")
    tenants.save_profile(quiet_free)
    return quiet_free


def local_day(days: int, hour: int, minute: int = 0, *, now: datetime | None = None) -> datetime:
    """``hour``:``minute`` New York time, ``days`` after today there (today by ``now``)."""
    now = datetime.now(UTC) if now is None else now
    day = (now.astimezone(NEW_YORK) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK)


def book(
    aws: Services,
    tenant: Tenant | str,
    *,
    phone: str = PATIENT,
    days: int = 3,
    hour: int = 14,
    starts_at: datetime | None = None,
    offsets: Sequence[str] | None = ("P1D",),
    timezone: str | None = "America/New_York",
    first_name: str | None = "Ana",
    clock: DemoClock | None = None,
    **extra: Any,
) -> Appointment:
    """A visit booked through the appointment service: at ``starts_at``, or else ``days``
    ahead at ``hour`` New York time. With a ``clock``, "now" is the clock's, for the booking
    and for the service (``offsets=None`` leaves the tenant's default reminders)."""
    if clock is not None:
        aws.appointments._clock = clock
    if starts_at is None:
        starts_at = local_day(days, hour, now=None if clock is None else clock())
    appointment, _ = aws.appointments.create(
        tenant if isinstance(tenant, str) else tenant.tenant_id,
        NewAppointment(
            phone=phone,
            starts_at=starts_at,
            timezone=timezone,
            first_name=first_name,
            reminders=None if offsets is None else list(offsets),
            **extra,
        ),
    )
    return appointment


def current(aws: Services, appointment: Appointment) -> Appointment:
    """The appointment as it is stored now."""
    return aws.appointments.get(appointment.tenant_id, appointment.appointment_id)


def outbound_sms(**changes: Any) -> OutboundSms:
    """A reminder text from a toll-free number, as the sender hands it to a provider."""
    fields: dict[str, Any] = {
        "destination": RECIPIENT,
        "body": REMINDER_BODY,
        "origination_identity": TOLL_FREE,
        "tenant_id": "t-riverside",
        "message_id": "m-0001",
        **changes,
    }
    return OutboundSms(**fields)


def queue_arn(sqs: Any, queue_url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    return arn


def subscribe_queue(topic_arn: str, queue_url: str) -> None:
    """Deliver the topic to the queue in SNS's envelope, as the template's subscriptions do."""
    boto3.client("sns").subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn(boto3.client("sqs"), queue_url),
        Attributes={"RawMessageDelivery": "false"},
    )


def take_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message waiting in the queue, decoded and deleted, oldest first."""
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages", []):
        messages += [json.loads(m["Body"]) for m in batch]
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def tap_bus(
    bus_name: str,
    *,
    rule: str = "tap",
    queue: str = "bus-tap",
    pattern: dict[str, Any] | None = None,
    target_id: str = "q",
) -> str:
    """A rule on the bus delivering what matches ``pattern`` (by default every Reach event)
    to a new queue, as a subscriber would set it up. Returns the queue's URL."""
    sqs, bus = boto3.client("sqs"), boto3.client("events")
    queue_url: str = sqs.create_queue(QueueName=queue)["QueueUrl"]
    bus.put_rule(
        Name=rule,
        EventBusName=bus_name,
        EventPattern=json.dumps(pattern or {"source": ["reach"]}),
        State="ENABLED",
    )
    bus.put_targets(
        Rule=rule,
        EventBusName=bus_name,
        Targets=[{"Id": target_id, "Arn": queue_arn(sqs, queue_url)}],
    )
    return queue_url


def reminders_of(aws: Services, appointment: Appointment) -> list[tuple[str, str, str | None]]:
    """Each stored reminder's id, status and reason, in plan order."""
    return [(r.reminder_id, r.status.value, r.reason) for r in current(aws, appointment).reminders]


#: A toll-free number of the test account, as End User Messaging names it.
EUM_NUMBER = "+12025550143"
EUM_NUMBER_ARN = "arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-0123456789abcdef"


def phone_entry(number: str = EUM_NUMBER, **changes: Any) -> dict[str, Any]:
    """One DescribePhoneNumbers entry as a new number has it (the account's defaults), with
    ``changes``; a change to None leaves that field out."""
    entry: dict[str, Any] = {
        "PhoneNumberArn": EUM_NUMBER_ARN,
        "PhoneNumberId": "phone-0123456789abcdef",
        "PhoneNumber": number,
        "Status": "ACTIVE",
        "IsoCountryCode": "US",
        "MessageType": "TRANSACTIONAL",
        "NumberCapabilities": ["SMS"],
        "NumberType": "TOLL_FREE",
        "MonthlyLeasingPrice": "2.00",
        "TwoWayEnabled": False,
        "SelfManagedOptOutsEnabled": False,
        "OptOutListName": "Default",
        "DeletionProtectionEnabled": False,
        "MessagingLimits": {"RateLimits": {"SMS": 3}},
        "CreatedTimestamp": "2026-01-01T00:00:00Z",
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


#: A list test's moment and member.
LIST_TIME = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
LIST_PHONE = "+15555550101"


def a_list(list_id: str = "alerts", keyword: str = "ALERTS", **changes: Any) -> OptInList:
    plist = OptInList(
        tenant_id="foodbank",
        list_id=list_id,
        name="Pantry alerts",
        keyword=keyword,
        description="Pick-up times and closures",
        frequency=Frequency(4, FrequencyPeriod.MONTH),
        purpose=ListPurpose.INFORMATIONAL,
        double_opt_in=False,
        created_at=LIST_TIME,
        updated_at=LIST_TIME,
    )
    return replace(plist, **changes)


def survey_body(**changes: Any) -> dict[str, Any]:
    """A valid survey as POST /surveys takes it: an NPS question that branches to "why" on
    a low score, a yes/no question with a callback choice, and free text."""
    body: dict[str, Any] = {
        "name": "After your visit",
        "language": "en",
        "intro": "Riverside Plumbing: 3 quick questions about today's visit.",
        "thanks": "Thank you for your answers!",
        "questions": [
            {
                "id": "nps",
                "text": "How likely are you to recommend us, 0-10?",
                "type": "scale",
                "min": 0,
                "max": 10,
                "next": [{"if": {"lte": 6}, "goto": "why"}, {"goto": "on_time"}],
            },
            {"id": "why", "text": "What could we do better?", "type": "text"},
            {
                "id": "on_time",
                "text": "Was the technician on time?",
                "type": "choice",
                "choices": [
                    {"key": "1", "label": "Yes"},
                    {"key": "2", "label": "No"},
                    {"key": "3", "label": "Call me", "action": "callback"},
                ],
                "next": [{"if": {"equals": "1"}, "goto": "end"}],
            },
            {"id": "else", "text": "Anything else?", "type": "text"},
        ],
    }
    body.update(changes)
    return body
