"""The embedded AWS: moto's server in this process, holding the tables template.yaml defines.

The process environment is pointed at it (endpoint, region, fake credentials) and set to what
Lambda would give the API function, so the handlers run unchanged. ``stop`` puts the previous
environment back, which lets tests start and stop the stack inside one pytest process.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import boto3
from moto.server import ThreadedMotoServer

from reach.wiring import services_from_env
from reach_tools.template import create_tables, default_table_names, function_environment

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

REGION = "us-east-1"
DEFAULT_TABLE_PREFIX = "reach-local"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
#: The function whose environment the process takes on (every function shares the tables).
ENVIRONMENT_SOURCE = "ApiFunction"
# A named profile would win over the fake credentials, and a real session token does not
# belong next to them.
_PROFILE_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN")


class EmbeddedAws:
    """moto's server on 127.0.0.1 with Reach's tables; the process environment points at it."""

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
        self.endpoint_url = ""
        # moto keeps one set of backends per process, shared by every server in it: embedded
        # AWSes that run side by side (a test's and the demo's) need tables of their own.
        self.table_names = default_table_names(table_prefix, template)

    def start(self) -> None:
        # werkzeug logs every DynamoDB call moto serves: noise for someone reading the demo.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._saved_environment = dict(os.environ)
        try:
            self._start_server_and_tables()
        except BaseException:
            self.stop()
            raise

    def _start_server_and_tables(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        for variable in _PROFILE_VARIABLES:
            os.environ.pop(variable, None)
        os.environ.update(self.aws_environment())
        create_tables(self._dynamodb(), self.table_names, template=self._template)
        os.environ.update(self.function_environment())
        os.environ.update(self._extra)
        # Lambda builds services once per container; this "container" starts fresh.
        services_from_env.cache_clear()

    def _dynamodb(self) -> DynamoDBClient:
        return boto3.client("dynamodb", region_name=REGION, endpoint_url=self.endpoint_url)

    def aws_environment(self) -> dict[str, str]:
        """What any AWS client needs to reach the embedded AWS (also what `reach` needs)."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint_url,
        }

    def function_environment(self) -> dict[str, str]:
        """The API function's variables as template.yaml resolves them, plus local switches."""
        environment = function_environment(
            self._template,
            ENVIRONMENT_SOURCE,
            {**self.table_names, "AWS::Region": REGION},
            parameters={"LogLevel": self._log_level},
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
                # starts from empty tables.
                dynamodb = self._dynamodb()
                for name in self.table_names.values():
                    with contextlib.suppress(dynamodb.exceptions.ResourceNotFoundException):
                        dynamodb.delete_table(TableName=name)
            self._server.stop()
            self._server = None
        if self._saved_environment is not None:
            os.environ.clear()
            os.environ.update(self._saved_environment)
            self._saved_environment = None
        services_from_env.cache_clear()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
