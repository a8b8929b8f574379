"""The local run: embedded AWS, the real authorizer and API functions, called over real HTTP."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from reach_tools.local.demo import run_demo
from reach_tools.local.stack import LocalReach

NEW_YORK = ZoneInfo("America/New_York")


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
    day = datetime.now(NEW_YORK).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=NEW_YORK).isoformat()


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
    assert "Done: 7 steps" in text
