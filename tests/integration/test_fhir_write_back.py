"""Issue 16, item 4: a patient's answer by text goes back to the clinic's FHIR server.

moto runs no API destination, so the request is computed from the template's own rule,
target and destination for the event the inbound function really published (with
EventBridge's substitution rules, reach_tools.input_transformer), and sent to a stand-in FHIR
server in a thread. The stand-in checks what an R4 server checks of a JSON Patch and keeps
the patched resource, which the FHIR library validates."""

from __future__ import annotations

import copy
import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from fhir.resources.R4B.appointment import Appointment
from test_fhir_appointments import FHIR_JSON, fhir_appointment

from api_client import Api
from builders import CLINIC_NUMBER, PATIENT, book, subscribe_queue, take_all, tap_bus
from conftest import load_event, load_function
from reach_tools.input_transformer import destination_request, render_input
from reach_tools.template import load_template

JSON_PATCH = "application/json-patch+json"
CREDENTIAL = "Bearer clinic-token"
RULES = {"AppointmentConfirmed": "FhirConfirmedRule", "AppointmentCancelled": "FhirCancelledRule"}
WRITE_BACK = (
    "FhirConnection",
    "FhirAppointmentDestination",
    "FhirWriteBackRole",
    "FhirWriteBackDeadLetterQueue",
    "FhirWriteBackDeadLetterQueuePolicy",
    "FhirWriteBackDeadLetterAlarm",
    "FhirConfirmedRule",
    "FhirCancelledRule",
)


# --- a stand-in FHIR server ---------------------------------------------------------------


class FhirServer:
    """Keeps R4 Appointments and takes JSON Patches to them as an R4 server does: PATCH on
    Appointment/<id>, Content-Type application/json-patch+json, RFC 6902 operations whose
    paths exist, and a result that is still a valid Appointment (else 4xx, nothing kept)."""

    def __init__(self, credential: str) -> None:
        self.credential = credential
        self.resources: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, str], str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_PATCH(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                server.requests.append((self.command, self.path, dict(self.headers), body))
                status, answer = server.patch(self.path, dict(self.headers), body)
                self.send_response(status)
                self.send_header("Content-Type", FHIR_JSON)
                self.end_headers()
                self.wfile.write(json.dumps(answer).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.http.server_address[1]}/r4"

    def patch(self, path: str, headers: dict[str, str], body: str) -> tuple[int, Any]:
        if headers.get("Authorization") != self.credential:
            return 401, _outcome("login", "no credential")
        if headers.get("Content-Type") != JSON_PATCH:
            return 415, _outcome("not-supported", f"not {JSON_PATCH}")
        resource_id = path.removeprefix("/r4/Appointment/")
        if resource_id not in self.resources:
            return 404, _outcome("not-found", path)
        try:
            patched = apply_json_patch(self.resources[resource_id], json.loads(body))
            Appointment.model_validate(patched)
        except (ValueError, KeyError, IndexError, TypeError) as error:
            return 422, _outcome("processing", str(error))
        self.resources[resource_id] = patched
        return 200, patched

    def __enter__(self) -> FhirServer:
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()


def _outcome(code: str, diagnostics: str) -> dict[str, Any]:
    issue = {"severity": "error", "code": code, "diagnostics": diagnostics}
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def apply_json_patch(document: dict[str, Any], operations: Any) -> dict[str, Any]:
    """RFC 6902 ``test`` and ``replace``, the operations a status change needs: anything
    else, or a path that does not exist, is refused."""
    if not isinstance(operations, list) or not operations:
        raise ValueError("a JSON Patch is a non-empty array of operations")
    patched = copy.deepcopy(document)
    for operation in operations:
        if set(operation) != {"op", "path", "value"} or operation["op"] not in ("replace", "test"):
            raise ValueError(f"unsupported operation {operation}")
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in operation["path"].split("/")]
        if tokens[0] != "":
            raise ValueError("a JSON Pointer starts with /")
        holder: Any = patched
        for token in tokens[1:-1]:
            holder = holder[int(token)] if isinstance(holder, list) else holder[token]
        last = int(tokens[-1]) if isinstance(holder, list) else tokens[-1]
        current = holder[last]  # replace and test both need the target to exist
        if operation["op"] == "test" and current != operation["value"]:
            raise ValueError(f"test failed at {operation['path']}")
        if operation["op"] == "replace":
            holder[last] = operation["value"]
    return patched


