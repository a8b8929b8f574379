"""Campaign messages, the third outbound kind: one list member's text of a campaign.

A campaign text may go while its campaign is sending, its member is still active on the list,
and the list's declared frequency allows one more. A paused campaign defers it (back to the
due index, never skipped); a cancelled one ends it. Its start transaction checks that the
campaign is still sending and writes the member's frequency log on the member's version,
still active: so a cancel, a "STOP <keyword>" or a removal that lands before the text is
handed to the provider stops it, and the path's consent check does the same for a STOP.

Quiet hours are judged in every zone the member may be in: their own time zone, or each zone
of the number's area (``reach.domain.recipient_zones``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.transactions import TransactWrite

from reach.data.batch_reads import ItemKey
from reach.data.lists import ListRepository
from reach.data.recipients import CAMPAIGN_ITEM
from reach.data.reminders import Guard
from reach.data.tables import (
    CAMPAIGN_SK,
    MEMBER_SK,
    AppointmentsTableItem,
    CampaignItem,
    MemberItem,
    campaign_pk,
    member_pk,
)
from reach.domain.campaigns import CampaignStatus
from reach.domain.lists import Frequency, Member, MemberStatus
from reach.domain.models import Tenant
from reach.domain.recipient_zones import recipient_zones
from reach.ports.events import DomainEvent, EventType, event_id_for
from reach.ports.send_queue import QueuedReminder
from reach.services.membership import recipient_ref
from reach.services.sending.kind import Deferred, Outgoing, Stale

#: The registry name, and the item family the send path moves (a ``RecipientItem``).
CAMPAIGN = CAMPAIGN_ITEM
#: How long a paused campaign's text waits before it is looked at again: one dispatcher tick
#: (a resume takes effect within one).
PAUSED_RECHECK = timedelta(minutes=1)
#: How long a campaign text stays worth sending: longer than any hold for quiet hours (at
#: most 16 hours, plus the spread of a number's zones), short enough that the provider
#: drops a text it could not deliver by the next day.
CAMPAIGN_TEXT_LIFETIME = timedelta(hours=24)
#: ``{first_name}`` for a member who gave none.
FIRST_NAME_FALLBACK = "there"


@dataclass(frozen=True)
class CampaignToSend:
    """What a campaign text is rendered and guarded from, as read for this send."""

    tenant_id: str
    campaign_id: str
    message: str
    member: Member
    frequency: Frequency
    #: When it was decided: the time the member's frequency log records.
    at: datetime


class CampaignKind:
    """A campaign's texts, re-checked against the campaign, the member and the list."""

    name = CAMPAIGN

    def __init__(self, lists: ListRepository | None = None) -> None:
        self._lists = lists or ListRepository()

    def wants(self, queued: QueuedReminder) -> Sequence[ItemKey]:
        keys = [_campaign_key(queued)]
        if queued.list_id:
            keys += [
                self._lists.member_key(queued.tenant_id, queued.list_id, queued.reminder_id),
                self._lists.list_key(queued.tenant_id, queued.list_id),
            ]
        return keys

    def load(
        self, queued: QueuedReminder, found: Mapping[ItemKey, Any], now: datetime
    ) -> Outgoing[CampaignToSend] | Stale | Deferred:
        campaign = found.get(_campaign_key(queued))
        if not isinstance(campaign, CampaignItem):
            return Stale("campaign_missing")
        status = CampaignStatus(campaign.status)
        if status is not CampaignStatus.SENDING:
            return _not_sending(status, now)
        list_id = queued.list_id or campaign.list_id
        member = self._lists.member_found(
            found, self._lists.member_key(queued.tenant_id, list_id, queued.reminder_id)
        )
        plist = self._lists.list_found(found, self._lists.list_key(queued.tenant_id, list_id))
        if member is None or plist is None or member.status is not MemberStatus.ACTIVE:
            return Stale("left_list")
        if not plist.frequency.allows(member.recent_sends, now):
            return Stale("frequency_cap")
        zones = recipient_zones(member.phone, member.timezone)
        return Outgoing(
            tenant_id=queued.tenant_id,
            phone=member.phone,
            zone=zones[0],
            zones=zones,
            deadline=now + CAMPAIGN_TEXT_LIFETIME,
            capped=False,
            subject=CampaignToSend(
                queued.tenant_id,
                campaign.campaign_id,
                campaign.message,
                member,
                plist.frequency,
                now,
            ),
        )

    def unchanged(self, outgoing: Outgoing[CampaignToSend]) -> Guard:
        return StillSending(outgoing.subject)

    def render(
        self,
        outgoing: Outgoing[CampaignToSend],
        tenant: Tenant,
        templates: Mapping[tuple[str, str], str],
    ) -> str:
        subject = outgoing.subject
        return render_campaign(subject.message, subject.member.first_name)

    def failure_event(
        self,
        outgoing: Outgoing[CampaignToSend],
        reason: str,
        occurred_at: datetime,
        message_id: str | None,
    ) -> DomainEvent:
        subject = outgoing.subject
        recipient = recipient_ref(subject.member.phone)
        ids = {"campaign_id": subject.campaign_id, "recipient": recipient}
        if message_id:
            ids["message_id"] = message_id
        return DomainEvent(
            type=EventType.DELIVERY_FAILED,
            tenant_id=subject.tenant_id,
            event_id=event_id_for(
                EventType.DELIVERY_FAILED, subject.tenant_id, subject.campaign_id, recipient
            ),
            occurred_at=occurred_at,
            ids=ids,
            data={"reason": reason, "kind": CAMPAIGN},
        )


def render_campaign(message: str, first_name: str | None) -> str:
    """The campaign's text for one member: ``{first_name}`` filled in (other braces are
    the tenant's own text, left as written)."""
    return message.replace("{first_name}", (first_name or "").strip() or FIRST_NAME_FALLBACK)


@dataclass(frozen=True)
class StillSending:
    """The start transaction's part for a campaign text: the campaign is still sending, and
    the member is still active at the version read, whose frequency log takes this send."""

    subject: CampaignToSend

    def add_to(self, transaction: TransactWrite) -> None:
        subject, member = self.subject, self.subject.member
        transaction.condition_check(
            CampaignItem,
            campaign_pk(subject.tenant_id, subject.campaign_id),
            CAMPAIGN_SK,
            condition=CampaignItem.status == CampaignStatus.SENDING.value,
        )
        sends = [*subject.frequency.prune(member.recent_sends, subject.at), subject.at]
        transaction.update(
            MemberItem(pk=member_pk(member.tenant_id, member.list_id, member.phone), sk=MEMBER_SK),
            actions=[MemberItem.recent_sends.set(sends), MemberItem.version.add(1)],
            condition=(MemberItem.version == member.version)
            & (MemberItem.status == MemberStatus.ACTIVE.value),
        )


def _campaign_key(queued: QueuedReminder) -> ItemKey:
    return ItemKey(
        AppointmentsTableItem, campaign_pk(queued.tenant_id, queued.appointment_id), CAMPAIGN_SK
    )


def _not_sending(status: CampaignStatus, now: datetime) -> Stale | Deferred:
    if status in (CampaignStatus.PAUSED, CampaignStatus.SCHEDULED):
        return Deferred(now + PAUSED_RECHECK, "paused")
    if status is CampaignStatus.CANCELLED:
        return Stale("cancelled")
    return Stale(f"campaign_{status.value}")
