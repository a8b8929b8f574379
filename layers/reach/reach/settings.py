"""The one place that reads the environment. template.yaml sets these variables on every function.

Required resource names have no defaults: a function that is missing one fails at cold start
with a message naming the variable, instead of talking to a table that does not exist.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import timedelta
from functools import cached_property, partial
from typing import Any, Literal, cast, get_args

from reach.domain.durations import fixed_duration, reminder_offsets
from reach.domain.errors import InvalidInput
from reach.domain.numbers import DEFAULT_MPS, Throughput
from reach.domain.numbers import OriginationType as NumberType
from reach.domain.quiet_hours import QuietHours, quiet_hours_text

OriginationType = Literal["toll-free", "10dlc", "short-code", "long-code"]
SmsProvider = Literal["sns", "end-user-messaging"]


class SettingsError(RuntimeError):
    """The function's environment is incomplete or wrong."""


def _env(name: str, check: Callable[[str], Any] | None = None, **options: Any) -> Any:
    """A field read from the variable ``name``; ``check`` parses or rejects its text."""
    return field(metadata={"env": name, "check": check}, **options)


def _text(min_length: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not value:
            raise ValueError("is required")
        if len(value) < min_length:
            raise ValueError(f"must be at least {min_length} characters")
        return value

    return check


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return check


_SMS_PROVIDERS = _one_of(get_args(SmsProvider))
_ORIGINATION_TYPES = _one_of(get_args(OriginationType))


def _shards(value: str) -> int:
    if not value.strip().isdigit() or not 1 <= (shards := int(value)) <= 64:
        raise ValueError("must be between 1 and 64")
    return shards


def _concurrency(value: str) -> int:
    if not value.strip().isdigit() or not 1 <= (count := int(value)) <= 64:
        raise ValueError("must be a whole number from 1 to 64")
    return count


def _mps(value: str) -> float | None:
    if value == "":
        return None
    try:
        mps = float(value)
    except ValueError:
        mps = float("nan")
    if not 0 < mps <= 1000:  # NaN and infinity fail here too
        raise ValueError("must be a number above 0 and at most 1000")
    return mps


def _domain(check: Callable[[str], Any]) -> Callable[[str], str]:
    """A domain validator as a settings check: the value is kept as written, and the
    validator's InvalidInput becomes the ValueError that from_env reports with the variable."""

    def checked(value: str) -> str:
        try:
            check(value)
        except InvalidInput as error:
            raise ValueError(error.reason) from error
        return value

    return checked


def _offset_list(value: str) -> tuple[str, ...]:
    return reminder_offsets(value.split(","), field="DEFAULT_REMINDER_OFFSETS")


_quiet_hours = _domain(quiet_hours_text)
_offsets = _domain(_offset_list)
_callback_within = _domain(partial(fixed_duration, field="CALLBACK_WITHIN"))


@dataclass(frozen=True)
class Settings:
    """Configuration of one Reach function, read from its environment variables.

    A plain dataclass with its own checks, not a pydantic model: the authorizer and the
    reconciler need nothing else from pydantic, and importing it costs them a sixth of their
    cold start (``make bench --only cold-start``).
    """

    tenants_table: str = _env("TENANTS_TABLE", _text(3))
    appointments_table: str = _env("APPOINTMENTS_TABLE", _text(3))
    region: str = _env("AWS_REGION", _text(1))
    endpoint_url: str | None = _env("AWS_ENDPOINT_URL", default=None)
    stage: str = _env("STAGE", default="dev")
    sms_provider: SmsProvider = _env("SMS_PROVIDER", _SMS_PROVIDERS, default="sns")  # noqa: RUF009
    origination_identity: str = _env("ORIGINATION_IDENTITY", default="")
    default_quiet_hours: str = _env("DEFAULT_QUIET_HOURS", _quiet_hours, default="21:00-08:00")
    default_reminder_offsets: str = _env("DEFAULT_REMINDER_OFFSETS", _offsets, default="P1D,PT2H")
    due_shards: int = _env("DUE_SHARDS", _shards, default=8)
    configuration_set: str = _env("CONFIGURATION_SET", default="")
    origination_type: OriginationType = _env(  # noqa: RUF009 - _env is a field specifier
        "ORIGINATION_TYPE", _ORIGINATION_TYPES, default="10dlc"
    )
    origination_mps: float | None = _env("ORIGINATION_MPS", _mps, default=None)
    send_queue_url: str = _env("SEND_QUEUE_URL", default="")
    #: Provider calls a sender invocation makes at once (each still waits for its slot).
    send_concurrency: int = _env("SEND_CONCURRENCY", _concurrency, default=8)
    event_bus_name: str = _env("EVENT_BUS_NAME", default="")
    idempotency_table: str = _env("IDEMPOTENCY_TABLE", default="")
    callback_within: str = _env("CALLBACK_WITHIN", _callback_within, default="PT2H")
    #: The stack's two-way channel; only the admin CLI sets numbers up with it.
    inbound_topic_arn: str = _env("INBOUND_TOPIC_ARN", default="")
    #: Where list import files are uploaded (the API presigns, the importer reads).
    import_bucket: str = _env("IMPORT_BUCKET", default="")
    #: The stack's usage plan (output UsagePlanId); only the admin CLI adds tenants' keys to it.
    usage_plan_id: str = _env("USAGE_PLAN_ID", default="")

    @property
    def throughput_mps(self) -> float:
        """Message parts per second the origination identity may send (docs/facts.md#throughput)."""
        return self.origination_mps or DEFAULT_MPS[NumberType(self.origination_type)]

    @property
    def throughput(self) -> Throughput:
        """The stack's default number's pace: what a number recorded without one is given."""
        return Throughput(NumberType(self.origination_type), self.throughput_mps)

    def require(self, name: str) -> str:
        """A setting only some functions need; fails naming the variable when it is unset."""
        value = getattr(self, name)
        if not value:
            variable = next(f.metadata["env"] for f in fields(self) if f.name == name)
            raise SettingsError(f"invalid Reach environment: {variable} is required here")
        return str(value)

    @cached_property
    def callback_window(self) -> timedelta:
        """How long a clinic takes to call a recipient back who asked by text."""
        return fixed_duration(self.callback_within, field="CALLBACK_WITHIN")

    @cached_property
    def quiet_hours(self) -> QuietHours:
        return QuietHours.parse(self.default_quiet_hours)

    @cached_property
    def reminder_offsets(self) -> tuple[str, ...]:
        return _offset_list(self.default_reminder_offsets)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings in ``environ`` (default: the process environment). Every problem is
        reported at once, each naming its variable."""
        env = dict(os.environ if environ is None else environ)
        env.setdefault("AWS_REGION", env.get("AWS_DEFAULT_REGION", ""))
        values: dict[str, Any] = {}
        problems: list[str] = []
        for spec in fields(cls):
            variable = spec.metadata["env"]
            check = cast("Callable[[str], Any] | None", spec.metadata["check"])
            if variable not in env:
                if spec.default is MISSING:
                    problems.append(f"{variable}: is required")
                continue
            try:
                values[spec.name] = check(env[variable]) if check else env[variable]
            except ValueError as error:
                problems.append(f"{variable}: {error}")
        if problems:
            raise SettingsError(f"invalid Reach environment: {'; '.join(problems)}")
        return cls(**values)


#: The words Powertools reads as yes and no in its switches (``strtobool``'s table).
_YES = frozenset({"1", "y", "yes", "t", "true", "on"})
_NO = frozenset({"0", "n", "no", "f", "false", "off"})


def tracing_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether X-Ray tracing runs here: Powertools' own rule, which ``reach.observability``
    needs before building a Tracer (Powertools loads the X-Ray SDK even for a disabled one).

    Tracing is off when ``POWERTOOLS_TRACE_DISABLED`` says so, and outside Lambda
    (no ``LAMBDA_TASK_ROOT``) or under ``sam local`` and Chalice's local mode. The template's
    ``Tracing: Active`` leaves it on in every deployed function.
    """
    env = os.environ if environ is None else environ
    disabled = env.get("POWERTOOLS_TRACE_DISABLED", "false").lower()
    if disabled not in _YES | _NO:
        raise SettingsError(
            f"invalid Reach environment: POWERTOOLS_TRACE_DISABLED: must be one of "
            f"{', '.join(sorted(_YES | _NO))}"
        )
    in_lambda = bool(env.get("LAMBDA_TASK_ROOT"))
    emulated = bool(env.get("AWS_SAM_LOCAL") or env.get("AWS_CHALICE_CLI_MODE"))
    return disabled in _NO and in_lambda and not emulated
