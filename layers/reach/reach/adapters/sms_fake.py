"""A recording, scriptable ``SmsSender`` for service tests and the local run.

It keeps the port's contract (expired messages are refused, opted-out numbers raise
RecipientOptedOut) but none of a provider's mechanics: it does not retry, because the errors
it raises stand for what a real adapter raises after its own retries ran out.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Iterable

from reach.clock import Clock, system_clock
from reach.ports.sms import (
    MIN_TIME_TO_LIVE_SECONDS,
    OutboundSms,
    RecipientOptedOut,
    SentSms,
    SmsError,
    SmsRejected,
    SmsThrottled,
)


def _throttled() -> SmsError:
    return SmsThrottled("throttled", "scripted by RecordingSmsSender")


class RecordingSmsSender:
    """Records every ``OutboundSms`` in order and returns ids ``fake-000001``, ``fake-000002``...

    Failures, checked in this order after the expiry check:

    - ``fail_next(*errors)`` queues errors raised by the next sends, one each;
    - numbers given to ``opted_out`` / ``opt_out`` raise RecipientOptedOut;
    - ``failure_rate`` (0..1) raises ``failure()`` for that share of the remaining sends,
      drawn from a ``random.Random(seed)`` so a test sees the same sequence every run.

    Thread-safe: one lock guards the records, the script and the random draws.
    """

    def __init__(
        self,
        *,
        name: str = "fake",
        failure_rate: float = 0.0,
        failure: Callable[[], SmsError] = _throttled,
        seed: int = 0,
        opted_out: Iterable[str] = (),
        clock: Clock = system_clock,
    ) -> None:
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        self.name = name
        self._failure_rate = failure_rate
        self._failure = failure
        self._random = random.Random(seed)  # noqa: S311 - test scripting, not security  # nosec B311
        self._opted_out = set(opted_out)
        self._clock = clock
        self._lock = threading.Lock()
        self._scripted: deque[SmsError] = deque()
        self._attempts: list[OutboundSms] = []
        self._sent: list[tuple[SentSms, OutboundSms]] = []

    def send(self, sms: OutboundSms) -> SentSms:
        """Record ``sms`` and accept it, or raise what the script says."""
        with self._lock:
            self._attempts.append(sms)
            if sms.is_expired(self._clock()):
                raise SmsRejected(
                    "expired", f"less than {MIN_TIME_TO_LIVE_SECONDS} s before expires_at"
                )
            if self._scripted:
                raise self._scripted.popleft()
            if sms.destination in self._opted_out:
                raise RecipientOptedOut("opted_out", "on the fake's opt-out list")
            if self._failure_rate and self._random.random() < self._failure_rate:
                raise self._failure()
            sent = SentSms(self.name, f"fake-{len(self._sent) + 1:06d}")
            self._sent.append((sent, sms))
            return sent

    def fail_next(self, *errors: SmsError) -> None:
        """The next ``len(errors)`` sends raise these errors, in order."""
        with self._lock:
            self._scripted.extend(errors)

    def opt_out(self, *destinations: str) -> None:
        """These numbers raise RecipientOptedOut from now on (as after a STOP)."""
        with self._lock:
            self._opted_out.update(destinations)

    def opt_in(self, *destinations: str) -> None:
        with self._lock:
            self._opted_out.difference_update(destinations)

    @property
    def attempts(self) -> list[OutboundSms]:
        """Every message passed to ``send``, accepted or not, in call order."""
        with self._lock:
            return list(self._attempts)

    @property
    def sent(self) -> list[OutboundSms]:
        """The messages accepted, in order."""
        with self._lock:
            return [sms for _, sms in self._sent]

    @property
    def receipts(self) -> list[SentSms]:
        """What ``send`` returned for each accepted message, in order."""
        with self._lock:
            return [sent for sent, _ in self._sent]

    def sent_to(self, destination: str) -> list[OutboundSms]:
        """The accepted messages to one number, in order."""
        return [sms for sms in self.sent if sms.destination == destination]

    def message_for(self, provider_message_id: str) -> OutboundSms:
        """The accepted message a ``fake-...`` id was returned for (KeyError if none)."""
        with self._lock:
            for sent, sms in self._sent:
                if sent.provider_message_id == provider_message_id:
                    return sms
        raise KeyError(provider_message_id)
