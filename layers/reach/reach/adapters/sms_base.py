"""What every SMS provider adapter shares: timing, logging, outcome, error translation, retries.

After GOV.UK Notify's provider pattern: ``SmsProviderBase.send`` owns the whole attempt loop,
while a provider implements one method, ``_send_once`` (exactly one SDK call), and declares
``ERRORS``, a table from its error codes to Reach's SMS errors. Adding a provider means
writing that method and that table, not another copy of the retry and logging code.
"""

from __future__ import annotations

import random as _random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypedDict, cast

from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as SdkConnectionError

from reach.clock import Clock, system_clock
from reach.domain.masking import mask_phone
from reach.observability import build_logger
from reach.ports.sms import (
    MIN_TIME_TO_LIVE_SECONDS,
    OutboundSms,
    SentSms,
    SmsError,
    SmsRejected,
    SmsThrottled,
    SmsUnavailable,
)

#: Every provider client is built with this. botocore makes exactly one attempt, so retries
#: are counted here only ("4 attempts" means 4 provider calls, not 4 times botocore's own).
#: Note ``total_max_attempts``: botocore reads ``max_attempts`` in this dict as *retries*
#: (``max_attempts: 1`` is two calls). Its 60 s default timeouts would also let one stuck
#: connection eat a Lambda's budget.
SDK_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=3,
    read_timeout=10,
)

_default_logger = build_logger("reach-sms")

#: A provider error code, or (code, the error's ``Reason`` field) when the code alone is too
#: coarse, as for End User Messaging's ConflictException.
ErrorKey = str | tuple[str, str]


@dataclass(frozen=True)
class Classification:
    """What one provider error means to Reach: the error class to raise, and its reason word."""

    error: type[SmsError]
    reason: str

    def build(self, detail: str, provider_code: str = "") -> SmsError:
        return self.error(self.reason, detail, provider_code=provider_code)


# Errors a provider did not list in its table are judged by HTTP status: a 5xx is the
# provider's fault and may pass, a 429 is rate, anything else is about this request.
_UNLISTED_THROTTLED = Classification(SmsThrottled, "throttled")
_UNLISTED_SERVER = Classification(SmsUnavailable, "provider_error")
_UNLISTED_CLIENT = Classification(SmsRejected, "provider_rejected")


class SenderOptions(TypedDict, total=False):
    """Keyword options every provider adapter passes through to SmsProviderBase."""

    max_attempts: int
    backoff_base: float
    backoff_cap: float
    sleep: Callable[[float], None]
    random: Callable[[], float]
    clock: Clock
    logger: Logger


