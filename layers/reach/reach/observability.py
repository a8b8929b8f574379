"""Powertools Logger, Metrics and Tracer, configured the Reach way.

Every log line passes through ``PhoneMaskingFormatter``: a phone number that reaches a log,
in a message, an extra key or an exception, is masked before the line is written.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import PowertoolsLogRecord

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
