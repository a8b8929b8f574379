"""The API Gateway TOKEN authorizer's decision, as an IAM policy.

The result is cached by API Gateway for the stage's authorizer TTL and reused for every route,
so an Allow covers the whole API (``*/*``): a policy for just the first route would deny the
next call to another route. Revoking a key therefore takes effect within that TTL.

The policy is written here rather than with Powertools' ``APIGatewayAuthorizerResponse``:
importing it runs the whole ``data_classes`` package (every event type Powertools knows), the
largest thing the authorizer loaded that it did not need (``make bench --only cold-start``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

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
    """Allow the whole API for the key's tenant under its usage key, Deny (403) a revoked
    key, raise for 401."""
    try:
        caller = authenticator.identify(token)
    except Unauthorized as error:
        metrics.add_metric(name="ApiKeyRejected", unit=MetricUnit.Count, value=1)
        raise Unauthorised401 from error
    except Forbidden:
        metrics.add_metric(name="RevokedApiKeyUsed", unit=MetricUnit.Count, value=1)
        return api_wide_policy(method_arn, "revoked", "Deny")
    policy = api_wide_policy(
        method_arn, caller.tenant_id, "Allow", context={"tenant_id": caller.tenant_id}
    )
    if caller.usage_key is None:
        # API Gateway then answers 403 (INVALID_API_KEY): the tenant needs its usage key
        # (`reach tenants usage-key`) before its requests can be throttled, and so served.
        metrics.add_metric(name="TenantWithoutUsageKey", unit=MetricUnit.Count, value=1)
    else:
        # ApiKeySourceType AUTHORIZER: this picks the tenant's usage plan key (per-tenant
        # throttling). Cached with the rest of the result for the authorizer's TTL.
        policy["usageIdentifierKey"] = caller.usage_key
    return policy


def api_wide_policy(
    method_arn: str, principal_id: str, effect: str, context: dict[str, str] | None = None
) -> dict[str, Any]:
    """An IAM policy of one statement over every method and path of the stage ``method_arn``
    names (``arn:<partition>:execute-api:<region>:<account>:<api>/<stage>/<verb>/<path>``)."""
    parts = method_arn.split(":", 5)
    path = parts[5].split("/") if len(parts) == 6 and parts[2] == "execute-api" else []
    if len(path) < 3 or not all(path[:2]):
        raise ValueError("methodArn is not an API Gateway method ARN")
    stage_arn = ":".join(parts[:5]) + f":{path[0]}/{path[1]}"
    policy: dict[str, Any] = {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": [f"{stage_arn}/*/*"]}
            ],
        },
    }
    if context:
        policy["context"] = context
    return policy
