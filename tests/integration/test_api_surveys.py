"""Issue 14, item 1: surveys through the API: defined (201), refused naming the path at fault
(422), read and listed per tenant only (404 across tenants), paged with signed tokens."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from api_client import Api, refused, stored_items
from builders import survey_body
from conftest import load_function


@pytest.fixture
def api(tenants, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, tenants[0])


def _without_nulls(value: Any) -> Any:
    """The view shows absent optional fields as null, as the request may send them."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _create(api: Api, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    return api.call("POST", "/surveys", body=survey_body() if body is None else body)


def test_a_survey_is_created_and_read_back_as_defined(api):
    status, created = _create(api)

    assert status == 201, created
    assert created["id"].startswith("srv_")
    assert created["expires_after"] == "PT24H"  # the default, filled in
    expected = {**survey_body(), "expires_after": "PT24H"}
    shown = {k: v for k, v in created.items() if k not in ("id", "created_at")}
    assert _without_nulls(shown) == expected
    status, read = api.call("GET", "/surveys/{id}", params={"id": created["id"]})
    assert status == 200
    assert read == created


def test_a_trigger_and_a_duration_are_stored_in_canonical_form(api):
    trigger = {"on": "appointment_completed", "delay": "pt2h", "kinds": ["service_visit"]}

    status, created = _create(api, survey_body(trigger=trigger, expires_after="p1d"))

    assert status == 201, created
    assert created["trigger"] == {**trigger, "delay": "PT2H"}
    assert created["expires_after"] == "P1D"


def _edited(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(survey_body())
    *parents, last = path.split(".")
    target: Any = body
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        # the schema's own rules
        ("questions.0.colour", "red", "questions[0].colour"),
        ("questions.0.type", "ranking", "questions[0].type"),
        ("questions.0.min", "0", "questions[0].min"),
        ("questions.0.next.0.if.lte", True, "questions[0].next[0].if.lte"),
        ("questions.2.choices.0.key", "1 2", "questions[2].choices[0].key"),
        ("questions.2.choices.2.action", "email", "questions[2].choices[2].action"),
        ("language", "de", "language"),
        ("questions", [], "questions"),
        ("trigger", {"on": "appointment_completed", "delay": "PT2H", "kinds": []}, "trigger.kinds"),
        # the domain's rules, beyond the schema
        ("questions.0.next.1.goto", "nowhere", "questions[0].next[1].goto"),
        ("questions.3.next", [{"goto": "nps"}], "questions[3].next[0].goto"),
        ("questions.0.next", [{"goto": "end"}], "questions[1]"),
        ("questions.1.text", "Tell us more. " * 25, "questions[1].text"),
        ("questions.1.text", "How did the insulin work?", "questions[1].text"),
        ("questions.3.id", "why", "questions[3].id"),
        ("questions.2.next.0.if", {"lte": 1}, "questions[2].next[0].if.lte"),
        ("questions.0.max", 0, "questions[0].max"),
        ("questions.2.choices", [{"key": "1", "label": "Yes"}], "questions[2].choices"),
        ("questions.2.choices.1.key", "1", "questions[2].choices[1].key"),
        ("expires_after", "P1M", "expires_after"),
        ("thanks", "See you at the oncology ward", "thanks"),
    ],
)
def test_an_invalid_survey_gets_422_naming_the_path_and_stores_nothing(api, path, value, field):
    before = stored_items()

    status, error = _create(api, _edited(path, value))

    refused(status, error, field)
    assert stored_items() == before


def test_another_tenants_survey_is_not_found(api, tenants):
    _, created = _create(api)

    status, error = api.as_tenant(tenants[1]).call(
        "GET", "/surveys/{id}", params={"id": created["id"]}
    )

    assert status == 404, error
    assert error["error"] == "not_found"
    _, listed = api.as_tenant(tenants[1]).call("GET", "/surveys")
    assert listed == {"items": [], "next_token": None}


def test_an_unknown_survey_is_not_found(api):
    status, error = api.call("GET", "/surveys/{id}", params={"id": "srv_" + "0" * 32})

    assert status == 404, error


def test_surveys_are_listed_newest_first_in_pages(api):
    names = [f"Survey {n}" for n in range(5)]
    for name in names:
        assert _create(api, survey_body(name=name))[0] == 201

    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        query = {"limit": "2", **({"next_token": token} if token else {})}
        status, page = api.call("GET", "/surveys", query=query)
        assert status == 200, page
        seen += [item["name"] for item in page["items"]]
        pages += 1
        token = page["next_token"]
        if token is None:
            break

    assert seen == names[::-1]
    assert pages == 3


def test_a_page_token_of_another_tenant_gets_400(api, tenants):
    for name in ("a", "b"):
        _create(api, survey_body(name=name))
    _, page = api.call("GET", "/surveys", query={"limit": "1"})

    status, error = api.as_tenant(tenants[1]).call(
        "GET", "/surveys", query={"next_token": page["next_token"]}
    )

    refused(status, error, "next_token", code=400)
    assert error["error"] == "invalid_next_token"
