"""Per-tenant throttling: give a tenant its usage key and put it where the authorizer reads.

The authorizer reads one item per request (the key's lookup), so the usage key is copied
onto every lookup of the tenant's keys, and keys issued later carry it from the start
(``TenantAdmin.issue_key``).
"""

from __future__ import annotations

from dataclasses import dataclass

from reach.data.tenants import ApiKeyRepository, TenantRepository
from reach.ports.usage_plans import UsageKey, UsagePlanGateway


@dataclass(frozen=True)
class UsageKeyReport:
    tenant_id: str
    key: UsageKey
    #: The tenant's API key lookups now carrying the usage key.
    lookups_updated: int


class UsageKeyProvisioning:
    def __init__(
        self, tenants: TenantRepository, keys: ApiKeyRepository, gateway: UsagePlanGateway
    ) -> None:
        self._tenants = tenants
        self._keys = keys
        self._gateway = gateway

    def provision(self, tenant_id: str) -> UsageKeyReport:
        """Idempotent: a rerun finds the same API Gateway key and records it again."""
        self._tenants.get(tenant_id)  # NotFound before anything is made in API Gateway
        key = self._gateway.provision(tenant_id)
        updated = self._keys.set_usage_key(tenant_id, key.key_id, key.value)
        return UsageKeyReport(tenant_id, key, updated)
