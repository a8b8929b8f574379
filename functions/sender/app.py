"""Consumes the send queue a batch at a time: the send path re-checks, paces, sends and
records the whole batch, and the handler reports a partial batch failure, so that only the
messages that need another try come back.

Field-service notices come the other way too: the appointments table's stream brings each
notice the API wrote (``SenderNoticeMapping``, filtered to new notice items), so that asking
for one costs the API no queue call. A stream cannot hand a record back for later the way a
queue does (a failed record holds up its shard), so a notice that needs another try (a
throttled number, a full pacing horizon) goes onto the send queue instead, where it waits
like any other message. Only when that fails is its record reported, by sequence number, for
the mapping to deliver again; the notice's claim keeps a repeat from sending twice
(``docs/facts.md#dynamodb-stream-event-source``).

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


STREAM_SOURCE = "aws:dynamodb"


def _delivery(record: Mapping[str, Any]) -> Delivery | None:
    if record.get("eventSource") == STREAM_SOURCE:
        return _stream_delivery(record)
    try:
        queued = QueuedReminder.model_validate_json(record["body"])
    except MalformedMessage:
        # Our own queue never carries this; retrying can't fix it, so say so and let it go.
        logger.error("malformed send-queue message", extra={"message_id": record["messageId"]})
        metrics.add_metric(name="MalformedSendMessages", unit=MetricUnit.Count, value=1)
        return None
    receives = (record.get("attributes") or {}).get("ApproximateReceiveCount")
    return Delivery(queued, int(receives or 1))


def _stream_delivery(record: Mapping[str, Any]) -> Delivery | None:
    """The notice a stream record brings, as the send queue would carry it; None (logged,
    acknowledged) for anything else, which the mapping's filter should never let through."""
    from reach.services.sending.notice import queued_from_stream

    queued = queued_from_stream(record)
    if queued is None:
        logger.error(
            "stream record without a claimed notice",
            extra={"sequence_number": _record_id(record)},
        )
        metrics.add_metric(name="MalformedSendMessages", unit=MetricUnit.Count, value=1)
        return None
    return Delivery(queued)


def _record_id(record: Mapping[str, Any]) -> str:
    """What batchItemFailures names a record by: a queue message's id, a stream record's
    sequence number."""
    if record.get("eventSource") == STREAM_SOURCE:
        return str((record.get("dynamodb") or {}).get("SequenceNumber"))
    return str(record["messageId"])


def _requeued(retried: list[QueuedReminder]) -> set[str]:
    """Put stream-fed notices that need another try on the send queue; the reminder ids of
    those that could not be put there."""
    from reach.wiring import send_queue_from_env

    try:
        failed = send_queue_from_env().enqueue(retried)
    except Exception:  # any failure: the stream delivers the record again
        logger.exception("notices could not be handed to the send queue")
        failed = list(retried)
    return {queued.reminder_id for queued in failed}


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
    parsed = [(_record_id(record), record, _delivery(record)) for record in records]
    batch = [(ident, delivery) for ident, _, delivery in parsed if delivery is not None]
    sent = sender_from_env().send_all([delivery for _, delivery in batch], remaining)
    results = {ident: result for (ident, _), result in zip(batch, sent, strict=True)}
    retry = {ident for ident in results if report(results, ident)}
    streamed = {ident: d for ident, r, d in parsed if r.get("eventSource") == STREAM_SOURCE and d}
    moved = [streamed[ident].queued for ident in retry if ident in streamed]
    if moved:
        unmoved = _requeued(moved)
        retry = {i for i in retry if i not in streamed or streamed[i].queued.reminder_id in unmoved}
    # An all-failed batch is reported like any other, not raised: SQS (or the stream) retries
    # the items listed.
    return {"batchItemFailures": [{"itemIdentifier": i} for i, _, _ in parsed if i in retry]}
