"""``reach-local demo``: a short, numbered walk through the clinic API over real HTTP, then
Reach's main job: reminders going out as the clock runs.

Everything runs in this process on the embedded AWS; each step calls the local API with
urllib, as a clinic's scheduling system would, and stops the demo if an answer is not the
one the contract promises. The second part fast-forwards the scheduler's clock from one due
moment to the next, ticks the real dispatcher, lets the real sender drain the send queue
into moto's SNS, and prints what was sent to whom, and when, in the recipient's local time.
The last part, lists and campaigns, is in ``campaign_demo`` (``reach-local demo campaign``
runs it alone).
"""

from __future__ import annotations

import json
import shlex
import sys
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from http import HTTPStatus
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from reach.domain.masking import mask_phone
from reach.domain.models import Tenant
from reach.domain.segments import count_segments
from reach_tools.local.recipient import ReplyReport
from reach_tools.local.scheduler import Handoff, LocalTick, PublishedSms
from reach_tools.local.stack import LocalReach

CLINIC = ("Riverside Family Clinic", "America/New_York", "+12025550143")
OTHER_TENANT = ("Lakeshore Home Services", "America/Chicago", "+13125550178")
PATIENT_PHONE = "(202) 555-0172"  # national format: read in the clinic's own country
# The recipients of the reminders part. Each has a number of their own: the healthcare caps
# allow a recipient one clinic text a local day, which would hold texts the demo means to show.
MARIA = ("Maria", PATIENT_PHONE)
TOM = ("Tom", "(202) 555-0175")
AISHA = ("Aisha", "(202) 555-0176")
LEO_PHONE = "(202) 555-0177"
#: The customer of the service visit: a Chicago number, in the service company's own format.
ROSA = ("Rosa", "(312) 555-0179")
#: Far more ticks than three appointments need, few enough that a reminder which keeps coming
#: back stops the demo instead of looping.
MAX_TICKS = 40
#: How much of a text the timeline shows.
BODY_SHOWN = 100


