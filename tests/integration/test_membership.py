"""Membership decides every member change the same way, whichever door it came through."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from builders import LIST_PHONE as PHONE
from builders import LIST_TIME as NOW
from builders import a_list
from reach.data.consent_log import ConsentAction, ConsentLog
from reach.data.lists import ListRepository
from reach.domain.errors import InvalidInput
from reach.domain.lists import (
    PENDING_FOR,
    ConsentSource,
    ListPurpose,
    MemberConsent,
    MemberStatus,
    terms_version,
)
from reach.services.membership import Joiner, Membership

PROGRAM = "Eastside Food Bank"


def web_form(evidence: str | None = "https://example.org/signup/991") -> MemberConsent:
    return MemberConsent(ConsentSource.WEB_FORM, NOW - timedelta(days=1), evidence=evidence)


def test_a_double_opt_in_member_is_pending_until_yes_then_active(aws: Any) -> None:
    lists = ListRepository()
    plist = lists.create(a_list(double_opt_in=True))
    membership = Membership(lists)
    added = membership.add(plist, Joiner(PHONE, web_form(), "request_id=r1"), PROGRAM, NOW)
    assert added.member.status is MemberStatus.PENDING
    assert added.member.pending_until == NOW + PENDING_FOR
    confirmed = membership.confirm(plist, PHONE, "inbound_message_id=m1", PROGRAM, NOW)
    assert confirmed is not None
    assert confirmed.member.status is MemberStatus.ACTIVE
    assert confirmed.member.consent is not None
    assert confirmed.member.consent.source is ConsentSource.CONFIRMATION
    counts = lists.get("foodbank", "alerts").counts
    assert (counts["pending"], counts["active"]) == (0, 1)
    actions = [entry.action for entry in ConsentLog().history("foodbank", PHONE)]
    assert actions == [ConsentAction.INVITED, ConsentAction.JOINED]


def test_a_yes_after_the_deadline_confirms_nothing_and_the_member_expires(aws: Any) -> None:
    lists = ListRepository()
    plist = lists.create(a_list(double_opt_in=True))
    membership = Membership(lists)
    membership.add(plist, Joiner(PHONE, web_form(), "request_id=r1"), PROGRAM, NOW)
    late = NOW + PENDING_FOR
    assert membership.confirm(plist, PHONE, "m1", PROGRAM, late) is None
    assert membership.expire(plist, PHONE, late)
    assert not membership.expire(plist, PHONE, late)  # once
    assert lists.get("foodbank", "alerts").counts["expired"] == 1


def test_a_marketing_list_refuses_consent_that_is_not_written(aws: Any) -> None:
    lists = ListRepository()
    plist = lists.create(a_list(purpose=ListPurpose.MARKETING))
    membership = Membership(lists)
    verbal = MemberConsent(ConsentSource.VERBAL, NOW, evidence="call 12")
    with pytest.raises(InvalidInput) as refused:
        membership.add(plist, Joiner(PHONE, verbal, "r1"), PROGRAM, NOW)
    assert refused.value.field == "consent.source"
    with pytest.raises(InvalidInput) as no_proof:
        membership.add(plist, Joiner(PHONE, web_form(evidence=None), "r1"), PROGRAM, NOW)
    assert no_proof.value.field == "consent.evidence"
    assert lists.member("foodbank", "alerts", PHONE) is None


def test_the_wording_agreed_to_is_kept_when_the_list_changes_later(aws: Any) -> None:
    lists = ListRepository()
    plist = lists.create(a_list())
    membership = Membership(lists)
    joined = membership.add(plist, Joiner(PHONE, web_form(), "r1"), PROGRAM, NOW)
    agreed = terms_version(PROGRAM, plist)
    edited = lists.update(plist, replace(plist, name="Pantry news"))
    assert terms_version(PROGRAM, edited) != agreed
    member = lists.member("foodbank", "alerts", PHONE)
    assert member is not None
    assert member.terms_version == joined.member.terms_version == agreed


def test_leaving_and_joining_again_by_keyword_are_both_recorded(aws: Any) -> None:
    lists = ListRepository()
    plist = lists.create(a_list())
    membership = Membership(lists)
    membership.add(plist, Joiner(PHONE, web_form(), "r1"), PROGRAM, NOW)
    left = membership.leave(
        plist, PHONE, reason="stop_keyword", source="sms", cause="m2", at=NOW + timedelta(1)
    )
    assert left is not None
    assert left.member.status is MemberStatus.LEFT
    keyword = MemberConsent(ConsentSource.KEYWORD, NOW + timedelta(2), message_id="m3")
    back = membership.join(plist, Joiner(PHONE, keyword, "m3"), PROGRAM, NOW + timedelta(2))
    assert back.changed
    assert back.member.status is MemberStatus.ACTIVE
    assert [e.action for e in ConsentLog().history("foodbank", PHONE)] == [
        ConsentAction.JOINED,
        ConsentAction.LEFT,
        ConsentAction.JOINED,
    ]
    assert (
        membership.leave(plist, "+15555550999", reason="removed", source="api", cause="x", at=NOW)
        is None
    )
