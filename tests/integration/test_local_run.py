"""The local run: embedded AWS, the real authorizer and API functions, called over real HTTP,
and the scheduler that runs the real dispatcher and sender on a clock it can move."""

from __future__ import annotations

import http.client
import io
import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from builders import local_day, without_quiet_hours
from reach.adapters.sms_sns import SnsSmsSender
from reach.wiring import services_from_env
from reach_tools.demo_clock import DemoClock
from reach_tools.local.__main__ import main, outcome_lines
from reach_tools.local.demo import run_demo
from reach_tools.local.scheduler import LocalTick, SchedulerThread
from reach_tools.local.stack import PHONE_ROUTE, LocalReach
from reach_tools.template import load_template


@pytest.fixture(autouse=True)
def fake_aws_environment() -> None:
    """Replaces the shared fixture for this module: the embedded stack sets its own fake AWS
    environment (and puts the old one back), and AWS_ENDPOINT_URL must keep pointing at it."""


@dataclass(frozen=True)
class Caller:
    """An HTTP client of the local API with one Authorization header (or none)."""

    base_url: str
    authorization: str | None

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {} if self.authorization is None else {"Authorization": self.authorization}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        # The URL is the local API's own http:// address.
        request = urllib.request.Request(  # noqa: S310
            self.base_url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def local() -> Iterator[LocalReach]:
    reach = LocalReach(
        extra_environment={"POWERTOOLS_METRICS_DISABLED": "true"}, table_prefix="test-local"
    )
    reach.start()
    yield reach
    reach.stop()


@pytest.fixture(scope="module")
def clinic(local: LocalReach) -> Caller:
    _, issued = local.create_tenant("Riverside Family Clinic", "America/New_York", "+12025550143")
    return Caller(local.api_url, f"Bearer {issued.secret}")


@pytest.fixture(scope="module")
def other_tenant(local: LocalReach) -> Caller:
    _, issued = local.create_tenant("Lakeshore Home Services", "America/Chicago", "+13125550178")
    return Caller(local.api_url, f"Bearer {issued.secret}")


def local_start(days: int, hour: int, minute: int = 0) -> str:
    return local_day(days, hour, minute).isoformat()


def booking(**fields: Any) -> dict[str, Any]:
    return {
        "phone": "(202) 555-0172",
        "starts_at": local_start(3, 8, 30),
        "timezone": "America/New_York",
        "reminders": ["P1D", "PT2H"],
        **fields,
    }


def book(caller: Caller, **fields: Any) -> dict[str, Any]:
    status, appointment = caller("POST", "/appointments", booking(**fields))
    assert status == 201, appointment
    return appointment


def test_a_tenant_books_and_reschedules_an_appointment_over_http(clinic: Caller) -> None:
    # given a booking at 08:30, whose 2-hour reminder falls in quiet hours
    status, created = clinic("POST", "/appointments", booking())
    assert status == 201, created
    assert created["phone"] == "+12025550172"
    assert [(r["offsets"], r["status"]) for r in created["reminders"]] == [
        (["P1D"], "pending"),
        (["PT2H"], "pending"),
    ]

    # when it moves to another day
    new_start = local_start(4, 10, 30)
    status, changed = clinic("PATCH", f"/appointments/{created['id']}", {"starts_at": new_start})

    # then the old reminders are cancelled as rescheduled and new ones wait for the new time
    assert status == 200, changed
    assert datetime.fromisoformat(changed["starts_at"]) == datetime.fromisoformat(new_start)
    old = [r for r in changed["reminders"] if r["version"] == 1]
    new = [r for r in changed["reminders"] if r["version"] == 2]
    assert {(r["status"], r["reason"]) for r in old} == {("cancelled", "rescheduled")}
    assert len(old) == 2
    assert [r["status"] for r in new] == ["pending", "pending"]
    assert datetime.fromisoformat(new[-1]["send_at"]) == datetime.fromisoformat(
        local_start(4, 8, 30)
    )


def test_another_tenants_key_cannot_see_or_change_the_appointment(
    clinic: Caller, other_tenant: Caller
) -> None:
    # given an appointment of the clinic
    appointment = book(clinic)
    path = f"/appointments/{appointment['id']}"

    # when the other tenant reads, changes and cancels it, and lists its own
    reads = other_tenant("GET", path)
    changes = other_tenant("PATCH", path, {"starts_at": local_start(5, 9)})
    cancels = other_tenant("POST", f"{path}/cancel")
    _, listing = other_tenant("GET", "/appointments")

    # then every call answers 404, its listing lacks it, and the clinic's copy is untouched
    assert [reads[0], changes[0], cancels[0]] == [404, 404, 404]
    assert appointment["id"] not in [item["id"] for item in listing["items"]]
    status, unchanged = clinic("GET", path)
    assert status == 200
    assert (unchanged["status"], unchanged["version"]) == ("scheduled", 1)


def test_a_request_without_a_key_is_unauthorized(local: LocalReach) -> None:
    # when the API is called with no Authorization header
    status, body = Caller(local.api_url, None)("GET", "/appointments")

    # then the gateway answers 401 with the template's JSON error
    assert status == 401
    assert body["error"] == "unauthorized"


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-key"])
def test_a_path_that_is_no_route_gets_404_in_the_one_shape_with_or_without_a_key(
    local: LocalReach, authorization: str | None
) -> None:
    # when a path the API does not have is called, as API Gateway sees it: before any key
    status, body = Caller(local.api_url, authorization)("GET", "/appointmentz")

    # then the template's MISSING_AUTHENTICATION_TOKEN answer, 404 not 401 or 403
    assert status == 404
    assert body == {"error": "not_found", "message": "no such route"}


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-key", "Basic dXNlcjpwYXNz", "Bearer rk_00000000_" + "a" * 43],
)
def test_a_malformed_or_unknown_key_is_unauthorized(local: LocalReach, authorization: str) -> None:
    # when the API is called with a header that is not a key Reach issued
    status, body = Caller(local.api_url, authorization)("GET", "/appointments")

    # then the authorizer refuses it with 401
    assert status == 401
    assert body["error"] == "unauthorized"


