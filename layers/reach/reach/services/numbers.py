"""Sets up a tenant's sending number at the provider, and reports how it drifted.

Reach answers HELP and STOP itself, keeps consent per tenant and hears replies through the
stack's inbound topic. A number is only fit to send for a tenant when the provider agrees
(docs/facts.md#number-setup):

- two-way SMS on, its channel the stack's inbound topic (else replies, STOP among them,
  never reach Reach);
- self-managed opt-outs on (else AWS answers HELP and STOP too: two answers to one STOP);
- the tenant's own opt-out list (else a STOP to one tenant blocks every tenant's texts);
- the number's type and pace as Reach recorded them (else Reach paces it wrongly).

``attach`` sets the first three and creates the tenant's list when it is missing; the type
and pace are Reach's own record, which ``check`` compares and an operator corrects with
``reach tenants update --number-type/--mps``. Both return the problems left, never fix
silently what they cannot.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from reach.data.numbers import NumberRecord, NumberRepository
from reach.data.tenants import TenantRepository
from reach.domain.errors import InvalidInput, NotFound
from reach.domain.numbers import tenant_opt_out_list
from reach.domain.phones import to_e164
from reach.ports.numbers import NumberProvider, NumberSettings, ProviderNumber


@dataclass(frozen=True)
class Problem:
    """One way the number differs from what Reach needs; ``attach`` fixes the ``fixable``."""

    setting: str
    expected: str
    actual: str
    message: str
    fixable: bool


@dataclass(frozen=True)
class NumberReport:
    tenant_id: str
    number: str
    provider: str
    pool_id: str | None
    opt_out_list: str
    problems: tuple[Problem, ...]
    changed: tuple[str, ...] = field(default=())
    """What ``attach`` changed: ``opt_out_list_created`` and/or ``number_settings``."""

    @property
    def ok(self) -> bool:
        return not self.problems


class NumberSetup:
    """``attach`` and ``check`` of a tenant's sending number (the `reach numbers` commands)."""

    def __init__(
        self,
        tenants: TenantRepository,
        numbers: NumberRepository,
        provider: NumberProvider,
        inbound_topic_arn: str,
    ) -> None:
        self._tenants = tenants
        self._numbers = numbers
        self._provider = provider
        self._topic = inbound_topic_arn

    def check(self, tenant_id: str, number: str) -> NumberReport:
        """Every difference between the number at the provider and what Reach needs."""
        record, wanted = self._wanted(tenant_id, number)
        found = self._find(record.e164)
        return self._report(
            record, wanted, found, self._provider.opt_out_list_exists(wanted.opt_out_list_name)
        )

    def attach(self, tenant_id: str, number: str) -> NumberReport:
        """Create the tenant's opt-out list if missing and set the number up; then check."""
        record, wanted = self._wanted(tenant_id, number)
        found = self._find(record.e164)
        changed: list[str] = []
        if not self._provider.opt_out_list_exists(wanted.opt_out_list_name):
            self._provider.create_opt_out_list(wanted.opt_out_list_name)
            changed.append("opt_out_list_created")
        if any(p.fixable for p in _setting_problems(found, wanted)):
            self._provider.configure(found, wanted)
            changed.append("number_settings")
            found = self._find(record.e164)
        report = self._report(record, wanted, found, list_exists=True)
        return replace(report, changed=tuple(changed))

    def _wanted(self, tenant_id: str, number: str) -> tuple[NumberRecord, NumberSettings]:
        tenant = self._tenants.get(tenant_id)
        e164 = to_e164(number, field="number")
        if e164 != tenant.sender_number:
            raise InvalidInput(
                "number", f"tenant {tenant_id} sends from {tenant.sender_number}, not {e164}"
            )
        return self._numbers.get(e164), NumberSettings(
            two_way_channel_arn=self._topic, opt_out_list_name=tenant_opt_out_list(tenant_id)
        )

    def _find(self, e164: str) -> ProviderNumber:
        found = self._provider.find(e164)
        if found is None:
            raise NotFound(
                f"{e164} is not a phone number of this AWS account in this region "
                f"({self._provider.name}): request or move it there first"
            )
        return found

    def _report(
        self,
        record: NumberRecord,
        wanted: NumberSettings,
        found: ProviderNumber,
        list_exists: bool,
    ) -> NumberReport:
        problems = _setting_problems(found, wanted)
        if not list_exists:
            problems.append(
                Problem(
                    "opt_out_list_exists",
                    wanted.opt_out_list_name,
                    "missing",
                    f"opt-out list {wanted.opt_out_list_name} does not exist",
                    fixable=True,
                )
            )
        problems.extend(_pace_problems(record, found))
        return NumberReport(
            tenant_id=record.tenant_id,
            number=record.e164,
            provider=self._provider.name,
            pool_id=found.pool_id,
            opt_out_list=wanted.opt_out_list_name,
            problems=tuple(problems),
        )


