"""Usage keys without API Gateway: the local run and the tests of what the CLI does."""

from __future__ import annotations

from reach.ports.usage_plans import UsageKey


class FakeUsagePlans:
    def __init__(self) -> None:
        #: tenant id -> its key, as API Gateway would keep it.
        self.keys: dict[str, UsageKey] = {}

    def provision(self, tenant_id: str) -> UsageKey:
        if tenant_id not in self.keys:
            number = len(self.keys) + 1
            self.keys[tenant_id] = UsageKey(f"key{number:04d}", f"usage-{tenant_id}")
        return self.keys[tenant_id]
