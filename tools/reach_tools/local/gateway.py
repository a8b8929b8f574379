"""API Gateway's part, played locally: the TOKEN authorizer, then the REST proxy integration.

Routes, the stage and the gateway's own error responses are read from template.yaml, so the
local API answers like the deployed one. One difference on purpose: there is no authorizer
cache, so a revoked key is refused at once (a deployed API may accept it for up to
``AuthorizerCacheSeconds``).
"""

from __future__ import annotations

import base64
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import unquote

from reach_tools.local.functions import ACCOUNT_ID, LocalFunction

API_ID = "local"
# API Gateway's own responses, for a template that does not customise them.
_FALLBACK_BODIES = {
    "UNAUTHORIZED": (401, '{"error":"unauthorized","message":"Unauthorized"}'),
    "ACCESS_DENIED": (403, '{"error":"forbidden","message":"Forbidden"}'),
    "AUTHORIZER_FAILURE": (500, '{"error":"authorizer_failure","message":"authorizer failed"}'),
    # A path that is no resource of the API, before any authorizer (AWS's own answer is 403).
    "MISSING_AUTHENTICATION_TOKEN": (
        403,
        '{"error":"missing_authentication_token","message":"Missing Authentication Token"}',
    ),
}
_INTEGRATION_FAILURE = '{"error":"internal_error","message":"Internal server error"}'


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: Sequence[tuple[str, str]] = ()
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""


