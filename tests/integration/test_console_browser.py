"""The local console in a real browser: Playwright drives Debian's headless chromium against a
console started in this process on a free port, over one embedded stack for the module.

Skipped only on a developer's machine without /usr/bin/chromium; with CI set, a missing
browser fails (.ci/run installs it)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from reach_tools.local.console.server import ConsoleServer
from reach_tools.local.stack import LocalReach

CHROMIUM = Path("/usr/bin/chromium")
#: The machine's network is closed: no QUIC, no component or sync traffic, no sandbox (root).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CLINIC_NUMBER = "+12025550143"
NEW_YORK = ZoneInfo("America/New_York")
WAIT_MS = 15_000
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(autouse=True)
def fake_aws_environment() -> None:
    """The embedded stack sets its own fake AWS environment (as in test_local_run)."""


@dataclass(frozen=True)
class Stack:
    reach: LocalReach
    console_url: str
    key: str

    def api(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        # The local API's own http:// address.
        request = urllib.request.Request(  # noqa: S310
            self.reach.api_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                return dict(json.loads(answer.read()))
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path}: {error.code} {error.read()!r}") from None


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    reach = LocalReach(
        extra_environment={"POWERTOOLS_METRICS_DISABLED": "true"}, table_prefix="test-browser"
    )
    reach.start()
    console = ConsoleServer(reach, poll_ms=300)
    console.start()
    _, issued = reach.create_tenant("Riverside Family Clinic", "America/New_York", CLINIC_NUMBER)
    yield Stack(reach, console.url, issued.secret)
    console.stop()
    reach.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(stack.console_url)
    yield page
    page.close()


def book(stack: Stack, phone: str) -> dict[str, Any]:
    """A visit at noon New York time three days after the demo clock's now, reminded a day
    before."""
    day = (stack.reach.clock() + timedelta(days=3)).astimezone(NEW_YORK).date()
    starts = datetime.combine(day, time(12), NEW_YORK)
    body = {
        "phone": phone,
        "starts_at": starts.isoformat(),
        "timezone": "America/New_York",
        "reminders": ["P1D"],
    }
    return stack.api("POST", "/appointments", body)


def advance_until(page: Page, selector: str, clicks: int = 4) -> None:
    """Click +1d until ``selector`` is on the page (each click waits for the move)."""
    for _ in range(clicks):
        if page.locator(selector).count():
            return
        with page.expect_response("**/console/clock"):
            page.get_by_role("button", name="+1d").click()
        page.wait_for_timeout(700)  # the next poll
    expect(page.locator(selector).first).to_be_visible()


def text_as(page: Page, phone: str, body: str) -> None:
    form = page.locator("#text-as")
    form.get_by_label("from phone").fill(phone)
    form.get_by_label("text as that phone").fill(body)
    with page.expect_response("**/console/answer") as answered:
        form.get_by_role("button", name="Send").click()
    assert answered.value.status == 200


def test_a_booking_through_the_api_shows_its_reminder_and_the_clock_sends_it(
    page: Page, stack: Stack
) -> None:
    appointment = book(stack, "+12025550181")
    row = f'article.appointment[data-appointment="{appointment["id"]}"]'

    expect(page.locator(f"{row} li.reminder")).to_contain_text("pending")
    expect(page.locator(f"{row} h3")).to_contain_text("+12025550181")

    advance_until(page, f'{row} li.reminder[data-status="sent"]')
    expect(page.locator('article.conversation[data-phone="+12025550181"]')).to_be_visible()


def test_answering_1_as_the_phone_confirms_the_appointment_and_shows_the_event(
    page: Page, stack: Stack
) -> None:
    appointment = book(stack, "+12025550182")
    row = f'article.appointment[data-appointment="{appointment["id"]}"]'
    conversation = 'article.conversation[data-phone="+12025550182"]'
    advance_until(page, conversation)

    box = page.locator(f"{conversation} form.answer")
    box.get_by_role("textbox").fill("1")
    with page.expect_response("**/console/answer") as answered:
        box.get_by_role("button", name="Send").click()
    assert answered.value.status == 200

    expect(page.locator(f"{row} .appt-status")).to_have_text("confirmed")
    expect(
        page.locator('#events li.event[data-type="AppointmentConfirmed"]').first
    ).to_contain_text(appointment["id"])
    expect(page.locator(f"{conversation} li.msg.inbound").last).to_contain_text("1")


def test_stop_from_the_phone_shows_the_opt_out(page: Page, stack: Stack) -> None:
    book(stack, "+12025550183")

    text_as(page, "+12025550183", "STOP")

    conversation = page.locator('article.conversation[data-phone="+12025550183"]')
    expect(conversation.locator("li.msg.inbound").last).to_contain_text("STOP")
    expect(page.locator('#events li.event[data-type="OptedOut"]').first).to_be_visible()


def test_a_campaigns_progress_bar_moves_to_completion_as_the_clock_advances(
    page: Page, stack: Stack
) -> None:
    members = ("+12025550184", "+12025550185", "+12025550186")
    listed = stack.api(
        "POST",
        "/lists",
        {
            "name": "Pantry alerts",
            "keyword": "PANTRY",
            "description": "Pick-up times and closures",
            "frequency": {"messages": 4, "per": "month"},
            "purpose": "informational",
        },
    )
    consent = {
        "source": "web_form",
        "obtained_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "evidence": "https://example.org/signup/991",
    }
    for phone in members:
        stack.api("POST", f"/lists/{listed['id']}/members", {"phone": phone, "consent": consent})
    # Noon in New York, at least a minute from now: inside everyone's allowed hours.
    now = stack.reach.clock().astimezone(NEW_YORK) + timedelta(minutes=1)
    send_at = datetime.combine(now.date(), time(12), NEW_YORK)
    send_at += timedelta(days=1) if send_at < now else timedelta(0)
    campaign = stack.api(
        "POST",
        "/campaigns",
        {
            "name": "Saturday pick-up",
            "list_id": listed["id"],
            "message": "Riverside Family Clinic: pick-up moves to Saturday. Reply STOP to leave.",
            "send_at": send_at.isoformat(),
        },
    )
    bar = page.locator(f'article.campaign[data-campaign="{campaign["id"]}"] progress')
    expect(bar).to_have_attribute("value", "0")

    advance_until(page, f'article.campaign[data-campaign="{campaign["id"]}"] progress[value="3"]')

    expect(bar).to_have_attribute("max", "3")
    expect(
        page.locator(f'article.campaign[data-campaign="{campaign["id"]}"] .campaign-status')
    ).not_to_have_text("scheduled")


def test_a_surveys_chart_shows_the_answers_given(page: Page, stack: Stack) -> None:
    phone = "+12025550187"
    appointment = book(stack, phone)
    survey = stack.api(
        "POST",
        "/surveys",
        {
            "name": "How did we do",
            "language": "en",
            # Longer than the clock's steps: a slow poll that costs one more +1d click must
            # not expire the survey before it is answered.
            "expires_after": "P5D",
            "questions": [
                {
                    "id": "nps",
                    "text": "How likely are you to recommend us, 0-10?",
                    "type": "scale",
                    "min": 0,
                    "max": 10,
                },
                {
                    "id": "ontime",
                    "text": "Were we on time?",
                    "type": "choice",
                    "choices": [{"key": "1", "label": "Yes"}, {"key": "2", "label": "No"}],
                },
            ],
        },
    )
    stack.api("POST", f"/surveys/{survey['id']}/sends", {"appointment_id": appointment["id"]})
    panel = f'section.survey[data-survey="{survey["id"]}"]'
    conversation = f'article.conversation[data-phone="{phone}"]'
    # The first question goes at the next tick inside the phone's allowed hours.
    advance_until(page, f'{conversation} li.msg:has-text("0-10")')

    text_as(page, phone, "9")
    expect(page.locator(f"{conversation} li.msg").last).to_contain_text("Were we on time?")
    text_as(page, phone, "yes")

    nps = page.locator(f'{panel} div.question[data-question="nps"]')
    expect(nps.locator(".nps")).to_have_text("NPS 100.0")
    expect(nps.locator('.bar-row:has-text("9") .bar')).to_have_attribute("data-count", "1")
    ontime = page.locator(f'{panel} div.question[data-question="ontime"]')
    expect(ontime.locator('.bar-row:has-text("1 Yes") .bar')).to_have_attribute("data-count", "1")
    expect(page.locator(f"{panel} p.muted").first).to_contain_text("completed 1")
