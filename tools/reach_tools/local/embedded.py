"""The embedded AWS: moto's server in this process, holding the tables and queues that
template.yaml defines.

The process environment is pointed at it (endpoint, region, fake credentials) and set to what
Lambda would give the API, dispatcher and sender functions, so the handlers run unchanged.
``stop`` puts the previous environment back, which lets tests start and stop the stack inside
one pytest process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import boto3
from moto.core.common_models import BaseModel
from moto.core.model_instances import model_data
from moto.core.utils import unix_time_millis
from moto.server import ThreadedMotoServer
from moto.sqs.models import Queue

from reach.wiring import (
    dispatcher_from_env,
    inbound_from_env,
    send_queue_from_env,
    sender_from_env,
    services_from_env,
)
from reach_tools.local import moto_speed
from reach_tools.local.lifecycle import Startable
from reach_tools.template import (
    TemplateError,
    create_tables,
    default_table_names,
    function_environment,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

REGION = "us-east-1"
DEFAULT_TABLE_PREFIX = "reach-local"
# moto's fake credentials, not secrets
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # nosec B105
#: The functions whose environments the process takes on, the first one's winning where a
#: variable is each function's own (see ``PER_FUNCTION_VARIABLES``).
ENVIRONMENT_SOURCES = ("ApiFunction", "DispatcherFunction", "SenderFunction", "InboundFunction")
#: Variables that legitimately differ between functions. One process holds one environment,
#: and no handler reads these (each names its Powertools service in code), so the first wins.
PER_FUNCTION_VARIABLES = frozenset({"POWERTOOLS_SERVICE_NAME"})
QUEUE_TYPE = "AWS::SQS::Queue"
# A named profile would win over the fake credentials, and a real session token does not
# belong next to them.
_PROFILE_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN")
# The wiring caches what a Lambda container builds once; each embedded AWS is a new container.
_CACHED_WIRING = (
    services_from_env,
    dispatcher_from_env,
    sender_from_env,
    send_queue_from_env,
    inbound_from_env,
)
BUS_TYPE = "AWS::Events::EventBus"
TOPIC_TYPE = "AWS::SNS::Topic"
BUCKET_TYPE = "AWS::S3::Bucket"
SUBSCRIPTION_TYPE = "AWS::SNS::Subscription"

# AWS::SQS::Queue properties that CreateQueue takes as attributes of the same name. Tags and
# the encryption (SQS-managed or the stack's optional KMS key, chosen by a condition) are left
# out, as create_tables leaves out a table's encryption: the local queue needs neither.
_QUEUE_SCALARS: tuple[QueueAttributeNameType, ...] = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
)
# Properties that are JSON documents in CreateQueue's attributes.
_QUEUE_DOCUMENTS: tuple[QueueAttributeNameType, ...] = ("RedrivePolicy", "RedriveAllowPolicy")


#: SNS texts kept for the local phone and console: the latest ones. Reach's own record of every
#: text is in its tables; moto's list is only what the embedded SNS was asked to deliver.
TEXTS_KEPT = 2_000
#: Receipt handles an SQS queue remembers as deleted (so that a repeated delete is not an
#: error); past this, it forgets them all and starts again.
DELETED_HANDLES_KEPT = 10_000


# --- Keeping a long run's memory flat (docs/facts.md#moto) --------------------------------
#
# moto's BaseModel.__new__ appends every model instance to its class's ``instances_tracked``
# list, and DynamoDB makes a new Item for every read (a deep copy) and write: a long run grows
# by an item's size at every call, without bound. moto reads those lists only in ``reset()``
# (to empty them, and to close S3 keys that nothing else holds any more) and in its server's
# dashboard; the data itself lives in the backends. So while an embedded AWS runs, models are
# created untracked. Two embedded AWSes may run side by side (a test's and the demo's): the
# last one to stop puts moto's own ``__new__`` back.

_tracking_lock = threading.Lock()
_untracked_runs = 0
_tracking_new: Any = None


def _untracked_new(cls: type[BaseModel], *args: Any, **kwargs: Any) -> BaseModel:
    return super(BaseModel, cls).__new__(cls)


# moto's SQS computes every attribute of a queue at each SendMessage (to read one flag), and
# counting the delayed and in-flight messages reads the clock once per queued message: a
# tick that queues a campaign's thousands of recipients costs the square of that in clock
# reads. While an embedded AWS runs, the counts read the clock once per count.


def _delayed_count(queue: Any) -> int:
    now = unix_time_millis()
    return sum(1 for message in queue._messages if now < message.delayed_until)


def _in_flight_count(queue: Any) -> int:
    now = unix_time_millis()
    return sum(1 for message in queue._messages if not now > message.visible_at)


def _waiting_count(queue: Any) -> int:
    now = unix_time_millis()
    return sum(
        1
        for message in queue._messages
        if now > message.visible_at and not now < message.delayed_until
    )


_COUNTS = {
    "approximate_number_of_messages": property(_waiting_count),
    "approximate_number_of_messages_delayed": property(_delayed_count),
    "approximate_number_of_messages_not_visible": property(_in_flight_count),
}
_moto_counts: dict[str, Any] = {}


def stop_tracking_moto_models() -> None:
    """moto's models are created without being listed, and what it listed so far is dropped
    (until the matching ``resume_tracking_moto_models``)."""
    global _untracked_runs, _tracking_new
    with _tracking_lock:
        if _untracked_runs == 0:
            _tracking_new = BaseModel.__dict__["__new__"]
            BaseModel.__new__ = staticmethod(_untracked_new)  # type: ignore[method-assign]
            for name, count in _COUNTS.items():
                _moto_counts[name] = Queue.__dict__[name]
                setattr(Queue, name, count)
            moto_speed.speed_up()
        _untracked_runs += 1
        for models in model_data.values():
            for model in models.values():
                model.instances_tracked.clear()  # type: ignore[attr-defined]


def resume_tracking_moto_models() -> None:
    global _untracked_runs
    with _tracking_lock:
        if _untracked_runs == 0:
            return
        _untracked_runs -= 1
        if _untracked_runs == 0:
            BaseModel.__new__ = _tracking_new  # type: ignore[method-assign]
            for name, count in _moto_counts.items():
                setattr(Queue, name, count)
            moto_speed.slow_down()


@contextlib.contextmanager
def untracked_moto_models() -> Iterator[None]:
    """``stop_tracking_moto_models`` for the block (what the benchmarks' moto uses)."""
    stop_tracking_moto_models()
    try:
        yield
    finally:
        resume_tracking_moto_models()


def tracked_moto_models() -> int:
    """How many model instances moto lists now: flat while an embedded AWS runs."""
    listed = 0
    for models in model_data.values():
        for model in models.values():
            listed += len(getattr(model, "instances_tracked", ()))
    return listed


class RecentTexts(OrderedDict[str, Any]):
    """moto's SNS ``sms_messages`` keeping only the latest ``limit`` texts."""

    def __init__(self, texts: Mapping[str, Any], limit: int = TEXTS_KEPT) -> None:
        self.limit = limit  # before the copy: OrderedDict's __init__ goes through __setitem__
        super().__init__(texts)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._trim()

    def _trim(self) -> None:
        while len(self) > self.limit:
            self.popitem(last=False)


class ForgetfulHandles(set[str]):
    """An SQS queue's ``deleted_messages``, emptied when it passes ``limit``: moto only
    checks it so that deleting the same message twice is not an error."""

    def __init__(self, handles: Iterable[str] = (), limit: int = DELETED_HANDLES_KEPT) -> None:
        self.limit = limit
        super().__init__(handles)

    def update(self, *others: Iterable[str]) -> None:
        super().update(*others)
        if len(self) > self.limit:
            self.clear()

    def add(self, handle: str) -> None:
        super().add(handle)
        if len(self) > self.limit:
            self.clear()


def bound_moto_stores(account: str, region: str) -> None:
    """Cap what moto keeps of texts sent and messages deleted in ``account``/``region``:
    every queue existing now, and the SNS backend. Call again after creating a queue."""
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    sns = sns_backends[account][region]
    if not isinstance(sns.sms_messages, RecentTexts):
        sns.sms_messages = RecentTexts(sns.sms_messages)
    for queue in sqs_backends[account][region].queues.values():
        if not isinstance(queue.deleted_messages, ForgetfulHandles):
            queue.deleted_messages = ForgetfulHandles(queue.deleted_messages)


class _NotCreatedYet(Exception):
    """A queue's properties refer to a queue that has not been created yet."""


def default_queue_names(prefix: str, template: Mapping[str, Any]) -> dict[str, str]:
    """Logical id -> ``<prefix>-<name>``: SendQueue -> ``reach-local-send-queue``."""
    names: dict[str, str] = {}
    for logical_id, resource in template["Resources"].items():
        if isinstance(resource, dict) and resource.get("Type") == QUEUE_TYPE:
            kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", logical_id).lower()
            fifo = resource.get("Properties", {}).get("FifoQueue") in (True, "true")
            # SQS insists on the suffix for FIFO queues.
            names[logical_id] = f"{prefix}-{kebab}" + (".fifo" if fifo else "")
    return names


def create_queues(
    sqs: SQSClient, names: Mapping[str, str], template: Mapping[str, Any]
) -> dict[str, str]:
    """Create every AWS::SQS::Queue of the template; returns logical id -> queue URL.

    A queue that names another (a RedrivePolicy's ``!GetAtt SendDeadLetterQueue.Arn``) is
    created after it, with the reference resolved to the local queue's ARN.
    """
    resources = template["Resources"]
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    pending = sorted(names)
    while pending:
        waiting: list[str] = []
        for logical_id in pending:
            properties = resources[logical_id].get("Properties", {})
            try:
                attributes = _queue_attributes(logical_id, properties, urls, arns)
            except _NotCreatedYet:
                waiting.append(logical_id)
                continue
            url = sqs.create_queue(QueueName=names[logical_id], Attributes=attributes)["QueueUrl"]
            urls[logical_id] = url
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            arns[logical_id] = arn["Attributes"]["QueueArn"]
        if len(waiting) == len(pending):
            raise TemplateError(f"queues {waiting} refer to each other or to no queue at all")
        pending = waiting
    return urls


def _resolve_queue_value(
    value: Any, where: str, urls: Mapping[str, str], arns: Mapping[str, str]
) -> Any:
    """A queue property with its Refs and GetAtts to queues made already, resolved."""
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        target, attribute = value["Fn::GetAtt"]
        if attribute != "Arn":
            raise TemplateError(f"{where}: only a queue's Arn resolves locally")
        if target not in arns:
            raise _NotCreatedYet(target)
        return arns[target]
    if isinstance(value, dict) and set(value) == {"Ref"}:
        if value["Ref"] not in urls:
            raise _NotCreatedYet(value["Ref"])
        return urls[value["Ref"]]
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)).startswith("Fn::"):
            raise TemplateError(f"{where} uses {value!r}, which only CloudFormation resolves")
        return {
            key: _resolve_queue_value(item, f"{where}.{key}", urls, arns)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _resolve_queue_value(item, f"{where}[{n}]", urls, arns) for n, item in enumerate(value)
        ]
    return value


