"""Setup and events for driving the functions through their handlers (``lambdas.Lambdas``):
a tenant, bookings, the events AWS hands each function, and the SQS event source mapping.

The events start from the samples in ``events/`` and change only what each invocation needs
(ids, bodies, times), so every invocation looks like what Lambda delivers.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reach.data.tenants import ApiKeyRepository, TenantRepository
from reach.domain.models import Appointment, Tenant
from reach.services.appointments import AppointmentService, NewAppointment
from reach.services.tenants import TenantAdmin
from reach_tools.bench.harness import ORIGINATION
from reach_tools.bench.lambdas import Lambdas, event

ZONE = "America/New_York"


@dataclass(frozen=True)
class Clinic:
    tenant: Tenant
    key: str


def open_clinic(world: Lambdas, quiet_hours: str = "21:00-08:00") -> Clinic:
    """A New York tenant sending from the stack's number, with its first API key."""
    tenants = TenantRepository()
    admin = TenantAdmin(tenants, ApiKeyRepository(), world.clock)
    tenant, key = admin.create_tenant("Bench Clinic", ZONE, ORIGINATION, "21:00-08:00", ("P1D",))
    if quiet_hours != tenant.quiet_hours:
        # The admin service refuses an empty window; an older tenant may have one.
        from dataclasses import replace

        tenant = replace(tenant, quiet_hours=quiet_hours)
        tenants.save_profile(tenant)
    return Clinic(tenant, key.secret)


def book(
    world: Lambdas,
    clinic: Clinic,
    count: int,
    *,
    starts_at: datetime,
    reminders: tuple[str, ...] = ("P1D",),
    first_phone: int = 0,
) -> list[Appointment]:
    """``count`` appointments a minute apart, one recipient each, through the service."""
    from reach.data.appointments import AppointmentRepository
    from reach.data.contacts import ContactRepository

    service = AppointmentService(
        AppointmentRepository(world.aws.settings.due_shards),
        TenantRepository(),
        ContactRepository(),
        world.clock,
    )
    booked: list[Appointment] = []
    for n in range(count):
        appointment, _ = service.create(
            clinic.tenant.tenant_id,
            NewAppointment(
                # Not in the stack's own 202 block: its sending number is no recipient.
                phone=f"+1212555{(first_phone + n) % 10_000:04d}",
                starts_at=starts_at + timedelta(minutes=n),
                timezone=ZONE,
                first_name="Ana",
                reminders=list(reminders),
            ),
        )
        booked.append(appointment)
    return booked


# --- Events --------------------------------------------------------------------------------


def scheduled(at: datetime) -> dict[str, Any]:
    tick = copy.deepcopy(event("dispatcher_scheduled.json"))
    tick["time"] = at.isoformat().replace("+00:00", "Z")
    return tick


def token(secret: str) -> dict[str, Any]:
    return event("authorizer_token.json") | {"authorizationToken": f"Bearer {secret}"}


def get_appointment(tenant_id: str, appointment_id: str) -> dict[str, Any]:
    request = copy.deepcopy(event("api_get_appointment.json"))
    request["path"] = f"/appointments/{appointment_id}"
    request["pathParameters"] = {"id": appointment_id}
    return _as_tenant(request, tenant_id)


def create_appointment(
    tenant_id: str, *, phone: str, starts_at: datetime, external_id: str
) -> dict[str, Any]:
    """``POST /appointments`` for one booking, as the authorizer lets it through."""
    request = copy.deepcopy(event("api_create_appointment.json"))
    body = json.loads(request["body"])
    body |= {
        "phone": phone,
        "starts_at": starts_at.astimezone(ZoneInfo(ZONE)).isoformat(),
        "timezone": ZONE,
        "external_id": external_id,
        "reminders": ["P1D"],
    }
    request["body"] = json.dumps(body)
    return _as_tenant(request, tenant_id)


