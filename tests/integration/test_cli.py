"""The `reach` admin CLI against the template's tables under moto."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from builders import book
from reach.domain.errors import Forbidden, InvalidInput
from reach.domain.models import AppointmentKind
from reach.wiring import Services
from reach_tools.cli import StackLookupError, main, stack_environment
from reach_tools.template import default_table_names, load_template, table_create_kwargs

CLINIC = ["--name", "Riverside Family Clinic", "--timezone", "America/New_York"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def create_tenant(
    capsys: pytest.CaptureFixture[str], number: str = "+12025550143", *extra: str
) -> dict[str, Any]:
    code, out, err = run(capsys, "tenants", "create", *CLINIC, "--number", number, *extra, "--json")
    assert code == 0, err
    created: dict[str, Any] = json.loads(out)
    return created


def test_creating_a_tenant_prints_it_with_a_first_key_that_authenticates(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the template's tables, empty
    # when an operator creates a tenant
    created = create_tenant(capsys)

    # then the JSON describes the tenant and its key, and the key maps to that tenant
    assert created["tenant_id"].startswith("ten_")
    assert created["name"] == "Riverside Family Clinic"
    assert created["timezone"] == "America/New_York"
    assert created["sender_number"] == "+12025550143"
    assert created["api_key"].startswith(created["key_prefix"] + "_")
    assert aws.authenticator.tenant_for("Bearer " + created["api_key"]) == created["tenant_id"]


def test_a_new_tenant_gets_the_settings_quiet_hours_and_reminders_unless_given(
    aws: Services, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a stack whose defaults differ from the built-in ones
    monkeypatch.setenv("DEFAULT_QUIET_HOURS", "22:00-07:00")
    monkeypatch.setenv("DEFAULT_REMINDER_OFFSETS", "P2D")

    # when one tenant takes the defaults and another sets its own
    defaulted = create_tenant(capsys, "+12025550143")
    own = create_tenant(
        capsys, "+12025550144", "--quiet-hours", "20:00-09:00", "--reminders", "PT3H"
    )

    # then each has what it asked for
    assert (defaulted["quiet_hours"], defaulted["reminder_offsets"]) == ("22:00-07:00", ["P2D"])
    assert (own["quiet_hours"], own["reminder_offsets"]) == ("20:00-09:00", ["PT3H"])


def test_creating_a_tenant_in_text_shows_the_key_once_and_says_so(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    # when the tenant is created without --json
    code, out, _ = run(capsys, "tenants", "create", *CLINIC, "--number", "+12025550143")

    # then the key is printed with the warning that it will not be shown again
    assert code == 0
    assert "shown once" in out
    secret = out.split("shown once")[1].split()[-1]
    aws.authenticator.tenant_for("Bearer " + secret)


def test_tenants_list_and_show_print_every_tenant_and_its_keys(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    # given two tenants
    first = create_tenant(capsys, "+12025550143")
    second = create_tenant(capsys, "+12025550144")

    # when they are listed, and one is shown
    _, listed, _ = run(capsys, "tenants", "list", "--json")
    code, shown, _ = run(capsys, "tenants", "show", first["tenant_id"])

    # then the list holds both and the show names the tenant and its key prefix
    assert [t["tenant_id"] for t in json.loads(listed)] == [
        first["tenant_id"],
        second["tenant_id"],
    ]
    assert code == 0
    assert "Riverside Family Clinic" in shown
    assert first["key_prefix"] in shown


def test_keys_list_shows_prefixes_and_labels_and_never_a_secret(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a tenant with a second key
    tenant = create_tenant(capsys)
    code, out, _ = run(
        capsys, "keys", "create", "--tenant", tenant["tenant_id"], "--label", "EHR", "--json"
    )
    assert code == 0
    second = json.loads(out)

    # when its keys are listed, as text and as JSON
    _, text, _ = run(capsys, "keys", "list", "--tenant", tenant["tenant_id"])
    _, as_json, _ = run(capsys, "keys", "list", "--tenant", tenant["tenant_id"], "--json")

    # then both prefixes and the label show, and neither secret does
    listed = json.loads(as_json)
    assert [k["prefix"] for k in listed] == [tenant["key_prefix"], second["key_prefix"]]
    assert [k["label"] for k in listed] == ["initial", "EHR"]
    for output in (text, as_json):
        assert tenant["key_prefix"] in output
        assert second["key_prefix"] in output
        assert tenant["api_key"] not in output
        assert second["api_key"] not in output


def test_a_revoked_key_is_forbidden(aws: Services, capsys: pytest.CaptureFixture[str]) -> None:
    # given a tenant and its key
    tenant = create_tenant(capsys)

    # when the key is revoked
    code, out, _ = run(
        capsys,
        "keys",
        "revoke",
        "--tenant",
        tenant["tenant_id"],
        "--prefix",
        tenant["key_prefix"],
        "--json",
    )

    # then the key's record says so and the key no longer authenticates
    assert code == 0
    assert json.loads(out)["revoked_at"] is not None
    with pytest.raises(Forbidden):
        aws.authenticator.tenant_for("Bearer " + tenant["api_key"])


def test_rotating_a_key_issues_a_working_key_and_revokes_the_old_one(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a tenant and its key
    tenant = create_tenant(capsys)

    # when the key is rotated
    code, out, _ = run(
        capsys,
        "keys",
        "rotate",
        "--tenant",
        tenant["tenant_id"],
        "--prefix",
        tenant["key_prefix"],
        "--json",
    )

    # then the new key works for the same tenant and the old one is refused
    assert code == 0
    rotated = json.loads(out)
    assert rotated["revoked"]["prefix"] == tenant["key_prefix"]
    assert rotated["key_prefix"] != tenant["key_prefix"]
    assert aws.authenticator.tenant_for("Bearer " + rotated["api_key"]) == tenant["tenant_id"]
    with pytest.raises(Forbidden):
        aws.authenticator.tenant_for("Bearer " + tenant["api_key"])


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--timezone", "Mars/Olympus_Mons", "timezone"),
        ("--number", "12345", "number"),
        ("--quiet-hours", "9pm-8am", "quiet_hours"),
        ("--reminders", "P1D,soon", "reminder_offsets[1]"),
    ],
)
def test_a_bad_value_exits_2_naming_the_field_and_creates_nothing(
    aws: Services, capsys: pytest.CaptureFixture[str], option: str, value: str, field: str
) -> None:
    # given otherwise valid tenant options
    options = {"--timezone": "America/New_York", "--number": "+12025550143", option: value}

    # when one of them is wrong
    code, out, err = run(
        capsys,
        "tenants",
        "create",
        "--name",
        "Riverside Family Clinic",
        *[part for pair in options.items() for part in pair],
    )

    # then the CLI exits 2 naming the field and its option, and stores no tenant
    assert code == 2
    assert out == ""
    assert f"invalid {field} ({option})" in err
    _, listed, _ = run(capsys, "tenants", "list", "--json")
    assert json.loads(listed) == []


@pytest.mark.parametrize("offset", ["PT9999999999999999999999H", "P9999999999D"])
def test_a_huge_reminder_offset_exits_2_naming_the_option_not_a_traceback(
    aws: Services, capsys: pytest.CaptureFixture[str], offset: str
) -> None:
    # given a duration too large for any date arithmetic
    # when an operator creates a tenant with it, and changes a tenant to it
    created = run(
        capsys,
        "tenants",
        "create",
        *CLINIC,
        "--number",
        "+12025550143",
        "--reminders",
        f"P1D,{offset}",
    )
    tenant = create_tenant(capsys, "+12025550144")
    updated = run(capsys, "tenants", "update", tenant["tenant_id"], "--reminders", offset)

    # then each exits 2 naming the list item, its option and the maximum
    for code, out, err in (created, updated):
        assert code == 2
        assert out == ""
        assert "(--reminders)" in err
        assert "92-day maximum" in err
    assert "reminder_offsets[1]" in created[2]
    assert create_tenant(capsys, "+12025550145")["reminder_offsets"] == ["P1D", "PT2H"]


def test_a_second_tenant_with_the_same_number_exits_2(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a tenant that sends from +12025550143
    create_tenant(capsys, "+12025550143")

    # when another tenant claims the same number, written differently
    code, _, err = run(
        capsys, "tenants", "create", *CLINIC, "--number", "+1 202-555-0143", "--json"
    )

    # then the CLI refuses it
    assert code == 2
    assert "+12025550143 already belongs to a tenant" in err


def test_an_unknown_tenant_or_key_prefix_exits_2(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    # given one tenant
    tenant = create_tenant(capsys)

    # when keys of a tenant that does not exist, or a key that does not exist, are asked for
    listing = run(capsys, "keys", "list", "--tenant", "ten_missing")
    revoking = run(
        capsys, "keys", "revoke", "--tenant", tenant["tenant_id"], "--prefix", "rk_00000000"
    )
    rotating = run(
        capsys, "keys", "rotate", "--tenant", tenant["tenant_id"], "--prefix", "rk_00000000"
    )

    # then each exits 2 with a message naming what is missing
    assert listing[0] == 2
    assert "ten_missing not found" in listing[2]
    assert revoking[0] == 2
    assert "rk_00000000" in revoking[2]
    assert rotating[0] == 2
    assert "rk_00000000" in rotating[2]


def test_without_table_names_the_cli_exits_2_with_a_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an environment that names no tables
    monkeypatch.delenv("TENANTS_TABLE", raising=False)
    monkeypatch.delenv("APPOINTMENTS_TABLE", raising=False)

    # when any command runs
    code, out, err = run(capsys, "tenants", "list")

    # then it exits 2 and says how to name the tables
    assert code == 2
    assert out == ""
    assert "TENANTS_TABLE" in err
    assert "--stack" in err


def test_stack_outputs_and_parameters_become_the_reach_environment() -> None:
    # given a deployed stack's description
    stack = {
        "StackName": "reach-prod",
        "Outputs": [
            {"OutputKey": "ApiUrl", "OutputValue": "https://x.execute-api/prod"},
            {"OutputKey": "TenantsTableName", "OutputValue": "reach-prod-TenantsTable-1"},
            {"OutputKey": "AppointmentsTableName", "OutputValue": "reach-prod-Appts-2"},
        ],
        "Parameters": [
            {"ParameterKey": "DefaultQuietHours", "ParameterValue": "22:00-07:00"},
            {"ParameterKey": "DefaultReminderOffsets", "ParameterValue": "P2D,PT1H"},
            {"ParameterKey": "Stage", "ParameterValue": "prod"},
        ],
    }

    # when it is read as an environment
    environment = stack_environment(stack, "eu-west-1")

    # then the tables, the defaults for new tenants and the region come from it
    assert environment == {
        "TENANTS_TABLE": "reach-prod-TenantsTable-1",
        "APPOINTMENTS_TABLE": "reach-prod-Appts-2",
        "DEFAULT_QUIET_HOURS": "22:00-07:00",
        "DEFAULT_REMINDER_OFFSETS": "P2D,PT1H",
        "AWS_REGION": "eu-west-1",
    }


def test_a_stack_without_the_table_outputs_is_refused() -> None:
    # given a stack that is not (or not yet) a deployed Reach stack
    stack = {"StackName": "other", "Outputs": [{"OutputKey": "ApiUrl", "OutputValue": "x"}]}

    # when it is read, then the error names the missing outputs
    with pytest.raises(StackLookupError, match="TenantsTableName, AppointmentsTableName"):
        stack_environment(stack, "us-east-1")


def deploy_tables_stack(stack_name: str, prefix: str) -> dict[str, str]:
    """A CloudFormation stack in moto with the template's tables and Reach's outputs."""
    template = load_template()
    names = default_table_names(prefix, template)
    body = {
        "Parameters": {"DefaultQuietHours": {"Type": "String", "Default": "22:30-07:30"}},
        "Resources": {
            logical_id: {
                "Type": "AWS::DynamoDB::Table",
                "Properties": table_create_kwargs(template, logical_id, name),
            }
            for logical_id, name in names.items()
        },
        "Outputs": {
            "TenantsTableName": {"Value": {"Ref": "TenantsTable"}},
            "AppointmentsTableName": {"Value": {"Ref": "AppointmentsTable"}},
        },
    }
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(body))
    return names


def test_the_stack_option_finds_the_tables_in_the_stack_outputs(
    aws: Services, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a deployed stack and an environment that names no tables
    names = deploy_tables_stack("reach-staging", "staging")
    monkeypatch.delenv("TENANTS_TABLE")
    monkeypatch.delenv("APPOINTMENTS_TABLE")

    # when a tenant is created with --stack
    code, out, err = run(
        capsys,
        "--stack",
        "reach-staging",
        "tenants",
        "create",
        *CLINIC,
        "--number",
        "+12025550143",
        "--json",
    )

    # then it lands in the stack's tenants table, with the stack's default quiet hours
    assert code == 0, err
    created = json.loads(out)
    assert created["quiet_hours"] == "22:30-07:30"
    profile = boto3.client("dynamodb").get_item(
        TableName=names["TenantsTable"],
        Key={"pk": {"S": f"tenant#{created['tenant_id']}"}, "sk": {"S": "profile"}},
    )
    assert profile["Item"]["name"]["S"] == "Riverside Family Clinic"


def test_an_unknown_stack_exits_2(aws: Services, capsys: pytest.CaptureFixture[str]) -> None:
    # when the CLI is pointed at a stack that does not exist
    code, _, err = run(capsys, "tenants", "list", "--stack", "no-such-stack")

    # then it says so and exits 2
    assert code == 2
    assert "no-such-stack" in err


def test_a_tenant_template_is_stored_sized_and_can_be_reset(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a tenant
    tenant = create_tenant(capsys)
    base = ["--tenant", tenant["tenant_id"], "--kind", "clinic_visit", "--language", "en"]

    # when it stores its own wording, with a curly apostrophe that flips the encoding
    text = "Hi {first_name}, it\u2019s {org_name} on {date} at {time}. {reply_options}"
    code, out, err = run(capsys, "templates", "set", *base, "--text", text, "--json")

    # then the report says what the edit costs, and the wording is listed
    assert code == 0, err
    report = json.loads(out)
    assert report["encoding"] == "UCS-2"
    assert report["parts"] >= 2
    assert any("UCS-2" in warning for warning in report["warnings"])
    code, out, _ = run(capsys, "templates", "list", "--tenant", tenant["tenant_id"], "--json")
    assert json.loads(out) == [{"kind": "clinic_visit", "language": "en", "text": text}]

    # and a reset brings the default back
    code, out, _ = run(capsys, "templates", "reset", *base, "--json")
    assert json.loads(out) == {"removed": True}
    code, out, _ = run(capsys, "templates", "list", "--tenant", tenant["tenant_id"], "--json")
    assert json.loads(out) == []


def test_a_clinic_template_asking_for_more_than_the_minimum_is_refused(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = create_tenant(capsys)

    code, _, err = run(
        capsys,
        "templates",
        "set",
        "--tenant",
        tenant["tenant_id"],
        "--kind",
        "clinic_visit",
        "--language",
        "en",
        "--text",
        "Hi {first_name}, your {diagnosis} follow-up is {date} at {location}",
    )

    assert code == 2
    assert "(--text)" in err
    assert "diagnosis" in err
    assert aws.admin.templates(tenant["tenant_id"]) == {}


def test_a_tenant_update_changes_only_what_is_given_and_validates_it(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a tenant with the default quiet hours
    tenant = create_tenant(capsys)

    # when its quiet hours and reminders change
    code, out, err = run(
        capsys,
        "tenants",
        "update",
        tenant["tenant_id"],
        "--quiet-hours",
        "20:00-09:00",
        "--reminders",
        "P2D, PT3H",
        "--json",
    )

    # then those change, the rest stays, and it is what the services now read
    assert code == 0, err
    updated = json.loads(out)
    assert updated["quiet_hours"] == "20:00-09:00"
    assert updated["reminder_offsets"] == ["P2D", "PT3H"]
    assert updated["name"] == tenant["name"]
    assert updated["timezone"] == tenant["timezone"]
    stored = aws.admin.get_tenant(tenant["tenant_id"])
    assert (stored.quiet_hours, stored.reminder_offsets) == ("20:00-09:00", ("P2D", "PT3H"))

    # and bad values are refused naming the option, leaving the tenant as it was
    code, _, err = run(capsys, "tenants", "update", tenant["tenant_id"], "--quiet-hours", "9pm")
    assert code == 2
    assert "(--quiet-hours)" in err
    code, _, err = run(capsys, "tenants", "update", "ten_missing", "--name", "X")
    assert code == 2
    assert "ten_missing" in err
    assert aws.admin.get_tenant(tenant["tenant_id"]).quiet_hours == "20:00-09:00"


def test_a_tenant_adds_its_own_reply_words_but_never_captures_an_opt_out_word(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = create_tenant(capsys)

    code, out, err = run(
        capsys,
        "tenants",
        "update",
        tenant["tenant_id"],
        "--keywords",
        "confirm=OK, SURE",
        "--keywords",
        "call_me=ring me",
        "--json",
    )

    assert code == 0, err
    assert json.loads(out)["reply_keywords"] == {"call_me": ["ring me"], "confirm": ["OK", "SURE"]}
    stored = aws.admin.get_tenant(tenant["tenant_id"])
    assert stored.reply_keywords == (("call_me", ("ring me",)), ("confirm", ("OK", "SURE")))

    # A word that would turn STOP (or any opt-out word) into something else is refused
    code, _, err = run(
        capsys, "tenants", "update", tenant["tenant_id"], "--keywords", "confirm=stop"
    )
    assert code == 2
    assert "(--keywords)" in err
    code, _, err = run(capsys, "tenants", "update", tenant["tenant_id"], "--keywords", "nope=x")
    assert code == 2
    assert "not a reply keyword set" in err
    assert aws.admin.get_tenant(tenant["tenant_id"]).reply_keywords == stored.reply_keywords

    # And --reset-keywords goes back to the defaults alone
    code, out, err = run(
        capsys, "tenants", "update", tenant["tenant_id"], "--reset-keywords", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["reply_keywords"] == {}


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--quiet-hours", "21:00-21:00", "quiet_hours"),  # empty: meant no quiet hours at all
        ("--quiet-hours", "00:00-23:59", "quiet_hours"),  # the whole day
        ("--quiet-hours", "21:00-21:30", "quiet_hours"),  # shorter than an hour
        ("--quiet-hours", "16:00-09:00", "quiet_hours"),  # less than 8 hours left to send
        ("--quiet-hours", "", "quiet_hours"),  # not the stack's default in disguise
        ("--reminders", "", "reminder_offsets"),
        ("--reminders", " , ", "reminder_offsets"),
        ("--reminders", "P1D,,PT2H", "reminder_offsets"),
    ],
)
def test_empty_or_whole_day_settings_exit_2_naming_the_option_on_create_and_update(
    aws: Services, capsys: pytest.CaptureFixture[str], option: str, value: str, field: str
) -> None:
    # when a tenant is created with an empty or whole-day setting
    code, out, err = run(
        capsys, "tenants", "create", *CLINIC, "--number", "+12025550143", option, value
    )

    # then the CLI exits 2 naming the option, and stores no tenant
    assert (code, out) == (2, ""), err
    assert f"invalid {field} ({option})" in err
    _, listed, _ = run(capsys, "tenants", "list", "--json")
    assert json.loads(listed) == []

    # and an existing tenant is not changed to it either
    tenant = create_tenant(capsys)
    code, _, err = run(capsys, "tenants", "update", tenant["tenant_id"], option, value)
    assert code == 2
    assert f"({option})" in err
    stored = aws.admin.get_tenant(tenant["tenant_id"])
    assert (stored.quiet_hours, list(stored.reminder_offsets)) == (
        tenant["quiet_hours"],
        tenant["reminder_offsets"],
    )


@pytest.mark.parametrize("window", ["17:00-09:00", "12:00-13:00", "21:00-08:00"])
def test_quiet_hours_from_one_to_sixteen_hours_are_accepted(
    aws: Services, capsys: pytest.CaptureFixture[str], window: str
) -> None:
    tenant = create_tenant(capsys, "+12025550143", "--quiet-hours", window)

    assert tenant["quiet_hours"] == window


def test_the_admin_service_refuses_no_default_reminders_and_an_empty_quiet_window(
    aws: Services,
) -> None:
    with pytest.raises(InvalidInput) as no_reminders:
        aws.admin.create_tenant("Clinic", "America/New_York", "+12025550143", "21:00-08:00", ())
    with pytest.raises(InvalidInput) as empty_window:
        aws.admin.create_tenant(
            "Clinic", "America/New_York", "+12025550143", "21:00-21:00", ("P1D",)
        )
    assert (no_reminders.value.field, empty_window.value.field) == (
        "reminder_offsets",
        "quiet_hours",
    )
    assert aws.admin.list_tenants() == []

    tenant, _ = aws.admin.create_tenant(
        "Clinic", "America/New_York", "+12025550143", "21:00-08:00", ("P1D",)
    )
    with pytest.raises(InvalidInput):
        aws.admin.update_tenant(tenant.tenant_id, reminder_offsets=())
    with pytest.raises(InvalidInput):
        aws.admin.update_tenant(tenant.tenant_id, quiet_hours="00:00-23:59")
    assert aws.admin.get_tenant(tenant.tenant_id) == tenant


# --- issue 17 item 4: clean text in, clean text out ------------------------------------------


@pytest.mark.parametrize(
    ("name", "code_point"),
    [("Riverside\u202e Clinic", "U+202E"), ("Riverside\u0085Clinic", "U+0085")],
)
def test_a_tenant_name_with_an_invisible_or_line_breaking_character_is_refused(
    aws: Services, capsys: pytest.CaptureFixture[str], name: str, code_point: str
) -> None:
    # given a tenant, whose name is texted in every reminder as {org_name}
    tenant = create_tenant(capsys)

    # when an operator creates or renames a tenant with such a name
    created = run(
        capsys, "tenants", "create", "--name", name, "--timezone", "America/New_York",
        "--number", "+12025550144",
    )  # fmt: skip
    renamed = run(capsys, "tenants", "update", tenant["tenant_id"], "--name", name)

    # then both are refused naming the option and the character; nothing changes
    for code, _, err in (created, renamed):
        assert code == 2
        assert "name (--name)" in err
        assert code_point in err
    _, listed, _ = run(capsys, "tenants", "list", "--json")
    assert [t["name"] for t in json.loads(listed)] == ["Riverside Family Clinic"]


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory"])
def test_a_tenant_zone_that_is_no_iana_name_is_refused(
    aws: Services, capsys: pytest.CaptureFixture[str], zone: str
) -> None:
    tenant = create_tenant(capsys)

    created = run(
        capsys, "tenants", "create", "--name", "Clinic", "--timezone", zone,
        "--number", "+12025550144",
    )  # fmt: skip
    updated = run(capsys, "tenants", "update", tenant["tenant_id"], "--timezone", zone)

    for code, _, err in (created, updated):
        assert code == 2
        assert "(--timezone)" in err
        assert "is not an IANA time zone" in err
    assert aws.admin.get_tenant(tenant["tenant_id"]).timezone == "America/New_York"


@pytest.mark.parametrize("kind", ["clinic_visit", "service_visit"])
def test_a_tenant_template_without_opt_out_instructions_is_refused(
    aws: Services, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    # given a tenant
    tenant = create_tenant(capsys)

    # when it stores wording that never says how to opt out
    code, _, err = run(
        capsys, "templates", "set", "--tenant", tenant["tenant_id"], "--kind", kind,
        "--language", "en", "--text", "Hi {first_name}, {org_name} on {date} at {time}.",
    )  # fmt: skip

    # then it is refused, saying what to add, and nothing is stored
    assert code == 2
    assert "(--text)" in err
    assert "{reply_options}" in err
    assert "STOP" in err
    assert aws.admin.templates(tenant["tenant_id"]) == {}


def test_a_tenant_template_with_its_own_stop_instruction_is_stored(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = create_tenant(capsys)
    text = "Hi {first_name}, {org_name} on {date} at {time}. Reply STOP to opt out"

    code, _, err = run(
        capsys, "templates", "set", "--tenant", tenant["tenant_id"], "--kind", "clinic_visit",
        "--language", "en", "--text", text,
    )  # fmt: skip

    assert code == 0, err
    assert aws.admin.templates(tenant["tenant_id"]) == {("clinic_visit", "en"): text}


def test_a_tenant_template_in_a_language_reach_does_not_write_is_refused(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = create_tenant(capsys)

    code, _, err = run(
        capsys, "templates", "set", "--tenant", tenant["tenant_id"], "--kind", "clinic_visit",
        "--language", "fr", "--text", "Bonjour {first_name}, {date}. {reply_options}",
    )  # fmt: skip

    assert code == 2
    assert "language (--language)" in err
    assert "en, es, ar" in err
    assert aws.admin.templates(tenant["tenant_id"]) == {}


def test_a_tenant_sets_default_reminders_per_kind_at_local_times_and_bookings_use_them(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = create_tenant(capsys, "+12025550143", "--reminders", "P1D,@08:00")

    code, out, err = run(
        capsys,
        "tenants",
        "update",
        tenant["tenant_id"],
        "--reminders-for",
        "service_visit=P2D@17:00, @07:45",
        "--json",
    )

    assert code == 0, err
    shown = json.loads(out)
    assert shown["reminder_offsets"] == ["P1D", "@08:00"]
    assert shown["reminder_offsets_by_kind"] == {"service_visit": ["P2D@17:00", "@07:45"]}
    service = book(aws, tenant["tenant_id"], offsets=None, kind=AppointmentKind.SERVICE_VISIT)
    clinic_visit = book(aws, tenant["tenant_id"], offsets=None, phone="+12025550199")
    assert service.reminder_offsets == ("P2D@17:00", "@07:45")
    assert clinic_visit.reminder_offsets == ("P1D", "@08:00")

    # KIND= removes the kind's own: service visits are back to the evening before and morning of
    code, out, err = run(
        capsys,
        "tenants",
        "update",
        tenant["tenant_id"],
        "--reminders-for",
        "service_visit=",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["reminder_offsets_by_kind"] == {}
    again = book(aws, tenant["tenant_id"], offsets=None, kind=AppointmentKind.SERVICE_VISIT, days=4)
    assert again.reminder_offsets == ("P1D@18:00", "@07:30")


@pytest.mark.parametrize(
    ("option", "named"),
    [
        ("service_visit=@7:30", "reminders_for.service_visit[0] (--reminders-for)"),
        ("house_call=@07:30", "reminders_for (--reminders-for)"),
        ("@07:30", "reminders_for (--reminders-for)"),
        ("service_visit=P1D,,@07:30", "reminders_for (--reminders-for)"),
    ],
)
def test_a_bad_per_kind_reminder_is_refused_naming_the_option(
    aws: Services, capsys: pytest.CaptureFixture[str], option: str, named: str
) -> None:
    tenant = create_tenant(capsys)

    code, _, err = run(capsys, "tenants", "update", tenant["tenant_id"], "--reminders-for", option)

    assert code == 2
    assert named in err
    assert aws.admin.get_tenant(tenant["tenant_id"]).reminder_offsets_by_kind == ()


def test_a_tenant_turns_booking_confirmations_on_per_kind_sees_them_and_turns_them_off(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = create_tenant(capsys)
    assert tenant["confirm_bookings"] == []

    code, out, err = run(
        capsys, "tenants", "update", tenant["tenant_id"], "--confirm-bookings", "service_visit"
    )

    assert code == 0, err
    assert "confirms bookings  service_visit" in out
    assert aws.admin.get_tenant(tenant["tenant_id"]).confirm_bookings == ("service_visit",)
    code, out, err = run(capsys, "tenants", "show", tenant["tenant_id"], "--json")
    assert json.loads(out)["confirm_bookings"] == ["service_visit"]

    code, out, err = run(
        capsys,
        "tenants",
        "update",
        tenant["tenant_id"],
        "--confirm-bookings",
        "service_visit, clinic_visit",
        "--json",
    )
    assert json.loads(out)["confirm_bookings"] == ["clinic_visit", "service_visit"]

    code, out, err = run(
        capsys, "tenants", "update", tenant["tenant_id"], "--confirm-bookings", "none", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["confirm_bookings"] == []
    assert aws.admin.get_tenant(tenant["tenant_id"]).confirm_bookings == ()


@pytest.mark.parametrize("option", ["house_call", "service_visit,,clinic_visit", ""])
def test_an_unknown_kind_to_confirm_is_refused_naming_the_option(
    aws: Services, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    tenant = create_tenant(capsys)
    aws.admin.update_tenant(tenant["tenant_id"], confirm_bookings=("clinic_visit",))

    code, _, err = run(
        capsys, "tenants", "update", tenant["tenant_id"], "--confirm-bookings", option
    )

    assert code == 2
    assert "confirm_bookings (--confirm-bookings)" in err
    assert aws.admin.get_tenant(tenant["tenant_id"]).confirm_bookings == ("clinic_visit",)
