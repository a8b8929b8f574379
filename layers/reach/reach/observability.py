"""Powertools Logger, Metrics and Tracer, configured the Reach way.

Every log line passes through ``PhoneMaskingFormatter``: a phone number that reaches a log,
in a message, an extra key or an exception, is masked before the line is written.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import PowertoolsLogRecord
from aws_lambda_powertools.metrics import MetricUnit

from reach.domain.envelopes import RejectedPayload
from reach.domain.masking import mask_phones_in

METRICS_NAMESPACE = "Reach"


class PhoneMaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter with every phone number masked in the serialized line."""

    def serialize(self, log: dict[str, Any] | PowertoolsLogRecord) -> str:
        return mask_phones_in(super().serialize(log))


def build_logger(service: str) -> Logger:
    return Logger(service=service, logger_formatter=PhoneMaskingFormatter())


def build_metrics(service: str) -> Metrics:
    return Metrics(namespace=METRICS_NAMESPACE, service=service)


def build_tracer(service: str) -> Tracer:
    return Tracer(service=service)


def report_rejected(
    logger: Logger,
    metrics: Metrics,
    rejected: RejectedPayload,
    *,
    message: str,
    metric: str,
    sqs_message_id: str,
) -> None:
    """A queue message whose payload could not be read: a warning with why (no content) and
    one count, before the handler acknowledges it."""
    logger.warning(
        message,
        extra={
            "reason": rejected.reason,
            "fields": list(rejected.fields),
            "summary": rejected.summary,
            "sqs_message_id": sqs_message_id,
        },
    )
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
