"""The API function called as API Gateway would call it, as one tenant, for any route."""

from __future__ import annotations

import base64
import copy
import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import boto3

from builders import PATIENT, local_day
from conftest import load_event


def encoded(phone: str) -> str:
    """A phone as a client puts it in a path segment: %2B12025550187."""
    return quote(phone, safe="")


class Api:
    """Calls the API handler as API Gateway would, as one tenant, for any route."""

    def __init__(self, module: Any, context: Any, tenant_id: str) -> None:
        self.module = module
        self.context = context
        self.tenant_id = tenant_id
        self.requests = 0

    def as_tenant(self, tenant_id: str) -> Api:
        return Api(self.module, self.context, tenant_id)

    def call(self, method: str, resource: str, **request: Any) -> tuple[int, dict[str, Any]]:
        """The status and JSON body of ``response(method, resource, **request)``."""
        response = self.response(method, resource, **request)
        return response["statusCode"], json.loads(response["body"])

    def response(
        self,
        method: str,
        resource: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        query: Mapping[str, str | list[str]] | None = None,
        text: str | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The handler's whole answer (status, headers, body) to a request.

        ``resource`` as API Gateway names it (``/callbacks/{id}``); ``params`` fill it.
        ``body`` is sent as JSON, ``text`` exactly as given, ``data`` as bytes (base64, as API
        Gateway passes a body that is not UTF-8); a query value that is a list repeats the
        parameter; ``headers`` are added to the request's."""
        event = copy.deepcopy(load_event("api_get_appointment.json"))
        path = resource
        for name, value in (params or {}).items():
            path = path.replace(f"{{{name}}}", value)
        self.requests += 1
        context = event["requestContext"]
        context.update(
            httpMethod=method,
            resourcePath=resource,
            path=f"/dev{path}",
            requestId=f"req-{self.tenant_id}-{self.requests}",
        )
        context["authorizer"]["tenant_id"] = context["authorizer"]["principalId"] = self.tenant_id
        repeated = {k: v if isinstance(v, list) else [v] for k, v in (query or {}).items()}
        event.update(
            httpMethod=method,
            resource=resource,
            path=path,
            pathParameters={k: v for k, v in (params or {}).items()} or None,
            body=json.dumps(body) if body is not None else text,
            isBase64Encoded=False,
            queryStringParameters={k: v[-1] for k, v in repeated.items()} or None,
            multiValueQueryStringParameters=repeated or None,
        )
        if data is not None:
            event.update(body=base64.b64encode(data).decode(), isBase64Encoded=True)
        if headers:
            event["headers"] = {**(event.get("headers") or {}), **headers}
            event["multiValueHeaders"] = {
                **(event.get("multiValueHeaders") or {}),
                **{name: [value] for name, value in headers.items()},
            }
        response: dict[str, Any] = self.module.lambda_handler(event, self.context)
        return response

    def book(self, phone: str = PATIENT, **fields: Any) -> dict[str, Any]:
        body = {
            "phone": phone,
            "starts_at": local_day(5, 15).isoformat(),
            "timezone": "America/New_York",
        }
        status, appointment = self.call("POST", "/appointments", body={**body, **fields})
        assert status == 201, appointment
        return appointment

    def patch(self, appointment_id: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return self.call("PATCH", "/appointments/{id}", params={"id": appointment_id}, **kwargs)

    def appointment(self, appointment_id: str) -> dict[str, Any]:
        status, appointment = self.call("GET", "/appointments/{id}", params={"id": appointment_id})
        assert status == 200, appointment
        return appointment

    def contact(self, phone: str) -> tuple[int, dict[str, Any]]:
        return self.call("GET", "/contacts/{phone}", params={"phone": encoded(phone)})

    def opt_out(self, phone: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        return self.call(
            "POST", "/contacts/{phone}/opt-out", params={"phone": encoded(phone)}, body=body
        )

    def opt_in(self, phone: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        return self.call(
            "POST", "/contacts/{phone}/opt-in", params={"phone": encoded(phone)}, body=body
        )


def stored_items() -> int:
    """How many items the appointments table holds: what a refused request must not change."""
    table = boto3.client("dynamodb").scan(TableName=os.environ["APPOINTMENTS_TABLE"])
    return int(table["Count"])


def refused(status: int, error: dict[str, Any], field: str, code: int = 422) -> str:
    """The error's message about ``field``, after checking the one error shape (and, for a
    422, that it is a validation error)."""
    assert status == code, error
    assert set(error) == {"error", "message", "fields"}
    if code == 422:
        assert error["error"] == "validation_error", error
    assert [f["field"] for f in error["fields"]] == [field], error
    message: str = error["fields"][0]["message"]
    return message
