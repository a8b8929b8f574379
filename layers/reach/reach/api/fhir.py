"""The FHIR edge: an R4 Appointment read and checked with the FHIR library, and the
OperationOutcome every answer is (docs/facts.md#fhir-r4b, #fhir-http).

Heavy on purpose (the library builds pydantic models for the whole Appointment at import):
only the FHIR routes import this module, inside the request, so the API's cold start does
not pay for it (tests/unit/test_function_imports.py).

Where the patient's details come from:
- the mobile: the ``sms-phone`` extension on the Appointment (``SMS_PHONE_EXTENSION``,
  valueString) when present, else the contained Patient's first ``telecom`` with
  ``system: phone`` and ``use: mobile``;
- the first name: the contained Patient's ``name[0].given[0]``;
- the time zone: the core ``timezone`` extension on the Appointment (an IANA name, valueCode),
  else the tenant's own zone: a FHIR instant carries an offset, not a zone;
- the patient participant: the one whose actor refers to the contained Patient (``#<id>``),
  or, without one, the first whose actor is a ``Patient/...`` reference.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fhir.resources.R4B.appointment import Appointment, AppointmentParticipant
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from reach.domain.masking import mask_phones_in
from reach.services.fhir_appointments import FhirAppointment, FhirRefusal

FHIR_JSON = "application/fhir+json"
#: The media types a FHIR body may come as (R4 http.html#mime-type); parameters such as
#: charset or fhirVersion are allowed after them.
ACCEPTED_MEDIA_TYPES = frozenset({FHIR_JSON, "application/json"})
#: Reach's extension for the number to text, when the Patient is not contained.
SMS_PHONE_EXTENSION = "https://reach.example/fhir/StructureDefinition/sms-phone"
#: The core extension for an IANA time zone (valueCode).
TIMEZONE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/timezone"

# Pydantic error types in FHIR's issue-type words.
_ISSUE_CODES = {"missing": "required", "extra_forbidden": "structure"}


@dataclass(frozen=True)
class Issue:
    severity: str
    code: str
    diagnostics: str
    expression: str | None = None


def operation_outcome(issues: Sequence[Issue]) -> str:
    """An R4 OperationOutcome, built and checked by the library, as JSON."""
    outcome = OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": issue.severity,
                    "code": issue.code,
                    "diagnostics": issue.diagnostics,
                    **({"expression": [issue.expression]} if issue.expression else {}),
                }
                for issue in issues
            ],
        }
    )
    return str(outcome.model_dump_json(exclude_none=True))


class FhirInvalid(FhirRefusal):
    """A resource the library refuses: every issue it found, each naming its element."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        first = issues[0]
        super().__init__(
            HTTPStatus.BAD_REQUEST, first.code, first.expression or "Appointment", first.diagnostics
        )
        self.issues = tuple(issues)


def read_appointment(
    body: str | None, content_type: str | None, path_id: str | None
) -> FhirAppointment:
    """The resource in ``body``, checked: FhirRefusal (415 not FHIR JSON, 400 unparseable or
    not a valid R4 Appointment, 422 a rule Reach needs) naming the element at fault.
    ``path_id`` is the id in a PUT's URL, which the resource's id must repeat."""
    resource = _validated(_json_object(body, content_type))
    resource_id = _resource_id(resource, path_id)
    status = str(resource.status)
    if status != "booked":
        return FhirAppointment(resource_id=resource_id, status=status)
    return _booking(resource, resource_id)


