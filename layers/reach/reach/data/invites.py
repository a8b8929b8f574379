"""The "Reply YES to join" texts of double opt-in lists, as outbound items.

  ``<tenant>#member#<list>#<e164> / invite``  one member's invitation (``InviteItem``)

An invitation is written pending in the ``due`` index, due at once; from there it goes the
way a reminder does (the dispatcher claims it, the sender holds it through quiet hours and
skips it for an opted-out phone), as the outbound kind ``invite``
(``reach.services.sending.invite``). One member gets one: a second call for the same
pending member finds the invitation written and writes nothing. A member re-added after
expiring or leaving (a new YES deadline) is invited again once the earlier text is done.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError
from pynamodb.transactions import TransactWrite

from reach.data.batch_reads import ItemKey
from reach.data.lists import list_of, member_of
from reach.data.reminders import INVITE_ITEM, DueIndex, ReminderKey
from reach.data.tables import (
    INVITE_SK,
    MEMBER_SK,
    AppointmentsTableItem,
    InviteItem,
    ListItem,
    MemberItem,
    TenantsTableItem,
    list_sk,
    member_pk,
    tenant_pk,
)
from reach.data.transactions import condition_failed
from reach.domain.lists import Member, MemberStatus, OptInList
from reach.domain.message import MessageStatus

#: Statuses after which an invitation is done: only then may a new one replace it.
_DONE = tuple(
    status.value
    for status in (
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.FAILED,
        MessageStatus.SKIPPED,
    )
)


def member_thread_id(list_id: str, phone: str) -> str:
    """The id a membership's texts are filed and keyed under: ``appointment_pk`` of it is the
    member's own partition (``member_pk``), so the invitation, the replies and the answers
    about one membership are one thread."""
    return f"member#{list_id}#{phone}"


def membership_of(thread_id: str) -> tuple[str, str] | None:
    """(list id, phone) of a ``member_thread_id``; None for any other id."""
    kind, _, rest = thread_id.partition("#")
    list_id, _, phone = rest.rpartition("#")
    if kind != "member" or not list_id or not phone:
        return None
    return list_id, phone


class ListInvites:
    """Writes invitations, and reads what sending one needs."""

    def __init__(self, due_shards: int) -> None:
        self._due = DueIndex(due_shards)

    def invite(self, plist: OptInList, member: Member, now: datetime | None = None) -> bool:
        """Invite a pending ``member`` of ``plist`` (as ``Membership.add`` returned it): one
        text, due ``now`` (by default when the member was added). Whether this call wrote it
        (False: invited already, or not pending)."""
        now = now or member.updated_at
        if member.status is not MemberStatus.PENDING or member.pending_until is None:
            return False
        thread = member_thread_id(plist.list_id, member.phone)
        key = ReminderKey(plist.tenant_id, thread, INVITE_SK, INVITE_ITEM)
        item = InviteItem(
            pk=member_pk(plist.tenant_id, plist.list_id, member.phone),
            sk=INVITE_SK,
            tenant_id=plist.tenant_id,
            appointment_id=thread,
            list_id=plist.list_id,
            phone=member.phone,
            pending_until=member.pending_until,
            status=MessageStatus.PENDING.value,
            created_at=now,
            updated_at=now,
            attempts=0,
            due_shard=self._due.shard_of(key),
            due_at=now,
            send_at=now,
        )
        replaces_a_done_one = (InviteItem.pending_until < member.pending_until) & (
            InviteItem.status.is_in(*_DONE)
        )
        try:
            item.save(condition=InviteItem.pk.does_not_exist() | replaces_a_done_one)
        except PutError as error:
            if condition_failed(error):
                return False
            raise
        return True

    @staticmethod
    def keys(tenant_id: str, list_id: str, phone: str) -> tuple[ItemKey, ItemKey]:
        """The member's and the list's items, for a batch read."""
        return (
            ItemKey(AppointmentsTableItem, member_pk(tenant_id, list_id, phone), MEMBER_SK),
            ItemKey(TenantsTableItem, tenant_pk(tenant_id), list_sk(list_id)),
        )

    @staticmethod
    def found(
        found: Mapping[ItemKey, Any], keys: tuple[ItemKey, ItemKey]
    ) -> tuple[Member | None, OptInList | None]:
        member, plist = found.get(keys[0]), found.get(keys[1])
        return (
            member_of(member) if isinstance(member, MemberItem) else None,
            list_of(plist) if isinstance(plist, ListItem) else None,
        )

    @staticmethod
    def still_pending(member: Member) -> StillPending:
        return StillPending(member)


class StillPending:
    """A start transaction's part: the member is still pending, at the version read (a YES,
    a removal or a STOP since then stops the invitation)."""

    def __init__(self, member: Member) -> None:
        self._member = member

    def add_to(self, transaction: TransactWrite) -> None:
        member = self._member
        transaction.condition_check(
            MemberItem,
            member_pk(member.tenant_id, member.list_id, member.phone),
            MEMBER_SK,
            condition=(MemberItem.version == member.version)
            & (MemberItem.status == MemberStatus.PENDING.value),
        )
