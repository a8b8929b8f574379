"""The lists store: keywords unique per tenant, counts that follow the members, and a consent
history written with every change."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from builders import LIST_PHONE as PHONE
from builders import LIST_TIME as NOW
from builders import a_list
from reach.data.consent_log import ConsentAction, ConsentEntry, ConsentLog, list_scope
from reach.data.lists import ListRepository, MemberChange
from reach.domain.errors import Conflict, NotFound
from reach.domain.lists import (
    MEMBER_SEGMENTS,
    ConsentSource,
    Member,
    MemberConsent,
    MemberStatus,
    OptInList,
    member_segment,
)


def joining(plist: OptInList, phone: str, at: datetime, cause: str) -> Any:
    def decide(before: Member | None) -> MemberChange | None:
        if before is not None and before.status is MemberStatus.ACTIVE:
            return None
        member = Member(
            tenant_id=plist.tenant_id,
            list_id=plist.list_id,
            phone=phone,
            status=MemberStatus.ACTIVE,
            joined_at=at,
            updated_at=at,
            consent=MemberConsent(ConsentSource.KEYWORD, at, message_id=cause),
        )
        entry = ConsentEntry(
            plist.tenant_id,
            phone,
            at,
            list_scope(plist.list_id),
            ConsentAction.JOINED,
            ConsentSource.KEYWORD.value,
            cause=cause,
        )
        return MemberChange(member, entry)

    return decide


def leaving(plist: OptInList, at: datetime, cause: str) -> Any:
    def decide(before: Member | None) -> MemberChange | None:
        if before is None or before.status is MemberStatus.LEFT:
            return None
        entry = ConsentEntry(
            plist.tenant_id,
            before.phone,
            at,
            list_scope(plist.list_id),
            ConsentAction.LEFT,
            "stop_keyword",
            cause=cause,
        )
        left = replace(before, status=MemberStatus.LEFT, updated_at=at, left_reason="stop")
        return MemberChange(left, entry)

    return decide


def test_a_keyword_belongs_to_one_list_of_a_tenant(aws: Any) -> None:
    lists = ListRepository()
    lists.create(a_list())
    with pytest.raises(Conflict, match="keyword"):
        lists.create(a_list(list_id="other"))
    assert [plist.list_id for plist in lists.all("foodbank")] == ["alerts"]
    # Another tenant may use the same word.
    lists.create(a_list(tenant_id="school"))


def test_changing_a_keyword_frees_the_old_one_and_claims_the_new(aws: Any) -> None:
    lists = ListRepository()
    before = lists.create(a_list())
    lists.create(a_list(list_id="food", keyword="FOOD"))
    with pytest.raises(Conflict):
        lists.update(before, replace(before, keyword="FOOD"))
    after = lists.update(before, replace(before, keyword="PANTRY", name="Pantry news"))
    assert (after.keyword, after.name, after.version) == ("PANTRY", "Pantry news", 2)
    lists.create(a_list(list_id="again", keyword="ALERTS"))
    with pytest.raises(Conflict):  # a stale version is refused
        lists.update(before, replace(before, name="stale"))


def test_a_missing_list_is_not_found(aws: Any) -> None:
    with pytest.raises(NotFound):
        ListRepository().get("foodbank", "nope")


def test_counts_follow_each_member_change_and_the_history_records_it(aws: Any) -> None:
    lists = ListRepository()
    plist = lists.create(a_list())
    member, changed = lists.change_member(plist, PHONE, joining(plist, PHONE, NOW, "in-1"))
    assert changed
    assert member is not None
    assert member.status is MemberStatus.ACTIVE
    # A replay of the same join changes nothing and counts nothing.
    _, again = lists.change_member(plist, PHONE, joining(plist, PHONE, NOW, "in-1"))
    assert not again
    assert lists.get("foodbank", "alerts").counts == {
        "pending": 0,
        "active": 1,
        "left": 0,
        "expired": 0,
    }
    later = NOW + timedelta(hours=1)
    lists.change_member(plist, PHONE, leaving(plist, later, "in-2"))
    counts = lists.get("foodbank", "alerts").counts
    assert (counts["active"], counts["left"]) == (0, 1)
    history = ConsentLog().history("foodbank", PHONE)
    assert [(e.action, e.scope, e.cause) for e in history] == [
        (ConsentAction.JOINED, "list#alerts", "in-1"),
        (ConsentAction.LEFT, "list#alerts", "in-2"),
    ]


def test_members_are_listed_by_status_in_segments(aws: Any) -> None:
    lists = ListRepository()
    plist = lists.create(a_list())
    phones = [f"+1555555{n:04d}" for n in range(40)]
    for phone in phones:
        lists.change_member(plist, phone, joining(plist, phone, NOW, f"in-{phone}"))
    lists.change_member(plist, phones[0], leaving(plist, NOW, "out"))
    active = list(lists.each_member("foodbank", "alerts", MemberStatus.ACTIVE, page=3))
    assert sorted(m.phone for m in active) == sorted(phones[1:])
    left = list(lists.each_member("foodbank", "alerts", MemberStatus.LEFT))
    assert [m.phone for m in left] == [phones[0]]
    # Every segment is used, and a phone's segment is stable.
    assert {member_segment(phone) for phone in phones} == set(range(MEMBER_SEGMENTS))
    assert member_segment(phones[3]) == member_segment(phones[3])


def test_racing_changes_to_one_member_both_land_in_order(aws: Any) -> None:
    lists = ListRepository()
    plist = lists.create(a_list())
    lists.change_member(plist, PHONE, joining(plist, PHONE, NOW, "in-1"))
    calls = 0

    def stale_then_fresh(before: Member | None) -> MemberChange | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            # Someone else leaves the list between this read and its write.
            lists.change_member(plist, PHONE, leaving(plist, NOW, "other"))
        return leaving(plist, NOW + timedelta(seconds=1), "mine")(before)

    member, changed = lists.change_member(plist, PHONE, stale_then_fresh)
    # The second read saw the member already gone: nothing more to write, counts exact.
    assert (calls, changed) == (2, False)
    assert member is not None
    counts = lists.get("foodbank", "alerts").counts
    assert (counts["active"], counts["left"]) == (0, 1)
