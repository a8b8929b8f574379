"""API Gateway's side of a tenant: the usage key its requests are throttled under.

The REST API takes its API key from the authorizer (``ApiKeySourceType: AUTHORIZER``): the
authorizer returns the tenant's usage key as ``usageIdentifierKey``, and API Gateway applies
the usage plan that key belongs to. So each tenant needs one API Gateway API key, associated
with the stack's usage plan (``TenantUsagePlan``). Clients never see or send it: they send
their Reach API key, which the authorizer checks. docs/facts.md#usage-plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from reach.domain.errors import ReachError


@dataclass(frozen=True)
class UsageKey:
    """A tenant's API Gateway API key: its id (for the console and the plan) and value (what
    the authorizer returns)."""

    key_id: str
    value: str


class UsagePlanError(ReachError):
    """API Gateway refused to make or associate the key (permissions, a missing plan)."""

    code = "usage_plan_error"


class UsagePlanGateway(Protocol):
    def provision(self, tenant_id: str) -> UsageKey:
        """The tenant's key, associated with the plan: made when missing, reused when there
        (a rerun changes nothing)."""
        ...
