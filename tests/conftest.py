"""Shared fixtures. moto is imported before anything creates a boto3 client
(docs/facts.md#moto)."""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import moto  # noqa: F401 - patch botocore before any client exists
import pytest
from botocore.client import BaseClient
from botocore.stub import Stubber
from hypothesis import settings as hypothesis_settings
from moto import mock_aws

from builders import new_tenant
from reach.adapters.events_fake import RecordingPublisher
from reach.domain.models import Tenant
from reach.settings import Settings
from reach.wiring import (
    Services,
    authenticator_from_env,
    build_services,
    dispatcher_from_env,
    importer_from_env,
    inbound_from_env,
    receipts_from_env,
    reconciler_from_env,
    send_queue_from_env,
    sender_from_env,
    services_from_env,
)
from reach_tools.demo_clock import DemoClock
from reach_tools.local import moto_speed
from reach_tools.local.streams import stream_mapping
from reach_tools.template import (
    create_tables,
    default_table_names,
    function_environment,
    functions,
    load_template,
)
from stand_ins import TimedSms

# Property tests are a landing gate by default: the same examples on every run
# (derandomized), so CI passes or fails on the code, not on the draw. `make explore` runs
# them with fresh random examples, REACH_EXPLORE times as many, to look for new failures.
EXPLORE = int(os.environ.get("REACH_EXPLORE") or 0)
hypothesis_settings.register_profile("gate", derandomize=True, print_blob=True)
hypothesis_settings.register_profile(
    "explore", derandomize=False, print_blob=True, max_examples=100 * max(EXPLORE, 1)
)
hypothesis_settings.load_profile("explore" if EXPLORE else "gate")


def pk_sk_table(
    client: Any, name: str, *, attributes: tuple[str, ...] = (), **options: Any
) -> None:
    """A table keyed ``pk`` (hash) and ``sk`` (range), string ``attributes`` besides, paid per
    request: for the tests of moto itself and of what the local run adds to it."""
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in ("pk", "sk", *attributes)
        ],
        BillingMode="PAY_PER_REQUEST",
        **options,
    )


def examples(count: int) -> int:
    """A property test's example count: ``count`` in the gate, more when exploring."""
    return count * max(EXPLORE, 1)


# Each function builds its collaborators once per container; tests start every one afresh.
CACHED_WIRING = (
    services_from_env,
    authenticator_from_env,
    dispatcher_from_env,
    sender_from_env,
    send_queue_from_env,
    inbound_from_env,
    reconciler_from_env,
    receipts_from_env,
    importer_from_env,
)

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "Reach",
    "POWERTOOLS_DEV": "false",
}


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test can reach a real account: fake credentials, one region, no endpoint override."""
    for name, value in FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """moto with the template's own tables, the API function's own environment, and the
    services a cold start would build from it."""
    with mock_aws(), moto_speed.filtered_streams():
        template = load_template()
        names = default_table_names("test", template)
        create_tables(boto3.client("dynamodb"), names, template=template)
        # The appointments table's stream keeps what the sender's notice mapping reads (new
        # notices), as in Lambda; moto would keep a record of every write a test makes.
        notices = stream_mapping(template, "SenderFunction")
        moto_speed.keep_stream_records(
            names[notices.table], moto_speed.StreamFilter(notices.passes, notices.events())
        )
        sqs = boto3.client("sqs")
        for queue in (
            "SendQueue",
            "SendDeadLetterQueue",
            "InboundQueue",
            "InboundDeadLetterQueue",
            "StatusQueue",
            "StatusDeadLetterQueue",
        ):
            names[queue] = sqs.create_queue(QueueName=f"test-{queue}")["QueueUrl"]
        names["ReachEventBus"] = "test-reach"
        boto3.client("events").create_event_bus(Name=names["ReachEventBus"])
        names["ImportBucket"] = "test-imports"
        boto3.client("s3").create_bucket(Bucket=names["ImportBucket"])
        # Every function's variables at once: they agree on the shared ones, and each
        # function reads only its own.
        for function in functions(template):
            for name, value in function_environment(template, function, names).items():
                monkeypatch.setenv(name, value)
        monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
        for cached in CACHED_WIRING:
            cached.cache_clear()
        yield build_services(Settings.from_env())
        for cached in CACHED_WIRING:
            cached.cache_clear()


@pytest.fixture
def tenants(aws: Services) -> tuple[str, str]:
    """Two tenants' ids: a clinic in New York and a cable company in Chicago."""
    clinic = new_tenant(aws, reminders=("P1D", "PT2H"))
    other = new_tenant(aws, "Hilltop Cable", timezone="America/Chicago", number="+13125550100")
    return clinic.tenant_id, other.tenant_id