def _setting_problems(found: ProviderNumber, wanted: NumberSettings) -> list[Problem]:
    where = f"pool {found.pool_id}" if found.pool_id else "the number"
    problems = []
    if not found.two_way_enabled:
        problems.append(
            Problem(
                "two_way_enabled",
                "true",
                "false",
                f"two-way SMS is off on {where}: replies, STOP among them, never reach Reach",
                fixable=True,
            )
        )
    if found.two_way_channel_arn != wanted.two_way_channel_arn:
        problems.append(
            Problem(
                "two_way_channel_arn",
                wanted.two_way_channel_arn,
                found.two_way_channel_arn or "-",
                f"replies to {where} go to {found.two_way_channel_arn or 'no channel'}, not the "
                "stack's inbound topic",
                fixable=True,
            )
        )
    if not found.self_managed_opt_outs:
        problems.append(
            Problem(
                "self_managed_opt_outs",
                "true",
                "false",
                f"AWS answers HELP and STOP on {where} itself: a recipient gets two answers, "
                "AWS's and Reach's",
                fixable=True,
            )
        )
    if found.opt_out_list_name != wanted.opt_out_list_name:
        problems.append(
            Problem(
                "opt_out_list",
                wanted.opt_out_list_name,
                found.opt_out_list_name or "-",
                f"{where} is on opt-out list {found.opt_out_list_name or '-'}, not the tenant's "
                f"own: a STOP to another number on it blocks this tenant's texts",
                fixable=True,
            )
        )
    return problems


def _pace_problems(record: NumberRecord, found: ProviderNumber) -> list[Problem]:
    recorded = record.throughput
    fix = f"reach tenants update {record.tenant_id}"
    problems = []
    if found.origination_type is None:
        problems.append(
            Problem(
                "number_type",
                recorded.origination_type.value,
                found.provider_type,
                f"the provider's number type {found.provider_type or '-'} has no carrier "
                "grant Reach knows (a simulator number?)",
                fixable=False,
            )
        )
    elif found.origination_type != recorded.origination_type:
        problems.append(
            Problem(
                "number_type",
                recorded.origination_type.value,
                found.origination_type.value,
                f"the provider says {found.origination_type.value}, Reach records "
                f"{recorded.origination_type.value}: `{fix} --number-type "
                f"{found.origination_type.value}`",
                fixable=False,
            )
        )
    if found.sms_mps is not None and found.sms_mps != recorded.mps:
        effect = (
            "texts beyond the grant are throttled or filtered"
            if recorded.mps > found.sms_mps
            else "Reach sends slower than it may"
        )
        problems.append(
            Problem(
                "mps",
                f"{recorded.mps:g}",
                f"{found.sms_mps:g}",
                f"the provider grants {found.sms_mps:g} SMS a second, Reach paces at "
                f"{recorded.mps:g}: {effect}; `{fix} --mps {found.sms_mps:g}`",
                fixable=False,
            )
        )
    return problems
