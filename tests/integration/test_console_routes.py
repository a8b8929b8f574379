"""The local console's HTTP routes over an embedded stack: the page, its panels, the answer
box (through the inbound topic, queue and function) and the clock control, and bad input
refused in the one error shape."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from builders import survey_body, without_quiet_hours
from reach.wiring import services_from_env
from reach_tools.local.console.server import ConsoleServer
from reach_tools.local.stack import LocalReach

CLINIC_NUMBER = "+12025550143"
NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture(autouse=True)
def fake_aws_environment() -> None:
    """The embedded stack sets its own fake AWS environment (as in test_local_run)."""


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[LocalReach, ConsoleServer, str]]:
    reach = LocalReach(
        extra_environment={"POWERTOOLS_METRICS_DISABLED": "true"}, table_prefix="test-console"
    )
    reach.start()
    console = ConsoleServer(reach)
    console.start()
    _, issued = reach.create_tenant("Riverside Family Clinic", "America/New_York", CLINIC_NUMBER)
    yield reach, console, issued.secret
    console.stop()
    reach.stop()


def call(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    # The console's and the local API's own http:// addresses.
    request = urllib.request.Request(url, data=body, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def book(reach: LocalReach, key: str, phone: str, reminders: list[str]) -> dict[str, Any]:
    """A visit at noon New York time three days after the demo clock's now."""
    day = (reach.clock() + timedelta(days=3)).astimezone(NEW_YORK).date()
    body = {
        "phone": phone,
        "starts_at": f"{day.isoformat()}T12:00:00-05:00",
        "timezone": "America/New_York",
        "reminders": reminders,
    }
    status, text = call(
        f"{reach.api_url}/appointments",
        json.dumps(body).encode(),
        {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert status == 201, text
    return dict(json.loads(text))


def refused_fields(status: int, text: str) -> list[str]:
    assert status == 422, text
    problem = json.loads(text)
    assert set(problem) == {"error", "message", "fields"}
    return [field["field"] for field in problem["fields"]]


def test_the_console_page_is_served_with_every_panel(stack) -> None:
    _, console, _ = stack

    status, html = call(console.url)

    assert status == 200
    for panel in ("conversations", "appointments", "notices", "campaigns", "surveys", "events"):
        assert f'id="{panel}"' in html


def test_an_unknown_panel_is_404_in_json(stack) -> None:
    _, console, _ = stack

    status, text = call(f"{console.url}/panels/nothing")

    assert status == 404
    assert json.loads(text)["error"] == "not_found"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (b"", ["body"]),
        (b"[1]", ["body"]),
        (json.dumps({"from": "+12025550190", "to": CLINIC_NUMBER}).encode(), ["body"]),
        (json.dumps({"from": "555-01", "to": CLINIC_NUMBER, "body": "1"}).encode(), ["from"]),
        (
            json.dumps({"from": "(202) 555-0190", "to": CLINIC_NUMBER, "body": "1"}).encode(),
            ["from"],
        ),
        (json.dumps({"from": "+12025550190", "to": "+12025550999", "body": "1"}).encode(), ["to"]),
    ],
)
def test_bad_input_to_the_answer_box_gets_422_naming_the_field(stack, body, fields) -> None:
    _, console, _ = stack

    status, text = call(f"{console.url}/answer", body)

    assert refused_fields(status, text) == fields


@pytest.mark.parametrize("body", [b"", b'{"advance": "2h"}', b'{"advance": 15}'])
def test_a_clock_move_other_than_the_buttons_gets_422_naming_advance(stack, body) -> None:
    reach, console, _ = stack
    before = reach.clock()

    status, text = call(f"{console.url}/clock", body)

    assert refused_fields(status, text) == ["advance"]
    assert reach.clock() == before


def test_an_answer_from_the_box_confirms_the_appointment_through_the_inbound_path(stack) -> None:
    reach, console, key = stack
    appointment = book(reach, key, "+12025550191", ["P1D"])

    body = json.dumps({"from": "+12025550191", "to": CLINIC_NUMBER, "body": "1"}).encode()
    status, text = call(f"{console.url}/answer", body)

    assert status == 200, text
    assert "confirmed" in json.loads(text)["answers"][0]
    _, appointments = call(f"{console.url}/panels/appointments")
    row = appointments.split(f'data-appointment="{appointment["id"]}"', 1)[1]
    assert row.startswith(' data-status="confirmed"')
    _, events = call(f"{console.url}/panels/events")
    assert 'data-type="AppointmentConfirmed"' in events
    _, conversations = call(f"{console.url}/panels/conversations")
    assert 'data-phone="+12025550191"' in conversations


def test_the_clock_control_runs_the_dispatcher_for_the_skipped_time(stack) -> None:
    reach, console, key = stack
    appointment = book(reach, key, "+12025550192", ["P1D"])
    start = reach.clock()

    for _ in range(3):
        status, text = call(f"{console.url}/clock", b'{"advance": "1d"}')
        assert status == 200, text

    # each tick is at whole seconds, as an EventBridge event's time is
    assert reach.clock() > start + timedelta(days=3, seconds=-3)
    _, appointments = call(f"{console.url}/panels/appointments")
    row = appointments.split(f'data-appointment="{appointment["id"]}"', 1)[1].split("</article>")[0]
    assert 'data-status="sent"' in row


def api_call(reach: LocalReach, key: str, path: str, body: Any) -> dict[str, Any]:
    status, text = call(
        f"{reach.api_url}{path}",
        json.dumps(body).encode(),
        {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert status in (201, 202), text
    return dict(json.loads(text))


def test_a_survey_without_responses_shows_its_questions_with_nothing_counted(stack) -> None:
    # (A results endpoint that answers 404 shows "no results yet": test_console_rendering.)
    reach, console, key = stack
    survey = api_call(reach, key, "/surveys", survey_body())

    _, surveys = call(f"{console.url}/panels/surveys")

    entry = surveys.split(f'data-survey="{survey["id"]}"', 1)[1].split("</section>")[0]
    assert "responses 0 · response rate -" in entry
    assert entry.count("0 answered") == len(survey["questions"])


def test_a_notice_shows_in_the_notices_panel_with_its_status(stack) -> None:
    reach, console, _ = stack
    tenant, issued = reach.create_tenant("Hilltop Cable", "America/Chicago", "+13125550100")
    without_quiet_hours(services_from_env().tenants, tenant)
    starts = (reach.clock() + timedelta(days=1)).astimezone(CHICAGO)
    starts = starts.replace(hour=9, minute=0, second=0, microsecond=0)
    visit = api_call(
        reach,
        issued.secret,
        "/appointments",
        {
            "phone": "+13125550193",
            "kind": "service_visit",
            "timezone": "America/Chicago",
            "starts_at": starts.isoformat(),
            "window_ends_at": (starts + timedelta(hours=4)).isoformat(),
            "technician_name": "Luis",
            "reminders": ["PT1H"],
        },
    )
    api_call(
        reach,
        issued.secret,
        f"/appointments/{visit['id']}/notices",
        {"type": "on_the_way", "eta_minutes": 25},
    )

    _, notices = call(f"{console.url}/panels/notices")

    assert "+13125550193 on_the_way" in notices
    assert 'data-status="queued"' in notices
