"""Issue 17 item 4, through the API function's handler under moto: clean text in, clean text
out. Names and locations are one line of visible text, zones are IANA names, and a language
Reach does not write is refused rather than texted in English."""

from __future__ import annotations

from typing import Any

import pytest

from api_client import Api, stored_items
from api_client import refused as refused_with
from builders import PATIENT, local_day
from conftest import load_function

#: Mohammadreza in Persian: the zero-width non-joiner U+200C is part of its spelling.
PERSIAN_NAME = "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627"
BOOKING = {"phone": PATIENT, "starts_at": local_day(5, 15).isoformat()}


@pytest.fixture
def api(tenants, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, tenants[0])


def refused(status: int, error: dict[str, Any], field: str) -> str:
    """The message about ``field`` of a 422 in the one error shape, which names it at the top."""
    message = refused_with(status, error, field)
    assert field in error["message"]
    return message


CHARACTERS = [
    ("\u202e", "U+202E"),
    ("\u0085", "U+0085"),
    ("\u2028", "U+2028"),
    ("\u2029", "U+2029"),
    ("\u200b", "U+200B"),
    ("\u2066", "U+2066"),
    ("\ufeff", "U+FEFF"),
    ("\t", "U+0009"),
]


@pytest.mark.parametrize("field", ["first_name", "location"])
@pytest.mark.parametrize(("character", "code_point"), CHARACTERS)
def test_a_booking_whose_text_hides_or_breaks_lines_gets_a_422_naming_the_character(
    api, field, character, code_point
):
    # given a booking whose name or location holds an invisible or line-breaking character
    body = {**BOOKING, field: f"Ana{character}gnal"}

    # when the clinic posts it
    status, error = api.call("POST", "/appointments", body=body)

    # then it is a 422 naming the field and the character, and nothing is stored to be texted
    assert code_point in refused(status, error, field)
    assert stored_items() == 0


@pytest.mark.parametrize("field", ["first_name", "location"])
def test_a_change_to_text_with_a_right_to_left_override_gets_a_422_and_changes_nothing(api, field):
    # given a booking
    booked = api.book(first_name="Ana", location="12 Main St")

    # when a change slips a right-to-left override into the text
    status, error = api.call(
        "PATCH", "/appointments/{id}", params={"id": booked["id"]}, body={field: "\u202eevil"}
    )

    # then it is refused, and the appointment is as it was
    assert "U+202E (RIGHT-TO-LEFT OVERRIDE)" in refused(status, error, field)
    assert api.appointment(booked["id"]) == booked


def test_names_in_other_scripts_are_booked_unchanged(api):
    booked = api.book(first_name=PERSIAN_NAME, location="Café Zoë, 2º")

    assert booked["first_name"] == PERSIAN_NAME
    assert booked["location"] == "Café Zoë, 2º"


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory"])
def test_a_booking_in_a_zone_that_is_no_iana_name_gets_a_422(api, zone):
    # when the clinic books with a name zoneinfo can load but IANA does not list
    status, error = api.call("POST", "/appointments", body={**BOOKING, "timezone": zone})

    # then it is refused naming the time zone, and nothing is stored
    assert "is not an IANA time zone" in refused(status, error, "timezone")
    assert stored_items() == 0


def test_a_change_to_a_zone_that_is_no_iana_name_gets_a_422(api):
    booked = api.book()

    status, error = api.call(
        "PATCH", "/appointments/{id}", params={"id": booked["id"]}, body={"timezone": "localtime"}
    )

    refused(status, error, "timezone")
    assert api.appointment(booked["id"])["timezone"] == "America/New_York"


@pytest.mark.parametrize("language", ["fr", "de", "pt-BR"])
def test_a_booking_in_a_language_reach_does_not_write_gets_a_422_listing_the_ones_it_does(
    api, language
):
    # when the clinic books in a language without reminder wording
    status, error = api.call("POST", "/appointments", body={**BOOKING, "language": language})

    # then it is refused, naming the language and the supported ones, not texted in English
    message = refused(status, error, "language")
    assert f"'{language}'" in message
    assert "en, es, ar" in message
    assert stored_items() == 0


def test_a_change_to_an_unsupported_language_gets_a_422(api):
    booked = api.book(language="es")

    status, error = api.call(
        "PATCH", "/appointments/{id}", params={"id": booked["id"]}, body={"language": "fr"}
    )

    refused(status, error, "language")
    assert api.appointment(booked["id"])["language"] == "es"


@pytest.mark.parametrize("language", ["es-MX", "ar-EG", "en-GB"])
def test_a_regional_variant_of_a_supported_language_is_accepted(api, language):
    assert api.book(language=language)["language"] == language


def test_a_malformed_language_tag_is_refused_in_words_not_a_pattern(api):
    status, error = api.call("POST", "/appointments", body={**BOOKING, "language": "es_mx"})

    message = refused(status, error, "language")
    assert "not a language tag such as en, es or es-MX" in message
    assert "^" not in message