def test_a_revoked_key_is_forbidden(local: LocalReach) -> None:
    # given a tenant whose only key is revoked
    tenant, issued = local.create_tenant("Old Town Clinic", "America/New_York", "+12025550199")
    local.admin.revoke_key(tenant.tenant_id, issued.record.prefix)

    # when the key is used
    status, body = Caller(local.api_url, f"Bearer {issued.secret}")("GET", "/appointments")

    # then the authorizer's Deny becomes 403
    assert status == 403
    assert body["error"] == "forbidden"


def test_an_invalid_phone_gets_422_naming_the_field(clinic: Caller) -> None:
    # when a booking carries a number that cannot be dialled
    status, body = clinic("POST", "/appointments", booking(phone="555-01"))

    # then the answer is 422 and names the phone field
    assert status == 422
    assert [field["field"] for field in body["fields"]] == ["phone"]


def test_repeating_a_booking_with_the_same_external_id_returns_the_same_appointment(
    clinic: Caller,
) -> None:
    # given a booking with the clinic's own id
    first = book(clinic, external_id="ehr-4711")

    # when the scheduling system sends it again
    status, again = clinic("POST", "/appointments", booking(external_id="ehr-4711"))

    # then the answer is 200 with the appointment booked the first time
    assert status == 200
    assert again["id"] == first["id"]


def test_an_unknown_path_reaches_the_api_function_and_gets_404(clinic: Caller) -> None:
    # when a path the API does not have is called with a valid key
    status, _ = clinic("GET", "/patients")

    # then the function's resolver answers 404
    assert status == 404


def _raw(local: LocalReach, method: str, path: str, body: bytes, authorization: str) -> Any:
    """One request over a plain connection: any method, any body, the whole response."""
    host, port = local.api_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        headers = {"Authorization": authorization, "Content-Type": "application/json"}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "DELETE"])
def test_an_unknown_method_on_a_known_route_gets_405_in_json_not_501_html(
    local: LocalReach, clinic: Caller, method: str
) -> None:
    assert clinic.authorization is not None
    status, headers, error = _raw(local, method, "/callbacks", b"", clinic.authorization)

    assert status == 405
    assert headers["Allow"] == "GET"
    assert error["error"] == "method_not_allowed"


