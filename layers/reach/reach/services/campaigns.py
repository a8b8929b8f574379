"""Campaigns for the tenant: create one (its text checked, its send forecast), read its
progress and recipients, pause, resume or cancel it. The sending is the dispatcher's.

Decisions the issue left open:
- The text must name the program: the tenant's name, found in it ignoring case and runs of
  spaces (carriers require recurring texts to say who sends them; docs/facts.md#help-and-stop).
- Its size is counted with ``{first_name}`` filled with the longest name of the worst-case
  sample (``WORST_CASE_SAMPLE``, "Konstantinos"): what fits 4 parts then fits for nearly
  everyone, and the campaign's ``parts`` is that count.
- Health details: Reach records no "healthcare tenant" flag (a Tenant has no sector; every
  tenant's default kind is a clinic visit), and no text of Reach's may carry health
  information. So the health-details lint applies to every tenant's campaign text.
- ``send_at`` a little in the past (up to ``_PAST_GRACE``: clock skew, "now" typed by hand)
  starts the campaign at the next tick. Further back it is refused: a date hours or days gone
  is almost always a typo (year, offset), and a mass text sent by mistake cannot be undone.
- A ``list_id`` the tenant does not have is refused with 422 naming it: the request is at
  fault, not the URL (404 stays for the campaign in the path).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from reach.clock import Clock
from reach.data.campaigns import CampaignRepository, RecipientPage
from reach.data.lists import ListRepository
from reach.data.numbers import NumberRepository
from reach.data.tenants import TenantRepository
from reach.domain.campaigns import Campaign, CampaignStatus
from reach.domain.errors import InvalidInput, NotFound
from reach.domain.forecast import Forecast, ForecastPlan, recipient_zones
from reach.domain.lists import MemberStatus, OptInList
from reach.domain.models import Tenant
from reach.domain.phones import region_of
from reach.domain.prices import SMS_PRICES
from reach.domain.quiet_hours import QuietHours
from reach.domain.rendering import WORST_CASE_SAMPLE, field_value
from reach.domain.segments import SegmentCount, count_segments
from reach.domain.template_review import health_details
from reach.domain.templates import InvalidTemplate, template_pieces
from reach.domain.zones import load_zone

#: The longest a campaign text may be, in SMS parts (with the worst-case first name).
MAX_PARTS = 4
#: How far in the past ``send_at`` may be and still mean "now".
_PAST_GRACE = timedelta(minutes=5)
#: The only field a campaign text may name.
_FIELDS = frozenset({"first_name"})
#: Reminders counted for a forecast at most (a bound on the read, not on the reminders).
REMINDERS_BOUND = 10_000


@dataclass(frozen=True)
class NewCampaign:
    name: str
    list_id: str
    message: str
    send_at: datetime


@dataclass(frozen=True)
class CampaignPlan:
    """A campaign as created (None for a dry run) with its text's size and forecast."""

    campaign: Campaign | None
    segments: SegmentCount
    forecast: Forecast


@dataclass(frozen=True)
class CampaignProgress:
    campaign: Campaign
    counts: dict[str, int]


