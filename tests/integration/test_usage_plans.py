"""Per-tenant throttling: each tenant's usage key is an API Gateway API key in the stack's
usage plan (moto's apigateway), and the authorizer returns it as usageIdentifierKey."""

from __future__ import annotations

import copy
import json
from functools import partial
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from conftest import load_event, load_function
from reach.adapters.usage_plans_apigateway import ApiGatewayUsagePlans
from reach.domain.errors import NotFound
from reach.ports.usage_plans import UsageKey, UsagePlanError
from reach.settings import Settings
from reach.wiring import Services, build_usage_keys
from reach_tools import cli
from reach_tools.cli import main

CLINIC = ["--name", "Riverside Family Clinic", "--timezone", "America/New_York"]


@pytest.fixture
def plan(aws: Services, monkeypatch: pytest.MonkeyPatch) -> str:
    """The stack's REST API and TenantUsagePlan, as the template makes them."""
    gateway = boto3.client("apigateway")
    api = gateway.create_rest_api(name="reach", apiKeySource="AUTHORIZER")["id"]
    plan_id = gateway.create_usage_plan(
        name="reach-tenants",
        apiStages=[{"apiId": api, "stage": "dev"}],
        throttle={"rateLimit": 10.0, "burstLimit": 20},
    )["id"]
    monkeypatch.setenv("USAGE_PLAN_ID", plan_id)
    return plan_id


def plan_keys(plan_id: str) -> list[dict[str, Any]]:
    return boto3.client("apigateway").get_usage_plan_keys(usagePlanId=plan_id)["items"]


def authorize(secret: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("authorizer_token.json"))
    event["authorizationToken"] = f"Bearer {secret}"
    policy: dict[str, Any] = load_function("authorizer").lambda_handler(event, _Context())
    return policy


class _Context:
    function_name = "reach-test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:reach-test"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def new_tenant(aws: Services) -> tuple[str, str]:
    tenant, key = aws.admin.create_tenant(
        "Riverside Family Clinic", "America/New_York", "+12025550143", "21:00-08:00", ("P1D",)
    )
    return tenant.tenant_id, key.secret


def test_a_provisioned_tenant_is_throttled_under_its_own_key_in_the_plan(
    aws: Services, plan: str
) -> None:
    # given a tenant made before usage plans, and its key
    tenant_id, secret = new_tenant(aws)
    assert "usageIdentifierKey" not in authorize(secret)

    # when the operator provisions its usage key
    report = build_usage_keys(Settings.from_env()).provision(tenant_id)

    # then API Gateway has one key for it, in the plan, and the authorizer returns its value
    [in_plan] = plan_keys(plan)
    assert in_plan["id"] == report.key.key_id
    assert in_plan["value"] == report.key.value
    assert report.lookups_updated == 1
    assert authorize(secret)["usageIdentifierKey"] == report.key.value


def test_provisioning_twice_reuses_the_tenants_key(aws: Services, plan: str) -> None:
    tenant_id, _ = new_tenant(aws)
    provisioning = build_usage_keys(Settings.from_env())

    first = provisioning.provision(tenant_id)
    again = provisioning.provision(tenant_id)

    assert again.key == first.key
    assert len(plan_keys(plan)) == 1
    named = boto3.client("apigateway").get_api_keys(nameQuery=f"reach-{tenant_id}")["items"]
    assert len(named) == 1


def test_two_tenants_get_two_keys_so_each_has_its_own_rate(aws: Services, plan: str) -> None:
    provisioning = build_usage_keys(Settings.from_env())
    first, _ = new_tenant(aws)
    second, _ = aws.admin.create_tenant(
        "Hilltop Cable", "America/Chicago", "+13125550100", "21:00-08:00", ("P1D",)
    )

    keys = {provisioning.provision(t).key.value for t in (first, second.tenant_id)}

    assert len(keys) == 2
    assert len(plan_keys(plan)) == 2


def test_a_key_issued_after_provisioning_carries_the_usage_key(aws: Services, plan: str) -> None:
    tenant_id, _ = new_tenant(aws)
    usage = build_usage_keys(Settings.from_env()).provision(tenant_id).key

    issued, _revoked = aws.admin.rotate_key(tenant_id, aws.admin.list_keys(tenant_id)[0].prefix)

    assert authorize(issued.secret)["usageIdentifierKey"] == usage.value


def test_an_unknown_tenant_is_refused_before_api_gateway_is_touched(
    aws: Services, plan: str
) -> None:
    with pytest.raises(NotFound):
        build_usage_keys(Settings.from_env()).provision("ten_nobody")

    assert boto3.client("apigateway").get_api_keys()["items"] == []


def test_a_refusal_from_api_gateway_names_the_key() -> None:
    client = boto3.client("apigateway", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "get_api_keys", {"items": []}, {"nameQuery": "reach-ten_1", "includeValues": True}
        )
        stub.add_client_error("create_api_key", "AccessDeniedException", "not allowed")
        with pytest.raises(UsagePlanError, match="reach-ten_1"):
            ApiGatewayUsagePlans("plan1", client).provision("ten_1")


def test_a_key_already_in_the_plan_is_not_an_error() -> None:
    client = boto3.client("apigateway", region_name="us-east-1")
    key = {"id": "k1", "name": "reach-ten_1", "value": "v" * 40}
    with Stubber(client) as stub:
        stub.add_response("get_api_keys", {"items": [key]})
        stub.add_client_error("create_usage_plan_key", "ConflictException", "already there")
        assert ApiGatewayUsagePlans("plan1", client).provision("ten_1").key_id == "k1"


# --- the CLI ---------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_tenants_create_gives_the_new_tenant_its_usage_key(
    aws: Services, plan: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "tenants", "create", *CLINIC, "--number", "+12025550143", "--json")

    assert code == 0, err
    created = json.loads(out)
    [in_plan] = plan_keys(plan)
    assert created["usage_key_id"] == in_plan["id"]
    assert authorize(created["api_key"])["usageIdentifierKey"] == in_plan["value"]


def test_tenants_usage_key_provisions_an_existing_tenant(
    aws: Services, plan: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant_id, secret = new_tenant(aws)

    code, out, err = run(capsys, "tenants", "usage-key", tenant_id, "--json")

    assert code == 0, err
    assert json.loads(out)["api_keys_updated"] == 1
    assert authorize(secret)["usageIdentifierKey"] == plan_keys(plan)[0]["value"]


def test_tenants_create_refused_a_usage_key_says_what_is_left_to_do(
    aws: Services, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a stack with a usage plan that API Gateway will not add keys to
    class Refusing:
        def provision(self, tenant_id: str) -> UsageKey:
            raise UsagePlanError(f"API Gateway refused the usage key reach-{tenant_id}: denied")

    monkeypatch.setenv("USAGE_PLAN_ID", "plan1")
    monkeypatch.setattr(cli, "build_usage_keys", partial(build_usage_keys, gateway=Refusing()))

    code, out, err = run(capsys, "tenants", "create", *CLINIC, "--number", "+12025550143", "--json")

    # then the tenant and its key are printed, and the missing step is named
    assert code == 1  # EXIT_AWS
    assert json.loads(out)["api_key"]
    assert "denied" in err
    assert "reach tenants usage-key ten_" in err
