"""Consumes the send queue a batch at a time: the send path re-checks, paces, sends and
records the whole batch, and the handler reports a partial batch failure, so that only the
messages that need another try come back.

The SQS event and the partial batch response are read and written by hand, as the
authorizer writes its policy: Powertools' batch utilities load every event source's data
classes at import, a cold-start cost the sender pays most often of all functions. The
response shape is in ``docs/facts.md#sqs-partial-batch-response``.
"""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from reach.observability import build_logger, build_metrics, build_tracer
from reach.ports.send_queue import MalformedMessage, QueuedReminder
from reach.services.sending.outcomes import Delivery, SendOutcome, SendResult
from reach.wiring import sender_from_env

logger = build_logger("reach-sender")
metrics = build_metrics("reach-sender")
tracer = build_tracer("reach-sender")

THROTTLED = "throttled"

_METRIC = {
    SendOutcome.SENT: "RemindersSent",
    SendOutcome.FAILED: "RemindersFailed",
    SendOutcome.SKIPPED: "RemindersSkipped",
    SendOutcome.HELD: "RemindersHeld",
    SendOutcome.DUPLICATE: "DuplicateDeliveries",
    SendOutcome.RETRY: "SendRetries",
}


def _delivery(record: Mapping[str, Any]) -> Delivery | None:
    try:
        queued = QueuedReminder.model_validate_json(record["body"])
    except MalformedMessage:
        # Our own queue never carries this; retrying can't fix it, so say so and let it go.
        logger.error("malformed send-queue message", extra={"message_id": record["messageId"]})
        metrics.add_metric(name="MalformedSendMessages", unit=MetricUnit.Count, value=1)
        return None
    receives = (record.get("attributes") or {}).get("ApproximateReceiveCount")
    return Delivery(queued, int(receives or 1))


def report(results: Mapping[str, SendResult], message_id: str) -> bool:
    """One record's outcome, as the batch decided it: counted and logged. True when it needs
    another try, so that the queue hands it back (a partial batch failure)."""
    result = results.get(message_id)
    if result is None:  # malformed: acknowledged, already counted
        return False
    metrics.add_metric(name=_METRIC[result.outcome], unit=MetricUnit.Count, value=1)
    if result.reason == THROTTLED:
        # Throttled by the provider, or handed back untried because its number just was.
        metrics.add_metric(name="SendsThrottled", unit=MetricUnit.Count, value=1)
    logger.info(
        "message processed",
        extra={"sqs_message_id": message_id, "outcome": result.outcome, "reason": result.reason},
    )
    return result.outcome is SendOutcome.RETRY


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(
    event: dict[str, Any], context: LambdaContext
) -> dict[str, list[dict[str, str]]]:
    remaining = timedelta(milliseconds=context.get_remaining_time_in_millis())
    records: list[Mapping[str, Any]] = event.get("Records") or []
    parsed = [(record["messageId"], _delivery(record)) for record in records]
    batch = [(message_id, delivery) for message_id, delivery in parsed if delivery is not None]
    sent = sender_from_env().send_all([delivery for _, delivery in batch], remaining)
    results = {message_id: result for (message_id, _), result in zip(batch, sent, strict=True)}
    # An all-failed batch is reported like any other, not raised: SQS retries the same items.
    return {
        "batchItemFailures": [
            {"itemIdentifier": message_id}
            for message_id, _ in parsed
            if report(results, message_id)
        ]
    }
