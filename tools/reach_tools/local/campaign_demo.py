"""The lists-and-campaigns part of ``reach-local demo`` (``reach-local demo campaign`` runs it
alone): a food bank makes an opt-in list, a phone joins it by texting the keyword, a CSV
import brings in members from other time zones (and reports the rows it refused), and a
campaign goes out through the real dispatcher and sender, held for the one member whose
local quiet hours it would break, until those hours end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reach.domain.models import Tenant
from reach.domain.quiet_hours import QuietHours
from reach_tools.local.demo import (
    ApiClient,
    DemoFailure,
    Walkthrough,
    _check,
    minute_ceiling,
    read,
    sent_text,
    timeline_line,
)
from reach_tools.local.recipient import ReplyReport
from reach_tools.local.scheduler import LocalTick
from reach_tools.local.stack import LocalReach

FOOD_BANK = ("Eastside Food Bank", "America/New_York", "+12025550160")
#: Texts the keyword: no time zone given, so the number's area (Washington DC) decides it.
JOINER = "+12025550163"
#: The campaign starts at this local time of the food bank: 09:00 in Los Angeles, but 07:00
#: (06:00 in summer) in Honolulu, inside the default quiet hours there.
CAMPAIGN_LOCAL_START = time(12, 0)
#: Ticks after the held member's hours open, before the campaign must be completed: its
#: finish is decided on the tick after the last text left.
FINISH_TICKS = 5
MESSAGE = (
    "Hi {first_name}, Eastside Food Bank: pick-up moves to Saturday 10am-1pm at the church "
    "hall. Reply STOP ALERTS to leave."
)


@dataclass(frozen=True)
class Member:
    first_name: str
    phone: str
    zone: ZoneInfo

    def when(self, moment: datetime) -> str:
        return f"{moment.astimezone(self.zone):%a %d %b %H:%M %Z}"


IMPORTED = (
    Member("Jamal", "+13105550161", ZoneInfo("America/Los_Angeles")),
    Member("Keala", "+18085550162", ZoneInfo("Pacific/Honolulu")),
)


def import_csv(consented: datetime) -> str:
    """Two good rows and three that the import must refuse, one reason each."""
    at = consented.isoformat(timespec="seconds")
    jamal, keala = IMPORTED
    return "\n".join(
        (
            "phone,first_name,timezone,consent_source,consent_at,evidence",
            f"{jamal.phone},Jamal,America/Los_Angeles,paper_form,{at},sign-up sheet 12",
            f"{keala.phone},Keala,Pacific/Honolulu,web_form,{at},form submission 4411",
            f"555-01,Ana,America/New_York,web_form,{at},form submission 4412",
            f"+12025550164,Ben,America/New_York,,{at},",
            "+12025550165,Cara,America/New_York,paper_form,last tuesday,sign-up sheet 12",
        )
    )


def campaign_start(now: datetime, zone: ZoneInfo) -> datetime:
    """The first ``CAMPAIGN_LOCAL_START`` in ``zone`` at least a minute after ``now``."""
    local = now.astimezone(zone)
    for days in range(3):
        candidate = datetime.combine(
            local.date() + timedelta(days=days), CAMPAIGN_LOCAL_START, tzinfo=zone
        )
        if candidate >= now + timedelta(minutes=1):
            return candidate
    raise AssertionError("a local noon always comes within three days")


def lists_and_campaigns(reach: LocalReach, show: Walkthrough) -> None:
    """Create a list, join it by keyword, import members, and run a campaign to them."""
    show.part("Lists and campaigns")
    show.say(
        "A food bank texts alerts to people who opted in: by texting its keyword, or on a form\n"
        "it imports. A campaign reaches each member inside their own local allowed hours, at\n"
        "the number's pace: a member for whom it is still night is held, not dropped."
    )
    tenant, issued = reach.create_tenant(*FOOD_BANK)
    api = ApiClient(reach.api_url, issued.secret)
    show.say(f"   tenant {tenant.name} {tenant.tenant_id}, number {tenant.sender_number}")
    list_id = create_list(show, api)
    joiner = keyword_sign_up(reach, show, tenant)
    import_members(reach, show, api, list_id)
    members = (joiner, *IMPORTED)
    campaign = schedule_campaign(reach, show, api, tenant, list_id)
    run_campaign(reach, show, api, tenant, campaign, members)


def create_list(show: Walkthrough, api: ApiClient) -> str:
    show.step("Eastside Food Bank creates an opt-in list with the keyword ALERTS")
    body = {
        "name": "Pantry Alerts",
        "keyword": "ALERTS",
        "description": "Pick-up changes and urgent food bank news",
        "frequency": {"messages": 4, "per": "month"},
        "purpose": "informational",
        "double_opt_in": False,
    }
    created = show.expect(api.call("POST", "/lists", body), 201, "POST /lists")
    show.say(f"   {created['id']}: keyword {created['keyword']}, {created['purpose']}")
    show.say(f'   who texts the keyword is answered: "{created["confirmation_text"]}"')
    return str(created["id"])


def keyword_sign_up(reach: LocalReach, show: Walkthrough, tenant: Tenant) -> Member:
    show.step('A phone texts "join alerts" to the food bank\'s number')
    joiner = Member("(no name)", JOINER, ZoneInfo(tenant.timezone))
    reach.clock.advance(timedelta(minutes=1))
    result = reach.phone.reply(JOINER, tenant.sender_number, "join alerts")
    show.say(timeline_line(joiner.when(reach.clock()), JOINER, 'texts "join alerts"'))
    show_reply(show, joiner, reach.clock(), result)
    bodies = [answer.body for answer in result.answers]
    _check(
        len(bodies) == 1
        and "you're signed up" in bodies[0]
        and "Msg & data rates may apply" in bodies[0]
        and "STOP ALERTS" in bodies[0],
        f"the keyword should be answered with the carrier confirmation: {result}",
    )
    _check(
        "ListJoined" in [e["detail-type"] for e in result.events],
        f"the sign-up should publish ListJoined: {result.events}",
    )
    return joiner


def show_reply(show: Walkthrough, member: Member, at: datetime, result: ReplyReport) -> None:
    for answer in result.answers:
        show.say(timeline_line(member.when(at), answer.phone, f'<- "{answer.body}"'))
    show_events(show, result.events)


def show_events(show: Walkthrough, events: Sequence[Mapping[str, Any]]) -> None:
    for event in events:
        detail = event["detail"]
        # Ids and counts: an event carries no message text and no phone number.
        facts = ", ".join(
            f"{k}={v}"
            for k, v in detail.items()
            if (k.endswith("_id") and k not in ("event_id", "tenant_id"))
            or (isinstance(v, int) and v)
        )
        show.say(f"   {'':<21}{'':<13}event {event['detail-type']}  {facts}")


def import_members(reach: LocalReach, show: Walkthrough, api: ApiClient, list_id: str) -> None:
    show.step("It imports a sign-up sheet: a CSV of five rows, three of them unusable")
    csv = import_csv(datetime.now(ZoneInfo(FOOD_BANK[1])) - timedelta(days=10))
    for line in csv.splitlines():
        show.say(f"     {line}")
    path = f"/lists/{list_id}/imports"
    record = show.expect(api.send_csv(path, csv), 201, f"POST {path} (text/csv)")
    report = record["report"]
    show.say(
        f"   {record['id']} {record['status']}: {report['rows']} rows, accepted "
        f"{report['accepted']}, duplicates {report['duplicates']}, rejected "
        f"{report['rejected_count']}"
    )
    for row in report["rejected"]:
        show.say(f"     row {row['row']}  {row['field']:<15} {row['reason']}")
    joined = later_events(reach, show)
    _check(
        report["accepted"] == len(IMPORTED)
        and sorted(row["row"] for row in report["rejected"]) == [4, 5, 6]
        and [e["detail-type"] for e in joined] == ["ListJoined"] * len(IMPORTED),
        f"the import should accept two rows and reject rows 4, 5 and 6: {report}",
    )
    counts = read(api, f"/lists/{list_id}")["counts"]
    show.say(f"   GET /lists/{list_id}: members {counts}")
    _check(counts.get("active") == 1 + len(IMPORTED), f"three members should be active: {counts}")


def schedule_campaign(
    reach: LocalReach, show: Walkthrough, api: ApiClient, tenant: Tenant, list_id: str
) -> dict[str, Any]:
    zone = ZoneInfo(tenant.timezone)
    send_at = campaign_start(reach.clock(), zone)
    show.step(f"It schedules a campaign to the list for {send_at:%a %d %b at %H:%M %Z}")
    body = {
        "name": "Saturday pick-up",
        "list_id": list_id,
        "message": MESSAGE,
        "send_at": send_at.isoformat(),
    }
    show.say(f"   message: {MESSAGE!r}")
    campaign = show.expect(api.call("POST", "/campaigns", body), 201, "POST /campaigns")
    forecast, parts = campaign["forecast"], campaign["parts"]
    show.say(
        f"   {campaign['id']}: {campaign['status']}, {parts} part{'s' if parts != 1 else ''}, "
        f"{campaign['encoding']}; forecast for {forecast['recipients']} recipients at "
        f"{forecast['mps']:g} MPS:"
    )
    for window in forecast["windows"]:
        opens = datetime.fromisoformat(window["opens_at"]).astimezone(zone)
        show.say(f"     {window['recipients']} from {opens:%a %d %b %H:%M %Z}")
    cost = forecast["cost"]
    show.say(
        f"     spills_into_quiet_hours {str(forecast['spills_into_quiet_hours']).lower()} "
        f"(held {forecast['held']}), estimated cost {cost['amount']} {cost['currency']}"
    )
    _check(
        forecast["spills_into_quiet_hours"] is True and forecast["held"] == 1,
        f"the forecast should hold one recipient (Honolulu) to a later window: {forecast}",
    )
    return dict(campaign)


def run_campaign(
    reach: LocalReach,
    show: Walkthrough,
    api: ApiClient,
    tenant: Tenant,
    campaign: Mapping[str, Any],
    members: Sequence[Member],
) -> None:
    path = f"/campaigns/{campaign['id']}"
    by_phone = {m.phone: m for m in members}
    held = [m for m in members if m.zone.key == "Pacific/Honolulu"]
    send_at = datetime.fromisoformat(campaign["send_at"])
    show.step("The clock reaches send_at: a tick starts the campaign and sends what it may")
    first = tick(reach, show, by_phone, send_at)
    started = later_events(reach, show)
    waiting = read(api, f"{path}/recipients?status=held")["items"]
    for item in waiting:
        member = by_phone[item["phone"]]
        what = f"held ({item['reason']}): quiet hours {tenant.quiet_hours} there, local time"
        show.say(timeline_line(member.when(first.at), member.phone, what))
    progress = show_progress(show, api, path)
    _check(
        progress["status"] == "sending"
        and progress["counts"]["sent"] == len(members) - len(held)
        and progress["counts"]["held"] == len(held)
        and {sms.phone for sms in first.published} == set(by_phone) - {m.phone for m in held}
        and "CampaignStarted" in [e["detail-type"] for e in started]
        and [item["phone"] for item in waiting] == [m.phone for m in held],
        f"all but the Honolulu member should be texted, that one held: {progress}",
    )

    opens = quiet_hours_end(tenant, held[0], send_at)
    show.step(f"The clock passes the quiet hours in Honolulu ({held[0].when(opens)})")
    later = tick(reach, show, by_phone, opens)
    _check(
        [sms.phone for sms in later.published] == [held[0].phone],
        f"the held member should be texted once the hours open: {later.published}",
    )
    events = [*later_events(reach, show)]
    for _ in range(FINISH_TICKS):
        progress = read(api, path)
        if progress["status"] == "completed":
            break
        tick(reach, show, by_phone, reach.clock() + timedelta(minutes=1))
        events += later_events(reach, show)
    progress = show_progress(show, api, path)
    finished = [e for e in events if e["detail-type"] == "CampaignFinished"]
    _check(
        progress["status"] == "completed"
        and progress["counts"]["sent"] == len(members)
        and progress["counts"]["held"] == 0
        and len(finished) == 1,
        f"the campaign should complete with everyone texted and CampaignFinished: {progress}",
    )


def tick(
    reach: LocalReach, show: Walkthrough, by_phone: Mapping[str, Member], at: datetime
) -> LocalTick:
    """One tick at the first whole minute at or after ``at``, its texts on the timeline."""
    # The food bank's own zone, for a tick that texted no one.
    zone = ZoneInfo(FOOD_BANK[1])
    report = reach.scheduler.tick(minute_ceiling(at))
    for sms in report.published:
        member = by_phone.get(sms.phone)
        when = member.when(sms.published_at) if member else f"{sms.published_at:%a %d %b %H:%M}"
        show.say(timeline_line(when, sms.phone, sent_text(sms)))
    if not report.published:
        show.say(f"   {report.at.astimezone(zone):%a %d %b %H:%M %Z}  tick: nothing left to send")
    return report


def later_events(reach: LocalReach, show: Walkthrough) -> list[Mapping[str, Any]]:
    events = reach.phone.bus_events()
    show_events(show, events)
    return events


def show_progress(show: Walkthrough, api: ApiClient, path: str) -> dict[str, Any]:
    progress = dict(read(api, path))
    counts = progress["counts"]
    shown = ", ".join(f"{k} {v}" for k, v in counts.items() if k != "skipped")
    show.say(f"   GET {path}: {progress['status']}; {shown}, skipped {counts['skipped'] or 0}")
    return progress


def quiet_hours_end(tenant: Tenant, member: Member, at: datetime) -> datetime:
    """When the tenant's quiet hours, read in the member's zone, end after ``at``."""
    period = QuietHours.parse(tenant.quiet_hours).period_at(at, member.zone)
    if period is None:
        raise DemoFailure(f"{member.first_name} should be in quiet hours at {member.when(at)}")
    return period.ends