class DemoFailure(RuntimeError):
    """An answer that the API contract does not allow: the demo stops here."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def status_text(self) -> str:
        return f"{self.status} {HTTPStatus(self.status).phrase}"


@dataclass(frozen=True)
class ApiClient:
    """JSON over HTTP against the local API, with one tenant's key (or none)."""

    base_url: str
    key: str | None = None

    def call(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Reply:
        data = None if body is None else json.dumps(body).encode()
        return self._send(method, path, data, "application/json", headers)

    def send_csv(self, path: str, text: str) -> Reply:
        """POST a CSV file as the body, as a list import takes it."""
        return self._send("POST", path, text.encode(), "text/csv; charset=utf-8")

    def _send(
        self,
        method: str,
        path: str,
        data: bytes | None,
        content_type: str,
        extra: Mapping[str, str] | None = None,
    ) -> Reply:
        headers = {"Accept": "application/json", **(extra or {})}
        if self.key is not None:
            headers["Authorization"] = f"Bearer {self.key}"
        if data is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(  # noqa: S310 - the URL is our own local API
            self.base_url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own local API's http URL  # nosec B310
                return Reply(response.status, _json(response.read()), dict(response.headers))
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

    def part(self, title: str) -> None:
        self.say(f"\n{title}\n{'-' * len(title)}")

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


#: What ``reach-local demo [part]`` runs: everything, or the lists-and-campaigns or the
#: survey part alone.
PARTS = ("all", "campaign", "survey")


def walk_through(reach: LocalReach, out: TextIO, part: str = "all") -> int:
    """Run the script against a started LocalReach; returns the number of steps run."""
    # Imported here: the campaign part is built on this module's helpers.
    from reach_tools.local.campaign_demo import lists_and_campaigns
    from reach_tools.local.survey_demo import surveys

    if part not in PARTS:
        raise ValueError(f"no demo part {part!r}; the parts are {', '.join(PARTS)}")
    show = Walkthrough(out)
    show.say(f"Local API      {reach.api_url}  (API Gateway + authorizer, played locally)")
    show.say(
        f"Embedded AWS   {reach.aws.endpoint_url}  "
        "(moto: DynamoDB tables and SQS queues from template.yaml)"
    )
    if part == "all":
        appointments(reach, show)
    if part in ("all", "campaign"):
        lists_and_campaigns(reach, show)
    if part in ("all", "survey"):
        surveys(reach, show)
    show.say(
        f"\nDone: {show.steps} steps, every answer as the API contract says and every text "
        "where it should be. `reach-local serve` keeps this running for your own calls."
    )
    return show.steps


def appointments(reach: LocalReach, show: Walkthrough) -> None:
    """The clinic's part: bookings over the API, reminders, replies and a service visit."""
    clinic, clinic_key = reach.create_tenant(*CLINIC)
    other, other_key = reach.create_tenant(*OTHER_TENANT)
    zone = ZoneInfo(clinic.timezone)
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

    send_reminders(reach, show, api, clinic)
    two_way(reach, show, api, clinic)
    service_visit(reach, show, stranger, other)


def read(api: ApiClient, path: str) -> Any:
    """GET ``path``, quietly: the timeline reads appointments between its own lines."""
    reply = api.call("GET", path)
    if reply.status != HTTPStatus.OK:
        raise DemoFailure(f"GET {path} answered {reply.status}: {json.dumps(reply.body)}")
    return reply.body


def late_start(now: datetime, zone: ZoneInfo) -> datetime:
    """A start for a booking made too late for its day-before reminder.

    The first of 09:30, 11:30 ... 17:30, today or tomorrow, at least two hours away: its P1D
    reminder has passed, and the catch-up (due at once, or when the current quiet period ends)
    keeps the hour's lead it needs before the start, whatever the time the demo runs at.
    """
    local = now.astimezone(zone)
    candidates = [
        _at(local.date() + timedelta(days=days), time(hour, 30), zone)
        for days in (0, 1)
        for hour in (9, 11, 13, 15, 17)
    ]
    return next(c for c in candidates if c >= now + timedelta(hours=2))


def minute_ceiling(moment: datetime) -> datetime:
    """The first whole minute at or after ``moment``: EventBridge's rate(1 minute) ticks."""
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


@dataclass(frozen=True)
class Booked:
    """An appointment of the reminders part, and how many texts its recipient should get."""

    first_name: str
    appointment: dict[str, Any]
    expected_texts: int

    @property
    def id(self) -> str:
        return str(self.appointment["id"])

    @property
    def phone(self) -> str:
        return str(self.appointment["phone"])

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.appointment["timezone"])

    @property
    def starts_at(self) -> datetime:
        return datetime.fromisoformat(self.appointment["starts_at"])

    def when(self, moment: datetime) -> str:
        """``moment`` in the recipient's local time, as the timeline shows it."""
        return f"{moment.astimezone(self.zone):%a %d %b %H:%M %Z}"


def timeline_line(when: str, phone: str, what: str) -> str:
    return f"   {when}  {mask_phone(phone)}  {what}"


def sent_text(sms: PublishedSms) -> str:
    """``sent  1 part  "Hi Maria, ..."``: the outcome, its size and how it begins."""
    parts = count_segments(sms.body).parts
    body = sms.body if len(sms.body) <= BODY_SHOWN else sms.body[: BODY_SHOWN - 3] + "..."
    return f'sent  {parts} part{"s" if parts != 1 else ""}  "{body}"'


def tick_lines(
    api: ApiClient, report: LocalTick, booked: dict[str, Booked], sent: set[tuple[str, str]]
) -> tuple[list[str], list[PublishedSms]]:
    """One line per reminder the sender handled in the tick, joining each text in moto's SNS
    with its appointment as the API reports it; the texts, for the final count. ``sent`` holds
    the (appointment, reminder) pairs already sent, and gets this tick's."""
    lines: list[str] = []
    unclaimed = list(report.published)
    for handoff in report.handoffs:
        target, reminder = _handed_off(api, handoff, booked)
        status, reason = reminder["status"], reminder["reason"]
        key = (target.id, reminder["id"])
        if handoff.retried:
            what = f"not sent yet: back in the queue for another try ({reason or status})"
            lines.append(timeline_line(target.when(report.at), target.phone, what))
        elif status == "sent" and key in sent:
            # A repeated queue message: the claim it carries is spent, so the sender drops it.
            what = "repeat delivery of a reminder already sent: nothing sent again"
            lines.append(timeline_line(target.when(report.at), target.phone, what))
        elif status == "sent":
            sms = next((t for t in unclaimed if t.phone == target.phone), None)
            if sms is None:
                raise DemoFailure(
                    f"{target.first_name}'s reminder {reminder['id']} is sent, but no text to "
                    f"{mask_phone(target.phone)} reached SNS"
                )
            unclaimed.remove(sms)
            sent.add(key)
            lines.append(timeline_line(target.when(sms.published_at), target.phone, sent_text(sms)))
        elif status == "pending":
            until = target.when(datetime.fromisoformat(reminder["send_at"]))
            lines.append(
                timeline_line(
                    target.when(report.at), target.phone, f"held until {until} ({reason})"
                )
            )
        else:
            lines.append(
                timeline_line(target.when(report.at), target.phone, f"{status} ({reason})")
            )
    if unclaimed:
        raise DemoFailure(
            "texts reached SNS that no queued reminder accounts for: "
            + ", ".join(mask_phone(t.phone) for t in unclaimed)
        )
    return lines, list(report.published)


def _handed_off(
    api: ApiClient, handoff: Handoff, booked: dict[str, Booked]
) -> tuple[Booked, dict[str, Any]]:
    """The booking a queue message was about, and its reminder as the API reports it now."""
    if handoff.reminder is None:
        raise DemoFailure(f"the send queue carried a message that is not a reminder: {handoff}")
    target = booked.get(handoff.reminder.appointment_id)
    if target is None:
        raise DemoFailure(
            f"the sender got a reminder of {handoff.reminder.appointment_id}, "
            "which the demo did not book for sending"
        )
    current = read(api, f"/appointments/{target.id}")
    reminder = next(
        (r for r in current["reminders"] if r["id"] == handoff.reminder.reminder_id), None
    )
    if reminder is None:
        raise DemoFailure(f"{target.id} has no reminder {handoff.reminder.reminder_id}")
    return target, reminder


def book_for_reminders(
    show: Walkthrough, api: ApiClient, clinic: Tenant
) -> tuple[Booked, Booked, Booked]:
    """Maria (a reminder moved out of quiet hours), Tom (booked late) and Aisha (to cancel)."""
    zone = ZoneInfo(clinic.timezone)
    today = datetime.now(zone).date()
    plans = (
        (MARIA, _at(today + timedelta(days=2), time(8, 30), zone), ["P1D", "PT2H"], 2),
        (TOM, late_start(datetime.now(zone), zone), ["P1D"], 1),
        (AISHA, _at(today + timedelta(days=3), time(10, 0), zone), ["P1D"], 0),
    )
    booked: list[Booked] = []
    for (name, phone), start, offsets, texts in plans:
        body = {
            "phone": phone,
            "starts_at": start.isoformat(),
            "timezone": clinic.timezone,
            "external_id": f"visit-{name.lower()}",
            "first_name": name,
            "location": "Riverside Family Clinic, 12 Main St",
            "reminders": offsets,
        }
        request = f"POST /appointments  {name}, {start:%a %d %b %H:%M}, {' and '.join(offsets)}"
        appointment = show.expect(api.call("POST", "/appointments", body), 201, request)
        show.say("\n".join(reminders_table(appointment)))
        booked.append(Booked(name, appointment, texts))
    maria, tom, aisha = booked
    reasons = {r["reason"] or "" for r in maria.appointment["reminders"]}
    _check(
        "moved_out_of_quiet_hours" in reasons,
        "Maria's 2-hour reminder (06:30) should have moved out of quiet hours",
    )
    [catch_up] = tom.appointment["reminders"]
    _check(
        catch_up["status"] == "pending" and "due_at_once" in (catch_up["reason"] or ""),
        f"Tom's late booking should have one reminder due at once, not {catch_up}",
    )
    catch_up_when = "at once" if catch_up["reason"] == "due_at_once" else "when quiet hours end"
    show.say(
        "   Maria's PT2H waits for 08:00, the end of quiet hours; Tom booked too late for P1D,\n"
        f"   so his one reminder is due {catch_up_when}; Aisha's visit will be cancelled."
    )
    return maria, tom, aisha


def _run_clock(
    reach: LocalReach,
    final_tick: datetime,
    scripted: list[tuple[datetime, Callable[[datetime], None]]],
    tick: Callable[[datetime], object],
) -> None:
    """Tick at each due moment until nothing is due before ``final_tick``, running each
    scripted action at its moment between the ticks."""
    scheduler, clock = reach.scheduler, reach.clock
    for _ in range(MAX_TICKS):
        due = scheduler.next_due(final_tick)
        moment = None if due is None else minute_ceiling(max(due, clock()))
        if scripted and (moment is None or scripted[0][0] <= moment):
            at, action = scripted.pop(0)
            action(at)
        elif moment is not None:
            tick(moment)
        else:
            return
    raise DemoFailure(f"reminders were still due after {MAX_TICKS} ticks")


def send_reminders(reach: LocalReach, show: Walkthrough, api: ApiClient, clinic: Tenant) -> None:
    """The reminders part: book, fast-forward the clock tick by tick, check every outcome."""
    show.part("Reminders go out")
    show.say(
        "EventBridge's every-minute schedule and the send queue's event source mapping, played\n"
        "locally on a clock that jumps from one due moment to the next: each tick runs the real\n"
        "dispatcher (due reminders -> SQS), then the real sender drains the queue and texts\n"
        "through the real SNS adapter into moto."
    )
    show.step("Riverside books three visits whose reminders the clock will reach")
    maria, tom, aisha = book_for_reminders(show, api, clinic)
    everyone = {b.id: b for b in (maria, tom, aisha)}
    [aisha_reminder] = aisha.appointment["reminders"]
    aisha_due = datetime.fromisoformat(aisha_reminder["send_at"])
    final_tick = minute_ceiling(max(b.starts_at for b in everyone.values())) + timedelta(minutes=1)

    show.step("The clock runs: a tick at each due moment, and one after the last start")
    scheduler, clock = reach.scheduler, reach.clock
    published: list[PublishedSms] = []
    sent: set[tuple[str, str]] = set()
    ticks = claimed = 0

    def tick(at: datetime) -> LocalTick:
        nonlocal ticks, claimed
        report = scheduler.tick(at)
        ticks += 1
        claimed += report.dispatched.get("claimed", 0)
        lines, texts = tick_lines(api, report, everyone, sent)
        published.extend(texts)
        for line in lines:
            show.say(line)
        return report

    def cancel_aisha(at: datetime) -> None:
        # A scheduling system's change arrives between ticks, as in real life.
        clock.advance_to(at)
        path = f"/appointments/{aisha.id}/cancel"
        reply = api.call("POST", path)
        _check(reply.status == HTTPStatus.OK, f"POST {path} answered {reply.status}")
        what = f"Riverside cancels Aisha's visit: POST .../cancel -> {reply.status_text}"
        show.say(timeline_line(aisha.when(at), aisha.phone, what))

    def nothing_for_aisha(at: datetime) -> None:
        report = tick(at)
        _check(
            all(t.phone != aisha.phone for t in report.published)
            and all(
                h.reminder is None or h.reminder.appointment_id != aisha.id for h in report.handoffs
            ),
            f"nothing should have been sent to Aisha at her reminder's time: {report}",
        )
        what = "nothing sent: her reminder was cancelled with the visit"
        show.say(timeline_line(aisha.when(at), aisha.phone, what))

    # What happens at a given moment besides the ticks the due reminders call for.
    scripted: list[tuple[datetime, Callable[[datetime], None]]] = [
        (aisha_due - timedelta(days=1), cancel_aisha),
        (aisha_due, nothing_for_aisha),
    ]
    _run_clock(reach, final_tick, scripted, tick)
    # After the last start nothing may be left: no reminder due, none in the queue.
    report = tick(final_tick)
    _check(
        not report.handoffs and not report.published,
        f"nothing should be left to send after the last start: {report}",
    )
    show.say(f"   {aisha.when(final_tick)}  final tick, after the last start: nothing left to send")
    show.say(
        f"   {ticks} ticks; the dispatcher claimed {claimed} reminders, "
        f"the sender put {len(published)} texts into moto's SNS."
    )

    show.step("Each appointment's reminders, as GET /appointments/{id} reports them")
    for person in (maria, tom, aisha):
        current = read(api, f"/appointments/{person.id}")
        show.say(f"   {person.first_name}: {person.id}, {current['status']}")
        show.say("\n".join(reminders_table(current)))
        statuses = [r["status"] for r in current["reminders"]]
        texts = [t for t in published if t.phone == person.phone]
        if person.expected_texts:
            _check(
                statuses == ["sent"] * person.expected_texts,
                f"{person.first_name}'s reminders should all have been sent, not {statuses}",
            )
        else:
            _check(
                current["status"] == "cancelled" and statuses == ["cancelled"],
                f"{person.first_name}'s visit and reminder should be cancelled, not {statuses}",
            )
        _check(
            len(texts) == person.expected_texts,
            f"{person.first_name} should have got {person.expected_texts} texts, not {len(texts)}",
        )
        for text in texts:
            _check(
                person.first_name in text.body and clinic.name in text.body,
                f"{person.first_name}'s text should name them and {clinic.name}: {text.body!r}",
            )


def two_way(reach: LocalReach, show: Walkthrough, api: ApiClient, clinic: Tenant) -> None:
    """The replies part: the local phone plays the recipient answering a reminder."""
    show.part("The recipient answers")
    show.say(
        "The local phone texts Reach as the recipient would: the reply goes to the inbound SNS\n"
        "topic, SQS delivers it to the real inbound function, and what comes back is shown:\n"
        "the answer texted to the phone, and the event a clinic's EventBridge rule receives."
    )
    zone = ZoneInfo(clinic.timezone)
    clock, phone = reach.clock, reach.phone
    day = (clock().astimezone(zone) + timedelta(days=3)).date()
    start = _at(day, time(10, 0), zone)
    show.step(f"Riverside books Leo for {start:%a %d %b at %H:%M}, reminders P1D and PT2H")
    body = {
        "phone": LEO_PHONE,
        "starts_at": start.isoformat(),
        "timezone": clinic.timezone,
        "first_name": "Leo",
        "reminders": ["P1D", "PT2H"],
    }
    booked = Booked("Leo", show.expect(api.call("POST", "/appointments", body), 201, "POST"), 2)
    path = f"/appointments/{booked.id}"
    first_due = datetime.fromisoformat(booked.appointment["reminders"][0]["send_at"])
    report = reach.scheduler.tick(minute_ceiling(first_due))
    [reminder] = [t for t in report.published if t.phone == booked.phone]
    show.say(timeline_line(booked.when(reminder.published_at), booked.phone, sent_text(reminder)))
    # The carrier's receipt, through the delivery events topic to the real status function
    clock.advance(timedelta(seconds=4))
    _check(not reach.carrier.report(reminder.message_id), "the receipt should be applied")
    show.say(timeline_line(booked.when(clock()), booked.phone, "carrier: TEXT_DELIVERED"))

    def text(words: str, *, answering: str | None = None) -> ReplyReport:
        clock.advance(timedelta(minutes=2))
        result = phone.reply(
            booked.phone, clinic.sender_number, words, previous_message_id=answering
        )
        show.say(timeline_line(booked.when(clock()), booked.phone, f'texts "{words}"'))
        for answer in result.answers:
            show.say(timeline_line(booked.when(clock()), answer.phone, f'<- "{answer.body}"'))
        if not result.answers:
            show.say(f"   {'':<21}{'':<13}<- no answer")
        for event in result.events:
            detail = event["detail"]
            ids = ", ".join(
                f"{k}={v}" for k, v in detail.items() if k.endswith("_id") and k != "event_id"
            )
            show.say(f"   {'':<21}{'':<13}event {event['detail-type']}  {ids}")
        return result

    show.step('Leo answers the reminder "Yes"')
    confirmed = text("Yes", answering=reminder.message_id)
    now = read(api, path)
    show.say(f"   GET {path}: status {now['status']}, version {now['version']}")
    _check(now["status"] == "confirmed", f"Leo's visit should be confirmed, not {now['status']}")
    _check(
        [e["detail-type"] for e in confirmed.events] == ["AppointmentConfirmed"]
        and len(confirmed.answers) == 1,
        f"a confirmation should answer once and publish AppointmentConfirmed: {confirmed}",
    )

    show.step('Leo asks for a call: "can you call me?"')
    called = text("can you call me?")
    callbacks = read(api, "/callbacks?status=open")
    for item in callbacks["items"]:
        show.say(f"   GET /callbacks: {item['id']} expected by {_local_time(item['expected_by'])}")
    _check(
        len(callbacks["items"]) == 1
        and [e["detail-type"] for e in called.events] == ["CallbackRequested"],
        f"a call request should open one callback and publish CallbackRequested: {called}",
    )

    show.step('Leo opts out with "Stop. Thank you", asks for HELP, then says "thanks!"')
    stopped = text("Stop. Thank you")
    helped = text("HELP")
    thanked = text("thanks!")
    now = read(api, path)
    show.say("\n".join(reminders_table(now)))
    _check(
        len(stopped.answers) == 1 and "START" in stopped.answers[0].body,
        f"the opt-out should be confirmed by exactly one text: {stopped}",
    )
    # HELP is answered, opted out or not (docs/facts.md#help-and-stop); nothing else is.
    _check(
        len(helped.answers) == 1 and "Msg & data rates may apply" in helped.answers[0].body,
        f"HELP should get the program's answer even after the opt-out: {helped}",
    )
    _check(not thanked.answers, f"nothing but HELP and STOP answers may reach Leo now: {thanked}")
    _check(
        any(r["status"] == "skipped" and r["reason"] == "opted_out" for r in now["reminders"]),
        "Leo's pending 2-hour reminder should be skipped for the opt-out",
    )

    show.step(f"The conversation, as GET {path}/messages reports it")
    messages = read(api, f"{path}/messages")["items"]
    for message in messages:
        arrow = "->" if message["direction"] == "inbound" else "<-"
        what = (message["body"] or "")[:60]
        show.say(
            f"   {_local_time(message['created_at'])}  {arrow} {message['status']:<11} "
            f"{message['intent'] or '':<22} {what!r}"
        )
    _check(
        messages[0]["direction"] == "outbound" and messages[0]["status"] == "delivered",
        f"Leo's reminder should show the carrier's receipt (delivered): {messages[0]}",
    )


def service_visit(reach: LocalReach, show: Walkthrough, api: ApiClient, company: Tenant) -> None:
    """The field-service part: an arrival window, the evening-before and morning-of
    reminders at local times, an on-the-way notice, and the customer's "not home" reply to
    it with its event."""
    show.part("A service visit")
    show.say(
        f"{company.name} books an arrival window, not a minute. Without reminders of its own,\n"
        "a service visit is reminded at 18:00 the evening before and 07:30 on the morning of,\n"
        "in the customer's local time; the customer can answer that nobody will be home."
    )
    zone = ZoneInfo(company.timezone)
    clock, (name, phone) = reach.clock, ROSA
    day = (clock().astimezone(zone) + timedelta(days=3)).date()
    opens, closes = _at(day, time(9, 0), zone), _at(day, time(13, 0), zone)
    show.step(f"{company.name} books {name}'s visit for {opens:%a %d %b}, 9 AM to 1 PM")
    body = {
        "phone": phone,
        "kind": "service_visit",
        "starts_at": opens.isoformat(),
        "window_ends_at": closes.isoformat(),
        "timezone": company.timezone,
        "first_name": name,
        "technician_name": "Luis",
    }
    visit = show.expect(api.call("POST", "/appointments", body), 201, "POST /appointments")
    booked = Booked(name, visit, 2)
    show.say("\n".join(reminders_table(visit)))
    _check(
        visit["reminder_offsets"] == ["P1D@18:00", "@07:30"]
        and [r["status"] for r in visit["reminders"]] == ["pending", "pending"],
        f"a service visit should be reminded the evening before and the morning of: {visit}",
    )
    show.say(
        f"   07:30 is inside quiet hours {company.quiet_hours}: the morning-of waits for 08:00."
    )

    show.step("The clock reaches each reminder; both say the window in local time")
    texts: list[PublishedSms] = []
    for reminder in visit["reminders"]:
        report = reach.scheduler.tick(minute_ceiling(datetime.fromisoformat(reminder["send_at"])))
        for sms in (t for t in report.published if t.phone == booked.phone):
            texts.append(sms)
            show.say(timeline_line(booked.when(sms.published_at), booked.phone, sent_text(sms)))
    _check(
        len(texts) == 2 and all("between 9 AM and 1 PM" in t.body for t in texts),
        f"{name} should get two reminders saying the window: {[t.body for t in texts]}",
    )

    notice = on_the_way(reach, show, api, booked)

    show.step(f'{name} answers the notice: "Sorry, nobody home today"')
    clock.advance(timedelta(minutes=5))
    words = "Sorry, nobody home today"
    result = reach.phone.reply(
        booked.phone, company.sender_number, words, previous_message_id=notice.message_id
    )
    show.say(timeline_line(booked.when(clock()), booked.phone, f'texts "{words}"'))
    for answer in result.answers:
        show.say(timeline_line(booked.when(clock()), answer.phone, f'<- "{answer.body}"'))
    for event in result.events:
        detail = event["detail"]
        facts = f"window {detail.get('window_starts_at')} to {detail.get('window_ends_at')}"
        show.say(f"   {'':<21}{'':<13}event {event['detail-type']}  {facts}")
    now = read(api, f"/appointments/{booked.id}")
    show.say(
        f"   GET /appointments/{booked.id}: status {now['status']}, customer_status "
        f"{now['customer_status']}: {company.name} decides what happens to the visit"
    )
    _check(
        # The notice's NoticeSent was read off the bus when it was recorded.
        [e["detail-type"] for e in result.events] == ["CustomerNotHome"]
        and len(result.answers) == 1
        and now["customer_status"] == "not_home"
        and now["status"] == "scheduled",
        f"not home should mark the visit, answer once and publish CustomerNotHome: {result}",
    )


def on_the_way(
    reach: LocalReach, show: Walkthrough, api: ApiClient, booked: Booked
) -> PublishedSms:
    """The technician sets off: a notice goes out at once, through the send path."""
    clock = reach.clock
    clock.advance(timedelta(minutes=50))
    show.step("Luis sets off: the company sends an on-the-way notice, ETA in 25 minutes")
    body = {"type": "on_the_way", "eta_minutes": 25, "link": "https://track.example.com/t/8f3k"}
    notice = show.expect(
        api.call("POST", f"/appointments/{booked.id}/notices", body),
        202,
        f"POST /appointments/{booked.id}/notices",
    )
    show.say(f"   202: notice {notice['id']} {notice['status']}, eta {_local_time(notice['eta'])}")
    report = reach.scheduler.tick()
    texts = [t for t in report.published if t.phone == booked.phone]
    for sms in texts:
        show.say(timeline_line(booked.when(sms.published_at), booked.phone, sent_text(sms)))
    _check(
        len(texts) == 1 and "on the way" in texts[0].body and "around" in texts[0].body,
        f"the notice should go out at once, saying the ETA: {[t.body for t in texts]}",
    )
    again = api.call("POST", f"/appointments/{booked.id}/notices", body)
    show.say(
        f"   The same notice asked again: {again.status}, notice {again.body['id']}; "
        "nothing is sent twice"
    )
    _check(
        again.status == 200 and again.body["id"] == notice["id"],
        f"a repeated notice should answer with the first: {again.status} {again.body}",
    )
    unwaited(reach, show, api, booked, {**body, "eta_minutes": 24})
    return texts[0]


def unwaited(
    reach: LocalReach, show: Walkthrough, api: ApiClient, booked: Booked, body: dict[str, Any]
) -> None:
    """The dispatch system asks without waiting (``Prefer: respond-async``): answered after
    one write, checked by the sender, which skips a repeat and says so on the bus."""
    show.step("The dispatch app taps again without waiting for the checks (respond-async)")
    path = f"/appointments/{booked.id}/notices"
    asked = api.call("POST", path, body, headers={"Prefer": "respond-async"})
    show.say(
        f"   {asked.status_text}: notice {asked.body['id']} {asked.body['status']} "
        f"(Preference-Applied: {asked.headers.get('Preference-Applied')}; one AWS call)"
    )
    report = reach.scheduler.tick()
    again = [t for t in report.published if t.phone == booked.phone]
    events = reach.phone.bus_events()
    for event in events:
        detail = event["detail"]
        facts = (
            f"{detail.get('notice_type')}  eta {detail.get('eta')}"
            if event["detail-type"] == "NoticeSent"
            else f"reason {detail.get('reason')}"
        )
        show.say(f"   {'':<21}{'':<13}event {event['detail-type']}  {facts}")
    show.say("   The sender found the same ETA give or take 5 minutes: skipped, nothing sent")
    _check(
        asked.status == 202
        and asked.headers.get("Preference-Applied") == "respond-async"
        and not again
        and [e["detail-type"] for e in events] == ["NoticeSent", "NoticeSkipped"]
        and events[1]["detail"].get("reason") == "repeat",
        f"a repeat asked without waiting should be skipped and announced: {asked} {events}",
    )


def run_demo(out: TextIO | None = None, part: str = "all") -> int:
    """Start the local stack, run the script, stop; 0 when every step behaved."""
    stream = sys.stdout if out is None else out
    stream.write(
        "Reach local demo: the real authorizer, API, dispatcher and sender functions, "
        "no AWS account.\n"
    )
    # Metrics would print one CloudWatch EMF JSON line per call, drowning the script.
    with LocalReach(
        log_level="WARNING",
        extra_environment={"POWERTOOLS_METRICS_DISABLED": "true"},
        table_prefix="reach-demo",
    ) as reach:
        try:
            walk_through(reach, stream, part)
        except DemoFailure as failure:
            print(f"\nreach-local demo failed: {failure}", file=sys.stderr)
            return 1
        except (KeyError, TypeError) as error:
            # A body without a field the contract promises.
            print(
                f"\nreach-local demo failed: unexpected response body ({error!r})", file=sys.stderr
            )
            return 1
        except Exception as error:
            # A function or the embedded AWS failed: the trace says where, the last line what.
            traceback.print_exc(file=sys.stderr)
            print(f"\nreach-local demo failed: {error!r}", file=sys.stderr)
            return 1
    return 0
