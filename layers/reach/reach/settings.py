"""The one place that reads the environment. template.yaml sets these variables on every function.

Required resource names have no defaults: a function that is missing one fails at cold start
with a message naming the variable, instead of talking to a table that does not exist.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reach.domain.durations import ReminderOffset
from reach.domain.quiet_hours import QuietHours

OriginationType = Literal["toll-free", "10dlc", "short-code", "long-code"]
#: Message parts per second by origination type, US defaults (facts.md): toll-free 3, 10DLC 1
#: per number until carriers vet more, short code 100; long codes elsewhere 10.
DEFAULT_MPS: dict[str, float] = {"toll-free": 3, "10dlc": 1, "short-code": 100, "long-code": 10}


class SettingsError(RuntimeError):
    """The function's environment is incomplete or wrong."""


class Settings(BaseModel):
    """Configuration of one Reach function, read from its environment variables."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    tenants_table: str = Field(alias="TENANTS_TABLE", min_length=3)
    appointments_table: str = Field(alias="APPOINTMENTS_TABLE", min_length=3)
    region: str = Field(alias="AWS_REGION", min_length=1)
    endpoint_url: str | None = Field(default=None, alias="AWS_ENDPOINT_URL")
    stage: str = Field(default="dev", alias="STAGE")
    sms_provider: Literal["sns", "end-user-messaging"] = Field(default="sns", alias="SMS_PROVIDER")
    origination_identity: str = Field(default="", alias="ORIGINATION_IDENTITY")
    default_quiet_hours: str = Field(default="21:00-08:00", alias="DEFAULT_QUIET_HOURS")
    default_reminder_offsets: str = Field(default="P1D,PT2H", alias="DEFAULT_REMINDER_OFFSETS")
    due_shards: int = Field(default=8, alias="DUE_SHARDS", ge=1, le=64)
    configuration_set: str = Field(default="", alias="CONFIGURATION_SET")
    origination_type: OriginationType = Field(default="10dlc", alias="ORIGINATION_TYPE")
    origination_mps: float | None = Field(default=None, alias="ORIGINATION_MPS", gt=0, le=1000)
    send_queue_url: str = Field(default="", alias="SEND_QUEUE_URL")
    event_bus_name: str = Field(default="", alias="EVENT_BUS_NAME")
    idempotency_table: str = Field(default="", alias="IDEMPOTENCY_TABLE")
    callback_within: str = Field(default="PT2H", alias="CALLBACK_WITHIN")
    opt_out_list_name: str = Field(default="Default", alias="OPT_OUT_LIST_NAME")

    @field_validator("origination_mps", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def throughput_mps(self) -> float:
        """Message parts per second the origination identity may send (facts.md defaults)."""
        return self.origination_mps or DEFAULT_MPS[self.origination_type]

    def require(self, name: str) -> str:
        """A setting only some functions need; fails naming the variable when it is unset."""
        value = getattr(self, name)
        if not value:
            alias = type(self).model_fields[name].alias
            raise SettingsError(f"invalid Reach environment: {alias} is required here")
        return str(value)

    @field_validator("default_quiet_hours")
    @classmethod
    def _quiet_hours_parse(cls, value: str) -> str:
        QuietHours.parse(value)
        return value

    @field_validator("default_reminder_offsets")
    @classmethod
    def _offsets_parse(cls, value: str) -> str:
        for text in value.split(","):
            ReminderOffset.parse(text)
        return value

    @field_validator("callback_within")
    @classmethod
    def _callback_within_parses(cls, value: str) -> str:
        offset = ReminderOffset.parse(value)
        if offset.years or offset.months:
            raise ValueError("use days, hours or minutes, e.g. PT2H or P1D")
        return value

    @cached_property
    def callback_window(self) -> timedelta:
        """How long a clinic takes to call a recipient back who asked by text."""
        offset = ReminderOffset.parse(self.callback_within)
        return timedelta(days=offset.days) + offset.elapsed

    @cached_property
    def quiet_hours(self) -> QuietHours:
        return QuietHours.parse(self.default_quiet_hours)

    @cached_property
    def reminder_offsets(self) -> tuple[str, ...]:
        return tuple(ReminderOffset.parse(t).text for t in self.default_reminder_offsets.split(","))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        env.setdefault("AWS_REGION", env.get("AWS_DEFAULT_REGION", ""))
        try:
            return cls.model_validate(env)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
            )
            raise SettingsError(f"invalid Reach environment: {problems}") from error
