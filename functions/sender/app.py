"""Consumes the send queue a batch at a time: the send path re-checks, paces, sends and
records the whole batch, and Powertools reports the partial batch failure, so that only the
messages that need another try come back."""

from datetime import timedelta
from functools import partial
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from reach.observability import build_logger, build_metrics, build_tracer
from reach.ports.send_queue import MalformedMessage, QueuedReminder
from reach.services.sending import Delivery, RedeliverLater, SendOutcome, SendResult
from reach.wiring import sender_from_env

logger = build_logger("reach-sender")
metrics = build_metrics("reach-sender")
tracer = build_tracer("reach-sender")
# An all-failed batch is reported like any other, not raised: SQS retries the same items.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

THROTTLED = "throttled"

_METRIC = {
    SendOutcome.SENT: "RemindersSent",
    SendOutcome.FAILED: "RemindersFailed",
    SendOutcome.SKIPPED: "RemindersSkipped",
    SendOutcome.HELD: "RemindersHeld",
    SendOutcome.DUPLICATE: "DuplicateDeliveries",
    SendOutcome.RETRY: "SendRetries",
}


def _delivery(record: SQSRecord) -> Delivery | None:
    try:
        queued = QueuedReminder.model_validate_json(record.body)
    except MalformedMessage:
        # Our own queue never carries this; retrying can't fix it, so say so and let it go.
        logger.error("malformed send-queue message", extra={"message_id": record.message_id})
        metrics.add_metric(name="MalformedSendMessages", unit=MetricUnit.Count, value=1)
        return None
    return Delivery(queued, int(record.attributes.approximate_receive_count or 1))


def report(results: dict[str, SendResult], record: SQSRecord) -> None:
    """One record's outcome, as the batch decided it: counted, logged, and handed back to
    the queue (a partial batch failure) when it needs another try."""
    result = results.get(record.message_id)
    if result is None:  # malformed: acknowledged, already counted
        return
    metrics.add_metric(name=_METRIC[result.outcome], unit=MetricUnit.Count, value=1)
    if result.reason == THROTTLED:
        # Throttled by the provider, or handed back untried because its number just was.
        metrics.add_metric(name="SendsThrottled", unit=MetricUnit.Count, value=1)
    logger.info(
        "message processed",
        extra={
            "sqs_message_id": record.message_id,
            "outcome": result.outcome,
            "reason": result.reason,
        },
    )
    if result.outcome is SendOutcome.RETRY:
        raise RedeliverLater(result.reason or "retry")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    remaining = timedelta(milliseconds=context.get_remaining_time_in_millis())
    records = [SQSRecord(raw) for raw in event.get("Records") or []]
    parsed = [(record.message_id, _delivery(record)) for record in records]
    batch = [(message_id, delivery) for message_id, delivery in parsed if delivery is not None]
    sent = sender_from_env().send_all([delivery for _, delivery in batch], remaining)
    results = {message_id: result for (message_id, _), result in zip(batch, sent, strict=True)}
    return process_partial_response(
        event=event, record_handler=partial(report, results), processor=processor, context=context
    )
