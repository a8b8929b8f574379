"""What each function imports at cold start: the heavy modules stay out of functions that
never use them (their cost is measured by `make bench --only cold-start`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = (
    "pydantic",
    "phonenumbers",
    "aws_xray_sdk",
    "aws_lambda_powertools.utilities.parser",
    "reach.services.tenants",
    "reach.services.consent",
)
#: What X-Ray's default patching would import in this venv though Reach calls none of it.
UNCALLED_LIBRARIES = ("requests", "sqlite3", "httpx")
#: Lambda sets LAMBDA_TASK_ROOT; there, with the template's `Tracing: Active`, tracing runs.
IN_LAMBDA = {"LAMBDA_TASK_ROOT": str(REPO), "AWS_LAMBDA_FUNCTION_NAME": "reach-test"}

_PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(name for name in sys.argv[2:] if name in sys.modules)))
"""


def loaded_by(function: str, modules: tuple[str, ...] = HEAVY, **environ: str) -> list[str]:
    env = dict(
        {k: v for k, v in os.environ.items() if k not in ("LAMBDA_TASK_ROOT", *IN_LAMBDA)},
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        TENANTS_TABLE="reach-tenants",
        APPOINTMENTS_TABLE="reach-appointments",
        IDEMPOTENCY_TABLE="reach-idempotency",
        POWERTOOLS_TRACE_DISABLED="false",
    )
    env.update(environ)
    result = subprocess.run(  # noqa: S603 - a fixed probe in this interpreter
        [sys.executable, "-c", _PROBE, str(REPO / "functions" / function / "app.py"), *modules],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        # Checks a header against the key table: nothing else
        ("authorizer", []),
        # Reads the provider's list and records consent changes when the job runs
        ("reconciler", []),
        # Reads a carrier receipt and updates one message
        ("status", []),
        # Reads the schedule's event and writes queue messages by hand: no pydantic
        ("dispatcher", []),
        # Its queue message is a dataclass, not a pydantic model; the send path (and what
        # renders texts) loads with the first batch
        ("sender", []),
    ],
)
def test_light_functions_import_only_what_they_run(function, expected):
    assert loaded_by(function) == expected


def test_the_authorizer_writes_its_policy_without_powertools_event_classes():
    # Importing one of them runs the whole data_classes package
    data_classes = "aws_lambda_powertools.utilities.data_classes"

    assert loaded_by("authorizer", (data_classes,)) == []


def test_the_authorizer_loads_nothing_that_formats_a_number():
    # The tenant repository formats the sending number only when it writes a profile
    assert loaded_by("authorizer", ("reach.domain.local_format",)) == []


def test_every_name_the_sending_package_exports_loads_on_first_use():
    import reach.services.sending as sending

    for name in sending.__all__:
        assert getattr(sending, name) is not None, name


def test_the_sender_reads_its_queue_without_powertools_batch_utilities_or_event_classes():
    # Either one loads every event source's data classes: the sender writes its partial
    # batch response by hand
    batch = "aws_lambda_powertools.utilities.batch"
    data_classes = "aws_lambda_powertools.utilities.data_classes"

    assert loaded_by("sender", (batch, data_classes)) == []


def test_the_sender_loads_its_send_path_with_the_first_batch_not_at_import():
    send_path = ("reach.services.sending.path", "reach.data.reminders", "reach.domain.rendering")

    assert loaded_by("sender", send_path) == []


def test_the_send_path_and_its_providers_load_neither_phonenumbers_nor_pydantic():
    # What the sender's first batch loads (reach.wiring.build_sender): the tenant's number is
    # shown as its profile stores it, so phonenumbers waits for a profile written before that
    modules = (
        "reach.services.sending.path",
        "reach.services.sending.reminder",
        "reach.services.sending.notice",
        "reach.adapters.sms_factory",
        "reach.adapters.sms_sns",
        "reach.adapters.sms_eum",
        "reach.adapters.events_eventbridge",
    )
    loaded = "print(sorted(set(sys.argv[1:]) & set(sys.modules)))"
    probe = f"import sys; import {', '.join(modules)}; {loaded}"
    result = subprocess.run(  # noqa: S603 - a fixed probe in this interpreter
        [sys.executable, "-c", probe, *HEAVY],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "AWS_REGION": "us-east-1"},
        cwd=REPO,
    )

    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("function", ["authorizer", "dispatcher", "sender"])
def test_in_lambda_a_traced_function_loads_x_ray_but_no_library_it_never_calls(function):
    loaded = loaded_by(function, ("aws_xray_sdk", *UNCALLED_LIBRARIES), **IN_LAMBDA)

    assert loaded == ["aws_xray_sdk"]


@pytest.mark.parametrize("function", ["authorizer", "dispatcher", "sender"])
def test_with_tracing_disabled_in_lambda_the_x_ray_sdk_is_not_loaded(function):
    loaded = loaded_by(function, **IN_LAMBDA, POWERTOOLS_TRACE_DISABLED="true")

    assert "aws_xray_sdk" not in loaded


def test_the_api_still_loads_what_it_runs():
    # The probe can see these modules: the light functions' empty lists are not vacuous
    assert {"pydantic", "phonenumbers"} <= set(loaded_by("api"))


def test_the_api_cold_start_leaves_the_fhir_library_to_the_fhir_routes():
    # The FHIR models cost more to import than the rest of the API's libraries; the FHIR
    # routes import them inside the request (reach.api.routes.fhir).
    fhir = ("fhir", "fhir_core", "reach.api.fhir")

    assert loaded_by("api", fhir) == []
    assert "fhir.resources" not in loaded_by("inbound", ("fhir.resources",))


def test_every_function_leaves_the_fhir_library_alone():
    for function in ("authorizer", "dispatcher", "sender", "status", "reconciler", "inbound"):
        assert loaded_by(function, ("fhir_core",)) == [], function


def test_the_probe_sees_what_default_x_ray_patching_would_import():
    # Without this, "no library it never calls" above could pass because none is installed
    probe = "from aws_xray_sdk.core import patch_all; patch_all()"
    result = subprocess.run(  # noqa: S603 - a fixed probe in this interpreter
        [
            sys.executable,
            "-c",
            f"import sys; {probe}; print(sorted(set(sys.argv[1:]) & set(sys.modules)))",
            *UNCALLED_LIBRARIES,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **IN_LAMBDA, "AWS_REGION": "us-east-1"},
    )
    assert "requests" in result.stdout
