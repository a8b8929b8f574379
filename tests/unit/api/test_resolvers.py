"""Two API resolvers in one process (a test's stack beside the local run's) each answer with
their own services, although the routes are module-level Routers that Powertools binds to the
resolver that included them last."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from types import SimpleNamespace

from aws_lambda_powertools import Logger

from conftest import load_event
from reach.api.app import build_resolver
from reach.domain.callbacks import Callback
from reach.services.callbacks import CallbackInZone

CALLBACK_ID = "cb_" + "0" * 32


class Callbacks:
    def __init__(self, phone: str) -> None:
        self.phone = phone
        self.tenants: list[str] = []

    def get(self, tenant_id: str, callback_id: str) -> CallbackInZone:
        self.tenants.append(tenant_id)
        at = datetime(2026, 12, 1, 15, tzinfo=UTC)
        callback = Callback(tenant_id, callback_id, self.phone, None, "open", at, at, "in-1")
        return CallbackInZone(callback, "America/New_York")


def services(phone: str) -> SimpleNamespace:
    return SimpleNamespace(callbacks=Callbacks(phone))


def request(tenant_id: str) -> dict:
    event = copy.deepcopy(load_event("api_get_appointment.json"))
    event.update(
        resource="/callbacks/{id}",
        path=f"/callbacks/{CALLBACK_ID}",
        pathParameters={"id": CALLBACK_ID},
    )
    event["requestContext"].update(resourcePath="/callbacks/{id}", path=f"/callbacks/{CALLBACK_ID}")
    event["requestContext"]["authorizer"]["tenant_id"] = tenant_id
    return event


def test_each_resolver_answers_with_its_own_services_and_request(lambda_context):
    first, second = build_resolver(Logger()), build_resolver(Logger())
    first_services, second_services = services("+12025550001"), services("+12025550002")
    first.append_context(services=first_services)
    second.append_context(services=second_services)

    # the first resolver answers after the second one included the same routers
    answer = first.resolve(request("ten_first"), lambda_context)
    other = second.resolve(request("ten_second"), lambda_context)

    assert answer["statusCode"] == 200, answer["body"]
    assert json.loads(answer["body"])["phone"] == "+12025550001"
    assert json.loads(other["body"])["phone"] == "+12025550002"
    assert first_services.callbacks.tenants == ["ten_first"]
    assert second_services.callbacks.tenants == ["ten_second"]
