"""What every benchmark shares: moto in-process with the template's own resources and an
AWS call counter. (The clock the benchmarks move is reach_tools.demo_clock.DemoClock.)

Counts, not timings: the counter wraps botocore's ``BaseClient._make_api_call``, which every
boto3 client and every PynamoDB model call goes through, so it sees exactly the requests a
deployed function would make. It records nothing outside ``counter.measuring(...)``, so setup
(tables, tenants, bookings) never pollutes a measurement.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import moto  # noqa: F401 - patch botocore before any client exists (docs/facts.md#moto)
from botocore.client import BaseClient
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID

from reach.settings import Settings
from reach_tools.local.embedded import bound_moto_stores, untracked_moto_models
from reach_tools.template import (
    create_tables,
    default_table_names,
    function_environment,
    load_template,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_sqs.client import SQSClient

REGION = "us-east-1"
#: Fake credentials and one region, set for the benchmark's duration only: nothing here may
#: reach a real account, whatever the caller's environment holds.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto's fake credentials, not a secret  # nosec B105
    "AWS_SESSION_TOKEN": "testing",  # moto's fake credentials  # nosec B105
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "Reach",
}
#: Variables that would send clients somewhere else than moto.
_UNSET = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")

#: The sending number used by every benchmark tenant.
ORIGINATION = "+12025550143"


@contextmanager
def fake_aws_environment() -> Iterator[None]:
    """Fake credentials and region in os.environ; the previous environment comes back after."""
    saved = {name: os.environ.get(name) for name in (*FAKE_AWS, *_UNSET)}
    try:
        for name in _UNSET:
            os.environ.pop(name, None)
        os.environ.update(FAKE_AWS)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --- Counting calls ------------------------------------------------------------------------


@dataclass
class CallCounter:
    """AWS calls by actor and ``service:Operation``, plus items read by Query and Scan.

    The actor says who pays for a call: ``reach`` is our code; ``lambda`` stands for what
    the Lambda service does on our behalf (the SQS event source mapping's receives and
    deletes); a benchmark may add its own (``baseline``).
    """

    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: The same calls by what they touched: ``Operation table[/index] item-kind``.
    targets: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Every counted call in order: (actor, ``service:Operation``).
    sequence: list[tuple[str, str]] = field(default_factory=list)
    #: Sum of ScannedCount (items DynamoDB read, before any filter), by actor.
    scanned: Counter[str] = field(default_factory=Counter)
    #: Sum of Count (items returned after filters), by actor.
    returned: Counter[str] = field(default_factory=Counter)
    _actor: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def measuring(self, actor: str = "reach") -> Iterator[None]:
        """Attribute the calls made inside the block to ``actor``."""
        previous, self._actor = self._actor, actor
        try:
            yield
        finally:
            self._actor = previous

    def record(
        self,
        service: str,
        operation: str,
        response: Mapping[str, Any] | None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        actor = self._actor
        if actor is None:
            return
        with self._lock:
            self.calls[(actor, f"{service}:{operation}")] += 1
            self.sequence.append((actor, f"{service}:{operation}"))
            self.targets[(actor, f"{operation} {_target(params or {})}".rstrip())] += 1
            if response is not None and operation in ("Query", "Scan"):
                self.scanned[actor] += int(response.get("ScannedCount", 0))
                self.returned[actor] += int(response.get("Count", 0))

    def by_operation(self, actor: str = "reach") -> dict[str, int]:
        return dict(
            sorted((operation, n) for (who, operation), n in self.calls.items() if who == actor)
        )

    def by_target(self, actor: str = "reach") -> dict[str, int]:
        return dict(
            sorted((target, n) for (who, target), n in self.targets.items() if who == actor)
        )

    def total(self, actor: str = "reach") -> int:
        return sum(n for (who, _), n in self.calls.items() if who == actor)


def _item_kind(params: Mapping[str, Any]) -> str:
    """What kind of item a request addresses: its sort key up to the first ``#``
    (``reminder``, ``appointment``, ``contact``, ``pace``, ``profile``...)."""
    for field_name in ("Key", "Item"):
        attributes = params.get(field_name)
        if isinstance(attributes, Mapping) and isinstance(attributes.get("sk"), Mapping):
            return str(attributes["sk"].get("S", "")).split("#", 1)[0]
    return ""


def _target(params: Mapping[str, Any]) -> str:
    if "TransactItems" in params:
        parts = Counter(
            f"{op}:{_item_kind(body)}"
            for entry in params["TransactItems"]
            for op, body in entry.items()
        )
        # A batch's transaction repeats the same few parts: each is named once, with a count.
        return "[" + " + ".join(p if n == 1 else f"{p} x{n}" for p, n in parts.items()) + "]"
    where = str(params.get("TableName", params.get("QueueUrl", "")).rsplit("/", 1)[-1])
    if params.get("IndexName"):
        where += f"/{params['IndexName']}"
    kind = _item_kind(params)
    return f"{where} {kind}".strip()


@contextmanager
def counting_aws_calls() -> Iterator[CallCounter]:
    """Wrap botocore's one funnel for API calls for the duration of the block."""
    counter = CallCounter()
    original = getattr(BaseClient, "_make_api_call")  # noqa: B009 - private, unstubbed

    def counted(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        service = self.meta.service_model.service_name
        try:
            response = original(self, operation_name, api_params)
        except Exception:
            # A failed call (a condition that did not hold, say) is a call all the same.
            counter.record(service, operation_name, None, api_params)
            raise
        counter.record(service, operation_name, response, api_params)
        return response

    setattr(BaseClient, "_make_api_call", counted)  # noqa: B010 - mypy: method assignment
    try:
        yield counter
    finally:
        setattr(BaseClient, "_make_api_call", original)  # noqa: B010


# --- moto with the template's resources ----------------------------------------------------


@dataclass(frozen=True)
class BenchAws:
    settings: Settings
    names: dict[str, str]
    dynamodb: DynamoDBClient
    sqs: SQSClient
    template: dict[str, Any]

    @property
    def send_queue_url(self) -> str:
        return self.names["SendQueue"]


def _queue_attributes(template: Mapping[str, Any], logical_id: str) -> dict[str, str]:
    """The queue's plain attributes from the template (what moto needs to behave alike)."""
    properties = template["Resources"][logical_id].get("Properties", {})
    attributes: dict[str, str] = {}
    for name in ("VisibilityTimeout", "MessageRetentionPeriod"):
        if isinstance(properties.get(name), int | str):
            attributes[name] = str(properties[name])
    return attributes


@contextmanager
def restoring_table_bindings() -> Iterator[None]:
    """Put the PynamoDB models back as they were (tables, region, endpoint) afterwards, with
    no connection cached from inside moto: a benchmark leaves no global state behind."""
    from pynamodb.models import Model

    from reach.data.tables import AppointmentsTableItem, TenantsTableItem

    roots: tuple[type[Model], ...] = (TenantsTableItem, AppointmentsTableItem)
    metas: list[Any] = [model.Meta for model in roots]
    saved = [(meta, meta.table_name, meta.region, meta.host) for meta in metas]
    try:
        yield
    finally:
        for meta, table_name, region, host in saved:
            meta.table_name, meta.region, meta.host = table_name, region, host
        for model in _with_subclasses(roots):
            model._connection = None


def _with_subclasses(roots: tuple[type[Any], ...]) -> list[type[Any]]:
    found: list[type[Any]] = []
    pending = list(roots)
    while pending:
        model = pending.pop()
        found.append(model)
        pending += model.__subclasses__()
    return found


@contextmanager
def embedded_aws(
    prefix: str = "bench",
    *,
    origination_type: str = "short-code",
    origination_mps: float | None = None,
) -> Iterator[BenchAws]:
    """moto in-process with the template's tables and send queue (+DLQ, redrive as in the
    template), and the Settings the dispatcher and sender functions would build.

    Sends go out at ``origination_type``'s pace (short code: 100 MPS) by the benchmark's
    clock; pacing costs one write per batch whatever the pace.
    """
    from reach.data.tables import bind_tables

    with (
        restoring_table_bindings(),
        fake_aws_environment(),
        mock_aws(),
        untracked_moto_models(),
    ):
        template = load_template()
        names = default_table_names(prefix, template)
        dynamodb: DynamoDBClient = _client("dynamodb")
        create_tables(dynamodb, names, template=template)
        sqs: SQSClient = _client("sqs")
        dlq_url = sqs.create_queue(
            QueueName=f"{prefix}-send-dlq",
            Attributes=_queue_attributes(template, "SendDeadLetterQueue"),  # type: ignore[arg-type]
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        redrive = template["Resources"]["SendQueue"]["Properties"].get("RedrivePolicy", {})
        attributes = _queue_attributes(template, "SendQueue") | {
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": dlq_arn,
                    "maxReceiveCount": int(redrive.get("maxReceiveCount", 5)),
                }
            )
        }
        names["SendQueue"] = sqs.create_queue(
            QueueName=f"{prefix}-send",
            Attributes=attributes,  # type: ignore[arg-type]
        )["QueueUrl"]
        names["SendDeadLetterQueue"] = dlq_url
        names["ReachEventBus"] = f"{prefix}-reach"
        _client("events").create_event_bus(Name=names["ReachEventBus"])
        names["ImportBucket"] = f"{prefix}-imports"
        _client("s3").create_bucket(Bucket=names["ImportBucket"])
        environment: dict[str, str] = {}
        for function in ("DispatcherFunction", "SenderFunction"):
            environment |= function_environment(template, function, names)
        environment |= FAKE_AWS | {
            "ORIGINATION_IDENTITY": ORIGINATION,
            "ORIGINATION_TYPE": origination_type,
            "ORIGINATION_MPS": "" if origination_mps is None else str(origination_mps),
        }
        settings = Settings.from_env(environment)
        bind_tables(settings)
        bound_moto_stores(DEFAULT_ACCOUNT_ID, REGION)
        yield BenchAws(settings, names, dynamodb, sqs, template)


def _client(service: str) -> Any:
    import boto3

    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def per(count: float, divisor: int) -> float:
    """``count / divisor``, or infinity for nothing to divide by (a finite check then fails)."""
    return count / divisor if divisor else float("inf")
