"""SmsProviderBase: translation by table, retries with backoff, expiry and logging.

The recording fake lives here too: it implements the same port contract that the base gives
every real provider (expiry, opt-out, errors raised as they are).
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from builders import RECIPIENT as PATIENT
from builders import outbound_sms
from reach.adapters.sms_base import Classification, SmsProviderBase
from reach.adapters.sms_fake import RecordingSmsSender
from reach.observability import PhoneMaskingFormatter
from reach.ports.sms import (
    OutboundSms,
    RecipientOptedOut,
    SentSms,
    SmsRejected,
    SmsThrottled,
    SmsUnavailable,
)

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def client_error(code: str, status: int = 400, reason: str | None = None) -> ClientError:
    response: dict[str, object] = {
        "Error": {"Code": code, "Message": f"{code} happened"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    if reason:
        response["Reason"] = reason
    return ClientError(response, "SendSomething")


class FakeTime:
    """A clock that only moves when the provider sleeps."""

    def __init__(self) -> None:
        self.now = NOW
        self.sleeps: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


class ScriptedProvider(SmsProviderBase):
    """A provider whose calls return ids or raise, in the order given."""

    name = "scripted"
    ERRORS = {  # noqa: RUF012 - a test table
        "SlowDown": Classification(SmsThrottled, "throttled"),
        "Busy": Classification(SmsUnavailable, "provider_error"),
        "Bad": Classification(SmsRejected, "invalid_request"),
        "Conflict": Classification(SmsRejected, "conflict"),
        ("Conflict", "OPTED_OUT"): Classification(RecipientOptedOut, "opted_out"),
    }

    def __init__(self, outcomes: list[str | Exception], **options: object) -> None:
        super().__init__(**options)
        self.outcomes = outcomes
        self.calls: list[OutboundSms] = []

    def _send_once(self, sms: OutboundSms) -> str:
        self.calls.append(sms)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def provider(
    outcomes: list[str | Exception], time: FakeTime | None = None, **options: object
) -> ScriptedProvider:
    time = time or FakeTime()
    defaults: dict[str, object] = {
        "sleep": time.sleep,
        "clock": time.clock,
        "random": lambda: 0.5,
    }
    return ScriptedProvider(outcomes, **(defaults | options))


# --- translation by table -------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected", "reason"),
    [
        (client_error("SlowDown"), SmsThrottled, "throttled"),
        (client_error("Conflict", reason="OPTED_OUT"), RecipientOptedOut, "opted_out"),
        (client_error("Conflict", reason="SOMETHING_ELSE"), SmsRejected, "conflict"),
        (client_error("NeverHeardOf", 503), SmsUnavailable, "provider_error"),
        (client_error("NeverHeardOf", 429), SmsThrottled, "throttled"),
        (client_error("NeverHeardOf", 400), SmsRejected, "provider_rejected"),
    ],
)
def test_provider_errors_are_translated_by_the_table_then_by_http_status(error, expected, reason):
    # Given a provider whose one call fails with the error
    sender = provider([error], max_attempts=1)

    # When it sends
    with pytest.raises(expected) as raised:
        sender.send(outbound_sms())

    # Then the Reach error names the reason and chains the SDK error
    assert type(raised.value) is expected
    assert raised.value.reason == reason
    assert raised.value.__cause__ is error
    assert raised.value.provider_code == error.response["Error"]["Code"]


def test_a_reason_specific_entry_wins_over_the_code_entry():
    sender = provider([])

    opted_out = sender.classify(client_error("Conflict", reason="OPTED_OUT"))
    other = sender.classify(client_error("Conflict", reason="LOCKED"))

    assert isinstance(opted_out, RecipientOptedOut)
    assert not opted_out.retryable
    assert isinstance(other, SmsRejected)
    assert "LOCKED" in other.message


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (EndpointConnectionError(endpoint_url="https://sms.example"), "unreachable"),
        (ReadTimeoutError(endpoint_url="https://sms.example"), "no_response"),
    ],
)
def test_network_failures_are_unavailable_and_retryable(error, reason):
    sender = provider([error], max_attempts=1)

    with pytest.raises(SmsUnavailable) as raised:
        sender.send(outbound_sms())

    assert raised.value.reason == reason
    assert raised.value.retryable
    assert raised.value.__cause__ is error


# --- retries ---------------------------------------------------------------------------


def test_throttled_twice_then_accepted_retries_with_growing_jittered_delays():
    # Given a provider that throttles twice, then accepts
    time = FakeTime()
    sender = provider([client_error("SlowDown"), client_error("SlowDown"), "p-42"], time)

    # When a message is sent
    sent = sender.send(outbound_sms())

    # Then it took three calls, with full-jitter waits of half of 0.2 s and of 0.4 s between
    assert sent == SentSms(provider="scripted", provider_message_id="p-42")
    assert len(sender.calls) == 3
    assert time.sleeps == pytest.approx([0.1, 0.2])


def test_when_attempts_run_out_the_last_retryable_error_is_raised():
    # Given a provider that is unavailable on every call
    time = FakeTime()
    failures: list[str | Exception] = [client_error("Busy", 500) for _ in range(4)]
    last = failures[-1]
    sender = provider(list(failures), time)

    # When a message is sent
    with pytest.raises(SmsUnavailable) as raised:
        sender.send(outbound_sms())

    # Then four calls were made, three waits between them, and the fourth error surfaces
    assert len(sender.calls) == 4
    assert len(time.sleeps) == 3
    assert raised.value.__cause__ is last


@pytest.mark.parametrize(
    "error", [client_error("Bad"), client_error("Conflict", reason="OPTED_OUT")]
)
def test_permanent_errors_are_raised_at_once_without_waiting(error):
    time = FakeTime()
    sender = provider([error, "never"], time)

    with pytest.raises((SmsRejected, RecipientOptedOut)):
        sender.send(outbound_sms())

    assert len(sender.calls) == 1
    assert time.sleeps == []


def test_backoff_doubles_from_the_base_up_to_the_cap():
    sender = provider([], backoff_base=1.0, backoff_cap=5.0, random=lambda: 1.0)

    delays = [sender.backoff_delay(failures) for failures in range(1, 6)]

    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_full_jitter_scales_the_whole_delay_by_the_random_draw():
    draws = iter([0.0, 0.25])
    sender = provider([], random=lambda: next(draws))

    assert sender.backoff_delay(3) == 0.0
    assert sender.backoff_delay(3) == pytest.approx(0.2)


# --- expiry ----------------------------------------------------------------------------


def test_a_message_with_less_than_five_seconds_left_is_refused_without_a_call():
    sender = provider(["never"])

    with pytest.raises(SmsRejected) as raised:
        sender.send(outbound_sms(expires_at=NOW + timedelta(seconds=4.9)))

    assert raised.value.reason == "expired"
    assert not raised.value.retryable
    assert sender.calls == []


def test_a_message_with_five_seconds_left_is_still_sent():
    sender = provider(["p-1"])

    sent = sender.send(outbound_sms(expires_at=NOW + timedelta(seconds=5)))

    assert sent.provider_message_id == "p-1"


def test_a_message_that_expires_while_backing_off_is_not_sent_late():
    # Given 5.1 s left, and a throttle whose backoff (0.2 s at most) crosses the 5 s line
    time = FakeTime()
    sender = provider([client_error("SlowDown"), "too-late"], time, random=lambda: 1.0)

    # When it is sent
    with pytest.raises(SmsRejected) as raised:
        sender.send(outbound_sms(expires_at=NOW + timedelta(seconds=5.1)))

    # Then the retry is refused as expired, not made
    assert raised.value.reason == "expired"
    assert len(sender.calls) == 1


def test_provider_validation_refuses_before_any_call():
    class PickyProvider(ScriptedProvider):
        def _validate(self, sms: OutboundSms) -> None:
            raise SmsRejected("body_too_long")

    sender = PickyProvider(["never"], sleep=lambda _: None)

    with pytest.raises(SmsRejected, match="body_too_long"):
        sender.send(outbound_sms())

    assert sender.calls == []


# --- logging ---------------------------------------------------------------------------


# Powertools configures a logger name once: each test gets its own name, hence its own buffer.
_LOGGER_NAMES = itertools.count()


def capturing_logger() -> tuple[Logger, io.StringIO]:
    buffer = io.StringIO()
    logger = Logger(
        service=f"reach-sms-test-{next(_LOGGER_NAMES)}",
        logger_handler=logging.StreamHandler(buffer),
        logger_formatter=PhoneMaskingFormatter(),
    )
    return logger, buffer


def log_lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_send_logs_one_outcome_with_the_number_masked_and_never_the_body():
    # Given a logger we can read, and a provider that throttles once
    logger, buffer = capturing_logger()
    sender = provider([client_error("SlowDown"), "p-7"], logger=logger)
    sms = outbound_sms()

    # When the message is sent
    sender.send(sms)

    # Then a retry line and a sent line were written, masked and without the body
    lines = log_lines(buffer)
    assert [line["message"] for line in lines] == ["sms attempt failed, retrying", "sms sent"]
    sent = lines[-1]
    assert sent["to"] == "+1*******143"
    assert sent["attempts"] == 2
    assert sent["provider_message_id"] == "p-7"
    assert sent["message_id"] == "m-0001"
    assert sent["tenant_id"] == "t-riverside"
    text = buffer.getvalue()
    assert "2025550143" not in text
    assert "Riverside Clinic tomorrow" not in text


def test_a_failed_send_logs_the_reason_and_whether_it_may_be_retried():
    logger, buffer = capturing_logger()
    sender = provider([client_error("Bad")], logger=logger)

    with pytest.raises(SmsRejected):
        sender.send(outbound_sms())

    (line,) = log_lines(buffer)
    assert line["message"] == "sms not sent"
    assert line["level"] == "WARNING"
    assert line["reason"] == "invalid_request"
    assert line["retryable"] is False
    assert line["provider_code"] == "Bad"


# --- the recording fake ------------------------------------------------------------------


def test_the_fake_records_messages_in_order_and_numbers_its_ids():
    sender = RecordingSmsSender()
    first, second = outbound_sms(message_id="m-1"), outbound_sms(message_id="m-2")

    receipts = [sender.send(first), sender.send(second)]

    assert [r.provider_message_id for r in receipts] == ["fake-000001", "fake-000002"]
    assert sender.sent == [first, second]
    assert sender.sent_to(PATIENT) == [first, second]
    assert sender.message_for("fake-000002") is second


def test_the_fake_raises_scripted_errors_once_each_then_sends():
    sender = RecordingSmsSender()
    throttled, down = SmsThrottled("throttled"), SmsUnavailable("provider_error")
    sender.fail_next(throttled, down)

    with pytest.raises(SmsThrottled):
        sender.send(outbound_sms())
    with pytest.raises(SmsUnavailable):
        sender.send(outbound_sms())
    sent = sender.send(outbound_sms())

    assert sent.provider_message_id == "fake-000001"
    assert len(sender.attempts) == 3
    assert len(sender.sent) == 1


def test_the_fake_refuses_opted_out_numbers_until_they_opt_back_in():
    sender = RecordingSmsSender(opted_out=[PATIENT])

    with pytest.raises(RecipientOptedOut):
        sender.send(outbound_sms())
    sender.opt_in(PATIENT)
    sender.send(outbound_sms())

    assert len(sender.sent) == 1


def test_the_fake_refuses_expired_messages_like_a_provider():
    sender = RecordingSmsSender(clock=lambda: NOW)

    with pytest.raises(SmsRejected, match="expired"):
        sender.send(outbound_sms(expires_at=NOW + timedelta(seconds=3)))

    assert sender.sent == []


def test_a_seeded_failure_rate_throttles_about_that_share_and_repeats_exactly():
    def run(seed: int) -> list[bool]:
        sender = RecordingSmsSender(failure_rate=0.3, seed=seed)
        outcomes = []
        for _ in range(1000):
            try:
                sender.send(outbound_sms())
                outcomes.append(True)
            except SmsThrottled:
                outcomes.append(False)
        return outcomes

    first = run(7)

    assert 250 <= first.count(False) <= 350
    assert run(7) == first


def test_the_fake_is_safe_to_share_between_threads():
    # Given one fake shared by eight threads, sending 250 messages each
    sender = RecordingSmsSender()
    ids: list[str] = []
    ids_lock = threading.Lock()

    def worker(n: int) -> Callable[[], None]:
        def send_many() -> None:
            for i in range(250):
                sent = sender.send(outbound_sms(message_id=f"m-{n}-{i}"))
                with ids_lock:
                    ids.append(sent.provider_message_id)

        return send_many

    threads = [threading.Thread(target=worker(n)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every message was recorded once and every id is distinct
    assert len(sender.sent) == 2000
    assert len(set(ids)) == 2000
    assert {sms.message_id for sms in sender.sent} == {
        f"m-{n}-{i}" for n in range(8) for i in range(250)
    }