class SmsProviderBase(ABC):
    """An ``SmsSender`` for one provider; subclasses implement ``_send_once`` and ``ERRORS``.

    ``send`` validates the message once (``_validate``), refuses it as expired when
    ``expires_at`` is less than MIN_TIME_TO_LIVE_SECONDS away (checked before every attempt,
    since backoff spends time), then calls ``_send_once`` up to ``max_attempts`` times.
    Retryable errors (throttled, unavailable) are retried with exponential backoff and full
    jitter; the last one is raised when attempts run out, so the queue can redeliver later.
    Anything else is raised at once. Each retry and the outcome are logged, the phone masked,
    never the body (it may name a person and a clinic).
    """

    name: str
    ERRORS: ClassVar[Mapping[ErrorKey, Classification]]

    def __init__(
        self,
        *,
        max_attempts: int = 4,
        backoff_base: float = 0.2,
        backoff_cap: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        clock: Clock = system_clock,
        logger: Logger | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._random = random
        self._clock = clock
        self._logger = logger or _default_logger

    @abstractmethod
    def _send_once(self, sms: OutboundSms) -> str:
        """Make exactly one provider call and return the provider's message id.

        SDK errors may escape: ``send`` translates them through ``ERRORS``.
        """

    def _validate(self, sms: OutboundSms) -> None:  # noqa: B027 - optional hook, no-op by default
        """Raise SmsRejected for a message this provider can never accept (no call is made)."""

    def send(self, sms: OutboundSms) -> SentSms:
        """Send ``sms`` (see reach.ports.sms.SmsSender.send for the contract)."""
        started = time.perf_counter()
        log_keys: dict[str, Any] = {
            "provider": self.name,
            "tenant_id": sms.tenant_id,
            "message_id": sms.message_id,
            "to": mask_phone(sms.destination),
            "parts": sms.parts,
        }
        calls = 0
        try:
            self._validate(sms)
            while True:
                self._refuse_if_expired(sms)
                calls += 1
                try:
                    provider_message_id = self._attempt(sms)
                    break
                except SmsError as error:
                    if not error.retryable or calls >= self._max_attempts:
                        raise
                    delay = self.backoff_delay(calls)
                    self._logger.info(
                        "sms attempt failed, retrying",
                        extra={
                            **log_keys,
                            "attempt": calls,
                            "reason": error.reason,
                            "provider_code": error.provider_code,
                            "retry_in_ms": round(delay * 1000),
                        },
                    )
                    self._sleep(delay)
        except SmsError as error:
            self._logger.warning(
                "sms not sent",
                extra={
                    **log_keys,
                    "attempts": calls,
                    "reason": error.reason,
                    "retryable": error.retryable,
                    "provider_code": error.provider_code,
                    "elapsed_ms": _elapsed_ms(started),
                },
            )
            raise
        self._logger.info(
            "sms sent",
            extra={
                **log_keys,
                "attempts": calls,
                "provider_message_id": provider_message_id,
                "elapsed_ms": _elapsed_ms(started),
            },
        )
        return SentSms(provider=self.name, provider_message_id=provider_message_id)

    def backoff_delay(self, failed_attempts: int) -> float:
        """Seconds to wait after ``failed_attempts`` failures: exponential with full jitter.

        Full jitter (a uniform draw below the capped exponential) spreads out the many
        senders that a provider throttled at the same moment, instead of having them all
        come back together (AWS Architecture Blog, "Exponential Backoff And Jitter").
        """
        return full_jitter_delay(
            failed_attempts, base=self._backoff_base, cap=self._backoff_cap, random=self._random
        )

    def classify(self, error: ClientError) -> SmsError:
        """Translate a provider's ClientError into a Reach SMS error, by table."""
        response = cast(Mapping[str, Any], error.response)
        details = cast(Mapping[str, Any], response.get("Error", {}))
        code = str(details.get("Code", ""))
        # JSON services return modeled fields such as End User Messaging's ``Reason`` at the
        # top of the parsed response; some query services nest them under ``Error``.
        provider_reason = str(response.get("Reason") or details.get("Reason") or "")
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        entry = (
            self.ERRORS.get((code, provider_reason)) or self.ERRORS.get(code) or _unlisted(status)
        )
        message = str(details.get("Message", ""))
        detail = " ".join(part for part in (code, provider_reason, message) if part)
        return entry.build(detail, provider_code=code)

    def _attempt(self, sms: OutboundSms) -> str:
        try:
            return self._send_once(sms)
        except ClientError as error:
            raise self.classify(error) from error
        except (ReadTimeoutError, ConnectionClosedError) as error:
            # The request may have reached the provider: a retry can, rarely, send twice.
            # Losing a reminder is worse than a duplicate, so this stays retryable, under a
            # reason of its own for the logs.
            raise SmsUnavailable("no_response", str(error)) from error
        except SdkConnectionError as error:
            # Connection refused, DNS, connect timeout: nothing was sent, safe to retry.
            raise SmsUnavailable("unreachable", str(error)) from error
        except ParamValidationError as error:
            # botocore checks parameters against the service model before any call.
            raise SmsRejected("invalid_request", str(error)) from error

    def _refuse_if_expired(self, sms: OutboundSms) -> None:
        if sms.is_expired(self._clock()):
            raise SmsRejected(
                "expired", f"less than {MIN_TIME_TO_LIVE_SECONDS} s before expires_at"
            )


def _unlisted(status: int) -> Classification:
    if status == 429:
        return _UNLISTED_THROTTLED
    if status >= 500:
        return _UNLISTED_SERVER
    return _UNLISTED_CLIENT


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def full_jitter_delay(
    failed_attempts: int, *, base: float, cap: float, random: Callable[[], float]
) -> float:
    """Seconds to wait after ``failed_attempts`` failures: a uniform draw below the capped
    exponential (full jitter, AWS Architecture Blog "Exponential Backoff And Jitter")."""
    return random() * min(cap, base * 2.0 ** (failed_attempts - 1))


def eum_client(region_name: str | None, endpoint_url: str | None) -> Any:
    """An End User Messaging SMS (``pinpoint-sms-voice-v2``) client with retries off.

    There is no boto3-stubs package for that service here, so the client is Any; the tests'
    Stubber checks every parameter against the real service model instead.
    """
    import boto3

    return boto3.client(
        "pinpoint-sms-voice-v2",
        region_name=region_name,
        endpoint_url=endpoint_url,
        config=SDK_CLIENT_CONFIG,
    )
