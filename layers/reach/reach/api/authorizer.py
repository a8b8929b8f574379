"""The API Gateway TOKEN authorizer's decision, as an IAM policy.

The result is cached by API Gateway for the stage's authorizer TTL and reused for every route,
so an Allow covers the whole API (``*/*``): a policy for just the first route would deny the
next call to another route. Revoking a key therefore takes effect within that TTL.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
)

from reach.domain.errors import Forbidden, Unauthorized
from reach.observability import build_metrics
from reach.services.api_keys import Authenticator

# Shares Powertools' metric buffer with the handler, whose log_metrics flushes it.
metrics = build_metrics("reach-authorizer")


class Unauthorised401(Exception):
    """API Gateway answers 401 when a TOKEN authorizer raises exactly 'Unauthorized'."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def authorize(authenticator: Authenticator, token: str | None, method_arn: str) -> dict[str, Any]:
    """Allow the whole API for the key's tenant, Deny (403) a revoked key, raise for 401."""
    try:
        tenant_id = authenticator.tenant_for(token)
    except Unauthorized as error:
        metrics.add_metric(name="ApiKeyRejected", unit=MetricUnit.Count, value=1)
        raise Unauthorised401 from error
    except Forbidden:
        metrics.add_metric(name="RevokedApiKeyUsed", unit=MetricUnit.Count, value=1)
        policy = APIGatewayAuthorizerResponse.from_route_arn(method_arn, principal_id="revoked")
        policy.deny_all_routes()
        return policy.asdict()
    policy = APIGatewayAuthorizerResponse.from_route_arn(
        method_arn, principal_id=tenant_id, context={"tenant_id": tenant_id}
    )
    policy.allow_all_routes()
    return policy.asdict()
