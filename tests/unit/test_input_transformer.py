"""The EventBridge input transformer, as reach_tools renders it for the tests of the FHIR
write-back (docs/facts.md#input-transformer)."""

from __future__ import annotations

import json

import pytest

from reach_tools.input_transformer import NotInEvent, destination_request, render_input

EVENT = {"detail-type": "AppointmentConfirmed", "detail": {"id": "visit-1", "index": 2}}


def test_a_value_inside_a_json_string_goes_in_as_its_text():
    transformer = {
        "InputPathsMap": {"id": "$.detail.id", "index": "$.detail.index"},
        "InputTemplate": '{"path": "/participant/<index>/status", "note": "<id>"}',
    }

    assert json.loads(render_input(transformer, EVENT)) == {
        "path": "/participant/2/status",
        "note": "visit-1",
    }


def test_a_value_outside_a_string_goes_in_as_json():
    transformer = {
        "InputPathsMap": {"id": "$.detail.id", "index": "$.detail.index"},
        "InputTemplate": '{"id": <id>, "index": <index>, "kept": "a \\"<quoted>\\" word"}',
    }

    assert json.loads(render_input(transformer, EVENT)) == {
        "id": "visit-1",
        "index": 2,
        "kept": 'a "<quoted>" word',
    }


def test_a_path_the_event_lacks_is_an_error_not_an_empty_value():
    with pytest.raises(NotInEvent):
        render_input({"InputPathsMap": {"x": "$.detail.x"}, "InputTemplate": "<x>"}, EVENT)


def test_an_api_destination_fills_its_wildcard_and_merges_the_connections_headers():
    request = destination_request(
        {"HttpMethod": "PATCH", "InvocationEndpoint": "https://fhir.example/r4/Appointment/*"},
        {
            "HttpParameters": {
                "PathParameterValues": ["$.detail.id"],
                "HeaderParameters": {"Content-Type": "application/json-patch+json"},
            },
            "InputTransformer": {"InputTemplate": "[]"},
        },
        EVENT,
        connection_headers={"Authorization": "Bearer t"},
    )

    assert request.url == "https://fhir.example/r4/Appointment/visit-1"
    assert request.method == "PATCH"
    assert request.headers == {
        "Content-Type": "application/json-patch+json",
        "Authorization": "Bearer t",
    }
    assert request.body == "[]"


def test_a_wildcard_without_a_value_is_refused():
    with pytest.raises(ValueError, match="wildcard"):
        destination_request(
            {"HttpMethod": "PATCH", "InvocationEndpoint": "https://fhir.example/Appointment/*"},
            {},
            EVENT,
        )
