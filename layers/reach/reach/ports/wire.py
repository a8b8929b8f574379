"""Flat records that our own functions pass each other as JSON (the send queue's messages).

They are frozen dataclasses, not pydantic models: pydantic was most of what the dispatcher and
the sender loaded beyond boto3 (``make bench --only cold-start``), and these records need only
the checks below. A record is read the way the pydantic model read it: every field without a
default must be present, text must be a non-empty string, an enum field takes its value, keys
we do not know are ignored, and anything else raises ``MalformedMessage`` naming the field.
``model_validate_json`` and ``model_dump_json`` keep pydantic's names, so no caller changed.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, fields
from enum import Enum
from types import NoneType, UnionType
from typing import Any, Self, get_args, get_type_hints


class MalformedMessage(ValueError):
    """A record's JSON could not be read; ``field`` names the culprit (None: the whole body)."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


_FIELD_TYPES: dict[type, dict[str, tuple[type, bool]]] = {}


def _field_types(cls: type) -> dict[str, tuple[type, bool]]:
    """Each field's type, and whether it may be None (``X | None``); read once per class."""
    if cls in _FIELD_TYPES:
        return _FIELD_TYPES[cls]
    types: dict[str, tuple[type, bool]] = {}
    for name, hint in get_type_hints(cls).items():
        if isinstance(hint, UnionType):
            members = [t for t in get_args(hint) if t is not NoneType]
            if len(members) != 1:
                raise TypeError(f"{cls.__name__}.{name}: only X | None unions are supported")
            types[name] = (members[0], True)
        else:
            types[name] = (hint, False)
    _FIELD_TYPES[cls] = types
    return types


def _problem(value: Any, kind: type, optional: bool) -> str | None:
    """Why ``value`` does not fit the field, or None when it does."""
    if value is None:
        return None if optional else "is required"
    if kind is str:
        return "must be a non-empty string" if not isinstance(value, str) or not value else None
    if kind is int:
        wrong = not isinstance(value, int) or isinstance(value, bool)
        return "must be an integer" if wrong else None
    if kind is float:
        wrong = not isinstance(value, int | float) or isinstance(value, bool)
        return "must be a number" if wrong else None
    return None if isinstance(value, kind) else f"must be a {kind.__name__}"


def _decoded(value: Any, kind: type) -> Any:
    """An enum field arrives as its value; every other type arrives as itself."""
    if isinstance(kind, type) and issubclass(kind, Enum) and not isinstance(value, kind):
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(str(member.value) for member in kind)
            raise MalformedMessage(None, f"must be one of {allowed}") from None
    return value


class JsonRecord:
    """Base of a frozen dataclass of str, int, float, bool, enum and ``X | None`` fields."""

    def __post_init__(self) -> None:
        for name, (kind, optional) in _field_types(type(self)).items():
            if reason := _problem(getattr(self, name), kind, optional):
                raise MalformedMessage(name, reason)

    @classmethod
    def model_validate_json(cls, body: str | bytes) -> Self:
        try:
            data = json.loads(body)
        except (TypeError, ValueError):
            raise MalformedMessage(None, "is not JSON") from None
        if not isinstance(data, dict):
            raise MalformedMessage(None, "is not a JSON object")
        types = _field_types(cls)
        values: dict[str, Any] = {}
        for spec in fields(cls):  # type: ignore[arg-type]  # subclasses are dataclasses
            if spec.name not in data:
                if spec.default is MISSING and spec.default_factory is MISSING:
                    raise MalformedMessage(spec.name, "is required")
                continue
            try:
                values[spec.name] = _decoded(data[spec.name], types[spec.name][0])
            except MalformedMessage as error:
                raise MalformedMessage(spec.name, error.reason) from None
        return cls(**values)

    def model_dump_json(self) -> str:
        record = asdict(self)  # type: ignore[call-overload]  # subclasses are dataclasses
        return json.dumps(
            {k: v.value if isinstance(v, Enum) else v for k, v in record.items()},
            separators=(",", ":"),
            ensure_ascii=False,
        )
