"""The authorizer's IAM policy, written without Powertools' APIGatewayAuthorizerResponse."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
)

from reach.api.authorizer import api_wide_policy

METHOD_ARNS = [
    "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/appointments",
    "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/appointments/a-1/cancel",
    "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/",
]


@pytest.mark.parametrize("method_arn", METHOD_ARNS)
@pytest.mark.parametrize("effect", ["Allow", "Deny"])
def test_the_policy_is_the_one_powertools_wrote_for_the_whole_stage(method_arn, effect):
    context = {"tenant_id": "t-1"} if effect == "Allow" else None
    powertools = APIGatewayAuthorizerResponse.from_route_arn(method_arn, "t-1", context=context)
    if effect == "Allow":
        powertools.allow_all_routes()
    else:
        powertools.deny_all_routes()

    assert api_wide_policy(method_arn, "t-1", effect, context=context) == powertools.asdict()


def test_the_policy_keeps_the_partition_of_the_method_arn():
    # Powertools' from_route_arn wrote `arn:aws:` whatever the partition (GovCloud, China)
    arn = "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abc123/dev/GET/appointments"

    [statement] = api_wide_policy(arn, "t-1", "Allow")["policyDocument"]["Statement"]

    assert statement["Resource"] == [
        "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abc123/dev/*/*"
    ]


@pytest.mark.parametrize(
    "method_arn",
    [
        "",
        "not-an-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:reach",
        "arn:aws:execute-api:us-east-1:123456789012:abc123",
        "arn:aws:execute-api:us-east-1:123456789012:abc123//GET/x",
    ],
)
def test_a_method_arn_that_is_not_api_gateways_fails_the_invocation(method_arn):
    with pytest.raises(ValueError, match="methodArn"):
        api_wide_policy(method_arn, "t-1", "Allow")