class CampaignService:
    def __init__(
        self,
        campaigns: CampaignRepository,
        lists: ListRepository,
        tenants: TenantRepository,
        numbers: NumberRepository,
        clock: Clock,
    ) -> None:
        self._campaigns = campaigns
        self._lists = lists
        self._tenants = tenants
        self._numbers = numbers
        self._clock = clock

    def create(
        self, tenant_id: str, request: NewCampaign, *, dry_run: bool = False
    ) -> CampaignPlan:
        """Check the campaign, forecast it, and (unless ``dry_run``) store it scheduled."""
        now = self._clock()
        tenant = self._tenants.get(tenant_id)
        segments = check_message(request.message, tenant.name)
        send_at = _send_at(request.send_at, now)
        plist = self._list(tenant_id, request.list_id)
        forecast = self.forecast(tenant, plist, send_at, segments.parts)
        if dry_run:
            return CampaignPlan(None, segments, forecast)
        campaign = Campaign(
            tenant_id=tenant_id,
            campaign_id=f"cmp_{uuid.uuid4().hex}",
            list_id=plist.list_id,
            name=request.name,
            message=request.message,
            parts=segments.parts,
            encoding=segments.encoding.value,
            send_at=send_at,
            status=CampaignStatus.SCHEDULED,
            created_at=now,
            updated_at=now,
            estimated_finish=forecast.estimated_finish,
        )
        return CampaignPlan(self._campaigns.create(campaign), segments, forecast)

    def forecast(self, tenant: Tenant, plist: OptInList, send_at: datetime, parts: int) -> Forecast:
        """The send of a ``parts``-part text to the list's active members from ``send_at``:
        the members are read a page at a time, never all at once."""
        pace = self._numbers.throughput_of(tenant.sender_number)
        plan = ForecastPlan(send_at, parts, pace.mps, QuietHours.parse(tenant.quiet_hours))
        for member in self._lists.each_member(tenant.tenant_id, plist.list_id, MemberStatus.ACTIVE):
            zones = recipient_zones(member.phone, member.timezone, tenant.timezone)
            plan.add([load_zone(zone) for zone in zones], region_of(member.phone))
        reminders, at_least = self._campaigns.reminders_due(
            tenant.tenant_id, send_at, plan.finish(), bound=REMINDERS_BOUND
        )
        return plan.forecast(
            origination_type=pace.origination_type.value,
            prices=SMS_PRICES,
            reminders_due=reminders,
            reminders_due_at_least=at_least,
        )

    def progress(self, tenant_id: str, campaign_id: str) -> CampaignProgress:
        campaign = self._campaigns.get(tenant_id, campaign_id)
        return CampaignProgress(campaign, self._campaigns.counts(tenant_id, campaign_id))

    def act(self, tenant_id: str, campaign_id: str, action: str) -> CampaignProgress:
        """Pause, resume or cancel; Conflict from a status that cannot. The dispatcher reads
        the status every tick, so the change takes effect within one."""
        campaign = self._campaigns.act(tenant_id, campaign_id, action, self._clock())
        return CampaignProgress(campaign, self._campaigns.counts(tenant_id, campaign_id))

    def recipients(
        self,
        tenant_id: str,
        campaign_id: str,
        status: str | None,
        limit: int,
        next_token: str | None,
    ) -> RecipientPage:
        self._campaigns.get(tenant_id, campaign_id)  # NotFound across tenants
        return self._campaigns.recipients(tenant_id, campaign_id, status, limit, next_token)

    def _list(self, tenant_id: str, list_id: str) -> OptInList:
        try:
            return self._lists.get(tenant_id, list_id)
        except NotFound:
            raise InvalidInput("list_id", f"no list {list_id} for this tenant") from None


def check_message(message: str, program: str) -> SegmentCount:
    """The text's size with the worst-case first name; InvalidInput naming ``message`` when
    it names another field, lacks the program name, runs over ``MAX_PARTS`` parts or gives
    health details."""
    try:
        pieces = template_pieces(message)
    except InvalidTemplate as error:
        raise InvalidInput("message", error.reason) from None
    others = sorted({name for _, name in pieces if name is not None} - _FIELDS)
    if others:
        listed = ", ".join(f"{{{name}}}" for name in others)
        raise InvalidInput("message", f"may use only {{first_name}}; not {listed}")
    if _folded(program) not in _folded(message):
        raise InvalidInput(
            "message", f"must name the program, '{program}', so people know who texts them"
        )
    health = health_details(message)
    if health:
        raise InvalidInput(
            "message",
            "may not give health details (" + ", ".join(health) + "): a list text reaches "
            "everyone on it, and must say nothing of anyone's health",
        )
    name = field_value(WORST_CASE_SAMPLE["first_name"])
    rendered = "".join(literal + (name if field else "") for literal, field in pieces)
    segments = count_segments(rendered)
    if segments.parts > MAX_PARTS:
        raise InvalidInput(
            "message",
            f"takes {segments.parts} SMS parts ({segments.encoding.value}) with a long first "
            f"name ('{name}'); at most {MAX_PARTS}",
        )
    return segments


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def _send_at(send_at: datetime, now: datetime) -> datetime:
    if send_at.tzinfo is None:
        raise InvalidInput("send_at", "needs a UTC offset, e.g. 2026-03-08T10:00:00-05:00")
    if send_at < now - _PAST_GRACE:
        raise InvalidInput(
            "send_at",
            f"is in the past; a campaign starts at most {int(_PAST_GRACE.total_seconds() // 60)} "
            "minutes late (give the current time to send now)",
        )
    return max(send_at, now)
