"""``reach``: the admin CLI for tenants and their API keys.

It talks to DynamoDB directly with the same services the functions use, so it needs table
access (an operator's credentials), not an API key. The tables come from a deployed stack's
outputs (``--stack``) or from the same environment variables template.yaml gives the
functions (which is how it reaches the embedded AWS of ``reach-local serve``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from reach.data.numbers import NumberRecord
from reach.domain.errors import InvalidInput, ReachError
from reach.domain.models import ApiKey, Tenant
from reach.domain.numbers import DEFAULT_MPS, OriginationType, Throughput
from reach.domain.retention import DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS
from reach.ports.numbers import NumberSetupError
from reach.ports.usage_plans import UsagePlanError
from reach.services.numbers import NumberReport
from reach.services.tenants import IssuedKey
from reach.services.usage_keys import UsageKeyReport
from reach.settings import Settings, SettingsError
from reach.wiring import Services, build_number_setup, build_services, build_usage_keys
from reach_tools import cost

if TYPE_CHECKING:
    from mypy_boto3_cloudformation.type_defs import StackTypeDef

#: Exit status for bad input, a refused change or an incomplete configuration.
EXIT_USAGE = 2
#: Exit status when AWS itself failed (credentials, network, a missing table).
EXIT_AWS = 1
#: Exit status of `reach numbers check|attach` when the number still differs from what Reach
#: needs (the report says how).
EXIT_DRIFT = 3

TABLE_OUTPUTS = {"TenantsTableName": "TENANTS_TABLE", "AppointmentsTableName": "APPOINTMENTS_TABLE"}
# Outputs the number commands need when the stack has them.
OPTIONAL_OUTPUTS = {"InboundTopicArn": "INBOUND_TOPIC_ARN", "UsagePlanId": "USAGE_PLAN_ID"}
# Stack parameters that become the defaults for new tenants, as they are for the functions.
DEFAULT_PARAMETERS = {
    "DefaultQuietHours": "DEFAULT_QUIET_HOURS",
    "DefaultReminderOffsets": "DEFAULT_REMINDER_OFFSETS",
    "SmsProvider": "SMS_PROVIDER",
    "OriginationType": "ORIGINATION_TYPE",
    "OriginationMps": "ORIGINATION_MPS",
}
# InvalidInput names service fields; the user typed options.
_OPTION_OF_FIELD = {
    "name": "--name",
    "timezone": "--timezone",
    "number": "--number",
    "quiet_hours": "--quiet-hours",
    "reminder_offsets": "--reminders",
    "reminders_for": "--reminders-for",
    "confirm_bookings": "--confirm-bookings",
    "reply_keywords": "--keywords",
    "keywords": "--keywords",
    "prefix": "--prefix",
    "text": "--text",
    "kind": "--kind",
    "language": "--language",
    "number_type": "--number-type",
    "mps": "--mps",
    "retention_days": "--retention-days",
    "from": "--from",
    "to": "--to",
    "tenant": "--tenant",
    "prices": "--prices",
}
_SNS_NUMBERS = (
    "this stack sends through SNS (SmsProvider=sns), which has no per-number two-way or "
    "opt-out settings to attach or check. Its opt-out list is one per AWS account and region: "
    "a STOP to any tenant's number blocks that person for every tenant of the account. Use "
    "End User Messaging (SmsProvider=end-user-messaging) for per-tenant opt-out lists."
)
_SETTINGS_HINT = (
    "Pass --stack NAME (a deployed Reach stack; add --region if needed), or set TENANTS_TABLE, "
    "APPOINTMENTS_TABLE and AWS_REGION (plus AWS_ENDPOINT_URL for `reach-local serve`)."
)


class StackLookupError(RuntimeError):
    """The stack named by --stack could not be read or is not a Reach stack."""


# --- Where the tables are ------------------------------------------------------------------


def describe_stack(stack_name: str, region: str) -> StackTypeDef:
    """The CloudFormation description of ``stack_name``, outputs and parameters included."""
    client = boto3.client("cloudformation", region_name=region)
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        raise StackLookupError(
            f"cannot read stack {stack_name!r} in {region}: {error.response['Error']['Message']}"
        ) from error
    if not stacks:
        raise StackLookupError(f"stack {stack_name!r} not found in {region}")
    return stacks[0]


def stack_environment(stack: Mapping[str, Any], region: str) -> dict[str, str]:
    """The Reach environment variables a deployed stack implies: its tables and defaults."""
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    missing = [name for name in TABLE_OUTPUTS if not outputs.get(name)]
    if missing:
        raise StackLookupError(
            f"stack {stack.get('StackName', '?')!r} has no output {', '.join(missing)}: "
            "is it a Reach stack, and has its deployment finished?"
        )
    environment = {variable: outputs[output] for output, variable in TABLE_OUTPUTS.items()}
    environment.update(
        {variable: outputs[o] for o, variable in OPTIONAL_OUTPUTS.items() if outputs.get(o)}
    )
    parameters = {
        p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])
    }
    for parameter, variable in DEFAULT_PARAMETERS.items():
        if parameters.get(parameter):
            environment[variable] = parameters[parameter]
    environment["AWS_REGION"] = region
    return environment


def _region(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    given: str | None = args.region
    return (
        given
        or environ.get("AWS_REGION")
        or environ.get("AWS_DEFAULT_REGION")
        or boto3.session.Session().region_name
    )


def reach_environment(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    read_stack: Callable[[str, str], Mapping[str, Any]] = describe_stack,
) -> dict[str, str]:
    """The environment to build Settings from: the process's, overridden by --stack/--region."""
    environment = dict(environ)
    region = _region(args, environ)
    if region:
        environment["AWS_REGION"] = region
    if args.stack:
        if not region:
            raise SettingsError("no AWS region: pass --region or set AWS_REGION")
        environment.update(stack_environment(read_stack(args.stack, region), region))
    return environment


