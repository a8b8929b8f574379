"""The send queue on SQS."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reach.ports.send_queue import QueuedReminder

_BATCH = 10  # SendMessageBatch's limit


class SqsSendQueue:
    """Queues claimed reminders, ten per SendMessageBatch call."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def enqueue(self, reminders: Sequence[QueuedReminder]) -> list[QueuedReminder]:
        failed: list[QueuedReminder] = []
        for start in range(0, len(reminders), _BATCH):
            batch = list(reminders[start : start + _BATCH])
            response = self._client.send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(index), "MessageBody": reminder.model_dump_json()}
                    for index, reminder in enumerate(batch)
                ],
            )
            failed += [batch[int(entry["Id"])] for entry in response.get("Failed", [])]
        return failed


def build_send_queue(queue_url: str, region: str) -> SqsSendQueue:
    """The send queue at ``queue_url``, with its own SQS client (made when this is called)."""
    import boto3

    return SqsSendQueue(boto3.client("sqs", region_name=region), queue_url)
