"""Issue 14, item 2: POST /surveys/{id}/sends through the API: a list send is accepted at
once and started by the dispatcher (its progress read back), an appointment send starts one
response once, and every bad target is refused in the one error shape naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api_client import Api, refused, stored_items
from builders import PATIENT, a_list, survey_body
from conftest import load_function
from reach.adapters.events_fake import RecordingPublisher
from reach.data.lists import ListRepository
from reach.data.survey_responses import SurveyResponses
from reach.domain.lists import ConsentSource, MemberConsent, OptInList
from reach.services.membership import Joiner, Membership
from reach.wiring import build_dispatcher
from stand_ins import MemoryQueue


@pytest.fixture
def api(tenants, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, tenants[0])


@pytest.fixture
def survey_id(api) -> str:
    status, created = api.call("POST", "/surveys", body=survey_body())
    assert status == 201, created
    return str(created["id"])


@pytest.fixture
def customers(api) -> OptInList:
    plist = ListRepository().create(a_list("customers", "NEWS", tenant_id=api.tenant_id))
    at = datetime.now(UTC) - timedelta(days=1)
    for phone in (PATIENT, "+12025550999"):
        consent = MemberConsent(ConsentSource.WEB_FORM, at, evidence="form 12")
        Membership(ListRepository()).add(plist, Joiner(phone, consent, f"r={phone}"), "Clinic", at)
    return plist


def _send(api: Api, survey_id: str, body: Any) -> tuple[int, dict[str, Any]]:
    return api.call("POST", "/surveys/{id}/sends", params={"id": survey_id}, body=body)


def _responses(api: Api, survey_id: str) -> list[Any]:
    return list(SurveyResponses(1).each(api.tenant_id, survey_id))


def test_a_list_send_is_accepted_at_once_and_its_progress_read_back(aws, api, survey_id, customers):
    status, send = _send(api, survey_id, {"list_id": customers.list_id})

    assert status == 202, send
    assert send["id"].startswith("snd_")
    assert (send["status"], send["counts"], send["list_id"]) == (
        "starting",
        {"responses": 0},
        customers.list_id,
    )
    assert _responses(api, survey_id) == []  # the API call starts nobody itself
    build_dispatcher(aws.settings, queue=MemoryQueue(), events=RecordingPublisher()).tick(
        datetime.now(UTC)
    )
    status, read = api.call(
        "GET",
        "/surveys/{id}/sends/{send_id}",
        params={"id": survey_id, "send_id": send["id"]},
    )
    assert status == 200, read
    assert (read["status"], read["counts"]) == ("done", {"responses": 2})
    assert len(_responses(api, survey_id)) == 2


def test_an_appointment_send_starts_one_response_however_often_it_is_repeated(api, survey_id):
    appointment = api.book()

    for _ in range(2):
        status, send = _send(api, survey_id, {"appointment_id": appointment["id"]})
        assert status == 202, send
        assert (send["status"], send["counts"]) == ("done", {"responses": 1})

    [response] = _responses(api, survey_id)
    assert (response.phone, response.origin) == (PATIENT, f"appointment:{appointment['id']}")


@pytest.mark.parametrize(
    "body",
    [{}, {"list_id": "customers", "appointment_id": "apt_0123456789abcdef0123456789abcdef"}],
)
def test_not_exactly_one_target_is_a_422_naming_list_id(api, survey_id, customers, body):
    before = stored_items()
    status, error = _send(api, survey_id, body)
    assert "exactly one" in refused(status, error, "list_id")
    assert stored_items() == before


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"list_id": "nobody"}, "list_id"),
        ({"appointment_id": "apt_0123456789abcdef0123456789abcdef"}, "appointment_id"),
    ],
)
def test_an_unknown_list_or_appointment_is_a_404_naming_it(api, survey_id, body, words):
    before = stored_items()
    status, error = _send(api, survey_id, body)
    assert status == 404, error
    assert error["error"] == "not_found"
    assert error["message"].startswith(words)
    assert stored_items() == before


def test_a_cancelled_appointment_is_a_409_naming_appointment_id(api, survey_id):
    appointment = api.book()
    status, cancelled = api.call(
        "POST", "/appointments/{id}/cancel", params={"id": appointment["id"]}
    )
    assert status == 200, cancelled

    status, error = _send(api, survey_id, {"appointment_id": appointment["id"]})

    assert "cancelled" in refused(status, error, "appointment_id", code=409)
    assert _responses(api, survey_id) == []


def test_another_tenants_survey_and_send_are_not_found(api, survey_id, customers, tenants):
    status, send = _send(api, survey_id, {"list_id": customers.list_id})
    assert status == 202
    other = api.as_tenant(tenants[1])

    assert _send(other, survey_id, {"list_id": customers.list_id})[0] == 404
    status, _ = other.call(
        "GET", "/surveys/{id}/sends/{send_id}", params={"id": survey_id, "send_id": send["id"]}
    )
    assert status == 404


def test_an_unknown_field_is_refused(api, survey_id, customers):
    status, error = _send(api, survey_id, {"list_id": customers.list_id, "phone": PATIENT})
    assert "not a field" in refused(status, error, "phone")
