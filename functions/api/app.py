"""Clinic REST API (API Gateway proxy integration)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from reach.api.app import build_resolver
from reach.observability import build_logger, build_metrics, build_tracer
from reach.wiring import services_from_env

logger = build_logger("reach-api")
metrics = build_metrics("reach-api")
tracer = build_tracer("reach-api")
app = build_resolver(logger)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app.append_context(services=services_from_env())
    return app.resolve(event, context)