@pytest.fixture
def clinic(aws: Services) -> Tenant:
    """A New York clinic, quiet 21:00-08:00, reminding the day before."""
    return new_tenant(aws)


@pytest.fixture
def cable_company(aws: Services) -> Tenant:
    """A Chicago cable company with no quiet hours, reminding an hour ahead."""
    return new_tenant(
        aws,
        "Hilltop Cable",
        timezone="America/Chicago",
        number="+13125550100",
        quiet_hours="00:00-00:00",
        reminders=("PT1H",),
    )


@pytest.fixture
def cable(aws: Services) -> Tenant:
    """A Chicago cable company, quiet 21:00-08:00 (the default), for field-service visits."""
    return new_tenant(aws, "Hilltop Cable", timezone="America/Chicago", number="+13125550100")


@pytest.fixture
def clock() -> DemoClock:
    """Reach's "now" for the test: the wall clock's at the start, then moved only by the test."""
    return DemoClock(datetime.now(UTC))


@pytest.fixture
def sms(clock: DemoClock) -> TimedSms:
    """The recording SMS fake, noting when (by ``clock``) each text left."""
    return TimedSms(clock)


@pytest.fixture
def events() -> RecordingPublisher:
    return RecordingPublisher()


REPO = Path(__file__).resolve().parent.parent


@dataclass
class FakeLambdaContext:
    function_name: str = "reach-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:reach-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    """botocore's Stubber on the test module's own ``client`` fixture: it checks each request
    against the service's model, and at the end that every scripted response was used (no
    fewer calls than the test scripted)."""
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def load_function(name: str) -> ModuleType:
    """Import functions/<name>/app.py from its file, as the Lambda runtime would."""
    spec = importlib.util.spec_from_file_location(
        f"reach_function_{name}", REPO / "functions" / name / "app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((REPO / "events" / name).read_text())
    return event


@pytest.fixture
def atomic_requests(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """DynamoDB applies each request atomically; moto in-process does not (threads interleave
    inside one TransactWriteItems). Serialise whole requests, and only requests, so that the
    races left are the real ones: between a read and the conditional write that follows it.
    Returns the count of requests by operation."""
    lock = threading.Lock()
    calls: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def one_at_a_time(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        with lock:
            calls[operation_name] += 1
            return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", one_at_a_time)
    return calls


def emitted_metrics(output: str) -> list[tuple[str, float, dict[str, str]]]:
    """The CloudWatch metrics (embedded metric format) in a function's printed ``output``:
    each as (name, value, dimensions), one entry per value."""
    found: list[tuple[str, float, dict[str, str]]] = []
    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            dimensions = {name: blob[name] for names in directive["Dimensions"] for name in names}
            for metric in directive["Metrics"]:
                values = blob[metric["Name"]]
                for value in values if isinstance(values, list) else [values]:
                    found.append((metric["Name"], float(value), dimensions))
    return found


def metric_total(output: str, name: str, **dimensions: str) -> float:
    """The sum of metric ``name`` in ``output``, over the entries carrying ``dimensions``."""
    return sum(
        value
        for metric, value, dims in emitted_metrics(output)
        if metric == name and dimensions.items() <= dims.items()
    )
