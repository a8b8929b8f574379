"""The Lambda functions themselves, loaded from ``functions/<name>/app.py`` and invoked through
their handlers, in one warm process over moto: what the soak and the fault matrix drive.

Each function builds its collaborators once per container (``reach.wiring.*_from_env``); here
the handler modules get the same builders, called with the benchmark's clock and a ``sleep``
that moves it, so that pacing, backoff and quiet hours follow simulated time, never the wall
clock. Everything else (event parsing, Powertools' batch processor and idempotency, the
adapters, the tables) is the functions' own code.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from reach.ports.events import EventPublisher
from reach.ports.sms import SmsSender
from reach.settings import Settings
from reach_tools.bench.harness import FAKE_AWS, BenchAws, embedded_aws
from reach_tools.demo_clock import DemoClock
from reach_tools.template import function_environment, functions

REPO = Path(__file__).resolve().parents[3]
#: Every function the fault matrix and the soak invoke.
FUNCTIONS = ("api", "authorizer", "dispatcher", "sender", "inbound", "status", "reconciler")
#: A warm container logs on every call; the benchmarks don't want 60,000 lines of output, and
#: nothing they measure depends on it. (Metrics stay on: disabled, Powertools keeps them
#: unflushed, which would grow like a leak. Their lines go to ``quiet_stdout``.)
QUIET = {"POWERTOOLS_LOG_LEVEL": "CRITICAL"}


@dataclass
class LambdaContext:
    """What the handlers read from Lambda's context object."""

    function_name: str = "reach-bench"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:reach-bench"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Lambdas:
    """The functions of one stack over one moto, sharing a clock."""

    aws: BenchAws
    clock: DemoClock
    environment: dict[str, str]
    modules: dict[str, ModuleType] = field(default_factory=dict)
    context: LambdaContext = field(default_factory=LambdaContext)

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        return self.modules[name].lambda_handler(event, self.context)

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.environment)


def load_function(name: str) -> ModuleType:
    """Import functions/<name>/app.py from its file, as the Lambda runtime would."""
    spec = importlib.util.spec_from_file_location(
        f"reach_bench_function_{name}", REPO / "functions" / name / "app.py"
    )
    if spec is None or spec.loader is None:
        raise ImportError(name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def event(name: str) -> dict[str, Any]:
    import json

    loaded: dict[str, Any] = json.loads((REPO / "events" / name).read_text())
    return loaded


def _create_queues(aws: BenchAws, prefix: str) -> None:
    """The queues the embedded stack lacks (inbound, status and their DLQs)."""
    for logical_id, resource in aws.template["Resources"].items():
        if resource.get("Type") == "AWS::SQS::Queue" and logical_id not in aws.names:
            aws.names[logical_id] = aws.sqs.create_queue(QueueName=f"{prefix}-{logical_id}")[
                "QueueUrl"
            ]
    for logical_id, resource in aws.template["Resources"].items():
        if resource.get("Type") == "AWS::SNS::Topic" and logical_id not in aws.names:
            aws.names[logical_id] = f"arn:aws:sns:us-east-1:123456789012:{prefix}-{logical_id}"


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """The metrics' EMF lines (stdout in Lambda) go nowhere, without piling up in a buffer."""
    import contextlib
    import warnings

    with (
        open(os.devnull, "w") as nowhere,
        contextlib.redirect_stdout(nowhere),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")  # Powertools warns of a flush with no metrics
        yield


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def lambdas(
    prefix: str,
    clock: DemoClock,
    *,
    names: tuple[str, ...] = FUNCTIONS,
    sms: Callable[[Settings], SmsSender] | None = None,
    events: EventPublisher | None = None,
) -> Iterator[Lambdas]:
    """moto with the template's resources and the functions ``names`` loaded, each with the
    environment the template gives it, warm-built on ``clock``.

    ``sms`` builds the provider for the sender and inbound functions (default: the template's,
    SNS, into moto); ``events`` replaces the bus (default: EventBridge in moto).
    """
    import reach.wiring as wiring

    with embedded_aws(prefix) as aws:
        _create_queues(aws, prefix)
        environment: dict[str, str] = {}
        for function in functions(aws.template):
            environment |= function_environment(aws.template, function, aws.names)
        environment |= FAKE_AWS | QUIET | {"SMS_PROVIDER": "sns"}
        environment.pop("POWERTOOLS_SERVICE_NAME", None)
        with _environment(environment), quiet_stdout():
            world = Lambdas(aws, clock, environment)
            built = _builders(world.settings, clock, sms, events)
            for cached in _CACHED:
                getattr(wiring, cached).cache_clear()
            for name in names:
                module = load_function(name)
                for attribute, build in built.items():
                    if hasattr(module, attribute):
                        setattr(module, attribute, build)
                world.modules[name] = module
            yield world
            for cached in _CACHED:
                getattr(wiring, cached).cache_clear()


_CACHED = (
    "services_from_env",
    "authenticator_from_env",
    "dispatcher_from_env",
    "sender_from_env",
    "send_queue_from_env",
    "inbound_from_env",
    "reconciler_from_env",
    "receipts_from_env",
)


def _builders(
    settings: Settings,
    clock: DemoClock,
    sms: Callable[[Settings], SmsSender] | None,
    events: EventPublisher | None,
) -> dict[str, Callable[[], Any]]:
    """Each ``*_from_env`` as the container builds it (once), on the benchmark's clock."""
    from functools import lru_cache

    from reach import wiring

    def provider() -> SmsSender | None:
        return sms(settings) if sms is not None else None

    builders: dict[str, Callable[[], Any]] = {
        "services_from_env": lambda: wiring.build_services(settings, clock=clock, events=events),
        "authenticator_from_env": lambda: wiring.build_authenticator(settings),
        "dispatcher_from_env": lambda: wiring.build_dispatcher(settings),
        "sender_from_env": lambda: wiring.build_sender(
            settings, clock=clock, sleep=clock.sleep, sms=provider(), events=events
        ),
        "inbound_from_env": lambda: wiring.build_inbound(
            settings, clock=clock, sleep=clock.sleep, sms=provider(), events=events
        ),
        "reconciler_from_env": lambda: wiring.build_reconciler(
            settings, clock=clock, events=events
        ),
        "receipts_from_env": lambda: wiring.build_receipts(settings, clock=clock, events=events),
    }
    return {name: lru_cache(maxsize=1)(build) for name, build in builders.items()}