def test_a_body_over_the_limit_gets_413_in_json_not_html(local: LocalReach, clinic: Caller) -> None:
    # given a request that announces a body over the front's limit (and never sends it)
    assert clinic.authorization is not None
    host, port = local.api_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.putrequest("POST", "/appointments")
        connection.putheader("Authorization", clinic.authorization)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", "2000000")
        connection.endheaders()
        response = connection.getresponse()
        status, error = response.status, json.loads(response.read())
    finally:
        connection.close()

    # then the front refuses it in the one error shape, in JSON
    assert status == 413
    assert error["error"] == "payload_too_large"


def sms_in_moto() -> dict[str, tuple[str, str]]:
    """Every text moto's SNS holds in this process: message id -> (phone, body)."""
    return dict(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages)


def test_the_local_phone_plays_the_recipient_over_http(local: LocalReach, clinic: Caller) -> None:
    # given a visit for a phone that will answer
    appointment = book(clinic, phone="(202) 555-0190", first_name="Rosa", external_id="rosa-1")

    # when that phone texts "2" to the clinic's number through the local-only route
    status, report = Caller(local.api_url, None)(
        "POST",
        PHONE_ROUTE,
        {"from": "+12025550190", "to": "+12025550143", "body": "2"},
    )

    # then the appointment changed, the answer went to the phone, the event to the bus
    assert status == 200, report
    [answer] = report["answers"]
    assert "new time" in answer["body"]
    [event] = report["events"]
    assert event["detail-type"] == "RescheduleRequested"
    assert event["detail"]["appointment_id"] == appointment["id"]
    assert "+12025550190" not in json.dumps(event)
    _, current = clinic("GET", f"/appointments/{appointment['id']}")
    assert current["status"] == "reschedule_requested"
    # and a request without the fields it needs is refused, naming them
    status, problem = Caller(local.api_url, None)("POST", PHONE_ROUTE, {"from": "+12025550190"})
    assert status == 422
    assert [f["field"] for f in problem["fields"]] == ["to", "body"]


# The tests below start stacks of their own, loading the API function again beside `local`'s
# (each resolver answers with its own services: tests/unit/api/test_resolvers.py).


@pytest.fixture
def delivering() -> Iterator[tuple[LocalReach, Caller]]:
    """A stack of its own, so that no other test's reminders fall due when its clock moves."""
    reach = LocalReach(
        extra_environment={"POWERTOOLS_METRICS_DISABLED": "true"}, table_prefix="test-delivery"
    )
    reach.start()
    _, issued = reach.create_tenant("Riverside Family Clinic", "America/New_York", "+12025550143")
    yield reach, Caller(reach.api_url, f"Bearer {issued.secret}")
    reach.stop()


def test_the_send_queue_and_its_dead_letter_queue_follow_the_template(local: LocalReach) -> None:
    # given the template's queue definitions
    resources = load_template()["Resources"]
    send_queue = resources["SendQueue"]["Properties"]

    # when the embedded AWS has started
    sqs = local.aws.sqs()
    attributes = sqs.get_queue_attributes(
        QueueUrl=local.aws.queue_urls["SendQueue"], AttributeNames=["All"]
    )["Attributes"]
    dead_letters = sqs.get_queue_attributes(
        QueueUrl=local.aws.queue_urls["SendDeadLetterQueue"], AttributeNames=["QueueArn"]
    )["Attributes"]

    # then the send queue has the template's timeout and redrive to the local dead-letter queue
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(attributes["VisibilityTimeout"]) == send_queue["VisibilityTimeout"]
    assert int(redrive["maxReceiveCount"]) == send_queue["RedrivePolicy"]["maxReceiveCount"]
    assert redrive["deadLetterTargetArn"] == dead_letters["QueueArn"]
    # and the dispatcher's SEND_QUEUE_URL (the template's !Ref SendQueue) is its local URL
    assert os.environ["SEND_QUEUE_URL"] == local.aws.queue_urls["SendQueue"]


