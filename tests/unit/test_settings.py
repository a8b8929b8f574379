import pytest

from reach.settings import Settings, SettingsError

BASE = {"TENANTS_TABLE": "t-tenants", "APPOINTMENTS_TABLE": "t-appts", "AWS_REGION": "us-east-1"}


def test_settings_come_from_the_environment_with_documented_defaults():
    settings = Settings.from_env(BASE)

    assert settings.tenants_table == "t-tenants"
    assert settings.sms_provider == "sns"
    assert str(settings.quiet_hours) == "21:00-08:00"
    assert settings.reminder_offsets == ("P1D", "PT2H")
    assert settings.due_shards == 8
    assert settings.endpoint_url is None


def test_a_missing_table_name_fails_naming_the_variable():
    env = {k: v for k, v in BASE.items() if k != "APPOINTMENTS_TABLE"}

    with pytest.raises(SettingsError, match="APPOINTMENTS_TABLE"):
        Settings.from_env(env)


def test_the_region_falls_back_to_aws_default_region():
    env = {
        **{k: v for k, v in BASE.items() if k != "AWS_REGION"},
        "AWS_DEFAULT_REGION": "eu-west-1",
    }

    assert Settings.from_env(env).region == "eu-west-1"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SMS_PROVIDER", "pinpoint"),
        ("DEFAULT_QUIET_HOURS", "9pm-8am"),
        ("DEFAULT_REMINDER_OFFSETS", "P1D,tomorrow"),
        ("DUE_SHARDS", "0"),
    ],
)
def test_bad_values_fail_at_cold_start_naming_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**BASE, name: value})


@pytest.mark.parametrize(
    ("kind", "override", "expected"),
    [("10dlc", "", 1), ("toll-free", "", 3), ("short-code", "", 100), ("toll-free", "7.5", 7.5)],
)
def test_throughput_defaults_by_origination_type_and_can_be_overridden(kind, override, expected):
    settings = Settings.from_env({**BASE, "ORIGINATION_TYPE": kind, "ORIGINATION_MPS": override})

    assert settings.throughput_mps == expected


def test_a_setting_only_some_functions_need_fails_naming_its_variable_when_used():
    settings = Settings.from_env(BASE)

    with pytest.raises(SettingsError, match="SEND_QUEUE_URL"):
        settings.require("send_queue_url")
