"""The real Lambda handlers, loaded from functions/<name>/app.py the way the runtime does it.

Each function's CodeUri and Handler come from template.yaml, and the module is loaded from its
file (not imported as a package), so the handler sees the layer package ``reach`` exactly as it
would in Lambda.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from reach_tools.template import REPO_ROOT, functions

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

ACCOUNT_ID = "123456789012"

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class LocalLambdaContext:
    """The attributes of Lambda's context object that Powertools and handlers read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    timeout_seconds: int
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        # Nothing enforces the timeout locally; report the whole budget.
        return self.timeout_seconds * 1000


@dataclass(frozen=True)
class LocalFunction:
    """One function of the template, ready to invoke with an event.

    ``module`` is the loaded app.py, for the one local difference the scheduler needs: the
    sender is handed a clock the demo can move (see reach_tools.local.scheduler).
    """

    logical_id: str
    handler: Handler
    memory_mb: int
    timeout_seconds: int
    region: str
    module: ModuleType

    def invoke(self, event: dict[str, Any]) -> Any:
        context = LocalLambdaContext(
            function_name=self.logical_id,
            memory_limit_in_mb=self.memory_mb,
            invoked_function_arn=(
                f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.logical_id}"
            ),
            aws_request_id=str(uuid.uuid4()),
            timeout_seconds=self.timeout_seconds,
            log_group_name=f"/aws/lambda/{self.logical_id}",
        )
        return self.handler(event, context)


def load_function(
    template: Mapping[str, Any], logical_id: str, region: str, root: Path = REPO_ROOT
) -> LocalFunction:
    """Load ``logical_id``'s handler from its CodeUri and Handler in the template."""
    properties = functions(template)[logical_id]
    defaults = template.get("Globals", {}).get("Function", {})
    module_name, _, attribute = str(properties["Handler"]).rpartition(".")
    source = root / str(properties["CodeUri"]) / f"{module_name.replace('.', '/')}.py"
    # Every function's module is called app; a unique name keeps them apart in one process.
    spec = importlib.util.spec_from_file_location(f"reach_local_{logical_id}", source)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {logical_id}'s handler from {source}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = getattr(module, attribute)
    return LocalFunction(
        logical_id=logical_id,
        handler=handler,
        memory_mb=int(properties.get("MemorySize", defaults.get("MemorySize", 128))),
        timeout_seconds=int(properties.get("Timeout", defaults.get("Timeout", 3))),
        region=region,
        module=module,
    )


def drain_queue_into(
    function: LocalFunction, sqs: SQSClient, queue_url: str, *, sent_at_ms: str
) -> bool:
    """Hand ``queue_url``'s messages to ``function`` in batches of 10, as an SQS event source
    mapping with ReportBatchItemFailures does; True when a message was reported as failed
    (it stays in the queue for a later try, as after its visibility timeout).

    ``sent_at_ms`` is every record's SentTimestamp: the local clock's "now".
    """
    name = queue_url.rsplit("/", 1)[-1]
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return False
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": sent_at_ms},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{function.region}:{ACCOUNT_ID}:{name}",
                "awsRegion": function.region,
            }
            for m in messages
        ]
        response = function.invoke({"Records": records})
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if failed:
            return True