def test_a_booked_reminder_goes_out_through_sns_when_the_clock_reaches_it(
    delivering: tuple[LocalReach, Caller],
) -> None:
    reach, clinic = delivering
    # given a visit booked over HTTP, reminded a day before
    appointment = book(
        clinic,
        phone="(202) 555-0181",
        first_name="Ana",
        starts_at=local_start(3, 14),
        reminders=["P1D"],
    )
    send_at = datetime.fromisoformat(appointment["reminders"][0]["send_at"])
    before = sms_in_moto()

    # when the scheduler ticks a minute early, then when the clock reaches the reminder
    early = reach.scheduler.tick(send_at - timedelta(minutes=1))
    reach.clock.advance_to(send_at)
    due = reach.scheduler.tick()

    # then nothing went early, and one text went to the patient, with the clinic's name
    assert early.published == ()
    new = [sms for message_id, sms in sms_in_moto().items() if message_id not in before]
    assert len(new) == 1
    [(phone, text)] = new
    assert phone == "+12025550181"
    assert "Riverside Family Clinic" in text
    assert "Ana" in text
    assert [(sms.phone, sms.body) for sms in due.published] == [(phone, text)]
    # and the API reports the reminder as sent
    status, current = clinic("GET", f"/appointments/{appointment['id']}")
    assert status == 200
    assert [r["status"] for r in current["reminders"]] == ["sent"]


def test_a_cancelled_appointments_reminder_sends_nothing_when_its_time_comes(
    delivering: tuple[LocalReach, Caller],
) -> None:
    reach, clinic = delivering
    # given a visit booked and then cancelled before its reminder is due
    appointment = book(
        clinic, phone="(202) 555-0182", starts_at=local_start(3, 14), reminders=["P1D"]
    )
    send_at = datetime.fromisoformat(appointment["reminders"][0]["send_at"])
    status, _ = clinic("POST", f"/appointments/{appointment['id']}/cancel")
    assert status == 200
    before = sms_in_moto()

    # when the clock reaches the reminder's time, and later
    at_time = reach.scheduler.tick(send_at)
    later = reach.scheduler.tick(send_at + timedelta(hours=1))

    # then the dispatcher found nothing and no text was sent
    assert at_time.dispatched["read"] == later.dispatched["read"] == 0
    assert at_time.handoffs == later.handoffs == ()
    assert sms_in_moto() == before
    _, current = clinic("GET", f"/appointments/{appointment['id']}")
    assert [(r["status"], r["reason"]) for r in current["reminders"]] == [
        ("cancelled", "appointment_cancelled")
    ]


def test_a_throttled_send_comes_back_after_the_visibility_timeout_in_demo_time(
    delivering: tuple[LocalReach, Caller], monkeypatch: pytest.MonkeyPatch
) -> None:
    reach, clinic = delivering
    # given a due reminder and an SNS that throttles every attempt of the first delivery
    appointment = book(
        clinic, phone="(202) 555-0183", starts_at=local_start(3, 14), reminders=["P1D"]
    )
    send_at = datetime.fromisoformat(appointment["reminders"][0]["send_at"])
    publish = SnsSmsSender._send_once
    throttled_calls: list[str] = []

    def throttled_at_first(sender: SnsSmsSender, sms: Any) -> str:
        if len(throttled_calls) < 4:  # the adapter's attempts for one delivery
            throttled_calls.append(sms.destination)
            raise ClientError({"Error": {"Code": "Throttled", "Message": "slow"}}, "Publish")
        return publish(sender, sms)

    monkeypatch.setattr(SnsSmsSender, "_send_once", throttled_at_first)
    visibility = timedelta(
        seconds=load_template()["Resources"]["SendQueue"]["Properties"]["VisibilityTimeout"]
    )

    # when it is due, a minute later, and once the queue's visibility timeout has passed
    first = reach.scheduler.tick(send_at)
    soon = reach.scheduler.tick(send_at + timedelta(minutes=1))
    after = reach.scheduler.tick(send_at + visibility + timedelta(minutes=1))

    # then the first delivery is handed back and stays invisible until the timeout has passed,
    # when SQS delivers it again and exactly one text goes out
    assert [(h.retried, h.receive_count) for h in first.handoffs] == [(True, 1)]
    assert first.published == soon.published == soon.handoffs == ()
    # (the claim's lease outlasts the visibility timeout, so no second claim races it)
    assert [(h.message_id, h.retried, h.receive_count) for h in after.handoffs] == [
        (first.handoffs[0].message_id, False, 2)
    ]
    assert [sms.phone for sms in after.published] == ["+12025550183"]
    _, current = clinic("GET", f"/appointments/{appointment['id']}")
    assert [r["status"] for r in current["reminders"]] == ["sent"]