def _as_tenant(request: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    """``request`` as the authorizer lets it through for ``tenant_id``."""
    request["requestContext"]["authorizer"] = {"principalId": tenant_id, "tenant_id": tenant_id}
    return request


def _sns_envelope(sample: str, message: dict[str, Any]) -> str:
    envelope = json.loads(event(sample)["Records"][0]["body"])
    envelope["Message"] = json.dumps(message)
    return json.dumps(envelope)


def reply_body(phone: str, text: str, inbound_id: str) -> str:
    """A two-way reply as SNS puts it in the inbound queue."""
    return _sns_envelope(
        "inbound_sqs.json",
        {
            "originationNumber": phone,
            "destinationNumber": ORIGINATION,
            "messageKeyword": "",
            "messageBody": text,
            "inboundMessageId": inbound_id,
            "previousPublishedMessageId": "",
        },
    )


def receipt_body(
    provider_message_id: str, phone: str, at: datetime, *, delivered: bool = True
) -> str:
    """An End User Messaging delivery event as SNS puts it in the status queue."""
    receipt = json.loads(json.loads(event("status_sqs.json")["Records"][0]["body"])["Message"])
    millis = int(at.timestamp() * 1000)
    receipt |= {
        "destinationPhoneNumber": phone,
        "originationPhoneNumber": ORIGINATION,
        "messageId": provider_message_id,
        "messageRequestTimestamp": millis - 1000,
        "eventTimestamp": millis,
        "eventType": "TEXT_DELIVERED" if delivered else "TEXT_CARRIER_UNREACHABLE",
        "messageStatus": "DELIVERED" if delivered else "CARRIER_UNREACHABLE",
    }
    receipt.pop("context", None)
    return _sns_envelope("status_sqs.json", receipt)


def sqs_event(
    sample: str, records: list[tuple[str, str, int]], sent_at: datetime | None = None
) -> dict[str, Any]:
    """The event for ``records`` (message id, body, receive count) from ``sample``'s queue."""
    template = event(sample)["Records"][0]
    built = []
    for message_id, body, receives in records:
        record = copy.deepcopy(template)
        record["messageId"] = message_id
        record["body"] = body
        record["attributes"]["ApproximateReceiveCount"] = str(receives)
        if sent_at is not None:
            record["attributes"]["SentTimestamp"] = str(int(sent_at.timestamp() * 1000))
        built.append(record)
    return {"Records": built}


# --- The SQS event source mapping -----------------------------------------------------------


@dataclass
class Mapping:
    """The event source mapping of one queue and function, over moto's SQS: receive up to
    ``batch`` messages, invoke, delete what the function did not report as failed, and make
    the failed visible again at once (moto times visibility by the wall clock). A message
    received ``max_receives`` times goes to the dead-letter queue, as the redrive policy does.
    """

    world: Lambdas
    queue_url: str
    function: str
    sample: str
    batch: int = 10
    max_receives: int = 5
    #: The queue's visibility timeout: when set, a redelivery waits it out on the world's
    #: clock, as SQS makes a failed message visible again only once it has passed.
    visibility: timedelta | None = None
    invocations: int = 0
    redelivered: int = 0
    dead_lettered: list[str] = field(default_factory=list)

    def receive(self) -> list[dict[str, Any]]:
        sqs = self.world.aws.sqs
        messages: list[dict[str, Any]] = []
        while len(messages) < self.batch:
            received = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.batch - len(messages)),
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not received:
                break
            messages += [dict(message) for message in received]
        return messages

    def pump(self) -> int:
        """One invocation with what the queue holds; returns the messages it handled."""
        messages = self.receive()
        if not messages:
            return 0
        sqs = self.world.aws.sqs
        records = [
            (m["MessageId"], m["Body"], int(m["Attributes"]["ApproximateReceiveCount"]))
            for m in messages
        ]
        self.invocations += 1
        response = self.world.invoke(self.function, sqs_event(self.sample, records))
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        if failed and self.visibility is not None:
            self.world.clock.advance(self.visibility)
        for message, (_, _, receives) in zip(messages, records, strict=True):
            handle = message["ReceiptHandle"]
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=handle)
            elif receives >= self.max_receives:
                self.dead_lettered.append(message["Body"])
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=handle)
            else:
                self.redelivered += 1
                sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=0
                )
        return len(messages)

    def drain(self, limit: int = 10_000) -> Iterator[int]:
        """Invoke until the queue is empty (or ``limit`` invocations)."""
        for _ in range(limit):
            handled = self.pump()
            if not handled:
                return
            yield handled
