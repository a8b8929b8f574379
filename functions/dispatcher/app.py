"""Scheduled every minute: claims due reminders and queues them for the sender."""

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from reach.domain.schedule import parse_scheduled_event
from reach.observability import build_logger, build_metrics, build_tracer
from reach.wiring import dispatcher_from_env

logger = build_logger("reach-dispatcher")
metrics = build_metrics("reach-dispatcher")
tracer = build_tracer("reach-dispatcher")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    tick = parse_scheduled_event(event)
    started = time.monotonic()
    report = dispatcher_from_env().tick(tick.time)
    # Wall time, not the tick's clock: what the dashboard compares with the one-minute rate.
    elapsed_ms = (time.monotonic() - started) * 1000
    for name, value in (
        ("RemindersClaimed", report.claimed),
        ("RemindersQueued", report.queued),
        ("RemindersPastStart", report.expired),
        ("RemindersOutcomeUnknown", report.unknown_outcome),
        ("RemindersNotQueued", report.requeue_failures),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.add_metric(name="TickDuration", unit=MetricUnit.Milliseconds, value=elapsed_ms)
    metrics.add_metric(
        name="OldestDueAge", unit=MetricUnit.Seconds, value=report.oldest_due_seconds
    )
    logger.info("tick", extra={"now": tick.time.isoformat(), "read": report.read})
    return {"read": report.read, "claimed": report.claimed, "queued": report.queued}
