"""Provider opt-out list adapters, against botocore's Stubber; the fake; the factory.

The Stubber fails on any call that was not expected, with other parameters than expected, or
with parameters the real service model does not have (SNS's lower case ``nextToken``, for
one). Neither it nor botocore checks the model's patterns or maxima, in requests or in
responses: that lets these tests hand the adapters entries that are not phone numbers, and it
is why the adapters check the numbers they send themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber
from dateutil.tz import tzutc

from reach.adapters.opt_outs_eum import EumOptOutList, EumTenantOptOutLists
from reach.adapters.opt_outs_factory import build_opt_out_list, build_opt_out_lists
from reach.adapters.opt_outs_fake import FakeOptOutList
from reach.adapters.opt_outs_sns import SnsOptOutList
from reach.adapters.sms_base import SDK_CLIENT_CONFIG
from reach.domain.errors import InvalidInput
from reach.ports.opt_outs import (
    OptOutListError,
    OptOutListMissing,
    ProviderOptOut,
    listed_number_to_e164,
)

ANA = "+12025550143"
BEN = "+14155552671"
CHLOE = "+447911123456"
LIST = "reach-clinics"


def stubbed(service: str) -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(service, region_name="us-east-1", config=SDK_CLIENT_CONFIG)
    with Stubber(client) as stubber:
        yield client, stubber
        # Every stubbed response was consumed: no fewer calls than the test scripted.
        stubber.assert_no_pending_responses()


def refuse(
    stubber: Stubber,
    operation: str,
    code: str,
    status: int,
    params: dict[str, Any],
    **modeled: Any,
) -> None:
    stubber.add_client_error(
        operation,
        service_error_code=code,
        service_message=f"{code} for this request",
        http_status_code=status,
        modeled_fields={"Message": f"{code} for this request", **modeled} if modeled else None,
        expected_params=params,
    )


def unreachable(client: Any, event: str) -> list[AWSPreparedRequest]:
    """Every request the client sends fails to connect (a botocore hook: nothing leaves)."""
    calls: list[AWSPreparedRequest] = []

    def refuse_connection(request: AWSPreparedRequest, **_: Any) -> None:
        calls.append(request)
        raise EndpointConnectionError(endpoint_url=request.url)

    client.meta.events.register(event, refuse_connection)
    return calls


# --- End User Messaging ------------------------------------------------------------------


@pytest.fixture
def eum() -> Iterator[tuple[EumOptOutList, Stubber]]:
    for client, stubber in stubbed("pinpoint-sms-voice-v2"):
        yield EumOptOutList(client, LIST), stubber


def describe_params(token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"OptOutListName": LIST, "MaxResults": 100}
    if token:
        params["NextToken"] = token
    return params


def entry(number: str, at: datetime, by_recipient: bool = True) -> dict[str, Any]:
    return {"OptedOutNumber": number, "OptedOutTimestamp": at, "EndUserOptedOut": by_recipient}


def test_eum_reads_every_page_with_when_and_how_each_number_opted_out(eum):
    # Given a list of two pages: the first ends with a NextToken, the second without
    adapter, stubber = eum
    stubber.add_response(
        "describe_opted_out_numbers",
        {
            "OptOutListName": LIST,
            "OptedOutNumbers": [
                # botocore parses timestamps as aware (tzutc)
                entry(ANA, datetime(2026, 10, 1, 9, 30, tzinfo=tzutc())),
                # put on the list through the API or console, not by the recipient
                entry(BEN, datetime(2026, 10, 2, 8, 0, tzinfo=tzutc()), by_recipient=False),
            ],
            "NextToken": "page-2",
        },
        describe_params(),
    )
    stubber.add_response(
        "describe_opted_out_numbers",
        {
            "OptedOutNumbers": [
                # another offset and a naive value are both brought to aware UTC
                entry(CHLOE, datetime(2026, 10, 3, 12, 0, tzinfo=timezone(timedelta(hours=2)))),
                entry("12125550100", datetime(2026, 10, 4, 7, 15)),
            ]
        },
        describe_params("page-2"),
    )

    # When the list is read
    listed = list(adapter.opted_out())

    # Then every number of both pages comes back in E.164, with aware UTC times
    assert listed == [
        ProviderOptOut(ANA, datetime(2026, 10, 1, 9, 30, tzinfo=UTC), True),
        ProviderOptOut(BEN, datetime(2026, 10, 2, 8, 0, tzinfo=UTC), False),
        ProviderOptOut(CHLOE, datetime(2026, 10, 3, 10, 0, tzinfo=UTC), True),
        # the model lets the "+" be absent: the number is still read as E.164
        ProviderOptOut("+12125550100", datetime(2026, 10, 4, 7, 15, tzinfo=UTC), True),
    ]
    assert all(item.opted_out_at and item.opted_out_at.tzinfo is UTC for item in listed)
    assert adapter.skipped == 0


def test_eum_skips_and_counts_entries_that_are_not_phone_numbers(eum):
    adapter, stubber = eum
    at = datetime(2026, 10, 1, tzinfo=UTC)
    stubber.add_response(
        "describe_opted_out_numbers",
        {"OptedOutNumbers": [entry("+999", at), entry(ANA, at), entry("+4477009009", at)]},
        describe_params(),
    )

    listed = [item.phone for item in adapter.opted_out()]

    assert listed == [ANA]
    assert adapter.skipped == 2


def test_eum_an_empty_list_is_one_call_and_nothing_listed(eum):
    adapter, stubber = eum
    stubber.add_response("describe_opted_out_numbers", {"OptedOutNumbers": []}, describe_params())

    assert list(adapter.opted_out()) == []


def test_eum_throttling_on_a_later_page_raises_retryable_after_the_first_page(eum):
    # Given page 1 is read, then page 2 is throttled
    adapter, stubber = eum
    at = datetime(2026, 10, 1, tzinfo=UTC)
    stubber.add_response(
        "describe_opted_out_numbers",
        {"OptedOutNumbers": [entry(ANA, at)], "NextToken": "page-2"},
        describe_params(),
    )
    refuse(
        stubber, "describe_opted_out_numbers", "ThrottlingException", 400, describe_params("page-2")
    )
    listing = adapter.opted_out()

    # Then the first page's numbers arrive, and the throttling surfaces as retryable
    assert next(listing).phone == ANA
    with pytest.raises(OptOutListError) as raised:
        next(listing)
    assert raised.value.retryable
    assert raised.value.reason == "throttled"
    assert raised.value.provider_code == "ThrottlingException"
    assert isinstance(raised.value.__cause__, ClientError)


@pytest.mark.parametrize(
    ("code", "modeled", "reason"),
    [
        (
            "ResourceNotFoundException",
            {"ResourceType": "opt-out-list", "ResourceId": LIST},
            "resource_not_found",
        ),
        ("AccessDeniedException", {"Reason": "ACCOUNT_DISABLED"}, "access_denied"),
        ("ValidationException", {"Reason": "INVALID_ARN"}, "invalid_request"),
    ],
)
def test_eum_listing_a_missing_list_or_without_access_is_not_retryable(eum, code, modeled, reason):
    adapter, stubber = eum
    refuse(stubber, "describe_opted_out_numbers", code, 400, describe_params(), **modeled)

    with pytest.raises(OptOutListError) as raised:
        list(adapter.opted_out())

    assert not raised.value.retryable
    assert raised.value.reason == reason
    assert raised.value.provider_code == code


def delete_params(phone: str = ANA) -> dict[str, Any]:
    return {"OptOutListName": LIST, "OptedOutNumber": phone}


def test_eum_opt_in_deletes_the_number_from_the_named_list(eum):
    adapter, stubber = eum
    stubber.add_response(
        "delete_opted_out_number",
        {
            "OptOutListName": LIST,
            "OptedOutNumber": ANA,
            "OptedOutTimestamp": datetime(2026, 10, 1, tzinfo=tzutc()),
            "EndUserOptedOut": True,
        },
        delete_params(),
    )

    assert adapter.opt_in(ANA) is True


def test_eum_opt_in_of_a_number_not_on_the_list_is_done(eum):
    adapter, stubber = eum
    refuse(
        stubber,
        "delete_opted_out_number",
        "ResourceNotFoundException",
        404,
        delete_params(),
        ResourceType="opted-out-number",
        ResourceId=ANA,
    )

    assert adapter.opt_in(ANA) is True


def test_eum_opt_in_against_a_missing_list_is_a_configuration_error(eum):
    adapter, stubber = eum
    refuse(
        stubber,
        "delete_opted_out_number",
        "ResourceNotFoundException",
        404,
        delete_params(),
        ResourceType="opt-out-list",
        ResourceId=LIST,
    )

    with pytest.raises(OptOutListError) as raised:
        adapter.opt_in(ANA)

    assert not raised.value.retryable
    assert raised.value.reason == "resource_not_found"


@pytest.mark.parametrize(
    ("code", "modeled"),
    [
        ("ValidationException", {"Reason": "PHONE_NUMBER_CANNOT_BE_OPTED_IN"}),
        ("ValidationException", {"Reason": "OTHER"}),
        ("ConflictException", {"Reason": "RESOURCE_MODIFICATION_NOT_ALLOWED"}),
    ],
)
def test_eum_opt_in_refused_for_now_is_false_not_an_error(eum, code, modeled):
    adapter, stubber = eum
    refuse(stubber, "delete_opted_out_number", code, 400, delete_params(), **modeled)

    assert adapter.opt_in(ANA) is False


@pytest.mark.parametrize(
    ("code", "status", "retryable", "reason"),
    [
        ("ThrottlingException", 400, True, "throttled"),
        ("InternalServerException", 500, True, "provider_error"),
        ("AccessDeniedException", 400, False, "access_denied"),
    ],
)
def test_eum_opt_in_other_failures_raise_classified(eum, code, status, retryable, reason):
    adapter, stubber = eum
    refuse(stubber, "delete_opted_out_number", code, status, delete_params())

    with pytest.raises(OptOutListError) as raised:
        adapter.opt_in(ANA)

    assert raised.value.retryable is retryable
    assert raised.value.reason == reason
    assert raised.value.provider_code == code


@pytest.mark.parametrize("phone", ["+1 (202) 555-0143", "12025550143", "+15555550100", ""])
def test_eum_opt_in_of_anything_but_e164_is_refused_without_a_call(eum, phone):
    # Nothing is stubbed: a call would fail the test. botocore would not catch these itself
    # (it checks lengths, not the model's pattern), and End User Messaging's answer, a
    # ValidationException, would read as the 30-day rule: "not now" for ever.
    adapter, _ = eum

    with pytest.raises(OptOutListError) as raised:
        adapter.opt_in(phone)

    assert raised.value.reason == "invalid_number"
    assert not raised.value.retryable


def test_eum_an_unreachable_endpoint_is_retryable():
    adapter = EumOptOutList(None, LIST, region_name="eu-west-2")
    calls = unreachable(adapter.client, "before-send.pinpoint-sms-voice-v2.DeleteOptedOutNumber")

    with pytest.raises(OptOutListError) as raised:
        adapter.opt_in(ANA)

    assert raised.value.retryable
    assert raised.value.reason == "unreachable"
    # One HTTP attempt: botocore's own retries are off (SDK_CLIENT_CONFIG)
    assert len(calls) == 1


def test_eum_needs_an_opt_out_list_name():
    with pytest.raises(ValueError, match="opt-out list"):
        EumOptOutList(boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1"), "")


# --- SNS ---------------------------------------------------------------------------------


@pytest.fixture
def sns() -> Iterator[tuple[SnsOptOutList, Stubber]]:
    for client, stubber in stubbed("sns"):
        yield SnsOptOutList(client), stubber


def test_sns_follows_next_token_across_pages_and_normalises_numbers(sns):
    # Given three pages: SNS's token is ``nextToken``, lower case, in and out
    adapter, stubber = sns
    stubber.add_response(
        "list_phone_numbers_opted_out", {"phoneNumbers": [ANA], "nextToken": "t-2"}, {}
    )
    stubber.add_response(
        "list_phone_numbers_opted_out",
        {"phoneNumbers": ["14155552671", "+44 7911 123456"], "nextToken": "t-3"},
        {"nextToken": "t-2"},
    )
    stubber.add_response("list_phone_numbers_opted_out", {"phoneNumbers": []}, {"nextToken": "t-3"})

    listed = list(adapter.opted_out())

    # Then every number arrives in E.164; SNS says neither when nor how
    assert listed == [
        ProviderOptOut(ANA, None, True),
        ProviderOptOut(BEN, None, True),
        ProviderOptOut(CHLOE, None, True),
    ]


def test_sns_an_unparseable_number_is_skipped_and_counted_not_raised(sns):
    adapter, stubber = sns
    stubber.add_response(
        "list_phone_numbers_opted_out", {"phoneNumbers": ["call-me-maybe", ANA, ""]}, {}
    )

    listed = [item.phone for item in adapter.opted_out()]

    assert listed == [ANA]
    assert adapter.skipped == 2


def test_sns_skipped_is_counted_per_pass(sns):
    adapter, stubber = sns
    stubber.add_response("list_phone_numbers_opted_out", {"phoneNumbers": ["nope"]}, {})
    stubber.add_response("list_phone_numbers_opted_out", {"phoneNumbers": [ANA]}, {})

    assert list(adapter.opted_out()) == []
    assert adapter.skipped == 1
    assert [item.phone for item in adapter.opted_out()] == [ANA]
    assert adapter.skipped == 0


@pytest.mark.parametrize(
    ("code", "status", "retryable", "reason"),
    [
        ("Throttled", 429, True, "throttled"),
        ("InternalError", 500, True, "provider_error"),
        ("AuthorizationError", 403, False, "access_denied"),
        ("InvalidParameter", 400, False, "invalid_request"),
    ],
)
def test_sns_listing_errors_are_classified(sns, code, status, retryable, reason):
    adapter, stubber = sns
    refuse(stubber, "list_phone_numbers_opted_out", code, status, {})

    with pytest.raises(OptOutListError) as raised:
        list(adapter.opted_out())

    assert raised.value.retryable is retryable
    assert raised.value.reason == reason
    assert raised.value.provider_code == code


def test_sns_opt_in_sends_the_number(sns):
    adapter, stubber = sns
    stubber.add_response("opt_in_phone_number", {}, {"phoneNumber": ANA})

    assert adapter.opt_in(ANA) is True


def test_sns_opt_in_refused_by_the_30_day_rule_is_false(sns):
    # SNS refuses a second opt-in within 30 days with InvalidParameter
    adapter, stubber = sns
    refuse(stubber, "opt_in_phone_number", "InvalidParameter", 400, {"phoneNumber": ANA})

    assert adapter.opt_in(ANA) is False


@pytest.mark.parametrize(
    ("code", "status", "retryable", "reason"),
    [
        ("Throttled", 429, True, "throttled"),
        ("InternalError", 500, True, "provider_error"),
        ("AuthorizationError", 403, False, "access_denied"),
        # not in the SNS table: judged by HTTP status, as for sends
        ("SomethingNew", 503, True, "provider_error"),
    ],
)
def test_sns_opt_in_other_failures_raise_classified(sns, code, status, retryable, reason):
    adapter, stubber = sns
    refuse(stubber, "opt_in_phone_number", code, status, {"phoneNumber": ANA})

    with pytest.raises(OptOutListError) as raised:
        adapter.opt_in(ANA)

    assert raised.value.retryable is retryable
    assert raised.value.reason == reason


@pytest.mark.parametrize("phone", ["+1 202 555 0143", "2025550143", "STOP"])
def test_sns_opt_in_of_anything_but_e164_is_refused_without_a_call(sns, phone):
    # InvalidParameter for a malformed number would otherwise read as the 30-day rule
    adapter, _ = sns

    with pytest.raises(OptOutListError) as raised:
        adapter.opt_in(phone)

    assert raised.value.reason == "invalid_number"
    assert not raised.value.retryable


def test_sns_an_unreachable_endpoint_is_retryable():
    adapter = SnsOptOutList(region_name="eu-west-2")
    calls = unreachable(adapter.client, "before-send.sns.ListPhoneNumbersOptedOut")

    with pytest.raises(OptOutListError) as raised:
        list(adapter.opted_out())

    assert raised.value.retryable
    assert raised.value.reason == "unreachable"
    assert len(calls) == 1


# --- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        (ANA, ANA),
        ("12025550143", ANA),
        (" +1 202-555-0143 ", ANA),
        ("+44 (0)7911 123456", CHLOE),
        ("+15555550100", None),  # not a dialable number
        ("2025550143", None),  # no country code, no plus: not guessed
        ("", None),
        ("STOP", None),
    ],
)
def test_listed_numbers_are_read_as_e164_or_not_at_all(raw, e164):
    assert listed_number_to_e164(raw) == e164


# --- the fake ------------------------------------------------------------------------------


def test_the_fake_lists_what_was_added_in_e164_and_in_order():
    fake = FakeOptOutList()
    at = datetime(2026, 10, 1, tzinfo=UTC)

    fake.add("+1 202 555 0143", at=at)
    fake.add(BEN, by_recipient=False)

    assert fake.name == "fake"
    assert list(fake.opted_out()) == [
        ProviderOptOut(ANA, at, True),
        ProviderOptOut(BEN, None, False),
    ]


def test_the_fake_refuses_bad_numbers_and_naive_times():
    fake = FakeOptOutList()

    with pytest.raises(InvalidInput):
        fake.add("not a number")
    with pytest.raises(ValueError, match="aware"):
        fake.add(ANA, at=datetime(2026, 10, 1))


def test_the_fake_opt_in_removes_refuses_and_records():
    fake = FakeOptOutList()
    fake.add(ANA)
    fake.add(BEN)
    fake.refuse_opt_in.add(BEN)

    assert fake.opt_in(ANA) is True  # removed
    assert fake.opt_in(BEN) is False  # refused for now: stays listed
    assert fake.opt_in(CHLOE) is True  # was not listed
    assert [item.phone for item in fake.opted_out()] == [BEN]
    assert fake.opt_in_calls == [ANA, BEN, CHLOE]


def test_the_fake_raises_scripted_errors_once_each():
    fake = FakeOptOutList()
    fake.add(ANA)
    fake.fail_next(OptOutListError("throttled", retryable=True))

    with pytest.raises(OptOutListError) as raised:
        fake.opt_in(ANA)

    assert raised.value.retryable
    assert fake.opt_in(ANA) is True
    assert fake.opt_in_calls == [ANA, ANA]


def test_the_fake_opt_in_takes_e164_only_like_the_adapters():
    fake = FakeOptOutList()

    with pytest.raises(OptOutListError) as raised:
        fake.opt_in("12025550143")

    assert raised.value.reason == "invalid_number"


def test_the_fake_listing_is_a_snapshot_while_numbers_are_opted_in():
    fake = FakeOptOutList()
    fake.add(ANA)
    fake.add(BEN)

    seen = []
    for item in fake.opted_out():
        seen.append(item.phone)
        fake.opt_in(item.phone)

    assert seen == [ANA, BEN]
    assert list(fake.opted_out()) == []


# --- the factory ---------------------------------------------------------------------------


def test_the_factory_builds_sns_for_the_region_with_retries_off():
    chosen = build_opt_out_list("sns", "eu-west-2", "ignored-for-sns")

    assert isinstance(chosen, SnsOptOutList)
    assert chosen.name == "sns"
    assert chosen.client.meta.service_model.service_name == "sns"
    assert chosen.client.meta.region_name == "eu-west-2"
    assert chosen.client.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}


def test_the_factory_builds_end_user_messaging_on_the_named_list():
    chosen = build_opt_out_list("end-user-messaging", "eu-west-2", LIST)

    assert isinstance(chosen, EumOptOutList)
    assert chosen.name == "end-user-messaging"
    assert chosen.opt_out_list_name == LIST
    assert chosen.client.meta.service_model.service_name == "pinpoint-sms-voice-v2"
    assert chosen.client.meta.region_name == "eu-west-2"
    assert chosen.client.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}


@pytest.mark.parametrize("name", ["", "Default"])
def test_the_factory_reads_the_default_list_unless_told_otherwise(name):
    chosen = build_opt_out_list("end-user-messaging", "us-east-1", name)

    assert isinstance(chosen, EumOptOutList)
    assert chosen.opt_out_list_name == "Default"


def test_the_factory_uses_a_given_client_and_endpoint():
    client = boto3.client("sns", region_name="us-east-1")

    given = build_opt_out_list("sns", "us-east-1", client=client)
    local = build_opt_out_list("sns", "us-east-1", endpoint_url="http://127.0.0.1:5005")

    assert isinstance(given, SnsOptOutList)
    assert given.client is client
    assert isinstance(local, SnsOptOutList)
    assert local.client.meta.endpoint_url == "http://127.0.0.1:5005"


@pytest.mark.parametrize("provider", ["pinpoint", "SNS", "fake", ""])
def test_the_factory_refuses_an_unknown_provider(provider):
    with pytest.raises(ValueError, match="unknown SMS provider") as raised:
        build_opt_out_list(provider, "us-east-1")

    assert "sns, end-user-messaging" in str(raised.value)


# --- Per-tenant lists (End User Messaging) -------------------------------------------------


def test_eum_listing_a_list_that_does_not_exist_says_the_list_is_missing(eum):
    adapter, stubber = eum
    refuse(
        stubber,
        "describe_opted_out_numbers",
        "ResourceNotFoundException",
        404,
        describe_params(),
        ResourceType="opt-out-list",
        ResourceId=LIST,
    )

    with pytest.raises(OptOutListMissing) as raised:
        list(adapter.opted_out())

    assert (raised.value.list_name, raised.value.retryable) == (LIST, False)


def test_eum_gives_each_tenant_its_own_list_and_no_shared_one():
    for client, stubber in stubbed("pinpoint-sms-voice-v2"):
        lists = EumTenantOptOutLists(client)
        stubber.add_response(
            "describe_opted_out_numbers",
            {"OptOutListArn": "arn", "OptOutListName": "reach-ten_a", "OptedOutNumbers": []},
            {"OptOutListName": "reach-ten_a", "MaxResults": 100},
        )

        assert lists.shared() is None
        assert list(lists.of_tenant("ten_a").opted_out()) == []


def test_the_reconciliation_reads_sns_account_wide_and_end_user_messaging_per_tenant():
    sns = build_opt_out_lists("sns", "us-east-1")
    eum = build_opt_out_lists("end-user-messaging", "us-east-1")

    assert isinstance(sns.shared(), SnsOptOutList)
    assert sns.of_tenant("ten_a") is sns.shared()
    assert eum.shared() is None
    assert isinstance(eum, EumTenantOptOutLists)
    with pytest.raises(ValueError, match="unknown SMS provider"):
        build_opt_out_lists("carrier-pigeon", "us-east-1")