def _json_object(body: str | None, content_type: str | None) -> dict[str, Any]:
    if not body or not body.strip():
        raise FhirRefusal(
            HTTPStatus.BAD_REQUEST, "required", "Appointment", "the request has no body"
        )
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in ACCEPTED_MEDIA_TYPES:
        raise FhirRefusal(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            "",
            f"Content-Type must be {FHIR_JSON} or application/json, not {media_type[:60]!r}",
        )
    try:
        value = json.loads(body, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise FhirRefusal(
            HTTPStatus.BAD_REQUEST,
            "structure",
            "Appointment",
            f"the body is not JSON: {error.msg.lower()} at line {error.lineno}, "
            f"column {error.colno}",
        ) from None
    if not isinstance(value, dict):
        raise FhirRefusal(
            HTTPStatus.BAD_REQUEST, "structure", "Appointment", "the body must be a JSON object"
        )
    kind = value.get("resourceType")
    if kind != "Appointment":
        raise FhirRefusal(
            HTTPStatus.BAD_REQUEST,
            "structure",
            "resourceType",
            f"this endpoint takes an Appointment, not {str(kind)[:40]!r}",
        )
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise FhirRefusal(
                HTTPStatus.BAD_REQUEST, "structure", key, f"{key} is given twice in one object"
            )
        seen[key] = value
    return seen


def _validated(value: dict[str, Any]) -> Appointment:
    try:
        return Appointment.model_validate(value)
    except ValidationError as error:
        raise FhirInvalid([_issue(problem) for problem in error.errors()]) from None
    except (KeyError, TypeError, ValueError):
        # The library raises a bare KeyError for a contained resource type it does not know.
        raise FhirInvalid(
            [Issue("error", "structure", "a contained resource is not an R4 resource", _CONTAINED)]
        ) from None


_CONTAINED = "Appointment.contained"


def _issue(problem: Mapping[str, Any]) -> Issue:
    # The library's messages may quote the input, a phone number included: masked.
    return Issue(
        "error",
        _ISSUE_CODES.get(str(problem.get("type")), "value"),
        mask_phones_in(str(problem.get("msg", "invalid")).removeprefix("Value error, ")),
        expression(problem.get("loc", ())),
    )


def expression(location: Sequence[Any]) -> str:
    """('participant', 0, 'status') -> 'Appointment.participant[0].status'."""
    path = "Appointment"
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += "." + ("resourceType" if part == "resource_type" else str(part))
    return path


def _resource_id(resource: Appointment, path_id: str | None) -> str:
    resource_id = resource.id
    if path_id is not None and resource_id != path_id:
        # R4 http.html#update: an update whose body lacks the URL's id, or disagrees, is a 400.
        raise FhirRefusal(
            HTTPStatus.BAD_REQUEST,
            "invalid",
            "Appointment.id",
            f"must be {path_id!r}, the id in the URL",
        )
    if not resource_id:
        raise FhirRefusal(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "required",
            "Appointment.id",
            "Reach books by the resource id (the clinic's own): it is required",
        )
    if mask_phones_in(resource_id) != resource_id:
        # Events name the resource by its id, and an event never carries what reads as a
        # phone number (reach.ports.events).
        raise FhirRefusal(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "business-rule",
            "Appointment.id",
            "an id of 10 to 15 digits reads as a phone number; Reach can't name it in events",
        )
    return str(resource_id)


def _booking(resource: Appointment, resource_id: str) -> FhirAppointment:
    if resource.start is None:
        raise FhirRefusal(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "required",
            "Appointment.start",
            "a booked appointment needs its start (invariant app-3)",
        )
    if resource.end is None:
        raise FhirRefusal(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invariant",
            "Appointment.end",
            "start and end come together (invariant app-2)",
        )
    if resource.end < resource.start:
        raise FhirRefusal(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invariant",
            "Appointment.end",
            "must not be before Appointment.start",
        )
    patient_index, patient = _patient(resource)
    phone, phone_expression = _mobile(resource, patient_index, patient)
    participant = _patient_participant(resource, patient)
    first_name, name_expression = _first_name(patient_index, patient)
    timezone, zone_expression = _timezone(resource)
    expressions = {
        "starts_at": "Appointment.start",
        "phone": phone_expression,
        "external_id": "Appointment.id",
    }
    if name_expression:
        expressions["first_name"] = name_expression
    if zone_expression:
        expressions["timezone"] = zone_expression
    return FhirAppointment(
        resource_id=resource_id,
        status="booked",
        starts_at=resource.start,
        phone=phone,
        first_name=first_name,
        timezone=timezone,
        patient_participant=participant,
        expressions=expressions,
    )


def _patient(resource: Appointment) -> tuple[int | None, Patient | None]:
    patients = [
        (index, contained)
        for index, contained in enumerate(resource.contained or [])
        if isinstance(contained, Patient)
    ]
    if len(patients) > 1:
        raise FhirRefusal(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "business-rule",
            _CONTAINED,
            "contains more than one Patient: Reach texts one patient per appointment",
        )
    return patients[0] if patients else (None, None)


def _patient_participant(resource: Appointment, patient: Patient | None) -> int:
    participants: list[AppointmentParticipant] = list(resource.participant or [])
    for index, participant in enumerate(participants):
        reference = str(participant.actor.reference or "") if participant.actor else ""
        if patient is not None and reference == f"#{patient.id}":
            return index
        if patient is None and reference.startswith("Patient/"):
            return index
    wanted = f"the contained Patient (#{patient.id})" if patient else "a Patient"
    raise FhirRefusal(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "business-rule",
        "Appointment.participant",
        f"no participant's actor refers to {wanted}",
    )


def _mobile(
    resource: Appointment, patient_index: int | None, patient: Patient | None
) -> tuple[str, str]:
    for index, extension in enumerate(resource.extension or []):
        if extension.url == SMS_PHONE_EXTENSION:
            where = f"Appointment.extension[{index}].valueString"
            if not extension.valueString:
                raise FhirRefusal(
                    HTTPStatus.UNPROCESSABLE_ENTITY, "required", where, "the number to text"
                )
            return str(extension.valueString), where
    if patient is None:
        raise FhirRefusal(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "required",
            _CONTAINED,
            "no number to text: contain the Patient (with a mobile telecom) or give the "
            f"{SMS_PHONE_EXTENSION} extension",
        )
    for index, telecom in enumerate(patient.telecom or []):
        if telecom.system == "phone" and telecom.use == "mobile" and telecom.value:
            return str(telecom.value), f"{_CONTAINED}[{patient_index}].telecom[{index}].value"
    raise FhirRefusal(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "required",
        f"{_CONTAINED}[{patient_index}].telecom",
        "the Patient has no mobile number (a telecom with system phone and use mobile)",
    )


def _first_name(patient_index: int | None, patient: Patient | None) -> tuple[str | None, str]:
    names = (patient.name or []) if patient else []
    given = (names[0].given or []) if names else []
    if not given:
        return None, ""
    return str(given[0]), f"{_CONTAINED}[{patient_index}].name[0].given[0]"


def _timezone(resource: Appointment) -> tuple[str | None, str]:
    for index, extension in enumerate(resource.extension or []):
        if extension.url == TIMEZONE_EXTENSION:
            where = f"Appointment.extension[{index}].valueCode"
            if not extension.valueCode:
                raise FhirRefusal(
                    HTTPStatus.UNPROCESSABLE_ENTITY, "required", where, "an IANA time zone name"
                )
            return str(extension.valueCode), where
    return None, ""
