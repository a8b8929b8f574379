"""API Gateway TOKEN authorizer: `Authorization: Bearer <api key>` -> tenant_id."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from reach.api.authorizer import authorize
from reach.observability import build_logger, build_metrics, build_tracer
from reach.wiring import authenticator_from_env

logger = build_logger("reach-authorizer")
metrics = build_metrics("reach-authorizer")
tracer = build_tracer("reach-authorizer")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorize(
        authenticator_from_env(),
        event.get("authorizationToken"),
        event["methodArn"],
    )
