"""Issue 16, item 3: FHIR R4 Appointments in. The API function, called as API Gateway calls
it, books, reschedules, cancels and closes appointments from R4 Appointment resources, and
answers every request with an OperationOutcome naming the element at fault."""

from __future__ import annotations

import copy
import json
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from api_client import Api
from builders import PATIENT, local_day
from conftest import load_function
from reach.domain.models import AppointmentStatus
from reach.services.appointments import appointment_id_for

FHIR_JSON = "application/fhir+json"
SMS_PHONE = "https://reach.example/fhir/StructureDefinition/sms-phone"
TIMEZONE = "http://hl7.org/fhir/StructureDefinition/timezone"


def fhir_appointment(
    resource_id: str = "visit-2001",
    *,
    status: str = "booked",
    starts_at: datetime | None = None,
    phone: str = PATIENT,
) -> dict[str, Any]:
    """An R4 Appointment as a clinic's scheduling system sends it: the patient contained,
    with a home number before the mobile, and the practitioner first among participants."""
    start = starts_at or local_day(5, 15)
    return {
        "resourceType": "Appointment",
        "id": resource_id,
        "status": status,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        "minutesDuration": 30,
        "contained": [
            {
                "resourceType": "Patient",
                "id": "patient",
                "name": [{"family": "Lopez", "given": ["Ana", "Maria"]}],
                "telecom": [
                    {"system": "phone", "use": "home", "value": "+12025550100"},
                    {"system": "phone", "use": "mobile", "value": phone},
                ],
            }
        ],
        "participant": [
            {"actor": {"reference": "Practitioner/dr-lee"}, "status": "accepted"},
            {"actor": {"reference": "#patient"}, "status": "needs-action"},
        ],
    }


