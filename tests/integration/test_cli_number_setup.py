"""`reach numbers attach|check` and `reach tenants create` with End User Messaging: the
tables under moto, End User Messaging through botocore's Stubber (the real service model)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from builders import EUM_NUMBER as NUMBER
from builders import EUM_NUMBER_ARN as ARN
from builders import phone_entry
from reach.adapters.numbers_eum import EumNumberProvider
from reach.adapters.sms_base import SDK_CLIENT_CONFIG
from reach.wiring import Services, build_number_setup
from reach_tools import cli
from reach_tools.cli import main, stack_environment

TOPIC = "arn:aws:sns:us-east-1:123456789012:reach-InboundTopic-1"
CLINIC = ["--name", "Riverside Family Clinic", "--timezone", "America/New_York"]


def set_up(tenant_id: str) -> dict[str, Any]:
    """The entry once Reach has set it up for ``tenant_id``."""
    return phone_entry(
        TwoWayEnabled=True,
        TwoWayChannelArn=TOPIC,
        SelfManagedOptOutsEnabled=True,
        OptOutListName=f"reach-{tenant_id}",
    )


@pytest.fixture
def eum(aws: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """A stack on End User Messaging, whose number calls go to a Stubber."""
    monkeypatch.setenv("SMS_PROVIDER", "end-user-messaging")
    monkeypatch.setenv("INBOUND_TOPIC_ARN", TOPIC)
    client = boto3.client(
        "pinpoint-sms-voice-v2", region_name="us-east-1", config=SDK_CLIENT_CONFIG
    )
    monkeypatch.setattr(
        cli, "build_number_setup", partial(build_number_setup, provider=EumNumberProvider(client))
    )
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def tenant(aws: Services, number_type: str = "toll-free") -> str:
    created, _ = aws.admin.create_tenant(
        "Riverside", "America/New_York", NUMBER, "21:00-08:00", ("P1D",), number_type=number_type
    )
    return created.tenant_id


def describe(stub: Stubber, *entries: dict[str, Any]) -> None:
    stub.add_response(
        "describe_phone_numbers", {"PhoneNumbers": list(entries)}, {"MaxResults": 100}
    )


def list_missing(stub: Stubber, name: str) -> None:
    stub.add_client_error(
        "describe_opt_out_lists",
        service_error_code="ResourceNotFoundException",
        http_status_code=404,
        modeled_fields={"Message": "no list", "ResourceType": "opt-out-list", "ResourceId": name},
        expected_params={"OptOutListNames": [name]},
    )


def list_found(stub: Stubber, name: str) -> None:
    stub.add_response(
        "describe_opt_out_lists",
        {
            "OptOutLists": [
                {
                    "OptOutListArn": f"arn:aws:sms-voice:us-east-1:1:opt-out-list/{name}",
                    "OptOutListName": name,
                    "CreatedTimestamp": "2026-01-01T00:00:00Z",
                }
            ]
        },
        {"OptOutListNames": [name]},
    )


def expect_attach(stub: Stubber, tenant_id: str) -> None:
    """A new number's whole setup: its list created, then its settings in one update."""
    name = f"reach-{tenant_id}"
    describe(stub, phone_entry())
    list_missing(stub, name)
    stub.add_response(
        "create_opt_out_list",
        {"OptOutListArn": f"arn:aws:sms-voice:us-east-1:1:opt-out-list/{name}"},
        {"OptOutListName": name},
    )
    stub.add_response(
        "update_phone_number",
        {"PhoneNumberArn": ARN},
        {
            "PhoneNumberId": ARN,
            "TwoWayEnabled": True,
            "TwoWayChannelArn": TOPIC,
            "SelfManagedOptOutsEnabled": True,
            "OptOutListName": name,
        },
    )
    describe(stub, set_up(tenant_id))


