"""Consumes the inbound queue (SNS topic of two-way replies -> SQS): each reply is parsed at
the edge, processed once per inboundMessageId (Powertools idempotency), and acknowledged.

A payload that cannot be read is logged masked and acknowledged: retrying cannot fix it, and
a poison message must never block the queue. A reply whose processing failed for a reason a
retry can fix (throttled answer, event bus or table hiccup) is reported as a batch item
failure, so SQS delivers it again and, after five tries, keeps it in the dead-letter queue.
"""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from reach.domain.envelopes import RejectedPayload
from reach.domain.inbound import InboundSms, parse_inbound
from reach.observability import build_logger, build_metrics, build_tracer, report_rejected
from reach.ports.events import EventType as DomainEvent
from reach.wiring import build_idempotency_store, inbound_from_env

SERVICE = "reach-inbound"
logger = build_logger(SERVICE)
metrics = build_metrics(SERVICE)
tracer = build_tracer(SERVICE)
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

#: Replies are remembered for 14 days: longer than SQS keeps a message (redrives included).
IDEMPOTENCY_SECONDS = 14 * 24 * 3600
idempotency = IdempotencyConfig(
    event_key_jmespath="inbound_message_id",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=IDEMPOTENCY_SECONDS,
)
# Connects to IDEMPOTENCY_TABLE when the first reply is guarded, not at import.
persistence = build_idempotency_store()


@idempotent_function(data_keyword_argument="sms", config=idempotency, persistence_store=persistence)
def process_reply(*, sms: InboundSms, received_at: str) -> dict[str, Any]:
    """One reply, once: a replay of the same inboundMessageId returns the stored result."""
    result = inbound_from_env().receive(sms, datetime.fromisoformat(received_at))
    outcome = {
        "outcome": result.outcome.value,
        "intent": result.intent.value if result.intent else None,
        "tenant_id": result.tenant_id,
        "appointment_id": result.appointment_id,
        "answer": result.answer.value if result.answer else None,
        "answer_status": result.answer_status,
        "events": [e.value for e in result.events],
    }
    # Counted here, where a replay does not reach: its stored result is returned instead.
    count_outcome(outcome)
    return outcome


def handle_record(record: SQSRecord) -> None:
    parsed = parse_inbound(record.body)
    if isinstance(parsed, RejectedPayload):
        report_rejected(
            logger,
            metrics,
            parsed,
            message="inbound message rejected",
            metric="InboundRejected",
            sqs_message_id=record.message_id,
        )
        return
    received_at = _received_at(record)
    outcome = process_reply(sms=parsed, received_at=received_at.isoformat())
    metrics.add_metric(name="InboundProcessed", unit=MetricUnit.Count, value=1)
    logger.info(
        "inbound message processed",
        extra={"inbound_message_id": parsed.inbound_message_id, **outcome},
    )


def count_outcome(outcome: dict[str, Any]) -> None:
    """The dashboard's replies by intent (one series per intent, so each metric carries the
    intent as a dimension) and the opt-outs the reply made, which the opt-out spike alarm
    watches: an opt-out counts once it took effect, not every STOP that was read."""
    # single_metric prints at once, whatever POWERTOOLS_METRICS_DISABLED says (Metrics
    # honours it when it flushes): the local run and the tests turn metrics off.
    if not is_metrics_disabled():
        with single_metric(
            name="Replies",
            unit=MetricUnit.Count,
            value=1,
            default_dimensions={"service": SERVICE, "intent": outcome["intent"] or "none"},
        ):
            pass
    if DomainEvent.OPTED_OUT.value in outcome["events"]:
        metrics.add_metric(name="OptedOutByReply", unit=MetricUnit.Count, value=1)


def _received_at(record: SQSRecord) -> datetime:
    """When the reply reached AWS: the queue's SentTimestamp (SNS delivers within moments).

    Inbound order is not guaranteed; this time is what consent and reply ordering go by.
    """
    sent = record.attributes.sent_timestamp
    if sent and sent.isdigit():
        return datetime.fromtimestamp(int(sent) / 1000, UTC)
    return datetime.now(UTC)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