# --- the template's write-back ------------------------------------------------------------


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return dict(load_template()["Resources"])


def resolved(value: Any, parameters: dict[str, str]) -> Any:
    """``value`` with each Ref to a parameter and each Fn::Sub of parameters resolved."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
        return parameters[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        text = value["Fn::Sub"]
        for name, parameter in parameters.items():
            text = text.replace(f"${{{name}}}", parameter)
        return text
    if isinstance(value, dict):
        return {k: resolved(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v, parameters) for v in value]
    return value


def test_the_write_back_exists_only_when_the_tenant_configures_a_fhir_server(resources):
    template = load_template()
    condition = template["Conditions"]["WritesBackToFhir"]

    for name in WRITE_BACK:
        assert resources[name]["Condition"] == "WritesBackToFhir", name
    # a server, its tenant and a credential, all three
    assert len(condition["Fn::And"]) == 3
    assert template["Parameters"]["FhirBaseUrl"]["Default"] == ""
    assert template["Parameters"]["FhirAuthHeaderValue"]["NoEcho"] is True


def test_the_destination_patches_appointments_with_the_tenants_credential(resources):
    destination = resources["FhirAppointmentDestination"]["Properties"]
    connection = resources["FhirConnection"]["Properties"]

    assert destination["HttpMethod"] == "PATCH"
    assert destination["InvocationEndpoint"] == {"Fn::Sub": "${FhirBaseUrl}/Appointment/*"}
    assert connection["AuthorizationType"] == "API_KEY"
    role = resources["FhirWriteBackRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    [statement] = role["Statement"]
    assert statement["Action"] == "events:InvokeApiDestination"
    assert statement["Resource"] == {"Fn::GetAtt": ["FhirAppointmentDestination", "Arn"]}


@pytest.mark.parametrize(("detail_type", "rule"), RULES.items())
def test_each_rule_retries_for_a_day_then_dead_letters_and_sends_json_patch(
    resources, detail_type, rule
):
    properties = resources[rule]["Properties"]
    [target] = properties["Targets"]

    assert properties["EventBusName"] == {"Ref": "ReachEventBus"}
    assert properties["EventPattern"]["detail-type"] == [detail_type]
    assert properties["EventPattern"]["detail"]["tenant_id"] == [{"Ref": "FhirTenantId"}]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["FhirWriteBackDeadLetterQueue", "Arn"]}
    }
    assert target["HttpParameters"]["HeaderParameters"] == {"Content-Type": JSON_PATCH}
    assert target["HttpParameters"]["PathParameterValues"] == ["$.detail.fhir_appointment_id"]
    alarm = resources["FhirWriteBackDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": ["FhirWriteBackDeadLetterQueue", "QueueName"]
    }
    dead_letters = resources["FhirWriteBackDeadLetterQueuePolicy"]["Properties"]
    [allowed] = dead_letters["PolicyDocument"]["Statement"]
    assert {"Fn::GetAtt": [rule, "Arn"]} in allowed["Condition"]["ArnEquals"]["aws:SourceArn"]


@pytest.mark.parametrize(
    ("detail_type", "status"),
    [("AppointmentConfirmed", "accepted"), ("AppointmentCancelled", "declined")],
)
def test_the_input_transformer_sets_the_patient_participants_status_and_nothing_else(
    resources, detail_type, status
):
    event = {
        "source": "reach",
        "detail-type": detail_type,
        "detail": {
            "tenant_id": "ten_1",
            "event_id": "evt_1",
            "appointment_id": "apt_1",
            "fhir_appointment_id": "visit-2001",
            "fhir_patient_participant": 1,
        },
    }
    [target] = resources[RULES[detail_type]]["Properties"]["Targets"]

    patch = json.loads(render_input(target["InputTransformer"], event))

    assert patch == [{"op": "replace", "path": "/participant/1/status", "value": status}]


# --- the round trip -----------------------------------------------------------------------


@pytest.fixture
def clinic_server() -> Iterator[FhirServer]:
    with FhirServer(CREDENTIAL) as server:
        yield server


@pytest.fixture
def fhir_api(tenants, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, tenants[0])


def write_back_rules(resources: dict[str, Any], tenant_id: str, base_url: str) -> dict[str, Any]:
    parameters = {"FhirTenantId": tenant_id, "FhirBaseUrl": base_url}
    return {
        name: resolved(resources[name], parameters)
        for name in (*RULES.values(), "FhirAppointmentDestination")
    }


def text_from_patient(body: str, inbound_id: str, lambda_context: Any) -> None:
    """A reply from the patient, through the inbound topic, queue and function."""
    topic = boto3.client("sns").create_topic(Name="inbound")["TopicArn"]
    queue_url = boto3.client("sqs").create_queue(QueueName="inbound-q")["QueueUrl"]
    subscribe_queue(topic, queue_url)
    reply = {
        "originationNumber": PATIENT,
        "destinationNumber": CLINIC_NUMBER,
        "messageKeyword": "",
        "messageBody": body,
        "inboundMessageId": inbound_id,
        "previousPublishedMessageId": "",
    }
    boto3.client("sns").publish(TopicArn=topic, Message=json.dumps(reply))
    sample = load_event("inbound_sqs.json")["Records"][0]
    messages = boto3.client("sqs").receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"]
    records = []
    for message in messages:
        record = copy.deepcopy(sample)
        record.update(messageId=message["MessageId"], body=message["Body"])
        record["attributes"]["SentTimestamp"] = message["Attributes"]["SentTimestamp"]
        records.append(record)
        boto3.client("sqs").delete_message(
            QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"]
        )
    result = load_function("inbound").lambda_handler({"Records": records}, lambda_context)
    assert result == {"batchItemFailures": []}


def deliver(rules: dict[str, Any], event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """What EventBridge would send for ``event``, sent to the stand-in."""
    [target] = rules[RULES[event["detail-type"]]]["Properties"]["Targets"]
    destination = rules["FhirAppointmentDestination"]["Properties"]
    request = destination_request(
        destination, target, event, connection_headers={"Authorization": CREDENTIAL}
    )
    sent = urllib.request.Request(  # noqa: S310 - the stand-in, on localhost
        request.url,
        data=request.body.encode(),
        method=request.method,
        headers=dict(request.headers),
    )
    try:
        with urllib.request.urlopen(sent) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def tap_rule(rules: dict[str, Any], name: str) -> str:
    """A queue behind the template rule's own pattern, on the test bus: what it matches."""
    pattern = rules[name]["Properties"]["EventPattern"]
    return tap_bus(os.environ["EVENT_BUS_NAME"], rule=name, queue=f"tap-{name}", pattern=pattern)