def _queue_attributes(
    logical_id: str,
    properties: Mapping[str, Any],
    urls: Mapping[str, str],
    arns: Mapping[str, str],
) -> dict[QueueAttributeNameType, str]:
    attributes: dict[QueueAttributeNameType, str] = {}
    for key in _QUEUE_SCALARS:
        if key in properties:
            value = _resolve_queue_value(properties[key], f"{logical_id}.{key}", urls, arns)
            # The API spells every attribute as a string, booleans in lower case.
            attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
    for key in _QUEUE_DOCUMENTS:
        if key in properties:
            attributes[key] = json.dumps(
                _resolve_queue_value(properties[key], f"{logical_id}.{key}", urls, arns)
            )
    return attributes


class EmbeddedAws(Startable):
    """moto's server on 127.0.0.1 with Reach's tables and queues; the process environment
    points at it."""

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        log_level: str = "WARNING",
        extra_environment: Mapping[str, str] | None = None,
        table_prefix: str = DEFAULT_TABLE_PREFIX,
    ) -> None:
        self._template = template
        self._log_level = log_level
        self._extra = dict(extra_environment or {})
        self._server: ThreadedMotoServer | None = None
        self._saved_environment: dict[str, str] | None = None
        self._untracked = False
        self.endpoint_url = ""
        # moto keeps one set of backends per process, shared by every server in it: embedded
        # AWSes that run side by side (a test's and the demo's) need tables and queues of
        # their own.
        self.table_names = default_table_names(table_prefix, template)
        self.queue_names = default_queue_names(table_prefix, template)
        #: Logical id -> URL (what ``!Ref`` gives a queue), once started.
        self.queue_urls: dict[str, str] = {}
        #: Logical id -> event bus name (what ``!Ref`` gives a bus).
        self.bus_names = {
            logical_id: f"{table_prefix}-{_kebab(logical_id)}"
            for logical_id in _of_type(template, BUS_TYPE)
        }
        #: Logical id -> topic ARN (what ``!Ref`` gives a topic), once started.
        self.topic_arns: dict[str, str] = {}
        #: Logical id -> bucket name (what ``!Ref`` gives a bucket).
        self.bucket_names = {
            logical_id: f"{table_prefix}-{_kebab(logical_id)}"
            for logical_id in _of_type(template, BUCKET_TYPE)
        }
        self._prefix = table_prefix

    def start(self) -> None:
        # werkzeug logs every DynamoDB call moto serves: noise for someone reading the demo.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._saved_environment = dict(os.environ)
        stop_tracking_moto_models()
        self._untracked = True
        try:
            self._start_server_and_resources()
        except BaseException:
            self.stop()
            raise

    def _start_server_and_resources(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        for variable in _PROFILE_VARIABLES:
            os.environ.pop(variable, None)
        os.environ.update(self.aws_environment())
        create_tables(self._dynamodb(), self.table_names, template=self._template)
        self.queue_urls = create_queues(self.sqs(), self.queue_names, self._template)
        events = self.client("events")
        for name in self.bus_names.values():
            events.create_event_bus(Name=name)
        s3 = self.client("s3")
        for name in self.bucket_names.values():
            s3.create_bucket(Bucket=name)
        self._create_topics()
        os.environ.update(self.function_environment())
        os.environ.update(self._extra)
        self.keep_flat()
        # Lambda builds services once per container; this "container" starts fresh.
        for cached in _CACHED_WIRING:
            cached.cache_clear()

    def keep_flat(self) -> None:
        """Cap moto's texts and deleted handles on every queue made so far (call it again
        after making another)."""
        from moto.core.models import DEFAULT_ACCOUNT_ID

        bound_moto_stores(DEFAULT_ACCOUNT_ID, REGION)

    def _dynamodb(self) -> DynamoDBClient:
        return boto3.client("dynamodb", region_name=REGION, endpoint_url=self.endpoint_url)

    def client(self, service: str) -> Any:
        """A client of the embedded AWS for ``service``."""
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]

    def _create_topics(self) -> None:
        """The template's SNS topics, and their SQS subscriptions as the template sets them
        (raw delivery or the SNS envelope)."""
        sns = self.client("sns")
        for logical_id in _of_type(self._template, TOPIC_TYPE):
            name = f"{self._prefix}-{_kebab(logical_id)}"
            self.topic_arns[logical_id] = sns.create_topic(Name=name)["TopicArn"]
        sqs = self.sqs()
        for logical_id, resource in _of_type(self._template, SUBSCRIPTION_TYPE).items():
            properties = resource.get("Properties", {})
            if properties.get("Protocol") == "email":
                continue  # the alarm topic's optional mail: the local run mails nobody
            topic = properties.get("TopicArn", {}).get("Ref")
            queue = (properties.get("Endpoint", {}).get("Fn::GetAtt") or [None])[0]
            if properties.get("Protocol") != "sqs" or topic not in self.topic_arns:
                raise TemplateError(f"{logical_id}: only SQS subscriptions to template topics")
            if queue not in self.queue_urls:
                raise TemplateError(f"{logical_id}: {queue} is not a template queue")
            arn = sqs.get_queue_attributes(
                QueueUrl=self.queue_urls[queue], AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            raw = properties.get("RawMessageDelivery") in (True, "true")
            sns.subscribe(
                TopicArn=self.topic_arns[topic],
                Protocol="sqs",
                Endpoint=arn,
                Attributes={"RawMessageDelivery": "true" if raw else "false"},
            )

    def sqs(self) -> SQSClient:
        """A client of the embedded SQS (the scheduler plays the sender's event source)."""
        return boto3.client("sqs", region_name=REGION, endpoint_url=self.endpoint_url)

    def aws_environment(self) -> dict[str, str]:
        """What any AWS client needs to reach the embedded AWS (also what `reach` needs)."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint_url,
        }

    def function_environment(self) -> dict[str, str]:
        """The API's, dispatcher's and sender's variables as template.yaml resolves them (the
        send queue's ``!Ref`` is its local URL), plus local switches.

        They share the Globals and differ only in what each adds (the dispatcher's
        SEND_QUEUE_URL); a variable two functions set differently would be a variable one
        process cannot hold, so that is refused.
        """
        physical = {
            **self.table_names,
            **self.queue_urls,
            **self.bus_names,
            **self.topic_arns,
            **self.bucket_names,
            "AWS::Region": REGION,
        }
        environment: dict[str, str] = {}
        for logical_id in ENVIRONMENT_SOURCES:
            own = function_environment(
                self._template, logical_id, physical, parameters={"LogLevel": self._log_level}
            )
            for name, value in own.items():
                known = environment.setdefault(name, value)
                if known != value and name not in PER_FUNCTION_VARIABLES:
                    raise TemplateError(
                        f"{logical_id} sets {name}={value!r} where another function has "
                        f"{known!r}: the local run holds one environment for all of them"
                    )
        # No X-Ray daemon here to send traces to.
        environment.update(
            POWERTOOLS_TRACE_DISABLED="1",
            POWERTOOLS_METRICS_NAMESPACE="Reach",
        )
        return environment

    def stop(self) -> None:
        if self._server is not None:
            if self.endpoint_url:
                # The backends outlive the server; the next embedded AWS in this process
                # starts from empty tables and queues.
                dynamodb = self._dynamodb()
                for name in self.table_names.values():
                    with contextlib.suppress(dynamodb.exceptions.ResourceNotFoundException):
                        dynamodb.delete_table(TableName=name)
                sqs = self.sqs()
                for url in self.queue_urls.values():
                    with contextlib.suppress(sqs.exceptions.QueueDoesNotExist):
                        sqs.delete_queue(QueueUrl=url)
                self.queue_urls = {}
                events = self.client("events")
                for name in self.bus_names.values():
                    with contextlib.suppress(events.exceptions.ResourceNotFoundException):
                        events.delete_event_bus(Name=name)
                sns = self.client("sns")
                for arn in self.topic_arns.values():
                    sns.delete_topic(TopicArn=arn)
                self.topic_arns = {}
            self._server.stop()
            self._server = None
        if self._saved_environment is not None:
            os.environ.clear()
            os.environ.update(self._saved_environment)
            self._saved_environment = None
        for cached in _CACHED_WIRING:
            cached.cache_clear()
        if self._untracked:
            self._untracked = False
            resume_tracking_moto_models()


def _of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if isinstance(resource, dict) and resource.get("Type") == resource_type
    }


def _kebab(logical_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", logical_id).lower()
