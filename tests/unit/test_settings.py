import pytest

from reach.settings import Settings, SettingsError, tracing_enabled

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


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DUE_SHARDS", "eight"),
        ("DUE_SHARDS", "65"),
        ("ORIGINATION_MPS", "fast"),
        ("ORIGINATION_MPS", "nan"),
        ("ORIGINATION_MPS", "inf"),
        ("ORIGINATION_MPS", "0"),
        ("ORIGINATION_TYPE", "carrier-pigeon"),
        ("CALLBACK_WITHIN", "P1M"),
        ("TENANTS_TABLE", "t"),
    ],
)
def test_values_that_do_not_parse_fail_naming_the_variable_not_crashing(name, value):
    with pytest.raises(SettingsError, match=f"{name}: "):
        Settings.from_env({**BASE, name: value})


def test_every_problem_is_reported_at_once():
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"AWS_REGION": "us-east-1", "DUE_SHARDS": "0"})

    message = str(raised.value)
    assert "TENANTS_TABLE: is required" in message
    assert "APPOINTMENTS_TABLE: is required" in message
    assert "DUE_SHARDS: must be between 1 and 64" in message


def test_settings_are_frozen_and_import_no_pydantic():
    import subprocess
    import sys

    settings = Settings.from_env(BASE)
    with pytest.raises(AttributeError):
        settings.tenants_table = "other"  # type: ignore[misc]
    # The authorizer and reconciler cold starts depend on it (make bench --only cold-start)
    probe = "import sys, reach.settings; print('pydantic' in sys.modules)"
    result = subprocess.run(  # noqa: S603 - a fixed probe in this interpreter
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "False", result.stderr


LAMBDA = {"LAMBDA_TASK_ROOT": "/var/task"}


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param({}, id="outside Lambda"),
        pytest.param(LAMBDA, id="in Lambda"),
        pytest.param(LAMBDA | {"POWERTOOLS_TRACE_DISABLED": "true"}, id="disabled"),
        pytest.param(LAMBDA | {"POWERTOOLS_TRACE_DISABLED": "1"}, id="disabled by 1"),
        pytest.param(LAMBDA | {"POWERTOOLS_TRACE_DISABLED": "False"}, id="enabled by False"),
        pytest.param(LAMBDA | {"POWERTOOLS_TRACE_DISABLED": "off"}, id="enabled by off"),
        pytest.param(LAMBDA | {"AWS_SAM_LOCAL": "true"}, id="sam local"),
        pytest.param(LAMBDA | {"AWS_CHALICE_CLI_MODE": "true"}, id="chalice local"),
    ],
)
def test_tracing_runs_exactly_where_powertools_would_trace(environ, monkeypatch):
    from aws_lambda_powertools.tracing.tracer import Tracer

    names = (
        "LAMBDA_TASK_ROOT",
        "POWERTOOLS_TRACE_DISABLED",
        "AWS_SAM_LOCAL",
        "AWS_CHALICE_CLI_MODE",
    )
    for name in names:
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)

    # Our rule is read before a Tracer exists, so that a disabled one never loads X-Ray
    assert tracing_enabled() is not bool(Tracer._is_tracer_disabled())
    assert tracing_enabled(environ) is tracing_enabled()


def test_an_unreadable_trace_switch_fails_naming_the_variable():
    with pytest.raises(SettingsError, match="POWERTOOLS_TRACE_DISABLED: must be one of"):
        tracing_enabled(LAMBDA | {"POWERTOOLS_TRACE_DISABLED": "sometimes"})