@dataclass(frozen=True)
class Route:
    """A resource of the REST API, e.g. ``POST /appointments/{id}/cancel``."""

    method: str
    resource: str

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters when ``path`` fits this resource, else None."""
        wanted = self.resource.strip("/").split("/")
        given = path.strip("/").split("/")
        if len(wanted) != len(given):
            return None
        parameters: dict[str, str] = {}
        for pattern, segment in zip(wanted, given, strict=True):
            if pattern.startswith("{") and pattern.endswith("}"):
                if not segment:
                    return None
                parameters[pattern[1:-1]] = unquote(segment)
            elif pattern != segment:
                return None
        return parameters


@dataclass(frozen=True)
class RestApi:
    """What the template says about the REST API in front of one function."""

    routes: tuple[Route, ...]
    stage: str
    responses: Mapping[str, HttpResponse] = field(default_factory=dict)


def rest_api_of(template: Mapping[str, Any], function_id: str) -> RestApi:
    """The routes of ``function_id``'s Api events, its API's stage and gateway responses."""
    resources = template["Resources"]
    events = resources[function_id].get("Properties", {}).get("Events", {})
    routes: list[Route] = []
    api_id: str | None = None
    for event in events.values():
        if event.get("Type") != "Api":
            continue
        properties = event["Properties"]
        routes.append(Route(str(properties["Method"]).upper(), str(properties["Path"])))
        api_ref = properties.get("RestApiId")
        if isinstance(api_ref, dict) and "Ref" in api_ref:
            api_id = str(api_ref["Ref"])
    api = resources.get(api_id, {}).get("Properties", {}) if api_id else {}
    return RestApi(
        routes=tuple(routes),
        stage=_stage_name(template, api.get("StageName", "dev")),
        responses=_gateway_responses(api.get("GatewayResponses", {})),
    )


def _stage_name(template: Mapping[str, Any], value: Any) -> str:
    if isinstance(value, dict) and "Ref" in value:
        return str(template.get("Parameters", {}).get(value["Ref"], {}).get("Default", "dev"))
    return str(value)


def _gateway_responses(definitions: Mapping[str, Any]) -> dict[str, HttpResponse]:
    responses: dict[str, HttpResponse] = {}
    for kind, (status, body) in _FALLBACK_BODIES.items():
        definition = definitions.get(kind, {})
        headers = [("Content-Type", "application/json")]
        for name, value in definition.get("ResponseParameters", {}).get("Headers", {}).items():
            headers.append((name, str(value).strip("'")))  # static values are quoted
        template_body = definition.get("ResponseTemplates", {}).get("application/json", body)
        responses[kind] = HttpResponse(
            status=int(definition.get("StatusCode", status)),
            headers=headers,
            body=str(template_body).encode(),
        )
    return responses


def policy_allows(policy: Mapping[str, Any], method_arn: str) -> bool:
    """IAM's rule for the authorizer's policy: an explicit Deny wins, then an Allow is needed."""
    statements = policy.get("policyDocument", {}).get("Statement", [])
    effects: set[str] = set()
    for statement in statements:
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatchcase(method_arn, pattern) for pattern in resources):
            effects.add(str(statement.get("Effect")))
    return "Allow" in effects and "Deny" not in effects


class LocalGateway:
    """Authorizer first, then the API function, like an API Gateway REST API with a TOKEN
    authorizer and the Lambda proxy integration."""

    def __init__(
        self, authorizer: LocalFunction, api: LocalFunction, rest_api: RestApi, region: str
    ) -> None:
        self._authorizer = authorizer
        self._api = api
        self._rest_api = rest_api
        self._region = region
        # Lambda runs one event at a time per container, and the handlers' module state
        # (the resolver's current event, the logger's keys) relies on that.
        self._lock = threading.Lock()

    def handle(self, request: HttpRequest) -> HttpResponse:
        found = self._route(request)
        if found is None:
            # No resource has this path: API Gateway answers before looking for a key.
            return self._rest_api.responses["MISSING_AUTHENTICATION_TOKEN"]
        resource, path_parameters = found
        token = request.header("Authorization")
        if not token:
            # API Gateway refuses a request without the identity source before the authorizer.
            return self._rest_api.responses["UNAUTHORIZED"]
        method_arn = (
            f"arn:aws:execute-api:{self._region}:{ACCOUNT_ID}:{API_ID}/{self._rest_api.stage}/"
            f"{request.method}/{request.path.lstrip('/')}"
        )
        with self._lock:
            try:
                policy = self._authorizer.invoke(
                    {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
                )
            except Exception as error:
                if str(error) == "Unauthorized":
                    return self._rest_api.responses["UNAUTHORIZED"]
                traceback.print_exc(file=sys.stderr)
                return self._rest_api.responses["AUTHORIZER_FAILURE"]
            if not policy_allows(policy, method_arn):
                return self._rest_api.responses["ACCESS_DENIED"]
            event = self._proxy_event(request, resource, path_parameters, policy)
            try:
                result = self._api.invoke(event)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                return HttpResponse(
                    502, [("Content-Type", "application/json")], _INTEGRATION_FAILURE.encode()
                )
        return _http_response(result)

    def _route(self, request: HttpRequest) -> tuple[str, dict[str, str] | None] | None:
        fallback: tuple[str, dict[str, str] | None] | None = None
        for route in self._rest_api.routes:
            parameters = route.match(request.path)
            if parameters is None:
                continue
            if route.method == request.method:
                return route.resource, parameters or None
            fallback = fallback or (route.resource, parameters or None)
        # A known path with another method reaches the function, which answers 405 itself.
        return fallback

    def _proxy_event(
        self,
        request: HttpRequest,
        resource: str,
        path_parameters: dict[str, str] | None,
        policy: Mapping[str, Any],
    ) -> dict[str, Any]:
        headers = _multi(request.headers)
        query = _multi(request.query)
        body: str | None = None
        is_base64 = False
        if request.body:
            try:
                body = request.body.decode("utf-8")
            except UnicodeDecodeError:
                body, is_base64 = base64.b64encode(request.body).decode(), True
        stage = self._rest_api.stage
        return {
            "resource": resource,
            "path": request.path,
            "httpMethod": request.method,
            "headers": {name: values[-1] for name, values in headers.items()},
            "multiValueHeaders": headers,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": path_parameters,
            "stageVariables": None,
            "body": body,
            "isBase64Encoded": is_base64,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": API_ID,
                "stage": stage,
                "requestId": str(uuid.uuid4()),
                "requestTimeEpoch": int(time.time() * 1000),
                "httpMethod": request.method,
                "resourcePath": resource,
                "path": f"/{stage}{request.path}",
                "protocol": "HTTP/1.1",
                "identity": {
                    "sourceIp": request.source_ip,
                    "userAgent": request.header("User-Agent"),
                },
                "authorizer": {
                    **policy.get("context", {}),
                    "principalId": policy.get("principalId"),
                },
            },
        }


def _multi(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def _http_response(result: Mapping[str, Any]) -> HttpResponse:
    # API Gateway merges the two header maps; multiValueHeaders wins for a name in both.
    multi: Mapping[str, Sequence[Any]] = result.get("multiValueHeaders") or {}
    single: Mapping[str, Any] = result.get("headers") or {}
    headers = [(name, str(value)) for name, values in multi.items() for value in values]
    headers += [(name, str(value)) for name, value in single.items() if name not in multi]
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    return HttpResponse(status=int(result.get("statusCode", 502)), headers=headers, body=body)
