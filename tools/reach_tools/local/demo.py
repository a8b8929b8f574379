"""``reach-local demo``: a short, numbered walk through the clinic API over real HTTP.

Everything runs in this process on the embedded AWS; each step calls the local API with
urllib, as a clinic's scheduling system would, and stops the demo if an answer is not the
one the contract promises.
"""

from __future__ import annotations

import json
import shlex
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from http import HTTPStatus
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from reach_tools.local.stack import LocalReach

CLINIC = ("Riverside Family Clinic", "America/New_York", "+12025550143")
OTHER_TENANT = ("Lakeshore Home Services", "America/Chicago", "+13125550178")
PATIENT_PHONE = "(202) 555-0172"  # national format: read in the clinic's own country


class DemoFailure(RuntimeError):
    """An answer that the API contract does not allow: the demo stops here."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any

    @property
    def status_text(self) -> str:
        return f"{self.status} {HTTPStatus(self.status).phrase}"


@dataclass(frozen=True)
class ApiClient:
    """JSON over HTTP against the local API, with one tenant's key (or none)."""

    base_url: str
    key: str | None = None

    def call(self, method: str, path: str, body: Any = None) -> Reply:
        headers = {"Accept": "application/json"}
        if self.key is not None:
            headers["Authorization"] = f"Bearer {self.key}"
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310 - the URL is our own local API
            self.base_url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return Reply(response.status, _json(response.read()))
        except urllib.error.HTTPError as error:
            return Reply(error.code, _json(error.read()))

    def curl(self, method: str, path: str, body: Any) -> str:
        """The same call as a curl command a newcomer can paste."""
        lines = [f"curl -X {method} {shlex.quote(self.base_url + path)}"]
        if self.key is not None:
            lines.append("-H " + shlex.quote(f"Authorization: Bearer {self.key}"))
        lines.append("-H 'Content-Type: application/json'")
        lines.append("-d " + shlex.quote(json.dumps(body)))
        return " \\\n       ".join(lines)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


