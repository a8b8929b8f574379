"""Tenants' usage keys in API Gateway (``apigateway``, the REST API's control plane).

From the API reference: ``GetApiKeys(nameQuery, includeValues)`` filters by name (a prefix
match, so the result is matched exactly here); ``CreateApiKey(name, enabled, tags)`` returns
the key's ``id`` and ``value``; ``CreateUsagePlanKey(usagePlanId, keyId, keyType="API_KEY")``
raises ConflictException when the key is already in the plan. docs/facts.md#usage-plans.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from reach.ports.usage_plans import UsageKey, UsagePlanError

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient

#: The key's name in API Gateway: one per tenant, found again by it on a rerun.
KEY_NAME = "reach-{tenant_id}"


class ApiGatewayUsagePlans:
    def __init__(
        self,
        usage_plan_id: str,
        client: APIGatewayClient | None = None,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        if client is None:
            import boto3

            client = boto3.client("apigateway", region_name=region_name, endpoint_url=endpoint_url)
        self._client = client
        self._plan = usage_plan_id

    def provision(self, tenant_id: str) -> UsageKey:
        name = KEY_NAME.format(tenant_id=tenant_id)
        try:
            key = self._existing(name) or self._create(name, tenant_id)
            self._associate(key.key_id)
        except (ClientError, BotoCoreError) as error:
            raise UsagePlanError(f"API Gateway refused the usage key {name}: {error}") from error
        return key

    def _existing(self, name: str) -> UsageKey | None:
        pages = self._client.get_paginator("get_api_keys").paginate(
            nameQuery=name, includeValues=True
        )
        for page in pages:
            for item in page.get("items", []):
                if item.get("name") == name:
                    return _key(item)
        return None

    def _create(self, name: str, tenant_id: str) -> UsageKey:
        created = self._client.create_api_key(
            name=name,
            description=f"Reach tenant {tenant_id}: usage plan identifier, never sent by clients",
            enabled=True,
            tags={"reach:tenant": tenant_id},
        )
        return _key(created)

    def _associate(self, key_id: str) -> None:
        try:
            self._client.create_usage_plan_key(
                usagePlanId=self._plan, keyId=key_id, keyType="API_KEY"
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConflictException":
                raise


def _key(item: Any) -> UsageKey:
    return UsageKey(key_id=str(item["id"]), value=str(item["value"]))
