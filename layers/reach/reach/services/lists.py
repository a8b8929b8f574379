"""A tenant's opt-in lists through the API: create, read and change them, add and remove
members, page through them, and read a person's consent history.

Every member change goes through ``Membership`` (the one place that decides it), so the API
adds and removes people exactly as a keyword text or an import would, with the consent entry
in the same write. The API never texts anyone: a double opt-in member is only made pending
here; the "Reply YES to join" text is the invites' sender's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from reach.clock import Clock
from reach.data.consent_log import ConsentEntry, ConsentLog
from reach.data.contacts import ContactRepository
from reach.data.lists import ListRepository
from reach.data.paging import PageTokens, check_start_key
from reach.data.tables import members_lookup_key
from reach.data.tenants import TenantRepository
from reach.domain.errors import Conflict, InvalidInput, InvalidToken, NotFound
from reach.domain.lists import (
    MEMBER_SEGMENTS,
    Frequency,
    ListPurpose,
    Member,
    MemberConsent,
    MemberStatus,
    OptInList,
    confirmation_text,
    list_keyword,
)
from reach.domain.models import Tenant
from reach.domain.phones import region_of, textable_e164, to_e164
from reach.domain.replies import fold, keywords_for_replies
from reach.domain.segments import count_segments
from reach.domain.zones import zone_name
from reach.ports.events import DomainEvent, EventPublisher, EventType
from reach.services.membership import Joiner, Membership, expire_overdue, member_event

#: The sign-up confirmation carriers require must fit this many SMS parts (issue 13).
CONFIRMATION_PARTS = 2
#: Consent given with a future time is refused: beyond this much clock skew, it is a typo.
CONSENT_CLOCK_SKEW = timedelta(minutes=5)
#: Pending members expired by one read at most; the rest go on the next read.
EXPIRE_PER_READ = 500
#: Where consent changes made through the API come from, in the history.
API_SOURCE = "api"
#: The order members are listed in when no status is asked for.
_STATUS_ORDER = (
    MemberStatus.ACTIVE,
    MemberStatus.PENDING,
    MemberStatus.LEFT,
    MemberStatus.EXPIRED,
)
#: The lookup index's start key: its own keys and the table's.
_START_KEY = ("lookup_at", "pk", "sk")


@dataclass(frozen=True)
class NewList:
    name: str
    keyword: str
    frequency: Frequency
    purpose: ListPurpose
    double_opt_in: bool = False
    description: str = ""


@dataclass(frozen=True)
class ListChanges:
    """A PATCH: None means unchanged."""

    name: str | None = None
    keyword: str | None = None
    description: str | None = None
    frequency: Frequency | None = None
    purpose: ListPurpose | None = None
    double_opt_in: bool | None = None


@dataclass(frozen=True)
class NewMember:
    phone: str
    consent: MemberConsent | None
    first_name: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class AddedMember:
    member: Member
    #: False: the phone was on the list already (active or pending), nothing changed.
    created: bool


@dataclass(frozen=True)
class MembersPage:
    members: list[Member]
    next_token: str | None


class ListService:
    def __init__(
        self,
        lists: ListRepository,
        tenants: TenantRepository,
        contacts: ContactRepository,
        consent_log: ConsentLog,
        tokens: PageTokens,
        events: EventPublisher,
        clock: Clock,
        *,
        invite: Callable[[OptInList, Member], object] | None = None,
    ) -> None:
        self._lists = lists
        self._membership = Membership(lists)
        #: Sends a new pending member the one "reply YES to join" text (double opt-in).
        self._invite = invite
        self._tenants = tenants
        self._contacts = contacts
        self._log = consent_log
        self._tokens = tokens
        self._events = events
        self._clock = clock

    # --- lists -----------------------------------------------------------------------------

    def create(self, tenant_id: str, new: NewList) -> OptInList:
        """A new list with a fresh id; Conflict naming ``keyword`` when another list of the
        tenant holds it, InvalidInput naming the field that makes the confirmation too long."""
        tenant = self._tenants.get(tenant_id)
        now = self._clock()
        plist = OptInList(
            tenant_id=tenant_id,
            list_id=f"lst_{uuid.uuid4().hex}",
            name=new.name,
            keyword=list_keyword(new.keyword),
            description=new.description,
            frequency=new.frequency,
            purpose=new.purpose,
            double_opt_in=new.double_opt_in,
            created_at=now,
            updated_at=now,
        )
        _check_not_a_reply_word(tenant, plist.keyword)
        _check_confirmation(tenant.name, plist, None)
        try:
            return self._lists.create(plist)
        except Conflict as error:
            raise Conflict(
                f"another of your lists already uses '{plist.keyword}'", field="keyword"
            ) from error

    def get(self, tenant_id: str, list_id: str) -> OptInList:
        """The list, its pending members past their YES deadline expired first, so that its
        counts are as of now."""
        plist = self._lists.get(tenant_id, list_id)
        return self._lists.get(tenant_id, list_id) if self._expire(plist) else plist

    def all(self, tenant_id: str) -> list[OptInList]:
        lists = self._lists.all(tenant_id)
        if any(self._expire(plist) for plist in lists):
            return self._lists.all(tenant_id)
        return lists

    def update(self, tenant_id: str, list_id: str, changes: ListChanges) -> OptInList:
        """Only the fields given change. The keyword moves with the list; the confirmation
        must still fit; and a list with members never becomes a marketing list, since their
        consent was given for informational texts."""
        tenant = self._tenants.get(tenant_id)
        before = self.get(tenant_id, list_id)
        after = replace(
            before,
            name=_or(changes.name, before.name),
            keyword=list_keyword(changes.keyword) if changes.keyword else before.keyword,
            description=_or(changes.description, before.description),
            frequency=_or(changes.frequency, before.frequency),
            purpose=_or(changes.purpose, before.purpose),
            double_opt_in=_or(changes.double_opt_in, before.double_opt_in),
        )
        if after == before:
            return before
        if after.purpose is not before.purpose and after.purpose is ListPurpose.MARKETING:
            on_list = before.count(MemberStatus.ACTIVE) + before.count(MemberStatus.PENDING)
            if on_list:
                raise Conflict(
                    f"the list has {on_list} members who consented to informational texts; "
                    "a marketing list needs their written consent: create a new list",
                    field="purpose",
                )
        if after.keyword != before.keyword:
            _check_not_a_reply_word(tenant, after.keyword)
        _check_confirmation(tenant.name, after, before)
        return self._lists.update(before, replace(after, updated_at=self._clock()))

    def _expire(self, plist: OptInList) -> bool:
        """Expire the list's pending members whose YES deadline passed (at most
        ``EXPIRE_PER_READ``); whether any was."""
        return expire_overdue(self._lists, plist, self._clock(), limit=EXPIRE_PER_READ) > 0

    # --- members ---------------------------------------------------------------------------

    def add_member(
        self, tenant_id: str, list_id: str, new: NewMember, request_id: str
    ) -> AddedMember:
        """Add one person on the consent the tenant collected: active at once, or pending a
        YES on a double opt-in list. Someone already on the list is left as they are."""
        tenant = self._tenants.get(tenant_id)
        plist = self.get(tenant_id, list_id)
        phone = self._recipient_phone(new.phone, tenant)
        timezone = zone_name(new.timezone) if new.timezone is not None else None
        now = self._clock()
        plist.check_consent(new.consent)
        assert new.consent is not None  # check_consent refuses a missing one
        if new.consent.obtained_at > now + CONSENT_CLOCK_SKEW:
            raise InvalidInput("consent.obtained_at", "must not be in the future")
        if self._contacts.get(tenant_id, phone).opted_out:
            raise Conflict(
                "opted out of your texts (STOP); opt them back in with evidence of their "
                "consent (POST /contacts/{phone}/opt-in) first",
                field="phone",
            )
        joiner = Joiner(phone, new.consent, f"request_id={request_id}", new.first_name, timezone)
        result = self._membership.add(plist, joiner, tenant.name, now)
        if result.changed and result.member.status is MemberStatus.ACTIVE:
            self._events.publish(
                [_list_event(EventType.LIST_JOINED, result.member, request_id, now)]
            )
        if result.member.status is MemberStatus.PENDING and self._invite is not None:
            # Also on a repeat of the request: an invitation whose first write was lost is
            # written now, and one already written is not written again.
            self._invite(plist, result.member)
        return AddedMember(result.member, result.changed)

    def remove_member(self, tenant_id: str, list_id: str, phone: str, request_id: str) -> Member:
        """Off the list now, with the removal in the consent history; NotFound when the
        phone was never on the list. A member who already left stays as they are."""
        tenant = self._tenants.get(tenant_id)
        plist = self._lists.get(tenant_id, list_id)
        e164 = to_e164(phone.strip(), default_region=region_of(tenant.sender_number))
        now = self._clock()
        result = self._membership.leave(
            plist,
            e164,
            reason="removed",
            source=API_SOURCE,
            cause=f"request_id={request_id}",
            at=now,
        )
        if result is None:
            raise NotFound(f"{e164} was never a member of list {list_id}")
        if result.changed:
            self._events.publish([_list_event(EventType.LIST_LEFT, result.member, request_id, now)])
        return result.member

    def members(
        self,
        tenant_id: str,
        list_id: str,
        status: MemberStatus | None,
        limit: int,
        next_token: str | None,
    ) -> MembersPage:
        """A page of the list's members (in ``status``, or all), segment by segment. The
        token carries the status and segment it stopped in with the start key, sealed."""
        plist = self.get(tenant_id, list_id)
        statuses = (status,) if status else _STATUS_ORDER
        scope = f"members\n{tenant_id}\n{list_id}\n{status.value if status else '*'}"
        position = self._open(next_token, scope, plist, statuses) if next_token else (0, 0, None)
        found: list[Member] = []
        at: tuple[int, int, dict[str, Any] | None] | None = position
        while at is not None and len(found) < limit:
            index, segment, start = at
            page = self._lists.members(
                tenant_id, list_id, statuses[index], segment, start=start, limit=limit - len(found)
            )
            found.extend(page.members)
            at = (index, segment, page.next_key) if page.next_key else _next(at, len(statuses))
        token = None
        if at is not None:
            index, segment, start = at
            token = self._tokens.seal_state(
                {"status": statuses[index].value, "segment": segment, "start": start}, scope
            )
        return MembersPage(found, token)

    def _open(
        self,
        token: str,
        scope: str,
        plist: OptInList,
        statuses: tuple[MemberStatus, ...],
    ) -> tuple[int, int, dict[str, Any] | None]:
        state = self._tokens.open_state(token, scope)
        values = [s.value for s in statuses]
        status, segment, start = state.get("status"), state.get("segment"), state.get("start")
        if (
            set(state) != {"status", "segment", "start"}
            or status not in values
            or type(segment) is not int
            or not 0 <= segment < MEMBER_SEGMENTS
        ):
            raise InvalidToken("not a token for this listing")
        if start is not None:
            hash_key = members_lookup_key(plist.tenant_id, plist.list_id, status, segment)
            check_start_key(start, hash_key, "lookup_key", _START_KEY)
        return values.index(status), segment, start

    # --- consent history -------------------------------------------------------------------

    def consent_history(self, tenant_id: str, phone: str) -> tuple[str, list[ConsentEntry]]:
        """The phone (E.164) and every recorded change of its consent with the tenant,
        oldest first (the latest 200)."""
        tenant = self._tenants.get(tenant_id)
        e164 = to_e164(phone.strip(), default_region=region_of(tenant.sender_number))
        return e164, self._log.history(tenant_id, e164)

    def _recipient_phone(self, raw: str, tenant: Tenant) -> str:
        """A number a text can reach, and not one Reach sends from."""
        phone = textable_e164(raw, default_region=region_of(tenant.sender_number))
        if phone == tenant.sender_number or self._tenants.tenant_for_number(phone):
            raise InvalidInput("phone", f"{phone} is a number Reach sends from, not a person's")
        return phone


def _next(
    at: tuple[int, int, dict[str, Any] | None], statuses: int
) -> tuple[int, int, dict[str, Any] | None] | None:
    """The start of the segment after ``at``'s (the next status's first after the last)."""
    index, segment, _ = at
    if segment + 1 < MEMBER_SEGMENTS:
        return index, segment + 1, None
    if index + 1 < statuses:
        return index + 1, 0, None
    return None


def _check_not_a_reply_word(tenant: Tenant, keyword: str) -> None:
    """Refuse a keyword that is also one of the tenant's reply words (the defaults: YES, C,
    CONFIRM, CALL, LATE...; and its own ``reply_keywords``): a text of it alone would read as
    both a sign-up and an answer to a reminder, and inbound could not tell which was meant."""
    word = fold(keyword)
    for intent, words in keywords_for_replies(tenant.reply_keywords).intent_sets().items():
        if any(fold(reply) == word for reply in words):
            raise InvalidInput(
                "keyword",
                f"'{keyword}' is one of your reply words ({intent.value}): a text of it "
                "would read both as joining the list and as that reply",
            )


def _or[T](value: T | None, default: T) -> T:
    return default if value is None else value


def _parts(program: str, plist: OptInList) -> int:
    return count_segments(confirmation_text(program, plist)).parts


#: What each field would be at its shortest: to find the one that makes the text long.
_SHORTEST: dict[str, dict[str, Any]] = {"name": {"name": "A"}, "keyword": {"keyword": "AB"}}


def _check_confirmation(program: str, plist: OptInList, before: OptInList | None) -> None:
    """Refuse a list whose sign-up confirmation would take more than ``CONFIRMATION_PARTS``
    parts, naming the field that makes it so (the one whose earlier or shortest value
    would make it fit)."""
    parts = _parts(program, plist)
    if parts <= CONFIRMATION_PARTS:
        return
    suspects = [
        name
        for name in _SHORTEST
        if before is None or getattr(before, name) != getattr(plist, name)
    ] or ["name"]
    blamed = next(
        (
            name
            for name in suspects
            if _parts(program, replace(plist, **_restored(name, before))) <= CONFIRMATION_PARTS
        ),
        suspects[0],
    )
    raise InvalidInput(
        blamed,
        f"makes the sign-up confirmation text {parts} SMS parts; it must fit "
        f"{CONFIRMATION_PARTS} (a character outside GSM-7, such as an emoji, halves a part)",
    )


def _restored(name: str, before: OptInList | None) -> dict[str, Any]:
    return {name: getattr(before, name)} if before is not None else _SHORTEST[name]


def _list_event(kind: EventType, member: Member, request_id: str, at: datetime) -> DomainEvent:
    # Named by the request: a client's retry of it publishes the same event.
    return member_event(kind, member, at, {"request_id": request_id}, occurrence=request_id)


__all__ = [
    "API_SOURCE",
    "AddedMember",
    "ListChanges",
    "ListService",
    "MembersPage",
    "NewList",
    "NewMember",
]