def test_serve_ticks_in_the_background_and_prints_each_text_as_it_leaves(
    delivering: tuple[LocalReach, Caller],
) -> None:
    reach, _ = delivering
    # given a tenant without quiet hours (so the test passes at any hour) and a late booking,
    # whose reminder is due at once
    tenant, issued = reach.admin.create_tenant(
        "Hilltop Cable", "America/Chicago", "+13125550100", "21:00-08:00", ("P1D",)
    )
    without_quiet_hours(services_from_env().tenants, tenant)  # the admin refuses an empty window
    clinic = Caller(reach.api_url, f"Bearer {issued.secret}")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    book(clinic, phone="+13125550184", starts_at=start.isoformat(), reminders=["P1D"])
    reports: list[LocalTick] = []
    errors: list[Exception] = []
    sent = threading.Event()

    def on_tick(report: LocalTick) -> None:
        reports.append(report)
        if report.published:
            sent.set()

    # when serve's scheduler thread ticks on the real clock
    ticker = SchedulerThread(reach.scheduler, 0.2, on_tick, errors.append)
    ticker.start()
    try:
        assert sent.wait(timeout=30), "no text left within 30 s"
    finally:
        ticker.stop()

    # then the text left on a tick, and the line serve prints for it is masked
    assert errors == []
    [report] = [r for r in reports if r.published]
    assert [sms.phone for sms in report.published] == ["+13125550184"]
    [line] = outcome_lines(report)
    assert "+1*******184  sent  1 part" in line
    assert "+13125550184" not in line


def test_the_demo_clock_moves_only_when_told_and_sleeping_moves_it() -> None:
    # given a clock at a known moment
    start = datetime(2027, 3, 14, 12, 0, tzinfo=UTC)
    clock = DemoClock(start)

    # when pacing sleeps, and the clock is moved to an earlier and a later moment
    clock.sleep(1.5)
    slept = clock()
    clock.advance_to(start)
    not_back = clock()
    clock.advance(timedelta(minutes=1))

    # then it moved by exactly what it was told, and never backwards by itself
    assert slept == start + timedelta(seconds=1.5)
    assert not_back == slept
    assert clock() == slept + timedelta(minutes=1)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))


def test_the_demo_walks_through_every_step_and_succeeds() -> None:
    # given nothing running: the demo starts its own stack
    out = io.StringIO()

    # when it runs
    result = run_demo(out)

    # then it succeeds, having shown each contract answer
    assert result == 0
    text = out.getvalue()
    for answer in ("201 Created", "404 Not Found", "422 Unprocessable", "401 Unauthorized"):
        assert answer in text
    # and a timeline of reminders sent, masked, and of the cancelled one that was not
    assert '+1*******172  sent  1 part  "Hi Maria, Riverside Family Clinic' in text
    assert '+1*******175  sent  1 part  "Hi Tom, ' in text
    assert "+1*******176  nothing sent" in text
    # and the recipient's side: a reply, its answer and the event a clinic would receive
    assert 'texts "Yes"' in text
    assert "is confirmed." in text
    assert "event AppointmentConfirmed" in text
    assert "event CallbackRequested" in text
    assert "Reply START to resubscribe" in text
    # and after the opt-out, HELP still gets the program's answer and "thanks!" nothing
    assert 'texts "HELP"' in text
    assert "Msg & data rates may apply" in text
    assert 'texts "thanks!"' in text
    assert "skipped  opted_out" in text
    # and a service visit: its window in both reminders, "not home" and its event
    assert '+1*******179  sent  1 part  "Hi Rosa, Lakeshore Home Services visit' in text
    assert "between 9 AM and 1 PM" in text
    assert 'texts "Sorry, nobody home today"' in text
    assert "event CustomerNotHome" in text
    assert "customer_status not_home" in text
    # and the technician's on-the-way notice, sent at once and not twice, with its event
    assert "your technician Luis is on the way, arriving around 9:15 AM" in text
    assert "The same notice asked again: 200" in text
    assert "event NoticeSent  on_the_way" in text
    # and the same notice asked without waiting: 202 after one write, skipped by the sender
    assert "(Preference-Applied: respond-async; one AWS call)" in text
    assert "event NoticeSkipped  reason repeat" in text
    # and the lists-and-campaigns part
    assert_the_campaign_part_shown(text)
    # and the survey after a service visit, last
    assert_the_survey_part_shown(text)
    assert text.index("Eastside Food Bank") < text.index("Northside Cable")
    assert "Done: 31 steps" in text