class Walkthrough:
    """The numbered script; ``expect`` turns any unexpected answer into a DemoFailure."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._step = 0

    def say(self, text: str = "") -> None:
        self._out.write(text + "\n")

    def step(self, title: str) -> None:
        self._step += 1
        self.say(f"\n{self._step}. {title}")

    @property
    def steps(self) -> int:
        return self._step

    def expect(self, reply: Reply, status: int, request: str) -> Any:
        self.say(f"   {request} -> {reply.status_text}")
        if reply.status != status:
            raise DemoFailure(
                f"step {self._step}: {request} answered {reply.status}, expected {status}: "
                f"{json.dumps(reply.body)}"
            )
        return reply.body


def _local_time(text: str | None) -> str:
    if text is None:
        return "not sent"
    return f"{datetime.fromisoformat(text):%a %d %b %H:%M}"


def reminders_table(appointment: dict[str, Any]) -> list[str]:
    """The appointment's reminders in its own time zone, one row each."""
    rows = [("send at (local)", "offsets", "status", "reason")]
    for reminder in appointment["reminders"]:
        rows.append(
            (
                _local_time(reminder["send_at"]),
                ",".join(reminder["offsets"]),
                reminder["status"],
                reminder["reason"] or "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "     " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise DemoFailure(message)


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def walk_through(reach: LocalReach, out: TextIO) -> int:
    """Run the script against a started LocalReach; returns the number of steps run."""
    show = Walkthrough(out)
    clinic, clinic_key = reach.create_tenant(*CLINIC)
    other, other_key = reach.create_tenant(*OTHER_TENANT)
    zone = ZoneInfo(clinic.timezone)
    show.say(f"Local API      {reach.api_url}  (API Gateway + authorizer, played locally)")
    show.say(f"Embedded AWS   {reach.aws.endpoint_url}  (moto: DynamoDB tables from template.yaml)")
    show.say("\nTenants (API keys are shown once, like `reach tenants create` does):")
    for tenant, issued in ((clinic, clinic_key), (other, other_key)):
        show.say(f"  {tenant.name:<24} {tenant.tenant_id}  {tenant.timezone}")
        show.say(f"  {'':<24} key {issued.secret}")
    show.say(
        f"  quiet hours {clinic.quiet_hours}, default reminders {','.join(clinic.reminder_offsets)}"
    )

    api = ApiClient(reach.api_url, clinic_key.secret)
    stranger = ApiClient(reach.api_url, other_key.secret)
    anonymous = ApiClient(reach.api_url)

    today = datetime.now(zone).date()
    visit = _at(today + timedelta(days=3), time(8, 30), zone)
    show.step(f"Riverside books a visit for {visit:%a %d %b at %H:%M} ({clinic.timezone})")
    show.say(
        f"   phone in national format {PATIENT_PHONE}; reminders P1D and PT2H before the start"
    )
    booking = {
        "phone": PATIENT_PHONE,
        "starts_at": visit.isoformat(),
        "timezone": clinic.timezone,
        "external_id": "visit-1001",
        "first_name": "Maria",
        "location": "Riverside Family Clinic, 12 Main St",
        "reminders": ["P1D", "PT2H"],
    }
    show.say("   the same call with curl:")
    show.say("     " + api.curl("POST", "/appointments", booking))
    appointment = show.expect(api.call("POST", "/appointments", booking), 201, "POST /appointments")
    appointment_id = appointment["id"]
    show.say(
        f"   {appointment_id}: {appointment['status']}, phone stored as {appointment['phone']}"
    )
    show.say("\n".join(reminders_table(appointment)))
    moved = [r for r in appointment["reminders"] if r["reason"] == "moved_out_of_quiet_hours"]
    _check(bool(moved), "the 2-hour reminder (06:30) should have moved out of quiet hours")
    show.say(
        f"   PT2H would be 06:30, inside quiet hours {clinic.quiet_hours}: it waits until 08:00."
    )

    show.step("Riverside lists its appointments")
    listing = show.expect(api.call("GET", "/appointments"), 200, "GET /appointments")
    for item in listing["items"]:
        show.say(f"     {item['id']}  {_local_time(item['starts_at'])}  {item['status']}")
    _check(
        [item["id"] for item in listing["items"]] == [appointment_id],
        "the listing should hold exactly the booked appointment",
    )

    later = _at(today + timedelta(days=4), time(10, 30), zone)
    show.step(f"Riverside moves the visit to {later:%a %d %b at %H:%M}")
    path = f"/appointments/{appointment_id}"
    changed = show.expect(
        api.call("PATCH", path, {"starts_at": later.isoformat()}), 200, f"PATCH {path}"
    )
    show.say(f"   version {changed['version']}; old reminders cancelled, new ones pending:")
    show.say("\n".join(reminders_table(changed)))
    reasons = {(r["version"], r["status"], r["reason"]) for r in changed["reminders"]}
    _check(
        (1, "cancelled", "rescheduled") in reasons and (2, "pending", None) in reasons,
        "a reschedule should cancel the old reminders and plan new pending ones",
    )

    show.step(f"{other.name} (another tenant) asks for Riverside's appointment")
    refused = show.expect(stranger.call("GET", path), 404, f"GET {path} with its own key")
    show.say(f"   {refused['message']}: tenants can't see, or even detect, each other's data")

    show.step("A phone number that can't be dialled is refused, naming the field")
    bad = {**booking, "phone": "555-01", "external_id": "visit-1002"}
    invalid = show.expect(api.call("POST", "/appointments", bad), 422, "POST /appointments")
    fields = [f["field"] for f in invalid.get("fields", [])]
    show.say(f"   {invalid['message']}")
    _check("phone" in fields, f"the 422 should name the phone field, named {fields}")

    show.step("A call without an API key")
    unauthorized = show.expect(anonymous.call("GET", "/appointments"), 401, "GET /appointments")
    show.say(f"   {unauthorized['message']} (answered by the gateway; no function ran)")

    show.step("Riverside cancels the visit")
    cancelled = show.expect(api.call("POST", f"{path}/cancel"), 200, f"POST {path}/cancel")
    show.say(f"   status {cancelled['status']}; no reminder is left to send:")
    show.say("\n".join(reminders_table(cancelled)))
    _check(
        cancelled["status"] == "cancelled"
        and all(r["status"] != "pending" for r in cancelled["reminders"]),
        "a cancelled appointment should have no pending reminder",
    )
    show.say(
        f"\nDone: {show.steps} steps, every answer as the API contract says. "
        "`reach-local serve` keeps this running for your own calls."
    )
    return show.steps


def run_demo(out: TextIO | None = None) -> int:
    """Start the local stack, run the script, stop; 0 when every step behaved."""
    stream = sys.stdout if out is None else out
    stream.write("Reach local demo: the real authorizer and API functions, no AWS account.\n")
    # Metrics would print one CloudWatch EMF JSON line per call, drowning the script.
    with LocalReach(
        log_level="WARNING",
        extra_environment={"POWERTOOLS_METRICS_DISABLED": "true"},
        table_prefix="reach-demo",
    ) as reach:
        try:
            walk_through(reach, stream)
        except DemoFailure as failure:
            print(f"\nreach-local demo failed: {failure}", file=sys.stderr)
            return 1
        except (KeyError, TypeError) as error:
            # A body without a field the contract promises.
            print(
                f"\nreach-local demo failed: unexpected response body ({error!r})", file=sys.stderr
            )
            return 1
    return 0
