"""Runs list import files: S3 tells EventBridge a file arrived under ``imports/``, EventBridge
invokes this function, and the file is read as a stream, row by row, into the list, leaving
its report on the import's record (``GET /lists/{id}/imports/{import_id}``).

The object's key names the tenant, the list and the import (Reach presigned the URL for that
key), so nothing in the file can choose a tenant. S3 and EventBridge deliver at least once:
the import's record is claimed first, so a repeated event runs nothing. An error a retry can
fix (a throttled table) is raised, and EventBridge invokes again.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from reach.observability import build_logger, build_metrics, build_tracer
from reach.wiring import importer_from_env

logger = build_logger("reach-importer")
metrics = build_metrics("reach-importer")
tracer = build_tracer("reach-importer")


def object_key(event: dict[str, Any]) -> str | None:
    """The key of the object an EventBridge "Object Created" event names (None: another)."""
    detail = event.get("detail") if event.get("source") == "aws.s3" else None
    target = (detail or {}).get("object") or {}
    key = target.get("key") if isinstance(target, dict) else None
    return key if isinstance(key, str) and key else None


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    key = object_key(event)
    if key is None:
        logger.warning("not an S3 object-created event; ignored")
        metrics.add_metric(name="ImportEventIgnored", unit=MetricUnit.Count, value=1)
        return {"processed": False}
    record = importer_from_env().process_upload(key)
    if record is None:
        logger.info("import already handled or not an import's file", extra={"key": key})
        return {"processed": False}
    report = record.report
    logger.info(
        "list import finished",
        extra={
            "tenant_id": record.tenant_id,
            "list_id": record.list_id,
            "import_id": record.import_id,
            "status": record.status.value,
            "rows": report.rows if report else 0,
            "accepted": report.accepted if report else 0,
            "rejected": report.rejected_count if report else 0,
        },
    )
    metrics.add_metric(name="ImportRows", unit=MetricUnit.Count, value=report.rows if report else 0)
    return {"processed": True, "import_id": record.import_id, "status": record.status.value}
