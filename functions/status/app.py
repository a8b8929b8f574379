"""Consumes the delivery-status queue (End User Messaging configuration set -> SNS topic ->
SQS): each carrier receipt sets its text's status to delivered or undelivered, and an
undelivered reminder is reported to the clinic as ``DeliveryFailed``.

Applying a receipt is idempotent (a receipt older than the status, or one that says what the
status says, changes nothing), so a redelivered message needs no idempotency store. A receipt
that cannot be read is logged and acknowledged; one whose processing failed for a reason a
retry can fix (a throttled table, the event bus) is reported as a batch item failure, and
after five tries it waits in the dead-letter queue.
"""

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

from reach.domain.envelopes import RejectedPayload
from reach.domain.message import MessageStatus
from reach.domain.receipts import parse_receipt
from reach.observability import build_logger, build_metrics, build_tracer, report_rejected
from reach.services.receipts import ReceiptOutcome
from reach.wiring import receipts_from_env

logger = build_logger("reach-status")
metrics = build_metrics("reach-status")
tracer = build_tracer("reach-status")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

_METRICS = {
    ReceiptOutcome.APPLIED: "ReceiptApplied",
    ReceiptOutcome.UNCHANGED: "ReceiptUnchanged",
    ReceiptOutcome.IN_PROGRESS: "ReceiptInProgress",
    ReceiptOutcome.UNKNOWN_MESSAGE: "ReceiptUnmatched",
}

_FINAL = {
    MessageStatus.DELIVERED.value: "MessagesDelivered",
    MessageStatus.UNDELIVERED.value: "MessagesUndelivered",
}


def handle_record(record: SQSRecord) -> None:
    receipt = parse_receipt(record.body)
    if isinstance(receipt, RejectedPayload):
        report_rejected(
            logger,
            metrics,
            receipt,
            message="delivery receipt rejected",
            metric="ReceiptRejected",
            sqs_message_id=record.message_id,
        )
        return
    result = receipts_from_env().apply(receipt)
    metrics.add_metric(name=_METRICS[result.outcome], unit=MetricUnit.Count, value=1)
    # The final carrier outcome, counted once: a replayed receipt comes back UNCHANGED.
    if result.outcome is ReceiptOutcome.APPLIED and result.status in _FINAL:
        metrics.add_metric(name=_FINAL[result.status], unit=MetricUnit.Count, value=1)
    logger.info(
        "delivery receipt processed",
        extra={
            "provider_message_id": receipt.provider_message_id,
            "event_type": receipt.event_type,
            "outcome": result.outcome.value,
            "tenant_id": result.tenant_id,
            "appointment_id": result.appointment_id,
            "status": result.status,
            "delivery_failed_published": result.published,
        },
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