class Fhir:
    """The FHIR routes of the API function, as one tenant."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def as_tenant(self, tenant_id: str) -> Fhir:
        return Fhir(self.api.as_tenant(tenant_id))

    def post(
        self, resource: Any, *, text: str | None = None, content_type: str = FHIR_JSON
    ) -> tuple[int, dict[str, Any]]:
        return self._send("POST", "/fhir/Appointment", None, resource, text, content_type)

    def put(
        self,
        resource: dict[str, Any],
        resource_id: str | None = None,
        *,
        content_type: str = FHIR_JSON,
    ) -> tuple[int, dict[str, Any]]:
        path_id = resource_id or resource["id"]
        return self._send(
            "PUT", "/fhir/Appointment/{id}", {"id": path_id}, resource, None, content_type
        )

    def _send(
        self,
        method: str,
        resource_path: str,
        params: dict[str, str] | None,
        resource: Any,
        text: str | None,
        content_type: str,
    ) -> tuple[int, dict[str, Any]]:
        response = self.api.response(
            method,
            resource_path,
            params=params,
            text=text if text is not None else json.dumps(resource),
            headers={"Content-Type": content_type},
        )
        if response["statusCode"] not in (401, 403):
            assert response["multiValueHeaders"]["Content-Type"] == [FHIR_JSON], response
            # Every answer is an R4 OperationOutcome, as the FHIR library reads it
            OperationOutcome.model_validate_json(response["body"])
        return response["statusCode"], json.loads(response["body"])

    def appointment(self, resource_id: str) -> dict[str, Any]:
        return self.api.appointment(
            appointment_id_for(self.api.tenant_id, f"Appointment/{resource_id}")
        )


def refused(status: int, outcome: dict[str, Any], expression: str, code: int = 422) -> str:
    """The diagnostics of the one error issue, after checking it names ``expression``."""
    assert status == code, outcome
    assert outcome["resourceType"] == "OperationOutcome"
    [issue] = [i for i in outcome["issue"] if i["severity"] == "error"]
    assert issue["expression"] == [expression], outcome
    diagnostics: str = issue["diagnostics"]
    return diagnostics


@pytest.fixture
def fhir(tenants, lambda_context) -> Fhir:
    return Fhir(Api(load_function("api"), lambda_context, tenants[0]))


def test_a_booked_appointment_is_booked_with_the_contained_patients_mobile_and_first_name(fhir):
    status, outcome = fhir.post(fhir_appointment())

    assert status == 201, outcome
    assert outcome["issue"][0]["severity"] == "information"
    booked = fhir.appointment("visit-2001")
    assert booked["phone"] == PATIENT
    assert booked["first_name"] == "Ana"
    assert booked["external_id"] == "Appointment/visit-2001"
    assert booked["starts_at"] == local_day(5, 15).isoformat()
    # the tenant's own zone: a FHIR instant has an offset, not a zone
    assert booked["timezone"] == "America/New_York"
    assert booked["reminders"]


def test_the_same_resource_posted_twice_is_one_appointment(fhir):
    first = fhir.post(fhir_appointment())
    second = fhir.post(fhir_appointment())

    assert (first[0], second[0]) == (201, 200)
    assert "nothing to change" in second[1]["issue"][0]["diagnostics"]
    status, page = fhir.api.call("GET", "/appointments")
    assert status == 200
    assert len(page["items"]) == 1


def test_a_changed_start_reschedules_the_appointment_and_replans_its_reminders(fhir):
    fhir.post(fhir_appointment())
    before = fhir.appointment("visit-2001")

    status, outcome = fhir.put(fhir_appointment(starts_at=local_day(6, 10)))

    assert status == 200, outcome
    after = fhir.appointment("visit-2001")
    assert after["starts_at"] == local_day(6, 10).isoformat()
    assert after["id"] == before["id"]
    retired = {r["id"] for r in after["reminders"] if r["status"] == "cancelled"}
    assert retired == {r["id"] for r in before["reminders"] if r["status"] == "pending"}


def test_a_put_of_a_new_id_books_it_and_a_cancelled_put_cancels_it(fhir):
    assert fhir.put(fhir_appointment("visit-3001"))[0] == 201

    status, outcome = fhir.put(fhir_appointment("visit-3001", status="cancelled"))

    assert status == 200, outcome
    cancelled = fhir.appointment("visit-3001")
    assert cancelled["status"] == AppointmentStatus.CANCELLED.value
    assert not [r for r in cancelled["reminders"] if r["status"] == "pending"]
    # booking it again is refused: Reach does not reopen a cancelled appointment
    refused(*fhir.put(fhir_appointment("visit-3001")), "Appointment.status", code=409)


def test_cancelling_an_id_never_booked_changes_nothing_and_says_so(fhir):
    status, outcome = fhir.post(fhir_appointment("never-booked", status="cancelled"))

    assert status == 200
    assert "nothing is booked" in outcome["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    ("status", "closed_as"), [("noshow", "no_show"), ("fulfilled", "completed")]
)
def test_noshow_and_fulfilled_close_the_visit_with_that_outcome(fhir, status, closed_as):
    fhir.post(fhir_appointment())

    answer, outcome = fhir.post(fhir_appointment(status=status))

    assert answer == 200, outcome
    assert fhir.appointment("visit-2001")["status"] == closed_as


@pytest.mark.parametrize("status", ["arrived", "checked-in"])
def test_an_arrived_patient_leaves_the_appointment_as_it_is(fhir, status):
    fhir.post(fhir_appointment())

    answer, outcome = fhir.post(fhir_appointment(status=status))

    assert answer == 200, outcome
    assert fhir.appointment("visit-2001")["status"] == "scheduled"


@pytest.mark.parametrize("status", ["proposed", "pending", "waitlist", "postponed"])
def test_a_status_that_is_not_booked_is_refused_naming_appointment_status(fhir, status):
    refused(*fhir.post(fhir_appointment(status=status)), "Appointment.status")

    assert fhir.api.call("GET", "/appointments")[1]["items"] == []


def test_the_mobile_may_come_from_the_sms_phone_extension_with_a_patient_reference(fhir):
    resource = fhir_appointment()
    del resource["contained"]
    resource["participant"][1]["actor"] = {"reference": "Patient/p-77"}
    resource["extension"] = [
        {"url": SMS_PHONE, "valueString": PATIENT},
        {"url": TIMEZONE, "valueCode": "America/Chicago"},
    ]

    assert fhir.post(resource)[0] == 201

    booked = fhir.appointment("visit-2001")
    assert (booked["phone"], booked["timezone"]) == (PATIENT, "America/Chicago")
    assert "first_name" not in booked or booked["first_name"] is None


def _without(resource: dict[str, Any], *path: Any) -> dict[str, Any]:
    changed = copy.deepcopy(resource)
    holder: Any = changed
    for part in path[:-1]:
        holder = holder[part]
    del holder[path[-1]]
    return changed


@pytest.mark.parametrize(
    ("change", "expression", "code"),
    [
        (lambda r: _without(r, "start"), "Appointment.start", 422),
        (lambda r: _without(r, "end"), "Appointment.end", 422),
        (
            lambda r: _without(r, "contained", 0, "telecom", 1),
            "Appointment.contained[0].telecom",
            422,
        ),
        (lambda r: _without(r, "contained"), "Appointment.contained", 422),
        (lambda r: {**r, "status": "nonsense"}, "Appointment.status", 422),
        (lambda r: _without(r, "id"), "Appointment.id", 422),
        (lambda r: {**r, "id": "2025550187"}, "Appointment.id", 422),
        (lambda r: {**r, "start": "tomorrow at nine"}, "Appointment.start", 400),
        (lambda r: {**r, "flavour": "vanilla"}, "Appointment.flavour", 400),
        (
            lambda r: _without(r, "participant", 0, "status"),
            "Appointment.participant[0].status",
            400,
        ),
        (lambda r: {**r, "resourceType": "Patient"}, "resourceType", 400),
        (
            lambda r: {**r, "contained": [{"resourceType": "Unicorn", "id": "u"}]},
            "Appointment.contained",
            400,
        ),
    ],
)
def test_an_invalid_resource_gets_an_operation_outcome_naming_the_element(
    fhir, change, expression, code
):
    refused(*fhir.post(change(fhir_appointment())), expression, code=code)

    assert fhir.api.call("GET", "/appointments")[1]["items"] == []


def test_a_start_in_the_past_is_a_business_rule_naming_appointment_start(fhir):
    past = fhir_appointment(starts_at=local_day(-2, 10))

    assert "future" in refused(*fhir.post(past), "Appointment.start")


def test_a_landline_is_refused_naming_the_telecom_it_came_from(fhir):
    resource = fhir_appointment(phone="+12025550143")  # the clinic's own sending number

    refused(*fhir.post(resource), "Appointment.contained[0].telecom[1].value")


def test_malformed_json_is_a_400_and_another_content_type_a_415(fhir):
    status, outcome = fhir.post(None, text='{"resourceType": "Appointment",')
    assert "not JSON" in refused(status, outcome, "Appointment", code=400)

    status, outcome = fhir.post(fhir_appointment(), content_type="text/plain")
    assert outcome["issue"][0]["code"] == "not-supported"
    assert status == 415

    status, outcome = fhir.post(None, text="")
    assert status == 400


def test_application_json_is_taken_as_well_as_fhir_json(fhir):
    assert fhir.post(fhir_appointment(), content_type="application/json; charset=utf-8")[0] == 201


def test_a_put_whose_body_id_differs_from_the_url_is_a_400_naming_appointment_id(fhir):
    refused(*fhir.put(fhir_appointment("visit-1"), "visit-2"), "Appointment.id", code=400)


def test_another_tenants_resource_of_the_same_id_is_another_appointment(fhir, tenants):
    other = fhir.as_tenant(tenants[1])
    fhir.post(fhir_appointment())

    status, _ = other.post(fhir_appointment(starts_at=local_day(7, 11)))

    assert status == 201
    mine, theirs = fhir.appointment("visit-2001"), other.appointment("visit-2001")
    assert mine["id"] != theirs["id"]
    assert mine["starts_at"] == local_day(5, 15).isoformat()
    # and cancelling theirs leaves mine booked
    other.post(fhir_appointment(status="cancelled"))
    assert fhir.appointment("visit-2001")["status"] == "scheduled"


def test_two_concurrent_posts_of_one_id_make_one_appointment(fhir):
    results: list[int] = []

    def post(hour: int) -> None:
        results.append(fhir.post(fhir_appointment(starts_at=local_day(5, hour)))[0])

    threads = [threading.Thread(target=post, args=(hour,)) for hour in (10, 11)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [200, 201]
    assert len(fhir.api.call("GET", "/appointments")[1]["items"]) == 1


def test_the_other_routes_still_take_application_json_only(fhir):
    # The FHIR routes read their own bodies; the resolver's JSON-only rule is unchanged
    body = {"phone": PATIENT, "starts_at": local_day(5, 15).isoformat()}

    response = fhir.api.response(
        "POST", "/appointments", text=json.dumps(body), headers={"Content-Type": FHIR_JSON}
    )

    assert response["statusCode"] == 415
    assert json.loads(response["body"])["error"] == "unsupported_media_type"
