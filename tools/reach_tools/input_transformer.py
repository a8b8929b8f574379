"""What an EventBridge rule target sends, computed from the template and an event: the input
transformer's output, and for an API destination the request's method, URL and headers.

moto runs no API destination, so the tests render the request here, with EventBridge's
substitution rules (docs/facts.md#input-transformer), and send it to a stand-in server:

- ``InputPathsMap`` names values in the event by JSON path (``$.detail.x``);
- in ``InputTemplate``, ``<name>`` inside a JSON string is replaced by the value's text
  as is (a string without its quotes, a number in digits); outside a string, by the value
  as JSON;
- an API destination's ``*`` in its endpoint takes each of ``PathParameterValues`` in turn,
  a JSON path read from the event or a fixed value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


class NotInEvent(KeyError):
    """A JSON path the event does not have."""


def select(event: Mapping[str, Any], path: str) -> Any:
    """The value at ``$.a.b`` in ``event`` (the dotted paths input transformers use)."""
    if not path.startswith("$"):
        raise ValueError(f"{path!r} is not a JSON path")
    value: Any = event
    for part in [p for p in path[1:].split(".") if p]:
        if not isinstance(value, Mapping) or part not in value:
            raise NotInEvent(path)
        value = value[part]
    return value


def render_input(transformer: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    """The target's input: ``InputTemplate`` with each placeholder replaced."""
    values = {
        name: select(event, path) for name, path in transformer.get("InputPathsMap", {}).items()
    }
    template = str(transformer["InputTemplate"])
    rendered: list[str] = []
    in_string = False
    position = 0
    while position < len(template):
        match = _PLACEHOLDER.match(template, position)
        if match and match.group(1) in values:
            value = values[match.group(1)]
            rendered.append(_as_text(value) if in_string else json.dumps(value))
            position = match.end()
            continue
        character = template[position]
        if character == "\\" and in_string:
            rendered.append(template[position : position + 2])
            position += 2
            continue
        if character == '"':
            in_string = not in_string
        rendered.append(character)
        position += 1
    return "".join(rendered)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: str


def destination_request(
    destination: Mapping[str, Any],
    target: Mapping[str, Any],
    event: Mapping[str, Any],
    *,
    connection_headers: Mapping[str, str] | None = None,
) -> HttpRequest:
    """The request an API destination target makes for ``event``: ``destination`` is the
    ApiDestination's properties with its endpoint resolved, ``target`` the rule's target."""
    parameters = target.get("HttpParameters", {})
    url = str(destination["InvocationEndpoint"])
    for value in _path_values(parameters.get("PathParameterValues", []), event):
        if "*" not in url:
            raise ValueError("more path parameter values than wildcards in the endpoint")
        url = url.replace("*", value, 1)
    if "*" in url:
        raise ValueError("a wildcard in the endpoint has no path parameter value")
    headers = {**parameters.get("HeaderParameters", {}), **(connection_headers or {})}
    transformer = target.get("InputTransformer")
    body = render_input(transformer, event) if transformer else json.dumps(event)
    return HttpRequest(str(destination["HttpMethod"]), url, headers, body)


def _path_values(values: Sequence[str], event: Mapping[str, Any]) -> list[str]:
    return [_as_text(select(event, v)) if v.startswith("$.") else v for v in values]
