"""Scheduled hourly: reconciles Reach's consent records with the provider's opt-out lists
(SNS: the account's one list; End User Messaging: each tenant's own list, for that tenant),
and expires double opt-in list members who did not answer YES within 48 hours.

A provider failure (throttling, an outage) raises: the scheduled invocation is retried by
EventBridge, and the next hour's run starts over anyway. Every step is idempotent.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from reach.observability import build_logger, build_metrics, build_tracer
from reach.wiring import reconciler_from_env

logger = build_logger("reach-reconciler")
metrics = build_metrics("reach-reconciler")
tracer = build_tracer("reach-reconciler")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = reconciler_from_env().run()
    counts = {
        "listed": report.listed,
        "contacts_seen": report.contacts_seen,
        "marked_opted_out": report.marked_opted_out,
        "reminders_skipped": report.reminders_skipped,
        "removed_from_provider": report.removed_from_provider,
        "provider_refused": report.provider_refused,
        "tenants_read": report.tenants_read,
        "tenants_without_list": len(report.tenants_without_list),
        "members_expired": report.members_expired,
    }
    for name, value in (
        ("ProviderOptOutsListed", report.listed),
        ("ContactsOptedOutFromProviderList", report.marked_opted_out),
        ("ProviderOptOutsRemoved", report.removed_from_provider),
        ("ProviderOptInsRefused", report.provider_refused),
        ("ListMembersExpired", report.members_expired),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    logger.info("opt-out lists reconciled", extra=counts)
    return counts
