"""How an appointment booked through FHIR stays tied to the clinic's FHIR resource.

The resource's id is kept as the appointment's ``external_id``, written as a FHIR relative
reference (``Appointment/<id>``): the booking is idempotent by it (the appointment id is
derived from the tenant and the external id), and another tenant's resource of the same id is
another appointment. The patient participant's index in the clinic's resource is kept too,
because the status write-back patches that participant (docs/facts.md#fhir-patch).

No FHIR library here: the inbound function reads this, and loads none.
"""

from __future__ import annotations

from reach.domain.models import Appointment

#: The external_id of an appointment booked through FHIR is this prefix and the resource id.
FHIR_REFERENCE_PREFIX = "Appointment/"
#: Event keys that tell the write-back rule which resource and participant to patch.
FHIR_ID_KEY = "fhir_appointment_id"
FHIR_PARTICIPANT_KEY = "fhir_patient_participant"


def fhir_external_id(resource_id: str) -> str:
    return f"{FHIR_REFERENCE_PREFIX}{resource_id}"


def fhir_resource_id(appointment: Appointment) -> str | None:
    """The FHIR Appointment id this appointment was booked from, or None."""
    external = appointment.external_id
    if appointment.fhir_patient_participant is None or external is None:
        return None
    if not external.startswith(FHIR_REFERENCE_PREFIX):
        return None
    return external.removeprefix(FHIR_REFERENCE_PREFIX) or None


def write_back_keys(appointment: Appointment) -> tuple[dict[str, str], dict[str, int]]:
    """The ids and data an event about this appointment adds so that the clinic's FHIR
    server can be told (empty unless it was booked through FHIR): ids only, no text."""
    resource_id = fhir_resource_id(appointment)
    if resource_id is None or appointment.fhir_patient_participant is None:
        return {}, {}
    return {FHIR_ID_KEY: resource_id}, {FHIR_PARTICIPANT_KEY: appointment.fhir_patient_participant}
