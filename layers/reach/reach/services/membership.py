"""How a phone joins, confirms and leaves a list: the one place that decides a member change.

The API, imports and texts (a keyword, a YES, "STOP ALERTS") all change members through
``Membership``, so a member reaches the same state with the same consent record whichever
door they came through, and a replay of the same request changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from reach.clock import Clock
from reach.data.consent_log import ConsentAction, ConsentEntry, list_scope
from reach.data.lists import ListRepository, MemberChange
from reach.domain.lists import (
    MEMBER_SEGMENTS,
    PENDING_FOR,
    ConsentSource,
    Member,
    MemberConsent,
    MemberStatus,
    OptInList,
    terms_version,
)
from reach.ports.events import DomainEvent, EventType, event_id_for


@dataclass(frozen=True)
class Joiner:
    """Who is being added, and on what consent."""

    phone: str
    consent: MemberConsent
    #: What made the change (``request_id=...``, ``inbound_message_id=...``, ``import=...``):
    #: a retry of it is recognised as the same change.
    cause: str
    first_name: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class MemberResult:
    member: Member
    #: Whether this call changed the member (False: it already was so, e.g. a replay).
    changed: bool


class Membership:
    def __init__(self, lists: ListRepository) -> None:
        self._lists = lists

    def add(self, plist: OptInList, joiner: Joiner, program: str, at: datetime) -> MemberResult:
        """The tenant adds someone (the API, an import): active at once, or pending a YES on
        a double opt-in list. Someone already active or pending stays as they are; someone
        who left or expired is added again on the new consent."""
        plist.check_consent(joiner.consent)
        status = MemberStatus.PENDING if plist.double_opt_in else MemberStatus.ACTIVE
        action = ConsentAction.INVITED if plist.double_opt_in else ConsentAction.JOINED

        def decide(before: Member | None) -> MemberChange | None:
            if before is not None and before.status_at(at) in _ON_THE_LIST:
                return None
            member = _new_member(plist, joiner, status, at, program)
            return MemberChange(member, _entry(plist, joiner.phone, at, action, joiner, member))

        return self._change(plist, joiner.phone, decide)

    def join(self, plist: OptInList, joiner: Joiner, program: str, at: datetime) -> MemberResult:
        """The person asks to join (a keyword text): active at once, even on a double opt-in
        list, since texting in is itself the confirmation. A pending member becomes active."""
        plist.check_consent(joiner.consent)

        def decide(before: Member | None) -> MemberChange | None:
            if before is not None and before.status is MemberStatus.ACTIVE:
                return None
            member = _new_member(plist, joiner, MemberStatus.ACTIVE, at, program)
            if before is not None:
                member = replace(
                    member,
                    first_name=joiner.first_name or before.first_name,
                    timezone=joiner.timezone or before.timezone,
                    recent_sends=before.recent_sends,
                )
            entry = _entry(plist, joiner.phone, at, ConsentAction.JOINED, joiner, member)
            return MemberChange(member, entry)

        return self._change(plist, joiner.phone, decide)

    def confirm(
        self, plist: OptInList, phone: str, cause: str, program: str, at: datetime
    ) -> MemberResult | None:
        """A YES from a pending member, before the deadline: active. None when there is no
        pending member to confirm (unknown, already active, expired, left)."""

        def decide(before: Member | None) -> MemberChange | None:
            if before is None or before.status_at(at) is not MemberStatus.PENDING:
                return None
            consent = MemberConsent(ConsentSource.CONFIRMATION, at, message_id=cause)
            member = replace(
                before,
                status=MemberStatus.ACTIVE,
                joined_at=at,
                updated_at=at,
                pending_until=None,
                consent=consent,
                terms_version=terms_version(program, plist),
            )
            joiner = Joiner(phone, consent, cause)
            return MemberChange(
                member, _entry(plist, phone, at, ConsentAction.JOINED, joiner, member)
            )

        found, changed = self._lists.change_member(plist, phone, decide)
        return MemberResult(found, changed) if found is not None and changed else None

    def leave(
        self, plist: OptInList, phone: str, *, reason: str, source: str, cause: str, at: datetime
    ) -> MemberResult | None:
        """Off the list (``reason``: ``stop_keyword``, ``removed``, ``opted_out``). None when
        the phone was never on it; a member who already left is returned unchanged."""

        def decide(before: Member | None) -> MemberChange | None:
            if before is None or before.status in (MemberStatus.LEFT, MemberStatus.EXPIRED):
                return None
            member = replace(
                before,
                status=MemberStatus.LEFT,
                updated_at=at,
                pending_until=None,
                left_reason=reason,
            )
            entry = ConsentEntry(
                plist.tenant_id,
                phone,
                at,
                list_scope(plist.list_id),
                ConsentAction.LEFT,
                source,
                cause=cause,
            )
            return MemberChange(member, entry)

        found, changed = self._lists.change_member(plist, phone, decide)
        return None if found is None else MemberResult(found, changed)

    def expire(self, plist: OptInList, phone: str, at: datetime) -> bool:
        """A pending member past the YES deadline: expired. Whether this call expired it."""

        def decide(before: Member | None) -> MemberChange | None:
            if before is None or before.status_at(at) is not MemberStatus.EXPIRED:
                return None
            if before.status is not MemberStatus.PENDING:
                return None
            member = replace(before, status=MemberStatus.EXPIRED, updated_at=at)
            entry = ConsentEntry(
                plist.tenant_id,
                phone,
                at,
                list_scope(plist.list_id),
                ConsentAction.EXPIRED,
                "double_opt_in",
                cause=f"deadline={before.pending_until}",
            )
            return MemberChange(member, entry)

        return self._lists.change_member(plist, phone, decide)[1]

    def _change(self, plist: OptInList, phone: str, decide: _Decide) -> MemberResult:
        found, changed = self._lists.change_member(plist, phone, decide)
        assert found is not None  # every decide above writes a member or keeps an existing one
        return MemberResult(found, changed)


def expire_overdue(lists: ListRepository, plist: OptInList, now: datetime, *, limit: int) -> int:
    """Expire ``plist``'s pending members whose YES deadline passed, at most ``limit``;
    returns how many this call expired. Reads the ``lookup`` index a page at a time, bounded
    by the deadline, so only the overdue are read."""
    if limit <= 0 or not plist.count(MemberStatus.PENDING):
        return 0
    membership = Membership(lists)
    expired = 0
    for member in _overdue(lists, plist, now):
        expired += membership.expire(plist, member.phone, now)
        if expired >= limit:
            break
    return expired


def _overdue(lists: ListRepository, plist: OptInList, now: datetime) -> Iterator[Member]:
    for segment in range(MEMBER_SEGMENTS):
        start: dict[str, Any] | None = None
        while True:
            page = lists.members(
                plist.tenant_id,
                plist.list_id,
                MemberStatus.PENDING,
                segment,
                start=start,
                until=now,
            )
            yield from page.members
            if not page.next_key:
                break
            start = page.next_key


class PendingSweep:
    """The hourly job's step that expires double opt-in members past their 48 hours on every
    tenant's lists, so that the counts and the members' status hold even for a list nobody
    reads through the API. Bounded per run (``per_run``); the rest go next hour."""

    def __init__(
        self,
        lists: ListRepository,
        clock: Clock,
        *,
        tenant_ids: Callable[[], Iterable[str]],
        per_run: int = 5000,
    ) -> None:
        self._lists = lists
        self._clock = clock
        self._tenant_ids = tenant_ids
        self._per_run = per_run

    def run(self) -> int:
        """How many members this run expired."""
        now = self._clock()
        expired = 0
        for tenant_id in self._tenant_ids():
            for plist in self._lists.all(tenant_id):
                expired += expire_overdue(self._lists, plist, now, limit=self._per_run - expired)
                if expired >= self._per_run:
                    return expired
        return expired


type _Decide = Callable[[Member | None], MemberChange | None]

_ON_THE_LIST = frozenset({MemberStatus.ACTIVE, MemberStatus.PENDING})


def _new_member(
    plist: OptInList, joiner: Joiner, status: MemberStatus, at: datetime, program: str
) -> Member:
    pending = status is MemberStatus.PENDING
    return Member(
        tenant_id=plist.tenant_id,
        list_id=plist.list_id,
        phone=joiner.phone,
        status=status,
        joined_at=None if pending else at,
        updated_at=at,
        consent=joiner.consent,
        terms_version=terms_version(program, plist),
        first_name=joiner.first_name,
        timezone=joiner.timezone,
        pending_until=at + PENDING_FOR if pending else None,
    )


def _entry(
    plist: OptInList,
    phone: str,
    at: datetime,
    action: ConsentAction,
    joiner: Joiner,
    member: Member,
) -> ConsentEntry:
    return ConsentEntry(
        plist.tenant_id,
        phone,
        at,
        list_scope(plist.list_id),
        action,
        joiner.consent.source.value,
        cause=joiner.cause,
        evidence=joiner.consent.evidence,
        terms_version=member.terms_version,
    )


def recipient_ref(phone: str) -> str:
    """How an event names a member without the phone number (events never carry one): the
    same short hash ``ConsentService`` uses, so a consumer can join the two."""
    return hashlib.sha256(phone.encode()).hexdigest()[:16]


def member_event(
    kind: EventType,
    member: Member,
    at: datetime,
    cause: Mapping[str, str],
    *,
    occurrence: str | None = None,
) -> DomainEvent:
    """``ListJoined`` or ``ListLeft`` for ``member``: ids name the list, the member (by
    ``recipient_ref``, never the phone) and the ``cause``; data says the consent's source or
    why they left. The event id names the change (``occurrence``, default its time), so a
    repeat of it publishes the same event."""
    recipient = recipient_ref(member.phone)
    data: dict[str, str | None] = (
        {"source": member.consent.source.value if member.consent else None}
        if kind is EventType.LIST_JOINED
        else {"reason": member.left_reason}
    )
    return DomainEvent(
        type=kind,
        tenant_id=member.tenant_id,
        event_id=event_id_for(
            kind, member.tenant_id, member.list_id, recipient, occurrence or at.isoformat()
        ),
        occurred_at=at,
        ids={"list_id": member.list_id, "recipient": recipient, **cause},
        data=data,
    )