def test_attach_creates_the_tenants_opt_out_list_and_sets_two_way_and_self_managed_opt_outs(
    aws: Services, eum: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a tenant whose toll-free number has End User Messaging's defaults
    tenant_id = tenant(aws)
    expect_attach(eum, tenant_id)

    # when the number is attached
    code, out, err = run(capsys, "numbers", "attach", tenant_id, NUMBER, "--json")

    # then the list was created, the number updated (the Stubber checked the request), and
    # nothing is left to fix
    report = json.loads(out)
    assert code == 0, err
    assert report["changed"] == ["opt_out_list_created", "number_settings"]
    assert (report["ok"], report["problems"], report["opt_out_list"]) == (
        True,
        [],
        f"reach-{tenant_id}",
    )


def test_attaching_a_number_already_set_up_changes_nothing(
    aws: Services, eum: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant_id = tenant(aws)
    describe(eum, set_up(tenant_id))
    list_found(eum, f"reach-{tenant_id}")

    code, out, _ = run(capsys, "numbers", "attach", tenant_id, NUMBER)

    assert code == 0
    assert "set up as Reach needs it" in out


def test_check_reports_every_setting_that_drifted_and_exits_3(
    aws: Services, eum: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a number left as AWS creates it, and no list of the tenant's own
    tenant_id = tenant(aws)
    describe(eum, phone_entry())
    list_missing(eum, f"reach-{tenant_id}")

    # when it is checked, as JSON and as text
    code, out, _ = run(capsys, "numbers", "check", tenant_id, NUMBER, "--json")
    describe(eum, phone_entry())
    list_missing(eum, f"reach-{tenant_id}")
    _, text, _ = run(capsys, "numbers", "check", tenant_id, NUMBER)

    # then each drift is named, with what Reach expects and what the number has
    problems = {p["setting"]: p for p in json.loads(out)["problems"]}
    assert code == 3
    assert set(problems) == {
        "two_way_enabled",
        "two_way_channel_arn",
        "self_managed_opt_outs",
        "opt_out_list",
        "opt_out_list_exists",
    }
    assert (problems["opt_out_list"]["expected"], problems["opt_out_list"]["actual"]) == (
        f"reach-{tenant_id}",
        "Default",
    )
    assert all(p["fixed_by_attach"] for p in problems.values())
    assert "two answers" in text
    assert "blocks this tenant's texts" in text


def test_check_reports_a_type_and_mps_that_differ_from_the_providers_with_the_fix(
    aws: Services, eum: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    # given Reach records a 10DLC number at 1 MPS that AWS says is toll-free at 3
    tenant_id = tenant(aws, number_type="10dlc")
    describe(eum, set_up(tenant_id))
    list_found(eum, f"reach-{tenant_id}")

    # when it is checked
    code, out, _ = run(capsys, "numbers", "check", tenant_id, NUMBER, "--json")

    # then both differences are problems attach cannot fix, each with its command
    problems = {p["setting"]: p for p in json.loads(out)["problems"]}
    assert code == 3
    assert (problems["number_type"]["expected"], problems["number_type"]["actual"]) == (
        "10dlc",
        "toll-free",
    )
    assert (problems["mps"]["expected"], problems["mps"]["actual"]) == ("1", "3")
    assert (
        f"reach tenants update {tenant_id} --number-type toll-free"
        in (problems["number_type"]["message"])
    )
    assert not problems["mps"]["fixed_by_attach"]


def test_tenants_create_on_end_user_messaging_sets_the_number_up_at_once(
    aws: Services, eum: Stubber, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    # given the next tenant's id is known, so the stubbed requests can name its list
    monkeypatch.setattr(
        "reach.services.tenants.uuid.uuid4", lambda: type("U", (), {"hex": "a" * 32})()
    )
    tenant_id = "ten_" + "a" * 20
    expect_attach(eum, tenant_id)

    # when the tenant is created
    code, out, err = run(
        capsys,
        "tenants",
        "create",
        *CLINIC,
        "--number",
        NUMBER,
        "--number-type",
        "toll-free",
        "--json",
    )

    # then it exists and its number is set up
    created = json.loads(out)
    assert code == 0, err
    assert created["tenant_id"] == tenant_id
    assert created["number_setup"]["ok"] is True


def test_a_new_tenant_whose_number_is_not_in_the_account_still_gets_its_key_and_a_next_step(
    aws: Services, eum: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    # given End User Messaging has no such number
    describe(eum)

    # when the tenant is created
    code, out, err = run(capsys, "tenants", "create", *CLINIC, "--number", NUMBER, "--json")

    # then the tenant and its key were printed, and the error says what to run next
    created = json.loads(out)
    assert code == 1
    assert created["api_key"].startswith("rk_")
    assert "not a phone number of this AWS account" in err
    assert f"reach numbers attach {created['tenant_id']} {NUMBER}" in err


def test_a_number_that_is_not_the_tenants_is_refused_naming_it_and_nothing_is_called(
    aws: Services, eum: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant_id = tenant(aws)

    code, _, err = run(capsys, "numbers", "attach", tenant_id, "+13125550100")

    assert code == 2
    assert f"sends from {NUMBER}" in err
    assert "(--number)" in err


def test_an_unknown_tenant_exits_2(
    aws: Services, eum: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "numbers", "check", "ten_missing", NUMBER)
    assert code == 2
    assert "ten_missing not found" in err


def test_a_refusal_by_end_user_messaging_exits_1_naming_the_call(
    aws: Services, eum: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant_id = tenant(aws)
    eum.add_client_error(
        "describe_phone_numbers",
        service_error_code="AccessDeniedException",
        service_message="not allowed",
        http_status_code=403,
        expected_params={"MaxResults": 100},
    )

    code, _, err = run(capsys, "numbers", "check", tenant_id, NUMBER)

    assert code == 1
    assert "DescribePhoneNumbers failed: AccessDeniedException" in err
    assert "Traceback" not in err


def test_without_the_inbound_topic_attach_exits_2_naming_the_variable(
    aws: Services, eum: Stubber, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    tenant_id = tenant(aws)
    monkeypatch.delenv("INBOUND_TOPIC_ARN")

    code, _, err = run(capsys, "numbers", "attach", tenant_id, NUMBER)

    assert code == 2
    assert "INBOUND_TOPIC_ARN" in err


@pytest.mark.parametrize("command", ["attach", "check"])
def test_with_sns_the_number_commands_explain_the_account_wide_opt_out_list(
    aws: Services, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    tenant_id = tenant(aws)

    code, _, err = run(capsys, "numbers", command, tenant_id, NUMBER)

    assert code == 2
    assert "one per AWS account" in err
    assert "every tenant" in err


def test_the_stacks_inbound_topic_and_provider_come_from_its_outputs_and_parameters() -> None:
    stack = {
        "StackName": "reach-prod",
        "Outputs": [
            {"OutputKey": "TenantsTableName", "OutputValue": "t"},
            {"OutputKey": "AppointmentsTableName", "OutputValue": "a"},
            {"OutputKey": "InboundTopicArn", "OutputValue": TOPIC},
        ],
        "Parameters": [
            {"ParameterKey": "SmsProvider", "ParameterValue": "end-user-messaging"},
            {"ParameterKey": "OriginationType", "ParameterValue": "short-code"},
            {"ParameterKey": "OriginationMps", "ParameterValue": ""},
        ],
    }

    environment = stack_environment(stack, "us-east-1")

    assert environment["INBOUND_TOPIC_ARN"] == TOPIC
    assert environment["SMS_PROVIDER"] == "end-user-messaging"
    assert environment["ORIGINATION_TYPE"] == "short-code"
    assert "ORIGINATION_MPS" not in environment
