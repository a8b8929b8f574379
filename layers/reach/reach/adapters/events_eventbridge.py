"""Domain events to an EventBridge bus through ``PutEvents``.

``PutEvents`` is not all-or-nothing: a response can accept some entries and fail others
(``FailedEntryCount``, and an ``ErrorCode`` on each failed entry, in request order). Only the
failed entries are sent again, with exponential backoff and full jitter. ``InternalFailure``
and ``ThrottlingException`` are the documented retryable entry codes; any other entry code
(``AccessDeniedException``, ``MalformedDetail``, ``NotAuthorizedForSourceException``...) can
never succeed, and the publish fails at once as non-retryable.
"""

from __future__ import annotations

import json
import random as _random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as SdkConnectionError

# The SMS adapters' client config suits this client as it is: botocore makes exactly one
# attempt (``total_max_attempts: 1``), so the retries below are the only ones and
# ``max_attempts`` counts real calls. botocore's own retries would resend a whole request
# after a throttle, the entries that were accepted included, while this loop resends only
# the failed entries. The short timeouts keep one stuck connection from eating a Lambda's
# budget.
from reach.adapters.sms_base import SDK_CLIENT_CONFIG, full_jitter_delay
from reach.observability import build_logger
from reach.ports.events import DomainEvent, EventPublishError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

#: PutEvents takes at most 10 entries a request.
MAX_ENTRIES_PER_REQUEST = 10
#: And at most 256 KB of entries a request (entry size as EventBridge counts it, below).
#: Some regions now allow 1 MB; 256 KB is safe everywhere.
MAX_REQUEST_BYTES = 256 * 1024
#: EventBridge counts 14 bytes for an entry's Time.
_TIME_BYTES = 14

#: Entry error codes worth sending again (PutEventsResultEntry, EventBridge API reference).
RETRYABLE_ENTRY_CODES = frozenset({"InternalFailure", "ThrottlingException"})
#: Request-level error codes that mean "slow down", whatever the HTTP status says.
_THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)

_default_logger = build_logger("reach-events")


@dataclass(frozen=True)
class _Pending:
    event: DomainEvent
    entry: PutEventsRequestEntryTypeDef
    size: int


@dataclass(frozen=True)
class _Failure:
    pending: _Pending
    code: str


