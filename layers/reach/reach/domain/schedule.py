"""The EventBridge schedule's event, read at the dispatcher's edge.

Read by hand rather than with Powertools' parser (``EventBridgeModel``): the parser loads
pydantic, which the dispatcher needs for nothing else, and it was a third of what the function
imported beyond boto3 (``make bench --only cold-start``). The event is refused where the model
refused it: a missing or mistyped envelope field. One refusal is stricter: ``time`` must carry
its offset (EventBridge always writes ``...Z``), so the tick never compares a naive time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The envelope's text fields (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html).
_TEXT_FIELDS = ("version", "id", "source", "account", "region", "detail-type")


class InvalidScheduledEvent(ValueError):
    """The event is not EventBridge's: the invocation fails, and EventBridge retries it."""


@dataclass(frozen=True)
class ScheduledEvent:
    time: datetime


def _problem(event: Mapping[str, Any]) -> str | None:
    for name in _TEXT_FIELDS:
        if not isinstance(event.get(name), str):
            return f"{name}: must be a string"
    resources = event.get("resources")
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        return "resources: must be a list of strings"
    if not isinstance(event.get("detail"), dict):
        return "detail: must be an object"
    return None


def parse_scheduled_event(event: Any) -> ScheduledEvent:
    """The tick's time from a scheduled event; ``InvalidScheduledEvent`` names what is wrong."""
    if not isinstance(event, Mapping):
        raise InvalidScheduledEvent("the event must be an object")
    if problem := _problem(event):
        raise InvalidScheduledEvent(problem)
    text = event.get("time")
    try:
        time = datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        time = None
    if time is None or time.tzinfo is None:
        raise InvalidScheduledEvent("time: must be an ISO 8601 time with its offset")
    return ScheduledEvent(time)