# --- Output --------------------------------------------------------------------------------


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def pace_json(pace: Throughput | None) -> dict[str, Any]:
    """A number's type and MPS, and whether the MPS is its type's default."""
    if pace is None:
        return {"number_type": None, "mps": None, "mps_is_default": None}
    return {
        "number_type": pace.origination_type.value,
        "mps": pace.mps,
        "mps_is_default": pace.mps == DEFAULT_MPS[pace.origination_type],
    }


def tenant_json(tenant: Tenant, pace: Throughput | None = None) -> dict[str, Any]:
    return {
        "tenant_id": tenant.tenant_id,
        "name": tenant.name,
        "timezone": tenant.timezone,
        "sender_number": tenant.sender_number,
        **pace_json(pace),
        "quiet_hours": tenant.quiet_hours,
        "reminder_offsets": list(tenant.reminder_offsets),
        "reminder_offsets_by_kind": {k: list(o) for k, o in tenant.reminder_offsets_by_kind},
        "confirm_bookings": list(tenant.confirm_bookings),
        "retention_days": tenant.retention_days,
        "reply_keywords": {name: list(words) for name, words in tenant.reply_keywords},
        "created_at": _when(tenant.created_at),
    }


def key_json(key: ApiKey) -> dict[str, Any]:
    """A key's public record; there is no secret to leak here, only the prefix."""
    return {
        "tenant_id": key.tenant_id,
        "prefix": key.prefix,
        "label": key.label,
        "created_at": _when(key.created_at),
        "revoked_at": _when(key.revoked_at),
        "active": key.is_active,
    }


