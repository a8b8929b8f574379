"""Double opt-in invitations, an outbound kind: "<program> <list>: reply YES to join".

A member the tenant adds to a double opt-in list (the API, an import) is pending and gets
this one text (``reach.data.invites.ListInvites.invite``). It may go while the member is
still pending and before their YES deadline, which is its deadline; otherwise it is stale
(``not_pending``, ``expired``). The path applies the rest as for every kind: quiet hours in
the member's zone (their own, else the tenant's) hold it, never drop it; an opted-out phone
is skipped; it is not a clinic reminder, so the caps do not apply. The start transaction
checks the member is still pending at the version read, so a YES, a removal or a STOP that
lands first stops it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reach.data.batch_reads import ItemKey
from reach.data.invites import ListInvites, membership_of
from reach.data.reminders import INVITE_ITEM, Guard
from reach.data.tenants import TenantRepository
from reach.domain.lists import Member, MemberStatus, OptInList, join_request_text
from reach.domain.models import Tenant
from reach.domain.zones import load_zone
from reach.ports.events import DomainEvent, EventType, event_id_for
from reach.ports.send_queue import QueuedReminder
from reach.services.membership import recipient_ref
from reach.services.sending.kind import Outgoing, Stale

#: The registry name, and the item family the send path moves (``INVITE_ITEM``).
INVITE = INVITE_ITEM


@dataclass(frozen=True)
class InviteToSend:
    plist: OptInList
    member: Member


class InviteKind:
    """Invitations to join a double opt-in list, re-checked against the member."""

    name = INVITE

    def __init__(self, invites: ListInvites) -> None:
        self._invites = invites

    def wants(self, queued: QueuedReminder) -> Sequence[ItemKey]:
        membership = membership_of(queued.appointment_id)
        if membership is None:
            return [TenantRepository.profile_key(queued.tenant_id)]
        list_id, phone = membership
        return [
            *self._invites.keys(queued.tenant_id, list_id, phone),
            TenantRepository.profile_key(queued.tenant_id),
        ]

    def load(
        self, queued: QueuedReminder, found: Mapping[ItemKey, Any], now: datetime
    ) -> Outgoing[InviteToSend] | Stale:
        membership = membership_of(queued.appointment_id)
        if membership is None:
            return Stale("not_an_invitation")
        keys = self._invites.keys(queued.tenant_id, *membership)
        member, plist = self._invites.found(found, keys)
        tenant = TenantRepository.from_found(found, TenantRepository.profile_key(queued.tenant_id))
        if member is None or plist is None or tenant is None:
            return Stale("member_missing" if member is None else "list_missing")
        status = member.status_at(now)
        if status is not MemberStatus.PENDING or member.pending_until is None:
            return Stale("expired" if status is MemberStatus.EXPIRED else "not_pending")
        return Outgoing(
            tenant_id=member.tenant_id,
            phone=member.phone,
            zone=load_zone(member.timezone or tenant.timezone),
            deadline=member.pending_until,
            capped=False,
            subject=InviteToSend(plist, member),
        )

    def unchanged(self, outgoing: Outgoing[InviteToSend]) -> Guard:
        return self._invites.still_pending(outgoing.subject.member)

    def render(
        self,
        outgoing: Outgoing[InviteToSend],
        tenant: Tenant,
        templates: Mapping[tuple[str, str], str],
    ) -> str:
        # The carrier-required wording is the list's own; tenants' templates do not apply.
        return join_request_text(tenant.name, outgoing.subject.plist)

    def failure_event(
        self,
        outgoing: Outgoing[InviteToSend],
        reason: str,
        occurred_at: datetime,
        message_id: str | None,
    ) -> DomainEvent:
        member = outgoing.subject.member
        recipient = recipient_ref(member.phone)
        ids = {"list_id": member.list_id, "recipient": recipient}
        if message_id:
            ids["message_id"] = message_id
        return DomainEvent(
            type=EventType.DELIVERY_FAILED,
            tenant_id=member.tenant_id,
            # One invitation per YES deadline: a failure of it is one event.
            event_id=event_id_for(
                EventType.DELIVERY_FAILED,
                member.tenant_id,
                member.list_id,
                recipient,
                str(member.pending_until),
            ),
            occurred_at=occurred_at,
            ids=ids,
            data={"reason": reason, "kind": INVITE},
        )