def test_a_confirmation_by_text_sets_the_fhir_patient_participant_to_accepted(
    aws, tenants, fhir_api, clinic_server, resources, lambda_context
):
    # Given an appointment the clinic booked through FHIR, and rescheduled
    resource = fhir_appointment("visit-2001")
    clinic_server.resources["visit-2001"] = copy.deepcopy(resource)
    rules = write_back_rules(resources, tenants[0], clinic_server.base_url)
    confirmed = tap_rule(rules, "FhirConfirmedRule")
    cancelled = tap_rule(rules, "FhirCancelledRule")
    for sent in (resource, {**resource, "start": resource["end"], "end": resource["end"]}):
        answer = fhir_api.response(
            "POST", "/fhir/Appointment", text=json.dumps(sent), headers={"Content-Type": FHIR_JSON}
        )
        assert answer["statusCode"] in (200, 201), answer

    # When the patient texts "1"
    text_from_patient("1", "7b1c0e5e-8a43-4c57-9a55-3f2a86f5e001", lambda_context)

    # Then the confirmation matches the write-back rule, with ids only
    [event] = take_all(boto3.client("sqs"), confirmed)
    assert take_all(boto3.client("sqs"), cancelled) == []
    assert event["detail"]["fhir_appointment_id"] == "visit-2001"
    assert event["detail"]["fhir_patient_participant"] == 1
    assert PATIENT not in json.dumps(event)
    assert "Ana" not in json.dumps(event)
    # and the clinic's server takes the request EventBridge sends for it
    status, patched = deliver(rules, event)
    assert status == 200, patched
    [(method, path, headers, _)] = clinic_server.requests
    assert (method, path) == ("PATCH", "/r4/Appointment/visit-2001")
    assert headers["Content-Type"] == JSON_PATCH
    stored = Appointment.model_validate(clinic_server.resources["visit-2001"])
    assert [p.status for p in stored.participant] == ["accepted", "accepted"]
    assert stored.participant[1].actor.reference == "#patient"


