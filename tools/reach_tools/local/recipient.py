"""Plays the recipient's phone in the local run: a reply goes the way a real one does.

End User Messaging would publish the two-way payload to the inbound topic; here the recipient
publishes it to the embedded SNS topic, SNS delivers it to the inbound queue with its
envelope (as template.yaml's subscription says), and the real inbound function is handed
the queue's messages the way its event source mapping would. What the recipient gets back
(answers through the real SNS adapter) and what the clinic's subscription would see (events
on the bus, read through a rule to a tap queue) are reported per reply.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from moto.sns.models import sns_backends

from reach.settings import Settings
from reach.wiring import build_inbound
from reach_tools.demo_clock import DemoClock
from reach_tools.local.embedded import REGION, EmbeddedAws
from reach_tools.local.functions import ACCOUNT_ID, drain_queue_into, load_function

INBOUND_FUNCTION = "InboundFunction"
INBOUND_TOPIC = "InboundTopic"
INBOUND_QUEUE = "InboundQueue"
EVENT_BUS = "ReachEventBus"


@dataclass(frozen=True)
class Answer:
    """A text Reach sent the recipient in answer."""

    message_id: str
    phone: str
    body: str


@dataclass(frozen=True)
class ReplyReport:
    """What one reply caused, as the recipient and the clinic would see it."""

    inbound_message_id: str
    answers: tuple[Answer, ...]
    #: The events on the bus (EventBridge's envelope, ``detail`` included).
    events: tuple[Mapping[str, Any], ...]
    #: The function reported the message as failed: it stays in the queue for a retry.
    retried: bool


class LocalPhone:
    """Sends replies as any phone number to any of the tenants' numbers."""

    def __init__(
        self, template: Mapping[str, Any], aws: EmbeddedAws, clock: DemoClock, *, prefix: str
    ) -> None:
        self._aws = aws
        self._clock = clock
        # Loaded after the embedded AWS has set the environment, as in a cold start; its
        # clock is the demo clock, so replies are read at the same "now" as the reminders.
        self._function = load_function(template, INBOUND_FUNCTION, REGION)
        inbound = build_inbound(Settings.from_env(), clock=clock, sleep=clock.sleep)
        self._function.module.__dict__["inbound_from_env"] = lambda: inbound
        self._topic = aws.topic_arns[INBOUND_TOPIC]
        self._queue = aws.queue_urls[INBOUND_QUEUE]
        self._sqs = aws.sqs()
        self._sns = aws.client("sns")
        self._tap = self._tap_the_bus(aws.bus_names[EVENT_BUS], f"{prefix}-event-tap")
        self._lock = threading.Lock()

    def reply(
        self,
        phone: str,
        to: str,
        body: str,
        *,
        previous_message_id: str | None = None,
        inbound_message_id: str | None = None,
    ) -> ReplyReport:
        """Text ``body`` from ``phone`` to our number ``to``; ``previous_message_id`` is the
        provider id of the text being answered, when the phone knows it."""
        inbound_id = inbound_message_id or str(uuid.uuid4())
        payload = {
            "originationNumber": phone,
            "destinationNumber": to,
            "messageKeyword": "",
            "messageBody": body,
            "inboundMessageId": inbound_id,
            "previousPublishedMessageId": previous_message_id or "",
        }
        with self._lock:
            before = set(self._texts())
            self._sns.publish(TopicArn=self._topic, Message=json.dumps(payload))
            retried = self._drain()
            answers = tuple(
                Answer(message_id, to_phone, text)
                for message_id, (to_phone, text) in self._texts().items()
                if message_id not in before and to_phone == phone
            )
            return ReplyReport(inbound_id, answers, tuple(self._events()), retried)

    def bus_events(self) -> list[Mapping[str, Any]]:
        """The events published since the last reply or call: what the dispatcher's ticks put
        on the bus (a campaign's start and finish) reaches no reply's report."""
        with self._lock:
            return self._events()

    def http_reply(self, body: bytes) -> tuple[int, bytes]:
        """The local front's ``POST /_local/phone/replies``: ``{"from", "to", "body",
        "previous_message_id"?}`` -> what the reply caused, as JSON."""
        try:
            request = json.loads(body or b"{}")
            fields = {name: request.get(name) for name in ("from", "to", "body")}
            missing = [name for name, value in fields.items() if not isinstance(value, str)]
        except (ValueError, AttributeError):
            missing = ["from", "to", "body"]
        if missing:
            problem = {
                "error": "validation_error",
                "message": 'send {"from": "+1...", "to": "<tenant number>", "body": "1"}',
                "fields": [{"field": name, "message": "required string"} for name in missing],
            }
            return 422, json.dumps(problem).encode()
        previous = request.get("previous_message_id")
        report = self.reply(
            fields["from"] or "",
            fields["to"] or "",
            fields["body"] or "",
            previous_message_id=previous if isinstance(previous, str) else None,
        )
        answer = {
            "inbound_message_id": report.inbound_message_id,
            "answers": [{"message_id": a.message_id, "body": a.body} for a in report.answers],
            "events": [
                {"detail-type": e["detail-type"], "detail": e["detail"]} for e in report.events
            ],
            "retried": report.retried,
        }
        return 200, json.dumps(answer, indent=2).encode()

    def _drain(self) -> bool:
        """Hand the inbound queue's messages to the function, as its mapping would. Sent
        "now" by the demo clock: replies are ordered by this time."""
        sent = str(int(self._clock().astimezone(UTC).timestamp() * 1000))
        return drain_queue_into(self._function, self._sqs, self._queue, sent_at_ms=sent)

    def _tap_the_bus(self, bus: str, name: str) -> str:
        """A rule on the bus sending every Reach event to a queue: what a clinic's
        subscription would receive."""
        url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events = self._aws.client("events")
        events.put_rule(Name=name, EventBusName=bus, EventPattern='{"source": ["reach"]}')
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
        return str(url)

    def _events(self) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self._tap, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._tap, ReceiptHandle=message["ReceiptHandle"])

    @staticmethod
    def _texts() -> dict[str, tuple[str, str]]:
        # moto's SNS backend is per process: a copy, compared with the one taken before.
        return {
            message_id: (str(sms[0]), str(sms[1]))
            for message_id, sms in dict(sns_backends[ACCOUNT_ID][REGION].sms_messages).items()
        }