class EventBridgePublisher:
    """``EventPublisher`` over ``events.put_events`` to one bus.

    Each call of ``publish`` makes at most ``max_attempts`` rounds; a round sends every
    pending entry, in chunks of at most 10 entries and 256 KB. Between rounds it sleeps
    (``sleep``, injectable) for a full-jitter backoff. It raises EventPublishError:

    - retryable, when entries still fail with a retryable code, or requests still meet
      throttling, 5xx or network errors, after ``max_attempts`` rounds;
    - non-retryable, at once, for any other ClientError (access denied, validation, missing
      bus), an entry error code that is not retryable, or an entry over 256 KB (no call).

    Entries sent in earlier chunks or rounds stay published when it raises (at least once:
    consumers dedupe on ``event_id``).
    """

    def __init__(
        self,
        client: EventBridgeClient,
        bus_name: str,
        source: str = "reach",
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        *,
        backoff_base: float = 0.2,
        backoff_cap: float = 5.0,
        random: Callable[[], float] = _random.random,
        logger: Logger | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not bus_name:
            raise ValueError("bus_name must not be empty")
        self._client = client
        self.bus_name = bus_name
        self.source = source
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._random = random
        self._logger = logger or _default_logger

    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Publish every event or raise EventPublishError (see the class docstring)."""
        pending = [self._pending(event) for event in events]
        rounds = 0
        while pending:
            rounds += 1
            failures = [failure for chunk in chunks(pending) for failure in self._put(chunk)]
            if not failures:
                break
            codes = _distinct(failure.code for failure in failures)
            failed_ids = [failure.pending.event.event_id for failure in failures]
            permanent = [f.code for f in failures if f.code not in RETRYABLE_ENTRY_CODES]
            if permanent or rounds >= self._max_attempts:
                self._logger.warning(
                    "events not published",
                    extra={
                        "bus": self.bus_name,
                        "attempts": rounds,
                        "failed": len(failures),
                        "codes": codes,
                        "retryable": not permanent,
                    },
                )
            if permanent:
                raise EventPublishError(
                    f"{len(failures)} of {len(events)} events refused by EventBridge: "
                    + ", ".join(codes),
                    retryable=False,
                    error_codes=codes,
                    failed_event_ids=failed_ids,
                )
            if rounds >= self._max_attempts:
                raise EventPublishError(
                    f"{len(failures)} of {len(events)} events not published after "
                    f"{rounds} attempts: " + ", ".join(codes),
                    error_codes=codes,
                    failed_event_ids=failed_ids,
                )
            delay = full_jitter_delay(
                rounds, base=self._backoff_base, cap=self._backoff_cap, random=self._random
            )
            self._logger.info(
                "some events not published, retrying",
                extra={
                    "bus": self.bus_name,
                    "attempt": rounds,
                    "failed": len(failures),
                    "codes": codes,
                    "retry_in_ms": round(delay * 1000),
                },
            )
            self._sleep(delay)
            pending = [failure.pending for failure in failures]

    def _pending(self, event: DomainEvent) -> _Pending:
        entry: PutEventsRequestEntryTypeDef = {
            "Source": self.source,
            "DetailType": event.type.value,
            "Detail": json.dumps(event.detail(), separators=(",", ":"), sort_keys=True),
            "EventBusName": self.bus_name,
            "Time": event.occurred_at,
            "Resources": [],
        }
        size = entry_size(entry)
        if size > MAX_REQUEST_BYTES:
            raise EventPublishError(
                f"event {event.event_id} is {size} bytes, over the {MAX_REQUEST_BYTES} limit",
                retryable=False,
                error_codes=("EntryTooLarge",),
                failed_event_ids=(event.event_id,),
            )
        return _Pending(event, entry, size)

    def _put(self, chunk: Sequence[_Pending]) -> list[_Failure]:
        """One PutEvents call; returns the entries that failed with their codes."""
        try:
            response = self._client.put_events(Entries=[item.entry for item in chunk])
        except ClientError as error:
            code, status = _error_code_and_status(error)
            if code in _THROTTLING_CODES or status == 429:
                return [_Failure(item, "ThrottlingException") for item in chunk]
            if status >= 500:
                return [_Failure(item, "InternalFailure") for item in chunk]
            raise EventPublishError(
                f"EventBridge refused PutEvents: {code or status}",
                retryable=False,
                error_codes=(code,) if code else (),
                failed_event_ids=[item.event.event_id for item in chunk],
            ) from error
        except (ReadTimeoutError, ConnectionClosedError, SdkConnectionError):
            # Nothing or everything may have been published: sending again is at worst a
            # duplicate, which consumers drop by event_id.
            return [_Failure(item, "InternalFailure") for item in chunk]
        except ParamValidationError as error:
            raise EventPublishError(
                f"invalid PutEvents request: {error}",
                retryable=False,
                error_codes=("InvalidArgument",),
                failed_event_ids=[item.event.event_id for item in chunk],
            ) from error
        results = response.get("Entries", [])
        if len(results) != len(chunk):
            # EventBridge answers entry for entry; if it ever does not, no entry is known to
            # be published, and all of them go again.
            return [_Failure(item, "InternalFailure") for item in chunk]
        return [
            _Failure(item, result.get("ErrorCode") or "InternalFailure")
            for item, result in zip(chunk, results, strict=True)
            if result.get("ErrorCode") or not result.get("EventId")
        ]


def chunks(pending: Sequence[_Pending]) -> Iterator[list[_Pending]]:
    """Consecutive runs of at most 10 entries and MAX_REQUEST_BYTES, in order."""
    chunk: list[_Pending] = []
    size = 0
    for item in pending:
        if chunk and (
            len(chunk) == MAX_ENTRIES_PER_REQUEST or size + item.size > MAX_REQUEST_BYTES
        ):
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += item.size
    if chunk:
        yield chunk


def entry_size(entry: PutEventsRequestEntryTypeDef) -> int:
    """An entry's size as EventBridge counts it ("Calculating PutEvents event entry size")."""
    size = _TIME_BYTES if "Time" in entry else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key, "")).encode("utf-8"))
    size += sum(len(resource.encode("utf-8")) for resource in entry.get("Resources", []))
    return size


def build_event_publisher(settings_bus_name: str, region: str) -> EventBridgePublisher:
    """An EventBridgePublisher to the bus named in settings, with the one-attempt SDK config."""
    client = boto3.client("events", region_name=region, config=SDK_CLIENT_CONFIG)
    return EventBridgePublisher(client, settings_bus_name)


def _error_code_and_status(error: ClientError) -> tuple[str, int]:
    response = cast(Mapping[str, Any], error.response)
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    return code, status


def _distinct(codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(codes))