def assert_the_survey_part_shown(text: str) -> None:
    """A survey follows a completed visit by two hours; one unreadable answer is re-prompted,
    a low score offers a callback, free text completes it; the results give the NPS."""
    assert "is completed at 11:40" in text
    assert '13:40 CST  +1*******171  sent  1 part  "Northside Cable: thanks for having us' in text
    assert 'texts "great"' in text
    assert "Please reply with a whole number from 0 to 10" in text
    assert "Would you like a call from our team? 1 Yes 2 No" in text
    assert "event CallbackRequested" in text
    assert '<- "Thank you, your answers help us do better."' in text
    assert "event SurveyCompleted" in text
    assert "responses 1 (completed 1), rate 1.0" in text
    assert "Net promoter score: -100" in text
    assert "(never a phone)" in text


def assert_the_campaign_part_shown(text: str) -> None:
    """A keyword sign-up, an import with rejected rows, and a campaign held for one member's
    quiet hours, then completed."""
    # the keyword is answered with the confirmation the carriers require
    assert 'texts "join alerts"' in text
    assert (
        "<- \"Eastside Food Bank Pantry Alerts: you're signed up. 4 msgs/month. Msg & data "
        'rates may apply. Reply HELP for help, STOP ALERTS to leave, STOP to end all."'
    ) in text
    assert "event ListJoined  inbound_message_id=" in text
    # the import reports each rejected row with its reason
    assert "5 rows, accepted 2, duplicates 0, rejected 3" in text
    assert "row 4  phone           not a valid, dialable phone number" in text
    assert "row 5  consent_source  is empty" in text
    assert "row 6  consent_at      'last tuesday' is not an ISO 8601 time" in text
    # the forecast warns of the held recipient
    assert "spills_into_quiet_hours true (held 1)" in text
    # at send_at two are texted and Honolulu is held; after its quiet hours, texted too
    assert '+1*******161  sent  1 part  "Hi Jamal, Eastside Food Bank' in text
    assert '+1*******163  sent  1 part  "Hi there, Eastside Food Bank' in text
    assert "07:00 HST  +1*******162  held (held_quiet_hours)" in text or (
        "06:00 HST  +1*******162  held (held_quiet_hours)" in text
    )
    assert "sending; total 3, sent 2, delivered 0, undelivered 0, held 1" in text
    assert '08:00 HST  +1*******162  sent  1 part  "Hi Keala, Eastside Food Bank' in text
    assert "event CampaignStarted  campaign_id=cmp_" in text
    assert "event CampaignFinished  campaign_id=cmp_" in text
    assert "completed; total 3, sent 3, delivered 0, undelivered 0, held 0" in text
    assert text.index("held (held_quiet_hours)") < text.index('"Hi Keala,')


def test_reach_local_demo_campaign_runs_only_the_lists_and_campaigns_part(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # when the CLI is asked for the campaign part alone
    result = main(["demo", "campaign"])

    # then it succeeds, showing that part's six steps and none of the clinic's
    text = capsys.readouterr().out
    assert result == 0
    assert_the_campaign_part_shown(text)
    assert "Riverside" not in text
    assert "Done: 6 steps" in text


def test_reach_local_demo_survey_runs_only_the_survey_part(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # when the CLI is asked for the survey part alone
    result = main(["demo", "survey"])

    # then it succeeds, showing that part's five steps and no other customer
    text = capsys.readouterr().out
    assert result == 0
    assert_the_survey_part_shown(text)
    assert "Riverside" not in text
    assert "Eastside" not in text
    assert "Done: 5 steps" in text


def test_reach_local_demo_refuses_a_part_it_does_not_have(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "surveys"])

    assert exit_.value.code == 2
    assert "invalid choice: 'surveys'" in capsys.readouterr().err