def test_a_cancellation_by_text_sets_the_fhir_patient_participant_to_declined(
    aws, tenants, fhir_api, clinic_server, resources, lambda_context
):
    resource = fhir_appointment("visit-2002")
    clinic_server.resources["visit-2002"] = copy.deepcopy(resource)
    rules = write_back_rules(resources, tenants[0], clinic_server.base_url)
    cancelled = tap_rule(rules, "FhirCancelledRule")
    fhir_api.response(
        "POST", "/fhir/Appointment", text=json.dumps(resource), headers={"Content-Type": FHIR_JSON}
    )

    text_from_patient(
        "cancel my appointment", "7b1c0e5e-8a43-4c57-9a55-3f2a86f5e002", lambda_context
    )

    [event] = take_all(boto3.client("sqs"), cancelled)
    status, patched = deliver(rules, event)
    assert status == 200, patched
    stored = Appointment.model_validate(clinic_server.resources["visit-2002"])
    assert stored.participant[1].status == "declined"
    assert stored.participant[0].status == "accepted"  # the practitioner's is untouched


def test_appointments_not_booked_through_fhir_or_of_another_tenant_are_not_sent(
    aws, tenants, resources, lambda_context
):
    # A visit booked through the service (as the REST API books), for the tenant whose
    # server it is
    rules = write_back_rules(resources, tenants[0], "https://fhir.example/r4")
    confirmed = tap_rule(rules, "FhirConfirmedRule")
    everything = tap_bus(os.environ["EVENT_BUS_NAME"], queue="everything")
    book(aws, tenants[0])

    text_from_patient("1", "7b1c0e5e-8a43-4c57-9a55-3f2a86f5e003", lambda_context)

    assert [e["detail-type"] for e in take_all(boto3.client("sqs"), everything)] == [
        "AppointmentConfirmed"
    ]
    assert take_all(boto3.client("sqs"), confirmed) == []


def test_another_tenants_fhir_confirmation_does_not_match_this_tenants_rule(
    aws, tenants, fhir_api, resources, lambda_context
):
    rules = write_back_rules(resources, tenants[1], "https://fhir.example/r4")
    confirmed = tap_rule(rules, "FhirConfirmedRule")
    fhir_api.response(
        "POST",
        "/fhir/Appointment",
        text=json.dumps(fhir_appointment("visit-2004")),
        headers={"Content-Type": FHIR_JSON},
    )

    text_from_patient("1", "7b1c0e5e-8a43-4c57-9a55-3f2a86f5e004", lambda_context)

    assert take_all(boto3.client("sqs"), confirmed) == []


def test_the_stand_in_refuses_a_patch_an_r4_server_would_refuse(clinic_server):
    clinic_server.resources["v"] = fhir_appointment("v")

    # a participant status outside R4's codes still parses; a path that does not exist not
    assert (
        clinic_server.patch(
            "/r4/Appointment/v",
            {"Authorization": CREDENTIAL, "Content-Type": JSON_PATCH},
            json.dumps([{"op": "replace", "path": "/participant/5/status", "value": "accepted"}]),
        )[0]
        == 422
    )
    assert (
        clinic_server.patch(
            "/r4/Appointment/v",
            {"Authorization": CREDENTIAL, "Content-Type": "application/json"},
            "[]",
        )[0]
        == 415
    )
