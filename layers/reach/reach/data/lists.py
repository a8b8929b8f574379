"""Opt-in lists and their members.

  TenantsTable       ``tenant#<t> / list#<id>``           the list, with member counts
                     ``tenant#<t> / listkw#<KEYWORD>``    the keyword's holder
  AppointmentsTable  ``<t>#member#<list>#<e164> / member`` one phone on one list

Every change to a member is one transaction: the member (conditioned on the version read),
the list's counts (one down for the status left, one up for the status entered) and the
consent history's entry. So the counts never drift from the members, and the history never
misses a change. Members are listed by status through the ``lookup`` index, spread over
``MEMBER_SEGMENTS`` keys so that a big list is read in parallel and no partition runs hot; a
pending member is filed there under its YES deadline, so the ones that expired are one
key-bound query away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from reach.data.batch_reads import ItemKey
from reach.data.consent_log import ConsentEntry
from reach.data.tables import (
    MEMBER_SK,
    PROFILE_SK,
    AppointmentsTableItem,
    ListItem,
    ListKeywordItem,
    MemberItem,
    TenantProfileItem,
    TenantsTableItem,
    list_keyword_sk,
    list_sk,
    member_pk,
    members_lookup_key,
    tenant_pk,
)
from reach.data.tenants import tenant_of
from reach.data.transactions import (
    CONDITION_FAILED,
    TRANSACTION_CONFLICT,
    cancelled_by,
    condition_failed,
)
from reach.domain.errors import Conflict, NotFound
from reach.domain.lists import (
    MEMBER_SEGMENTS,
    ConsentSource,
    Frequency,
    FrequencyPeriod,
    ListPurpose,
    Member,
    MemberConsent,
    MemberStatus,
    OptInList,
    member_segment,
)
from reach.domain.models import Tenant

_COUNTED = {
    MemberStatus.PENDING: ListItem.count_pending,
    MemberStatus.ACTIVE: ListItem.count_active,
    MemberStatus.LEFT: ListItem.count_left,
    MemberStatus.EXPIRED: ListItem.count_expired,
}

#: Tries of one member change before it is reported as a conflict (each retry re-reads).
_MAX_ATTEMPTS = 6


@dataclass(frozen=True)
class MemberChange:
    """What a decision about a member writes: the member as it will be, and the entry that
    records it in the consent history (None: a change that is not about consent, such as a
    frequency log)."""

    member: Member
    entry: ConsentEntry | None


@dataclass(frozen=True)
class MemberPage:
    members: list[Member]
    #: Where the next page starts (opaque; seal it before handing it to a client).
    next_key: dict[str, Any] | None


class ListRepository:
    """Lists, keywords and members, each change in one transaction."""

    # --- lists -----------------------------------------------------------------------------

    def create(self, plist: OptInList) -> OptInList:
        """Store a new list and claim its keyword; Conflict naming ``keyword`` when another
        list of the tenant holds it."""
        try:
            with self._transaction() as transaction:
                transaction.save(_list_item(plist), condition=ListItem.pk.does_not_exist())
                transaction.save(
                    _keyword_item(plist), condition=ListKeywordItem.pk.does_not_exist()
                )
        except TransactWriteError as error:
            if cancelled_by(error):
                raise Conflict(f"keyword: another list already uses '{plist.keyword}'") from error
            raise
        return plist

    def update(self, before: OptInList, after: OptInList) -> OptInList:
        """Replace ``before`` with ``after`` (same list), moving the keyword when it changed;
        Conflict when the list changed since ``before`` was read or the keyword is taken."""
        stored = replace(after, version=before.version + 1)
        item = _list_item(stored)
        try:
            with self._transaction() as transaction:
                # Counts are the members', never the caller's: leave them as stored.
                transaction.update(
                    item,
                    actions=[
                        getattr(ListItem, name).set(getattr(item, name)) for name in _EDITABLE
                    ],
                    condition=ListItem.version == before.version,
                )
                if after.keyword != before.keyword:
                    transaction.delete(_keyword_item(before))
                    transaction.save(
                        _keyword_item(after), condition=ListKeywordItem.pk.does_not_exist()
                    )
        except TransactWriteError as error:
            if cancelled_by(error):
                raise Conflict(
                    "the list changed meanwhile, or another list already uses "
                    f"'{after.keyword}'; read it again"
                ) from error
            raise
        return self.get(before.tenant_id, before.list_id)

    def get(self, tenant_id: str, list_id: str) -> OptInList:
        try:
            item = ListItem.get(tenant_pk(tenant_id), list_sk(list_id), consistent_read=True)
        except DoesNotExist:
            raise NotFound(f"list {list_id} not found") from None
        return _list(item)

    def tenant_with_lists(self, tenant_id: str) -> tuple[Tenant, tuple[OptInList, ...]]:
        """The tenant's profile and its lists in one Query: they share the tenant's partition,
        and ``list#...`` and ``listkw#...`` sort just before ``profile`` (NotFound without a
        profile)."""
        plists: list[OptInList] = []
        tenant: Tenant | None = None
        for item in TenantsTableItem.query(
            tenant_pk(tenant_id),
            TenantsTableItem.sk.between("list#", PROFILE_SK),
            consistent_read=True,
        ):
            if isinstance(item, ListItem):
                plists.append(_list(item))
            elif isinstance(item, TenantProfileItem):
                tenant = tenant_of(item)
        if tenant is None:
            raise NotFound(f"tenant {tenant_id} not found")
        return tenant, tuple(plists)

    def all(self, tenant_id: str) -> list[OptInList]:
        """Every list of the tenant, by id (a tenant has a handful: one Query)."""
        items = ListItem.query(
            tenant_pk(tenant_id), ListItem.sk.startswith("list#"), consistent_read=True
        )
        return [_list(item) for item in items]

    # --- members ---------------------------------------------------------------------------

    def member(self, tenant_id: str, list_id: str, phone: str) -> Member | None:
        try:
            item = MemberItem.get(
                member_pk(tenant_id, list_id, phone), MEMBER_SK, consistent_read=True
            )
        except DoesNotExist:
            return None
        return _member(item)

    def erase_personal(self, tenant_id: str, list_id: str, phone: str) -> int:
        """Forget the member's first name and time zone; 1 if there was one, else 0. Status,
        consent (source, time, evidence, message id), terms version and the frequency log
        stay: they say whether the phone may be texted and prove the consent. The write bumps
        the version, so a change decided on an earlier read fails its check and re-reads."""
        for _ in range(_MAX_ATTEMPTS):
            try:
                item = MemberItem.get(
                    member_pk(tenant_id, list_id, phone), MEMBER_SK, consistent_read=True
                )
            except DoesNotExist:
                return 0
            personal = [
                attribute
                for attribute in (MemberItem.first_name, MemberItem.timezone)
                if getattr(item, attribute.attr_name) is not None
            ]
            if not personal:
                return 0
            try:
                item.update(
                    actions=[
                        *(attribute.remove() for attribute in personal),
                        MemberItem.version.set(int(item.version) + 1),
                    ],
                    condition=MemberItem.version == item.version,
                )
            except UpdateError as error:
                if not condition_failed(error):
                    raise
                continue
            return 1
        raise Conflict(f"list member changed {_MAX_ATTEMPTS} times while being erased; retry")

    def change_member(
        self,
        plist: OptInList,
        phone: str,
        decide: Callable[[Member | None], MemberChange | None],
    ) -> tuple[Member | None, bool]:
        """Read the member, let ``decide`` say what it becomes (None: nothing to change), and
        write that with the counts and the consent entry in one transaction, conditioned on
        the version read. A lost race re-reads and decides again. Returns the member as
        stored and whether this call changed it."""
        for _ in range(_MAX_ATTEMPTS):
            before = self.member(plist.tenant_id, plist.list_id, phone)
            change = decide(before)
            if change is None:
                return before, False
            try:
                return self._write(plist, before, change), True
            except TransactWriteError as error:
                if not cancelled_by(error, (CONDITION_FAILED, TRANSACTION_CONFLICT)):
                    raise
        raise Conflict(f"list member changed {_MAX_ATTEMPTS} times while being updated; retry")

    def members(
        self,
        tenant_id: str,
        list_id: str,
        status: MemberStatus,
        segment: int,
        *,
        start: dict[str, Any] | None = None,
        limit: int = 100,
        until: datetime | None = None,
    ) -> MemberPage:
        """One page of a segment's members in ``status``, oldest change first (pending ones
        by their YES deadline; ``until`` bounds that, to find the expired)."""
        key = members_lookup_key(tenant_id, list_id, status.value, segment)
        condition = None if until is None else MemberItem.lookup_at <= until
        result = MemberItem.lookup.query(
            key,
            condition,
            limit=limit,
            last_evaluated_key=start,
            page_size=limit,
        )
        found = [_member(cast(MemberItem, item)) for item in result]
        return MemberPage(found, result.last_evaluated_key)

    # --- batch reads (the send path reads a whole batch's members and lists in one call) ---

    @staticmethod
    def member_key(tenant_id: str, list_id: str, phone: str) -> ItemKey:
        return ItemKey(AppointmentsTableItem, member_pk(tenant_id, list_id, phone), MEMBER_SK)

    @staticmethod
    def list_key(tenant_id: str, list_id: str) -> ItemKey:
        return ItemKey(TenantsTableItem, tenant_pk(tenant_id), list_sk(list_id))

    @staticmethod
    def member_found(found: Mapping[ItemKey, Any], key: ItemKey) -> Member | None:
        item = found.get(key)
        return _member(item) if isinstance(item, MemberItem) else None

    @staticmethod
    def list_found(found: Mapping[ItemKey, Any], key: ItemKey) -> OptInList | None:
        item = found.get(key)
        return _list(item) if isinstance(item, ListItem) else None

    def each_member(
        self, tenant_id: str, list_id: str, status: MemberStatus, *, page: int = 100
    ) -> Iterator[Member]:
        """Every member in ``status``, segment by segment, a page at a time (never the whole
        list in memory)."""
        for segment in range(MEMBER_SEGMENTS):
            start: dict[str, Any] | None = None
            while True:
                found = self.members(tenant_id, list_id, status, segment, start=start, limit=page)
                yield from found.members
                if not found.next_key:
                    break
                start = found.next_key

    def _write(self, plist: OptInList, before: Member | None, change: MemberChange) -> Member:
        after = replace(change.member, version=(before.version if before else 0) + 1)
        with self._transaction() as transaction:
            condition: Condition = (
                MemberItem.pk.does_not_exist()
                if before is None
                else MemberItem.version == before.version
            )
            transaction.save(_member_item(after), condition=condition)
            counts = _count_changes(before, after)
            if counts:
                transaction.update(
                    ListItem(pk=tenant_pk(plist.tenant_id), sk=list_sk(plist.list_id)),
                    actions=counts,
                    condition=ListItem.pk.exists(),
                )
            if change.entry is not None:
                change.entry.add_to(transaction)
        return after

    @staticmethod
    def _transaction() -> TransactWrite:
        # Lists live in TenantsTable and members in AppointmentsTable: one transaction spans
        # both (same account and region), through either table's connection.
        return TransactWrite(connection=AppointmentsTableItem._get_connection().connection)


def _count_changes(before: Member | None, after: Member) -> list[Any]:
    if before is not None and before.status is after.status:
        return []
    actions = [_COUNTED[after.status].add(1)]
    if before is not None:
        actions.append(_COUNTED[before.status].add(-1))
    return actions


_EDITABLE = (
    "name",
    "keyword",
    "description",
    "frequency_messages",
    "frequency_per",
    "purpose",
    "double_opt_in",
    "updated_at",
    "version",
)


def _list_item(plist: OptInList) -> ListItem:
    return ListItem(
        pk=tenant_pk(plist.tenant_id),
        sk=list_sk(plist.list_id),
        tenant_id=plist.tenant_id,
        list_id=plist.list_id,
        name=plist.name,
        keyword=plist.keyword,
        description=plist.description,
        frequency_messages=plist.frequency.messages,
        frequency_per=plist.frequency.per.value,
        purpose=plist.purpose.value,
        double_opt_in=plist.double_opt_in,
        created_at=plist.created_at,
        updated_at=plist.updated_at,
        version=plist.version,
    )


def _keyword_item(plist: OptInList) -> ListKeywordItem:
    return ListKeywordItem(
        pk=tenant_pk(plist.tenant_id), sk=list_keyword_sk(plist.keyword), list_id=plist.list_id
    )


def _list(item: ListItem) -> OptInList:
    return OptInList(
        tenant_id=item.tenant_id,
        list_id=item.list_id,
        name=item.name,
        keyword=item.keyword,
        description=item.description,
        frequency=Frequency(int(item.frequency_messages), FrequencyPeriod(item.frequency_per)),
        purpose=ListPurpose(item.purpose),
        double_opt_in=bool(item.double_opt_in),
        created_at=item.created_at,
        updated_at=item.updated_at,
        version=int(item.version),
        counts={
            status.value: max(0, int(getattr(item, attribute.attr_name) or 0))
            for status, attribute in _COUNTED.items()
        },
    )


def _member_item(member: Member) -> MemberItem:
    consent = member.consent
    item = MemberItem(
        pk=member_pk(member.tenant_id, member.list_id, member.phone),
        sk=MEMBER_SK,
        tenant_id=member.tenant_id,
        appointment_id=member.list_id,
        list_id=member.list_id,
        phone=member.phone,
        status=member.status.value,
        joined_at=member.joined_at,
        updated_at=member.updated_at,
        first_name=member.first_name,
        timezone=member.timezone,
        consent_source=consent.source.value if consent else None,
        consent_at=consent.obtained_at if consent else None,
        consent_evidence=consent.evidence if consent else None,
        consent_message_id=consent.message_id if consent else None,
        terms_version=member.terms_version,
        pending_until=member.pending_until,
        left_reason=member.left_reason,
        recent_sends=list(member.recent_sends),
        version=member.version,
        lookup_key=members_lookup_key(
            member.tenant_id, member.list_id, member.status.value, member_segment(member.phone)
        ),
        # A pending member is filed by its deadline: the expired are one query away.
        lookup_at=member.pending_until
        if member.status is MemberStatus.PENDING and member.pending_until
        else member.updated_at,
    )
    return item


def _member(item: MemberItem) -> Member:
    consent = (
        MemberConsent(
            source=ConsentSource(item.consent_source),
            obtained_at=item.consent_at or item.updated_at,
            evidence=item.consent_evidence,
            message_id=item.consent_message_id,
        )
        if item.consent_source
        else None
    )
    return Member(
        tenant_id=item.tenant_id,
        list_id=item.list_id,
        phone=item.phone,
        status=MemberStatus(item.status),
        joined_at=item.joined_at,
        updated_at=item.updated_at,
        consent=consent,
        terms_version=item.terms_version,
        first_name=item.first_name,
        timezone=item.timezone,
        pending_until=item.pending_until,
        recent_sends=tuple(item.recent_sends or ()),
        left_reason=item.left_reason,
        version=int(item.version),
    )


def member_of(item: MemberItem) -> Member:
    """The member a read found (a batch read's item)."""
    return _member(item)


def list_of(item: ListItem) -> OptInList:
    """The list a read found (a batch read's item)."""
    return _list(item)