def issued_json(issued: IssuedKey) -> dict[str, Any]:
    return {"api_key": issued.secret, "key_prefix": issued.record.prefix, **key_json(issued.record)}


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = [list(headers), *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _short(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def _pace_text(pace: Throughput | None) -> str:
    if pace is None:
        return "-"
    default = " (type default)" if pace.mps == DEFAULT_MPS[pace.origination_type] else ""
    return f"{pace.origination_type.value}, {pace.mps:g} MPS{default}"


def _tenant_text(tenant: Tenant, pace: Throughput | None = None) -> str:
    return _table(
        ("tenant id", tenant.tenant_id),
        [
            ("name", tenant.name),
            ("time zone", tenant.timezone),
            ("sender number", tenant.sender_number),
            ("number type", _pace_text(pace)),
            ("quiet hours", tenant.quiet_hours),
            ("reminders", ", ".join(tenant.reminder_offsets)),
            *(
                (f"reminders for {kind}", ", ".join(offsets))
                for kind, offsets in tenant.reminder_offsets_by_kind
            ),
            ("confirms bookings", ", ".join(tenant.confirm_bookings) or "none"),
            ("keeps messages", f"{tenant.retention_days} days"),
            ("created", _short(tenant.created_at)),
        ],
    )


def _keys_text(keys: Sequence[ApiKey]) -> str:
    if not keys:
        return "no API keys"
    return _table(
        ("PREFIX", "LABEL", "CREATED", "REVOKED"),
        [(k.prefix, k.label or "-", _short(k.created_at), _short(k.revoked_at)) for k in keys],
    )


def _secret_text(issued: IssuedKey) -> str:
    return (
        f"API key {issued.record.prefix} (shown once: store it now, Reach keeps only its hash):\n"
        f"  {issued.secret}"
    )


class Printer:
    """Writes either the human text or one JSON document, as --json asks."""

    def __init__(self, as_json: bool, out: TextIO) -> None:
        self.as_json = as_json
        self._out = out

    def show(self, document: Any, text: Callable[[], str]) -> None:
        if self.as_json:
            self._out.write(json.dumps(document, indent=2) + "\n")
        else:
            self._out.write(text() + "\n")


# --- Commands ------------------------------------------------------------------------------


def _split(offsets: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in offsets.split(",") if part.strip())


def _offsets(text: str) -> tuple[str, ...]:
    """``--reminders P1D,PT2H``; an empty item (``P1D,,PT2H``) is refused, not skipped."""
    parts = tuple(part.strip() for part in text.split(","))
    if not text.strip():
        raise InvalidInput("reminder_offsets", "give at least one offset, e.g. P1D,PT2H")
    if not all(parts):
        raise InvalidInput("reminder_offsets", f"'{text}' has an empty offset; e.g. P1D,PT2H")
    return parts


def _tenants_create(args: argparse.Namespace, services: Services, printer: Printer) -> int:
    settings = services.settings
    reminders = (
        _offsets(args.reminders) if args.reminders is not None else settings.reminder_offsets
    )
    tenant, issued = services.admin.create_tenant(
        name=args.name,
        timezone=args.timezone,
        sender_number=args.number,
        # An empty --quiet-hours "" is refused by the service, not replaced by the default.
        quiet_hours=settings.default_quiet_hours if args.quiet_hours is None else args.quiet_hours,
        reminder_offsets=reminders,
        **_new_number_pace(args, settings),
        retention_days=DEFAULT_RETENTION_DAYS
        if args.retention_days is None
        else _days(args.retention_days),
    )
    pace = services.admin.number(tenant).throughput
    usage, usage_failure = _provision_usage_key(services, tenant)
    setup, failure = _attach_new_number(services, tenant)
    document = {
        **tenant_json(tenant, pace),
        "api_key": issued.secret,
        "key_prefix": issued.record.prefix,
    }
    if usage is not None:
        document["usage_key_id"] = usage.key.key_id
    if setup is not None:
        document["number_setup"] = report_json(setup)
    printer.show(
        document,
        lambda: (
            f"Created tenant {tenant.name}\n{_tenant_text(tenant, pace)}\n\n"
            f"{_secret_text(issued)}" + (f"\n\n{_report_text(setup)}" if setup else "")
        ),
    )
    if usage_failure is not None:
        print(
            f"reach: tenant created, but it has no usage key, so the API refuses its calls "
            f"(403): {usage_failure}\nFix the cause, then run "
            f"`reach tenants usage-key {tenant.tenant_id}`.",
            file=sys.stderr,
        )
        return EXIT_AWS
    if failure is not None:
        # The tenant and its key exist (and were printed): say what is left to do.
        print(
            f"reach: tenant created, but its number is not set up: {failure}\n"
            f"Fix the cause, then run `reach numbers attach {tenant.tenant_id} "
            f"{tenant.sender_number}`.",
            file=sys.stderr,
        )
        return EXIT_AWS
    return EXIT_DRIFT if setup is not None and not setup.ok else 0


def _provision_usage_key(
    services: Services, tenant: Tenant
) -> tuple[UsageKeyReport | None, str | None]:
    """The tenant's usage key in the stack's usage plan, when the stack has one (its
    UsagePlanId output). A failure is returned, not raised: the tenant exists by now."""
    if not services.settings.usage_plan_id:
        return None, None
    try:
        return build_usage_keys(services.settings).provision(tenant.tenant_id), None
    except (ReachError, ClientError, BotoCoreError) as error:
        return None, getattr(error, "message", None) or str(error)


def _tenants_usage_key(args: argparse.Namespace, services: Services, printer: Printer) -> None:
    """Give an existing tenant its usage key (tenants made before usage plans; a rerun is
    harmless)."""
    report = build_usage_keys(services.settings).provision(args.tenant_id)
    printer.show(
        {
            "tenant_id": report.tenant_id,
            "usage_key_id": report.key.key_id,
            "api_keys_updated": report.lookups_updated,
        },
        lambda: (
            f"Tenant {report.tenant_id}: usage key {report.key.key_id} in the usage plan; "
            f"{report.lookups_updated} API key(s) carry it (in effect once the authorizer "
            "cache expires)."
        ),
    )


def _attach_new_number(
    services: Services, tenant: Tenant
) -> tuple[NumberReport | None, str | None]:
    """With End User Messaging, a new tenant's number is set up at once (SNS has nothing to
    set per number). A failure is returned, not raised: the tenant exists by now."""
    if services.settings.sms_provider != "end-user-messaging":
        return None, None
    try:
        report = build_number_setup(services.settings).attach(
            tenant.tenant_id, tenant.sender_number
        )
    except (ReachError, SettingsError, ClientError, BotoCoreError) as error:
        return None, getattr(error, "message", None) or str(error)
    return report, None


def _new_number_pace(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """A new number's type and MPS: as given, else the stack's origination settings (its
    OriginationMps only when the type is the stack's too), as for quiet hours and reminders."""
    # An empty --number-type "" is refused by the service, not replaced by the default.
    number_type = settings.origination_type if args.number_type is None else args.number_type
    mps = _mps(args.mps) if args.mps is not None else None
    if mps is None and number_type == settings.origination_type:
        mps = settings.origination_mps
    return {"number_type": number_type, "mps": mps}


def _mps(text: str) -> float:
    """``--mps 100``: a number; the service checks its range."""
    try:
        return float(text)
    except ValueError as error:
        raise InvalidInput("mps", f"'{text}' is not a number of message parts per second") from (
            error
        )


def _days(text: str) -> int:
    """``--retention-days 30``: whole days written in digits; the service checks the range."""
    if not (text.isascii() and text.isdigit()):
        raise InvalidInput("retention_days", f"'{text}' is not a whole number of days, e.g. 90")
    return int(text)


def _tenants_list(args: argparse.Namespace, services: Services, printer: Printer) -> None:
    tenants = services.admin.list_tenants()
    paces = services.admin.throughputs(tenants)
    printer.show(
        [tenant_json(t, paces.get(t.sender_number)) for t in tenants],
        lambda: (
            _table(
                ("TENANT ID", "NAME", "TIME ZONE", "SENDER", "NUMBER TYPE", "CREATED"),
                [
                    (
                        t.tenant_id,
                        t.name,
                        t.timezone,
                        t.sender_number,
                        _pace_text(paces.get(t.sender_number)),
                        _short(t.created_at),
                    )
                    for t in tenants
                ],
            )
            if tenants
            else "no tenants yet: create one with `reach tenants create`"
        ),
    )


def _tenants_update(args: argparse.Namespace, services: Services, printer: Printer) -> None:
    tenant = services.admin.update_tenant(
        args.tenant_id,
        name=args.name,
        timezone=args.timezone,
        quiet_hours=args.quiet_hours,
        reminder_offsets=None if args.reminders is None else _offsets(args.reminders),
        reply_keywords=_keyword_sets(args.keywords, args.reset_keywords),
        number_type=args.number_type,
        mps=None if args.mps is None else _mps(args.mps),
        reminder_offsets_by_kind=_reminders_for(args.reminders_for),
        confirm_bookings=_confirm_bookings(args.confirm_bookings),
        retention_days=None if args.retention_days is None else _days(args.retention_days),
    )
    pace = services.admin.number(tenant).throughput
    printer.show(tenant_json(tenant, pace), lambda: f"Updated.\n{_tenant_text(tenant, pace)}")


def _reminders_for(given: list[str] | None) -> dict[str, tuple[str, ...]] | None:
    """``--reminders-for service_visit=P1D@18:00,@07:30`` options as kind -> offsets (None:
    unchanged); ``KIND=`` with nothing after it removes the kind's own defaults."""
    if given is None:
        return None
    by_kind: dict[str, tuple[str, ...]] = {}
    for option in given:
        kind, equals, offsets = option.partition("=")
        if not equals or not kind.strip():
            raise InvalidInput(
                "reminders_for", f"'{option}' is not KIND=OFFSETS (e.g. service_visit=@07:30)"
            )
        parts = tuple(part.strip() for part in offsets.split(","))
        if offsets.strip() and not all(parts):
            raise InvalidInput("reminders_for", f"'{option}' has an empty offset")
        by_kind[kind.strip()] = parts if offsets.strip() else ()
    return by_kind


def _confirm_bookings(given: str | None) -> tuple[str, ...] | None:
    """``--confirm-bookings service_visit,clinic_visit`` as kinds; ``none`` turns them off."""
    if given is None:
        return None
    if given.strip().lower() == "none":
        return ()
    kinds = tuple(part.strip() for part in given.split(","))
    if not all(kinds):
        raise InvalidInput(
            "confirm_bookings", f"'{given}' has an empty kind (e.g. service_visit or none)"
        )
    return kinds


def _keyword_sets(given: list[str] | None, reset: bool) -> dict[str, tuple[str, ...]] | None:
    """``--keywords confirm=OK,SURE`` options as keyword set -> words (None: unchanged)."""
    if given is None:
        return {} if reset else None
    sets: dict[str, tuple[str, ...]] = {}
    for option in given:
        name, equals, words = option.partition("=")
        if not equals or not name.strip():
            raise InvalidInput("keywords", f"'{option}' is not SET=WORD,WORD (e.g. confirm=OK)")
        sets[name.strip()] = (*sets.get(name.strip(), ()), *_split(words))
    return sets


def _tenants_show(args: argparse.Namespace, services: Services, printer: Printer) -> None:
    tenant = services.admin.get_tenant(args.tenant_id)
    keys = services.admin.list_keys(tenant.tenant_id)
    pace = services.admin.number(tenant).throughput
    printer.show(
        {**tenant_json(tenant, pace), "keys": [key_json(k) for k in keys]},
        lambda: f"{_tenant_text(tenant, pace)}\n\n{_keys_text(keys)}",
    )


def number_json(record: NumberRecord) -> dict[str, Any]:
    return {
        "number": record.e164,
        "tenant_id": record.tenant_id,
        **pace_json(record.throughput),
        "recorded": record.recorded,
    }


def report_json(report: NumberReport) -> dict[str, Any]:
    return {
        "tenant_id": report.tenant_id,
        "number": report.number,
        "provider": report.provider,
        "pool_id": report.pool_id,
        "opt_out_list": report.opt_out_list,
        "changed": list(report.changed),
        "ok": report.ok,
        "problems": [
            {
                "setting": p.setting,
                "expected": p.expected,
                "actual": p.actual,
                "message": p.message,
                "fixed_by_attach": p.fixable,
            }
            for p in report.problems
        ],
    }


def _report_text(report: NumberReport) -> str:
    via = f" (through pool {report.pool_id})" if report.pool_id else ""
    lines = [f"Number {report.number}{via}, opt-out list {report.opt_out_list}:"]
    lines += [f"  {change.replace('_', ' ')}" for change in report.changed]
    if report.ok:
        lines.append("  set up as Reach needs it")
    for problem in report.problems:
        hint = " (`reach numbers attach` fixes this)" if problem.fixable else ""
        lines.append(f"  problem: {problem.message}{hint}")
    return "\n".join(lines)


def _numbers_setup(args: argparse.Namespace, services: Services, printer: Printer) -> int:
    settings = services.settings
    if settings.sms_provider == "sns":
        raise ReachError(_SNS_NUMBERS)
    setup = build_number_setup(settings)
    report = (setup.attach if args.command == "attach" else setup.check)(
        args.tenant_id, args.number
    )
    printer.show(report_json(report), lambda: _report_text(report))
    return 0 if report.ok else EXIT_DRIFT


def _numbers_list(args: argparse.Namespace, services: Services, printer: Printer) -> None:
    records = services.admin.list_numbers()
    printer.show(
        [number_json(r) for r in records],
        lambda: (
            _table(
                ("NUMBER", "TENANT ID", "TYPE", "MPS", "DEFAULT MPS"),
                [
                    (
                        r.e164,
                        r.tenant_id,
                        r.throughput.origination_type.value + ("" if r.recorded else " (stack's)"),
                        f"{r.throughput.mps:g}",
                        "yes" if r.mps_is_default else "no",
                    )
                    for r in records
                ],
            )
            if records
            else "no sending numbers yet: each tenant brings one (`reach tenants create`)"
        ),
    )


def _keys_create(args: argparse.Namespace, services: Services, printer: Printer) -> None:
    issued = services.admin.issue_key(args.tenant, label=args.label)
    printer.show(issued_json(issued), lambda: _secret_text(issued))


def _keys_list(args: argparse.Namespace, services: Services, printer: Printer) -> None:
    keys = services.admin.list_keys(args.tenant)
    printer.show([key_json(k) for k in keys], lambda: _keys_text(keys))


def _keys_revoke(args: argparse.Namespace, services: Services, printer: Printer) -> None:
    revoked = services.admin.revoke_key(args.tenant, args.prefix)
    printer.show(
        key_json(revoked),
        lambda: (
            f"Revoked {revoked.prefix} at {_short(revoked.revoked_at)}. A deployed API may "
            "accept it for up to its authorizer cache time (ApiKeyRevocationDelaySeconds)."
        ),
    )


def _keys_rotate(args: argparse.Namespace, services: Services, printer: Printer) -> None:
    issued, revoked = services.admin.rotate_key(args.tenant, args.prefix)
    printer.show(
        {**issued_json(issued), "revoked": key_json(revoked)},
        lambda: f"{_secret_text(issued)}\nRevoked {revoked.prefix}.",
    )


def _templates_list(args: argparse.Namespace, services: Services, printer: Printer) -> None:
    overrides = services.admin.templates(args.tenant)
    rows = [
        {"kind": kind, "language": language, "text": text}
        for (kind, language), text in sorted(overrides.items())
    ]
    printer.show(
        rows,
        lambda: (
            "\n".join(f"{r['kind']} [{r['language']}]  {r['text']}" for r in rows)
            or "no overrides: every reminder uses Reach's default wording"
        ),
    )


def _templates_set(args: argparse.Namespace, services: Services, printer: Printer) -> None:
    report = services.admin.set_template(args.tenant, args.kind, args.language, args.text)
    segments = report.segments
    summary = {
        "kind": args.kind,
        "language": args.language,
        "encoding": str(segments.encoding),
        "parts": segments.parts,
        "warnings": report.warnings,
    }
    printer.show(
        summary,
        lambda: "\n".join(
            [
                f"Saved. With the longest likely values it is {segments.units} "
                f"{'characters' if segments.encoding == 'GSM-7' else 'UCS-2 code units'}: "
                f"{segments.parts} part(s), {segments.encoding}.",
                *(f"warning: {w}" for w in report.warnings),
            ]
        ),
    )


def _templates_reset(args: argparse.Namespace, services: Services, printer: Printer) -> None:
    removed = services.admin.reset_template(args.tenant, args.kind, args.language)
    printer.show(
        {"removed": removed},
        lambda: "Back to the default wording." if removed else "There was no override.",
    )


def _read(path: str, field_name: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError as error:
        raise InvalidInput(field_name, f"cannot read {path}: {error.strerror}") from None


def _cost(args: argparse.Namespace, services: Services, printer: Printer) -> None:
    first, last = cost.date_range(cost.day(args.date_from, "from"), cost.day(args.date_to, "to"))
    tenant = services.admin.get_tenant(args.tenant)
    origination = services.admin.number(tenant).throughput.origination_type.value
    usage = cost.tally(services.messages.usage(tenant.tenant_id, first, last), origination)
    prices = cost.PriceTable.load(None if args.prices is None else _read(args.prices, "prices"))
    document = cost.report(tenant.tenant_id, first, last, usage, prices)
    printer.show(document, lambda: cost.text(document))


# A command returns its exit status, or None for success.
Command = Callable[[argparse.Namespace, Services, Printer], int | None]


def build_parser() -> argparse.ArgumentParser:
    # --stack/--region/--json work before or after the subcommand; SUPPRESS keeps a leaf
    # parser from resetting a value given on the main one.
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "--stack", default=argparse.SUPPRESS, help="read table names from this deployed stack"
    )
    connection.add_argument("--region", default=argparse.SUPPRESS, help="AWS region")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    leaf = [connection, output]

    parser = argparse.ArgumentParser(
        prog="reach",
        description="Manage Reach tenants and their API keys.",
        epilog=_SETTINGS_HINT,
    )
    parser.add_argument("--stack", help="read table names from this deployed stack's outputs")
    parser.add_argument("--region", help="AWS region (default: AWS_REGION or your profile's)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    groups = parser.add_subparsers(
        dest="group", required=True, metavar="{tenants,numbers,keys,templates,cost}"
    )

    tenants = groups.add_parser("tenants", help="create, list and show tenants")
    tenant_commands = tenants.add_subparsers(dest="command", required=True)
    create = tenant_commands.add_parser("create", parents=leaf, help="create a tenant and a key")
    create.add_argument("--name", required=True, help="e.g. 'Riverside Family Clinic'")
    create.add_argument("--timezone", required=True, help="IANA zone, e.g. America/New_York")
    create.add_argument("--number", required=True, help="sending number, E.164")
    create.add_argument("--quiet-hours", help="local HH:MM-HH:MM (default: the stack's)")
    create.add_argument("--reminders", help="ISO 8601 offsets, e.g. P1D,PT2H (default: stack's)")
    _pace_options(create, "default: the stack's OriginationType")
    _retention_option(create, f"default: {DEFAULT_RETENTION_DAYS}")
    create.set_defaults(run=_tenants_create)
    tenant_commands.add_parser("list", parents=leaf, help="every tenant").set_defaults(
        run=_tenants_list
    )
    update = tenant_commands.add_parser(
        "update", parents=leaf, help="change name, zone, quiet hours or default reminders"
    )
    update.add_argument("tenant_id")
    update.add_argument("--name")
    update.add_argument("--timezone", help="IANA zone, e.g. America/Chicago")
    update.add_argument("--quiet-hours", help="local HH:MM-HH:MM; applies to every send at once")
    update.add_argument("--reminders", help="ISO 8601 offsets for new bookings, e.g. P2D,PT3H")
    update.add_argument(
        "--reminders-for",
        action="append",
        metavar="KIND=OFFSETS",
        help="default reminders of one kind of visit, in place of --reminders; repeat per "
        "kind, e.g. --reminders-for service_visit=P1D@18:00,@07:30 (KIND= removes them)",
    )
    update.add_argument(
        "--confirm-bookings",
        metavar="KINDS",
        help="text a booking confirmation when a visit of these kinds is booked, e.g. "
        "--confirm-bookings service_visit,clinic_visit (none turns them off)",
    )
    update.add_argument(
        "--keywords",
        action="append",
        metavar="SET=WORDS",
        help="the tenant's own reply words, added to the defaults; repeat per set, e.g. "
        "--keywords confirm=OK,SURE --keywords call_me='ring me' (replaces earlier ones)",
    )
    update.add_argument(
        "--reset-keywords", action="store_true", help="back to the default reply words only"
    )
    _pace_options(update, "a new type without --mps takes its default")
    _retention_option(update, "applies to messages stored from now on")
    update.set_defaults(run=_tenants_update)
    usage = tenant_commands.add_parser(
        "usage-key",
        parents=leaf,
        help="give a tenant its API Gateway usage key in the stack's usage plan (per-tenant "
        "throttling; tenants create does this itself)",
    )
    usage.add_argument("tenant_id")
    usage.set_defaults(run=_tenants_usage_key)
    show = tenant_commands.add_parser("show", parents=leaf, help="a tenant and its keys")
    show.add_argument("tenant_id")
    show.set_defaults(run=_tenants_show)

    numbers = groups.add_parser("numbers", help="sending numbers: their type and pace")
    number_commands = numbers.add_subparsers(dest="command", required=True)
    number_commands.add_parser(
        "list", parents=leaf, help="every sending number, its tenant, type and MPS"
    ).set_defaults(run=_numbers_list)
    for name, summary in (
        (
            "attach",
            "set the number up in End User Messaging: two-way to the stack's inbound topic, "
            "self-managed opt-outs, the tenant's own opt-out list (created if missing)",
        ),
        ("check", "report how the number differs from what Reach needs (exit 3 if it does)"),
    ):
        command = number_commands.add_parser(name, parents=leaf, help=summary)
        command.add_argument("tenant_id")
        command.add_argument("number", help="the tenant's sending number, E.164")
        command.set_defaults(run=_numbers_setup)

    keys = groups.add_parser("keys", help="issue, list, revoke and rotate API keys")
    key_commands = keys.add_subparsers(dest="command", required=True)
    specs: list[tuple[str, str, Command, bool]] = [
        ("create", "issue a new key (shown once)", _keys_create, False),
        ("list", "a tenant's keys (prefixes, never secrets)", _keys_list, False),
        ("revoke", "revoke a key by its prefix", _keys_revoke, True),
        ("rotate", "issue a replacement and revoke the old key", _keys_rotate, True),
    ]
    for name, summary, run, by_prefix in specs:
        command = key_commands.add_parser(name, parents=leaf, help=summary)
        command.add_argument("--tenant", required=True, help="tenant id (ten_...)")
        if by_prefix:
            command.add_argument("--prefix", required=True, help="key prefix, e.g. rk_1a2b3c4d")
        if name == "create":
            command.add_argument("--label", help="what the key is for, e.g. 'scheduling system'")
        command.set_defaults(run=run)

    templates = groups.add_parser("templates", help="a tenant's reminder wording")
    template_commands = templates.add_subparsers(dest="command", required=True)
    listing = template_commands.add_parser("list", parents=leaf, help="the tenant's overrides")
    listing.add_argument("--tenant", required=True, help="tenant id (ten_...)")
    listing.set_defaults(run=_templates_list)
    for name, summary, run in (
        ("set", "store wording for one kind and language; reports parts and cost", _templates_set),
        ("reset", "go back to Reach's default wording", _templates_reset),
    ):
        command = template_commands.add_parser(name, parents=leaf, help=summary)
        command.add_argument("--tenant", required=True, help="tenant id (ten_...)")
        command.add_argument("--kind", required=True, choices=["clinic_visit", "service_visit"])
        command.add_argument("--language", required=True, help="e.g. en, es, es-MX")
        if name == "set":
            command.add_argument(
                "--text",
                required=True,
                help="with {first_name} {date} {time} {org_name} {org_phone} {reply_options}"
                " (service visits may add {location} {window} {technician_name})",
            )
        command.set_defaults(run=run)
    spend = groups.add_parser(
        "cost",
        parents=leaf,
        help="a tenant's texts over a range of UTC days: parts, encodings, estimated cost",
    )
    spend.add_argument("--tenant", required=True, help="tenant id (ten_...)")
    spend.add_argument("--from", dest="date_from", required=True, help="first day, 2026-11-01")
    spend.add_argument("--to", dest="date_to", required=True, help="last day, included")
    spend.add_argument(
        "--prices", metavar="FILE", help="another price table in prices.json's shape (yours)"
    )
    spend.set_defaults(run=_cost)
    return parser


def _pace_options(command: argparse.ArgumentParser, type_default: str) -> None:
    types = ", ".join(f"{t.value} ({DEFAULT_MPS[t]:g} MPS)" for t in OriginationType)
    command.add_argument(
        "--number-type", help=f"the sending number's type: {types}; {type_default}"
    )
    command.add_argument(
        "--mps", help="message parts per second the carriers granted (default: the type's)"
    )


def _retention_option(command: argparse.ArgumentParser, default: str) -> None:
    command.add_argument(
        "--retention-days",
        metavar="DAYS",
        help=f"days message bodies and replies are kept before DynamoDB's TTL deletes them "
        f"({MIN_RETENTION_DAYS}-{MAX_RETENTION_DAYS}; {default}); opt-outs are kept always",
    )


def _field_message(error: InvalidInput) -> str:
    stem = error.field.partition("[")[0].partition(".")[0]
    option = _OPTION_OF_FIELD.get(stem)
    where = f"{error.field} ({option})" if option else error.field
    return f"invalid {where}: {error.reason}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    printer = Printer(bool(args.json), sys.stdout)
    try:
        settings = Settings.from_env(reach_environment(args, os.environ))
        run: Command = args.run
        status = run(args, build_services(settings), printer)
    except InvalidInput as error:
        print(f"reach: {_field_message(error)}", file=sys.stderr)
        return EXIT_USAGE
    except NumberSetupError as error:
        print(f"reach: End User Messaging refused: {error.message}", file=sys.stderr)
        return EXIT_AWS
    except UsagePlanError as error:
        print(f"reach: {error.message}", file=sys.stderr)
        return EXIT_AWS
    except ReachError as error:
        print(f"reach: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    except (SettingsError, StackLookupError) as error:
        print(f"reach: {error}\n{_SETTINGS_HINT}", file=sys.stderr)
        return EXIT_USAGE
    except (PynamoDBException, BotoCoreError, ClientError) as error:
        print(
            f"reach: AWS call failed: {error}\n"
            "Check your credentials, the region and that the tables exist.",
            file=sys.stderr,
        )
        return EXIT_AWS
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
