"""Notification envelopes: what SNS and SQS wrap around a provider's JSON payload.

A payload may arrive as its JSON text, as a dict, as the SNS notification envelope (whose
``Message`` is the JSON text), as an SQS body holding that envelope, or as the Lambda SNS/SQS
record around either. ``unwrap_notification`` opens all of them; what it cannot read raises
``PayloadError`` with a reason that names no content.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: How many envelopes (SQS record, SNS record, SNS notification) are opened at most.
MAX_ENVELOPES = 4
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9._:-]")
_LOGGED_ID_CHARS = 64


@dataclass(frozen=True)
class RejectedPayload:
    """A payload we could not read: log ``summary`` (no phone number, no content) and
    acknowledge it; retrying cannot fix it.

    ``fields`` names the payload keys at fault (AWS names, e.g. ``inboundMessageId``); it is
    empty when the payload was not a JSON object at all.
    """

    reason: str
    fields: tuple[str, ...]
    summary: str


def loggable_id(value: str) -> str:
    """An id from an unread payload, cut to what is safe to log (``?`` when nothing is)."""
    return _UNSAFE_ID_CHARS.sub("", value)[:_LOGGED_ID_CHARS] or "?"


class PayloadError(Exception):
    """A payload that cannot be read; ``fields`` names the keys at fault."""

    def __init__(self, reason: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = fields


def unwrap_notification(raw: object) -> Mapping[Any, Any]:
    """The JSON object inside ``raw``, opening JSON text and SQS/SNS envelopes."""
    value = _decode(raw, "payload")
    for _ in range(MAX_ENVELOPES):
        if not isinstance(value, Mapping):
            break
        if value.get("Type") == "Notification" and "Message" in value:
            value = _decode(value["Message"], "Message")  # SNS notification envelope
        elif isinstance(value.get("Sns"), Mapping):
            value = value["Sns"]  # Lambda SNS event record
        elif value.get("eventSource") == "aws:sqs" and "body" in value:
            value = _decode(value["body"], "body")  # Lambda SQS event record
        else:
            break
    if not isinstance(value, Mapping):
        raise PayloadError(f"not a JSON object ({json_type(value)})")
    return value


def _decode(value: object, name: str) -> object:
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PayloadError(f"{name} is not UTF-8 text") from None
    if isinstance(value, str):
        try:
            return json.loads(value.lstrip("\ufeff"))
        except (ValueError, RecursionError):
            raise PayloadError(
                f"{name} is not JSON", () if name == "payload" else (name,)
            ) from None
    if value is None or isinstance(value, Mapping):
        return value
    if name == "payload":
        raise PayloadError(f"not a JSON object ({json_type(value)})")
    raise PayloadError(f"{name} is not a JSON string ({json_type(value)})", (name,))


def json_type(value: object) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "boolean"
        case int() | float():
            return "number"
        case str():
            return "string"
        case list() | tuple():
            return "array"
        case Mapping():
            return "object"
        case _:
            return type(value).__name__
