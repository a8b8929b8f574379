"""Plays the carrier in the local run: reports what happened to a text the way End User
Messaging's configuration set does.

A receipt is published to the embedded delivery events topic as the configuration set's event
destination would publish it; SNS delivers it to the status queue with its envelope, and the
real status function is handed the queue's messages the way its event source mapping would.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from reach.settings import Settings
from reach.wiring import build_receipts
from reach_tools.demo_clock import DemoClock
from reach_tools.local.embedded import REGION, EmbeddedAws
from reach_tools.local.functions import drain_queue_into, load_function

STATUS_FUNCTION = "StatusFunction"
DELIVERY_TOPIC = "DeliveryEventsTopic"
STATUS_QUEUE = "StatusQueue"


class LocalCarrier:
    """Reports delivery receipts for texts Reach sent (by the provider's message id)."""

    def __init__(self, template: Mapping[str, Any], aws: EmbeddedAws, clock: DemoClock) -> None:
        self._clock = clock
        # Loaded after the embedded AWS has set the environment, as in a cold start; the
        # receipts' "now" is the demo clock's.
        self._function = load_function(template, STATUS_FUNCTION, REGION)
        receipts = build_receipts(Settings.from_env(), clock=clock)
        self._function.module.__dict__["receipts_from_env"] = lambda: receipts
        self._topic = aws.topic_arns[DELIVERY_TOPIC]
        self._queue = aws.queue_urls[STATUS_QUEUE]
        self._sqs = aws.sqs()
        self._sns = aws.client("sns")
        self._lock = threading.Lock()

    def report(self, provider_message_id: str, event_type: str = "TEXT_DELIVERED") -> bool:
        """The carrier's final word on a text, now by the demo clock; True when the status
        function asked for the receipt to be retried."""
        now = self._clock().astimezone(UTC)
        event = {
            "eventType": event_type,
            "eventVersion": "1.0",
            "eventTimestamp": int(now.timestamp() * 1000),
            "isFinal": True,
            "messageId": provider_message_id,
            "messageStatus": event_type.removeprefix("TEXT_"),
            "isoCountryCode": "US",
            "messageType": "TRANSACTIONAL",
            "totalMessageParts": 1,
        }
        with self._lock:
            self._sns.publish(TopicArn=self._topic, Message=json.dumps(event))
            sent = str(int(now.timestamp() * 1000))
            return drain_queue_into(self._function, self._sqs, self._queue, sent_at_ms=sent)
