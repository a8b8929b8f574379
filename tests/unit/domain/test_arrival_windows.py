"""A service visit's arrival window: what it may be, and how a reminder says it."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reach.domain.errors import InvalidInput
from reach.domain.models import AppointmentKind
from reach.domain.rendering import arrival_window, render_reminder
from reach.domain.segments import SmsEncoding, count_segments
from reach.domain.templates import DEFAULT_TEMPLATES, MessageTemplate
from reach.domain.visits import check_visit_details

SERVICE = AppointmentKind.SERVICE_VISIT
CLINIC = AppointmentKind.CLINIC_VISIT
CHICAGO = ZoneInfo("America/Chicago")
# 8 AM to 12 PM in Chicago on Tuesday 8 December 2026
OPENS = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)
CLOSES = OPENS + timedelta(hours=4)


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "between 8 AM and 12 PM"),
        ("es", "entre las 8:00 y las 12:00"),
        ("es-MX", "entre las 8:00 y las 12:00"),
        ("ar", "بين الساعة 8 ص والساعة 12 م"),
        ("fr", "between 8 AM and 12 PM"),
    ],
)
def test_a_window_is_said_in_the_recipients_local_time_and_language(language, said):
    assert arrival_window(OPENS, CLOSES, CHICAGO, language) == said


def test_a_window_with_minutes_keeps_them_and_one_in_another_zone_is_said_there():
    assert arrival_window(OPENS + timedelta(minutes=30), CLOSES, CHICAGO, "en") == (
        "between 8:30 AM and 12 PM"
    )
    assert arrival_window(OPENS, CLOSES, ZoneInfo("America/New_York"), "en") == (
        "between 9 AM and 1 PM"
    )


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_service_reminder_with_a_window_says_it_and_fits_one_gsm7_part(language):
    text = render_reminder(
        DEFAULT_TEMPLATES[(SERVICE, language)],
        first_name="Maria",
        starts_at=OPENS,
        zone=CHICAGO,
        org_name="Hilltop Cable",
        org_phone_e164="+13125550100",
        window_ends_at=CLOSES,
    )

    assert arrival_window(OPENS, CLOSES, CHICAGO, language) in text
    count = count_segments(text)
    assert (count.encoding, count.parts) == (SmsEncoding.GSM7, 1), text


def test_a_service_reminder_without_a_window_reads_as_before_windows():
    text = render_reminder(
        DEFAULT_TEMPLATES[(SERVICE, "en")],
        first_name="Maria",
        starts_at=OPENS,
        zone=CHICAGO,
        org_name="Hilltop Cable",
        org_phone_e164="+13125550100",
    )

    assert text.startswith("Hi Maria, Hilltop Cable visit Tue, Dec 8 from 8:00 AM. Call")


def test_a_service_template_may_name_the_technician_and_a_clinic_template_may_not():
    template = MessageTemplate(SERVICE, "en", "{technician_name} arrives {window}.")
    text = render_reminder(
        template,
        first_name=None,
        starts_at=OPENS,
        zone=CHICAGO,
        org_name="Hilltop Cable",
        org_phone_e164="+13125550100",
        window_ends_at=CLOSES,
        technician_name="Luis",
    )

    assert text == "Luis arrives between 8 AM and 12 PM."
    with pytest.raises(InvalidInput):
        MessageTemplate(CLINIC, "en", "{technician_name} at {time}").validate()


@pytest.mark.parametrize(
    ("kind", "ends", "technician", "field"),
    [
        (CLINIC, CLOSES, None, "window_ends_at"),
        (CLINIC, None, "Luis", "technician_name"),
        (SERVICE, OPENS, None, "window_ends_at"),
        (SERVICE, OPENS - timedelta(hours=1), None, "window_ends_at"),
        (SERVICE, OPENS + timedelta(hours=12, minutes=1), None, "window_ends_at"),
    ],
    ids=["clinic-window", "clinic-technician", "empty", "backwards", "longer-than-12h"],
)
def test_a_window_or_technician_that_does_not_fit_the_visit_is_refused_naming_it(
    kind, ends, technician, field
):
    with pytest.raises(InvalidInput) as refused:
        check_visit_details(kind, OPENS, ends, technician)

    assert refused.value.field == field


def test_a_twelve_hour_window_is_the_longest_accepted():
    check_visit_details(SERVICE, OPENS, OPENS + timedelta(hours=12), "Luis")
