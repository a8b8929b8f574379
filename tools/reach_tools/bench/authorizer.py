"""The authorizer's warm cost: AWS calls per invocation for each kind of key, and time per
invocation as a ratio to a baseline measured in the same run (one bare DynamoDB ``GetItem``
through boto3 into the same moto: the least a key lookup can cost).

With API Gateway's authorizer cache on (item 5 of issue 15), a request whose token's decision
is cached does not invoke the function at all: no invocation, no AWS call. That row is what
the cache gives by construction, listed so the two can be compared. The cold start (import
cost as a ratio to ``import boto3``) is ``cold_start``'s ``functions/authorizer`` row.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reach_tools.bench import stack
from reach_tools.bench.harness import counting_aws_calls
from reach_tools.bench.lambdas import lambdas
from reach_tools.demo_clock import DemoClock

FULL_ROUNDS = 300
QUICK_ROUNDS = 20


@dataclass(frozen=True)
class AuthorizerCost:
    #: Key kind -> AWS calls per invocation.
    calls: dict[str, float]
    #: Median time of a warm invocation with a valid key / median time of the baseline.
    ratio_to_get_item: float
    rounds: int

    def to_json(self) -> dict[str, Any]:
        return self.__dict__ | {"cache_hit_calls": 0, "cache_hit_invocations": 0}


def measure(rounds: int = FULL_ROUNDS) -> AuthorizerCost:
    from reach.data.tenants import ApiKeyRepository, TenantRepository
    from reach.services.tenants import TenantAdmin

    clock = DemoClock(datetime.now(UTC))
    with lambdas("bench-authorizer", clock, names=("authorizer",)) as world:
        clinic = stack.open_clinic(world)
        admin = TenantAdmin(TenantRepository(), ApiKeyRepository(), clock)
        revoked = admin.issue_key(clinic.tenant.tenant_id, label="old")
        admin.revoke_key(clinic.tenant.tenant_id, revoked.record.prefix)
        tokens = {
            "valid key": clinic.key,
            "revoked key (403)": revoked.secret,
            "unknown key (401)": "rk_00000000_" + "x" * 43,
            "malformed header (401)": "not-a-key",
        }

        def invoke(secret: str) -> None:
            try:
                world.invoke("authorizer", stack.token(secret))
            except Exception as error:
                if str(error) != "Unauthorized":
                    raise

        invoke(clinic.key)  # warm: clients and modules loaded
        calls: dict[str, float] = {}
        with counting_aws_calls() as counter:
            for kind, secret in tokens.items():
                with counter.measuring(kind):
                    for _ in range(rounds):
                        invoke(secret)
                calls[kind] = counter.total(kind) / rounds
        table = world.aws.settings.tenants_table
        key = {"pk": {"S": "apikey#none"}, "sk": {"S": "apikey"}}

        def baseline() -> None:
            world.aws.dynamodb.get_item(TableName=table, Key=key)

        ratio = _median(lambda: invoke(clinic.key), rounds) / _median(baseline, rounds)
        return AuthorizerCost(calls, ratio, rounds)


def _median(call: Callable[[], None], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def report(cost: AuthorizerCost) -> str:
    lines = [
        f"Authorizer, warm ({cost.rounds} invocations per row; time as a ratio to one bare "
        "DynamoDB GetItem in the same run)",
        *(f"  {kind:<28} {n:5.2f} AWS calls per invocation" for kind, n in cost.calls.items()),
        f"  {'cached decision':<28}  0.00 AWS calls (API Gateway answers; no invocation)",
        f"  valid key, time per invocation: x{cost.ratio_to_get_item:.2f} a bare GetItem",
    ]
    return "\n".join(lines)
