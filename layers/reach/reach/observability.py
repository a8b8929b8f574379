"""Powertools Logger, Metrics and Tracer, configured the Reach way.

Every log line passes through ``PhoneMaskingFormatter``: a phone number that reaches a log,
in a message, an extra key or an exception, is masked before the line is written.

A Tracer is built only where tracing runs. Powertools imports the X-Ray SDK for every Tracer,
a disabled one too, and outside Lambda the SDK's recorder loads two botocore X-Ray clients at
import: a cold-start cost for nothing (``make bench --only cold-start``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import PowertoolsLogRecord
from aws_lambda_powertools.metrics import MetricUnit

from reach.domain.envelopes import RejectedPayload
from reach.domain.masking import mask_phones_in
from reach.settings import tracing_enabled

METRICS_NAMESPACE = "Reach"


class PhoneMaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter with every phone number masked in the serialized line."""

    def serialize(self, log: dict[str, Any] | PowertoolsLogRecord) -> str:
        return mask_phones_in(super().serialize(log))


def build_logger(service: str) -> Logger:
    return Logger(service=service, logger_formatter=PhoneMaskingFormatter())


def build_metrics(service: str) -> Metrics:
    return Metrics(namespace=METRICS_NAMESPACE, service=service)


#: The libraries every call Reach makes goes through: botocore (boto3 clients, and PynamoDB's
#: client) and PynamoDB (whose patch adds the DynamoDB subsegments today's traces show).
#: Powertools' default patches every library X-Ray knows, importing each one installed
#: (requests, sqlite3, database drivers...) though Reach calls none of them.
TRACED_LIBRARIES = ("botocore", "pynamodb")


class HandlerTracer(Protocol):
    """What the functions use of a Tracer."""

    def capture_lambda_handler(
        self,
        lambda_handler: Callable[..., Any] | None = None,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Callable[..., Any]: ...


class Untraced:
    """The Tracer where tracing is off: the handler runs as written, and nothing is loaded."""

    def capture_lambda_handler(
        self,
        lambda_handler: Callable[..., Any] | None = None,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Callable[..., Any]:
        if lambda_handler is None:
            return self.capture_lambda_handler
        return lambda_handler


def build_tracer(service: str, *, enabled: bool | None = None) -> HandlerTracer:
    """A Powertools Tracer where tracing runs (``reach.settings.tracing_enabled`` unless
    ``enabled`` says), ``Untraced`` elsewhere."""
    if not (tracing_enabled() if enabled is None else enabled):
        return Untraced()
    return Tracer(service=service, patch_modules=TRACED_LIBRARIES)


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
