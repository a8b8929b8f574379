"""Issue 13, items 1 and 3 through the API handler: lists, their members and the consent
history, with every refusal in the one error shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api_client import Api, encoded, refused
from builders import PATIENT, TOLL_FREE, new_tenant
from conftest import load_function
from reach.data.lists import ListRepository
from reach.domain.lists import (
    PENDING_FOR,
    ConsentSource,
    Frequency,
    FrequencyPeriod,
    ListPurpose,
    MemberConsent,
)
from reach.ports.events import EventType
from reach.services.lists import NewList, NewMember
from reach.services.membership import Joiner, Membership, recipient_ref
from reach.wiring import Services, build_services

MEMBERS = "/lists/{id}/members"
MEMBER = "/lists/{id}/members/{phone}"
OTHER = "+12025550188"


@pytest.fixture
def api(clinic, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, clinic.tenant_id)


def a_list(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Pantry alerts",
        "keyword": "alerts",
        "description": "Pick-up times and closures",
        "frequency": {"messages": 4, "per": "month"},
        "purpose": "informational",
    }
    return {**body, **fields}


def create(api: Api, **fields: Any) -> dict[str, Any]:
    status, body = api.call("POST", "/lists", body=a_list(**fields))
    assert status == 201, body
    return body


def consent(**fields: Any) -> dict[str, Any]:
    given = {
        "source": "web_form",
        "obtained_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "evidence": "https://example.org/signup/991",
    }
    return {**given, **fields}


def add(api: Api, list_id: str, phone: str = PATIENT, **fields: Any) -> tuple[int, Any]:
    body = {"phone": phone, "consent": consent(), **fields}
    return api.call("POST", MEMBERS, params={"id": list_id}, body=body)


def remove(api: Api, list_id: str, phone: str = PATIENT) -> dict[str, Any]:
    return api.response("DELETE", MEMBER, params={"id": list_id, "phone": encoded(phone)})


def get_list(api: Api, list_id: str) -> dict[str, Any]:
    status, body = api.call("GET", "/lists/{id}", params={"id": list_id})
    assert status == 200, body
    return body


def test_a_list_is_created_with_its_keyword_upper_case_and_read_back_with_zero_counts(api):
    created = create(api)

    assert created["id"].startswith("lst_")
    assert created["keyword"] == "ALERTS"
    assert created["counts"] == {"pending": 0, "active": 0, "left": 0, "expired": 0}
    assert created["confirmation_text"].startswith("Riverside Family Clinic Pantry alerts:")
    assert "4 msgs/month" in created["confirmation_text"]
    assert get_list(api, created["id"]) == created
    status, listed = api.call("GET", "/lists")
    assert (status, [item["id"] for item in listed["items"]]) == (200, [created["id"]])


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "Pantry\nalerts"}, "name"),
        ({"name": "Pantry alerts \u2605 weekly"}, "name"),
        ({"keyword": "STOP"}, "keyword"),
        ({"keyword": "help"}, "keyword"),
        ({"keyword": "Yes"}, "keyword"),
        ({"keyword": "two words"}, "keyword"),
        ({"keyword": "a"}, "keyword"),
        ({"frequency": {"messages": 0, "per": "month"}}, "frequency.messages"),
        ({"frequency": {"messages": "4", "per": "month"}}, "frequency.messages"),
        ({"frequency": {"messages": 4, "per": "year"}}, "frequency.per"),
        ({"frequency": {"messages": 4}}, "frequency.per"),
        ({"purpose": "promotions"}, "purpose"),
        ({"double_opt_in": "true"}, "double_opt_in"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_a_list_with_a_bad_field_is_refused_naming_it(api, fields, field):
    status, error = api.call("POST", "/lists", body=a_list(**fields))

    refused(status, error, field)
    assert api.call("GET", "/lists")[1]["items"] == []


def test_a_list_without_a_purpose_or_frequency_is_refused_naming_each(api):
    body = a_list()
    del body["purpose"], body["frequency"]

    status, error = api.call("POST", "/lists", body=body)

    assert status == 422
    assert sorted(f["field"] for f in error["fields"]) == ["frequency", "purpose"]


def test_a_keyword_another_list_of_the_tenant_holds_is_refused_with_409(api):
    create(api)

    status, error = api.call("POST", "/lists", body=a_list(name="Other", keyword="Alerts"))

    refused(status, error, "keyword", 409)


def test_another_tenants_list_is_not_found_and_its_keyword_is_free(aws, api):
    mine = create(api)
    other = api.as_tenant(new_tenant(aws, "Hilltop Cable", number="+13125550100").tenant_id)

    assert other.call("GET", "/lists/{id}", params={"id": mine["id"]})[0] == 404
    assert (
        other.call("PATCH", "/lists/{id}", params={"id": mine["id"]}, body={"name": "X"})[0] == 404
    )
    assert other.call("GET", MEMBERS, params={"id": mine["id"]})[0] == 404
    assert add(other, mine["id"])[0] == 404
    assert remove(other, mine["id"])["statusCode"] == 404
    assert other.call("GET", "/lists")[1]["items"] == []
    assert other.call("POST", "/lists", body=a_list())[0] == 201


def test_a_patch_changes_only_the_fields_given_and_moves_the_keyword(api):
    created = create(api)

    status, changed = api.call(
        "PATCH", "/lists/{id}", params={"id": created["id"]}, body={"keyword": "pantry"}
    )

    assert status == 200, changed
    assert changed["keyword"] == "PANTRY"
    assert changed["version"] == created["version"] + 1
    unchanged = {k: v for k, v in changed.items() if k not in ("keyword", "version", "updated_at")}
    assert unchanged == {
        k: v
        for k, v in created.items()
        if k not in ("keyword", "version", "updated_at", "confirmation_text")
    } | {"confirmation_text": changed["confirmation_text"]}
    assert "STOP PANTRY" in changed["confirmation_text"]
    # the old keyword is free again
    create(api, name="Closures", keyword="alerts")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "name"),
        ({}, "body"),
        ({"keyword": "stop"}, "keyword"),
        ({"name": "Pantry alerts \u2605 weekly"}, "name"),
        ({"double_opt_in": 1}, "double_opt_in"),
    ],
)
def test_a_patch_with_a_bad_field_is_refused_and_changes_nothing(api, body, field):
    created = create(api)

    status, error = api.call("PATCH", "/lists/{id}", params={"id": created["id"]}, body=body)

    refused(status, error, field)
    assert get_list(api, created["id"]) == created


def test_a_list_with_members_never_becomes_a_marketing_list(api):
    created = create(api)
    assert add(api, created["id"], consent=consent(source="verbal", evidence=None))[0] == 201

    status, error = api.call(
        "PATCH", "/lists/{id}", params={"id": created["id"]}, body={"purpose": "marketing"}
    )

    refused(status, error, "purpose", 409)


def test_a_member_is_added_active_counted_and_a_second_add_is_a_duplicate(api):
    created = create(api)

    status, member = add(api, created["id"], first_name="Ana", timezone="America/Chicago")

    assert status == 201, member
    assert (member["phone"], member["status"], member["first_name"]) == (PATIENT, "active", "Ana")
    assert member["consent"]["source"] == "web_form"
    assert member["terms_version"]
    assert get_list(api, created["id"])["counts"]["active"] == 1
    status, again = add(api, created["id"], phone="(202) 555-0187")
    assert (status, again) == (200, member)
    assert get_list(api, created["id"])["counts"]["active"] == 1


def test_removal_is_immediate_counted_and_repeatable_and_a_stranger_is_not_found(api):
    created = create(api)
    add(api, created["id"])

    response = remove(api, created["id"])

    assert response["statusCode"] == 204
    assert not response["body"]
    assert get_list(api, created["id"])["counts"] == {
        "pending": 0,
        "active": 0,
        "left": 1,
        "expired": 0,
    }
    assert remove(api, created["id"])["statusCode"] == 204
    stranger = remove(api, created["id"], OTHER)
    assert stranger["statusCode"] == 404
    # and a removed member may be added again on new consent
    assert add(api, created["id"])[0] == 201


@pytest.mark.parametrize(
    ("member", "field"),
    [
        ({"consent": None}, "consent"),
        ({"consent": consent(source="verbal")}, "consent.source"),
        ({"consent": consent(evidence=None)}, "consent.evidence"),
        ({"consent": consent(source="import")}, "consent.source"),
    ],
)
def test_a_marketing_list_refuses_a_member_without_written_consent_and_evidence(api, member, field):
    created = create(api, purpose="marketing")
    body = {"phone": PATIENT, **member}
    if body["consent"] is None:
        del body["consent"]

    status, error = api.call("POST", MEMBERS, params={"id": created["id"]}, body=body)

    refused(status, error, field)
    assert get_list(api, created["id"])["counts"]["active"] == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": TOLL_FREE}, "phone"),
        ({"phone": "+12025550143"}, "phone"),  # the clinic's own sending number
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"consent": consent(obtained_at="2099-01-01T00:00:00Z")}, "consent.obtained_at"),
        ({"consent": consent(obtained_at="yesterday")}, "consent.obtained_at"),
        ({"first_name": "Ana\u202e"}, "first_name"),
    ],
)
def test_a_member_with_a_bad_field_is_refused_naming_it(api, fields, field):
    created = create(api)

    status, error = add(api, created["id"], **fields)

    refused(status, error, field)
    assert get_list(api, created["id"])["counts"]["active"] == 0


def test_a_person_who_opted_out_is_not_added_until_opted_back_in(api):
    created = create(api)
    api.opt_out(PATIENT)

    status, error = add(api, created["id"])

    refused(status, error, "phone", 409)
    api.opt_in(PATIENT, {"evidence": "Signed the consent form again today"})
    assert add(api, created["id"])[0] == 201


def test_the_consent_history_lists_each_change_with_its_source(api):
    created = create(api)
    add(api, created["id"])
    remove(api, created["id"])

    status, history = api.call(
        "GET", "/contacts/{phone}/consent", params={"phone": encoded(PATIENT)}
    )

    assert status == 200, history
    assert history["phone"] == PATIENT
    scope = f"list#{created['id']}"
    assert [(e["scope"], e["action"], e["source"]) for e in history["items"]] == [
        (scope, "joined", "web_form"),
        (scope, "left", "api"),
    ]
    joined, left = history["items"]
    assert joined["evidence"] == "https://example.org/signup/991"
    assert joined["terms_version"]
    assert joined["cause"].startswith("request_id=")
    assert left["cause"].startswith("request_id=")
    status, empty = api.call("GET", "/contacts/{phone}/consent", params={"phone": encoded(OTHER)})
    assert (status, empty["items"]) == (200, [])


# --- paging -------------------------------------------------------------------------------


def fill(aws: Services, tenant_id: str, list_id: str, count: int) -> list[str]:
    """``count`` members added directly (the API path is tested above), every third removed."""
    plist = ListRepository().get(tenant_id, list_id)
    at = datetime.now(UTC)
    phones = [f"+1202555{n:04d}" for n in range(count)]
    joiner_consent = MemberConsent(ConsentSource.WEB_FORM, at, evidence="form")
    membership = Membership(ListRepository())
    for n, phone in enumerate(phones):
        membership.add(plist, Joiner(phone, joiner_consent, f"fill={n}"), "Clinic", at)
        if n % 3 == 0:
            membership.leave(plist, phone, reason="removed", source="api", cause="fill", at=at)
    return phones


def page_all(api: Api, list_id: str, **query: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        asked = {**query, **({"next_token": token} if token else {})}
        status, page = api.call("GET", MEMBERS, params={"id": list_id}, query=asked)
        assert status == 200, page
        assert len(page["items"]) <= int(query.get("limit", "50"))
        found.extend(page["items"])
        token = page["next_token"]
        if token is None:
            return found


def test_paging_through_250_members_by_status_finds_each_once(aws, api):
    created = create(api)
    phones = fill(aws, api.tenant_id, created["id"], 250)
    left = {p for n, p in enumerate(phones) if n % 3 == 0}

    active = page_all(api, created["id"], status="active", limit="40")
    gone = page_all(api, created["id"], status="left", limit="100")
    everyone = page_all(api, created["id"], limit="100")

    assert sorted(m["phone"] for m in active) == sorted(set(phones) - left)
    assert {m["status"] for m in active} == {"active"}
    assert sorted(m["phone"] for m in gone) == sorted(left)
    assert sorted(m["phone"] for m in everyone) == sorted(phones)
    counts = get_list(api, created["id"])["counts"]
    assert (counts["active"], counts["left"]) == (len(phones) - len(left), len(left))


def test_a_members_page_token_altered_or_used_for_another_status_is_refused(aws, api):
    created = create(api)
    fill(aws, api.tenant_id, created["id"], 30)
    status, page = api.call(
        "GET", MEMBERS, params={"id": created["id"]}, query={"status": "active", "limit": "5"}
    )
    token = page["next_token"]
    assert token

    for query in (
        {"status": "active", "next_token": token[:-2] + ("AA" if token[-2:] != "AA" else "BB")},
        {"status": "left", "next_token": token},
        {"next_token": token},
    ):
        status, error = api.call("GET", MEMBERS, params={"id": created["id"]}, query=query)
        assert (status, error["error"]) == (400, "invalid_next_token"), query
    other = create(api, name="Other", keyword="other")
    status, error = api.call(
        "GET", MEMBERS, params={"id": other["id"]}, query={"status": "active", "next_token": token}
    )
    assert (status, error["error"]) == (400, "invalid_next_token")


# --- the service: events and expiry, on a clock the test moves -------------------------------


def test_an_active_add_publishes_list_joined_and_a_removal_list_left_without_the_phone(
    aws, clinic, clock, events
):
    services = build_services(aws.settings, clock=clock, events=events)
    service = services.lists
    plist = service.create(clinic.tenant_id, _new_list())
    member = NewMember(PATIENT, MemberConsent(ConsentSource.PAPER_FORM, clock(), "sheet 12"))

    service.add_member(clinic.tenant_id, plist.list_id, member, "req-1")
    service.add_member(clinic.tenant_id, plist.list_id, member, "req-2")  # a duplicate
    service.remove_member(clinic.tenant_id, plist.list_id, PATIENT, "req-3")
    service.remove_member(clinic.tenant_id, plist.list_id, PATIENT, "req-4")  # already gone

    joined, left = events.events
    assert (joined.type, left.type) == (EventType.LIST_JOINED, EventType.LIST_LEFT)
    ref = recipient_ref(PATIENT)
    assert dict(joined.ids) == {"list_id": plist.list_id, "recipient": ref, "request_id": "req-1"}
    assert dict(joined.data) == {"source": "paper_form"}
    assert dict(left.data) == {"reason": "removed"}
    assert PATIENT not in str(joined.detail()) + str(left.detail())


def test_a_pending_member_publishes_nothing_and_expires_when_the_list_is_read(
    aws, clinic, clock, events
):
    services = build_services(aws.settings, clock=clock, events=events)
    service = services.lists
    plist = service.create(clinic.tenant_id, _new_list(double_opt_in=True))
    member = NewMember(PATIENT, MemberConsent(ConsentSource.WEB_FORM, clock(), "form 7"))

    added = service.add_member(clinic.tenant_id, plist.list_id, member, "req-1")

    assert added.member.status.value == "pending"
    assert events.events == []
    assert service.get(clinic.tenant_id, plist.list_id).counts["pending"] == 1
    clock.advance(PENDING_FOR - timedelta(seconds=1))
    assert service.get(clinic.tenant_id, plist.list_id).counts["pending"] == 1
    clock.advance(timedelta(seconds=1))
    counts = service.get(clinic.tenant_id, plist.list_id).counts
    assert (counts["pending"], counts["expired"]) == (0, 1)
    actions = [e.action.value for e in services.lists.consent_history(clinic.tenant_id, PATIENT)[1]]
    assert actions == ["invited", "expired"]


def _new_list(**fields: Any) -> NewList:
    given: dict[str, Any] = {
        "name": "Pantry alerts",
        "keyword": "alerts",
        "frequency": Frequency(4, FrequencyPeriod.MONTH),
        "purpose": ListPurpose.INFORMATIONAL,
    }
    return NewList(**{**given, **fields})


@pytest.mark.parametrize("keyword", ["confirm", "CALL", "late", "resched", "rebook"])
def test_a_keyword_that_is_a_default_reply_word_is_refused_naming_keyword(api, keyword):
    status, error = api.call("POST", "/lists", body=a_list(keyword=keyword))

    refused(status, error, "keyword")
    assert "reply word" in error["message"]
    assert api.call("GET", "/lists")[1]["items"] == []


def test_a_keyword_that_is_one_of_the_tenants_own_reply_words_is_refused(aws, clinic, api):
    aws.admin.update_tenant(clinic.tenant_id, reply_keywords={"confirm": ("yep",)})

    status, error = api.call("POST", "/lists", body=a_list(keyword="Yep"))

    refused(status, error, "keyword")
    create(api, keyword="nope")


def test_a_patch_to_a_reply_word_keyword_is_refused_and_changes_nothing(api):
    created = create(api)

    status, error = api.call(
        "PATCH", "/lists/{id}", params={"id": created["id"]}, body={"keyword": "confirm"}
    )

    refused(status, error, "keyword")
    assert get_list(api, created["id"]) == created
