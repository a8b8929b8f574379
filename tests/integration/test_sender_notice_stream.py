"""The sender function fed by the appointments table's stream (``SenderNoticeMapping``): a
notice the API wrote goes out from its stream record; one that needs another try moves to the
send queue, and is reported back to the stream only when that move fails."""

from __future__ import annotations

import copy
import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from builders import book
from conftest import load_event, load_function, metric_total
from reach.domain.models import AppointmentKind
from reach.domain.notices import NoticeType
from reach.ports.send_queue import QueuedReminder
from reach.services.notices import NoticeRequest
from stand_ins import NoticeStream


@pytest.fixture
def streamed(aws, cable_company):
    """Two notices asked through the notice service, as the stream's records."""
    asked = []
    for phone in ("+13125550123", "+13125550124"):
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        visit = book(
            aws,
            cable_company,
            phone=phone,
            starts_at=starts,
            timezone="America/Chicago",
            offsets=(),
            kind=AppointmentKind.SERVICE_VISIT,
            window_ends_at=starts + timedelta(hours=4),
            technician_name="Luis",
        )
        asked.append(
            aws.notices.ask(
                cable_company.tenant_id,
                visit.appointment_id,
                NoticeRequest(type=NoticeType.ON_THE_WAY, eta_minutes=25),
            ).notice
        )
    records = [record for record, _ in NoticeStream(aws).feed.take()]
    assert [r["dynamodb"]["NewImage"]["notice_id"]["S"] for r in records] == [
        n.notice_id for n in asked
    ]
    return records


def sent_sms() -> list:
    return list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values())


def queued_on_the_send_queue() -> list[QueuedReminder]:
    messages = (
        boto3.client("sqs")
        .receive_message(QueueUrl=os.environ["SEND_QUEUE_URL"], MaxNumberOfMessages=10)
        .get("Messages", [])
    )
    return [QueuedReminder.model_validate_json(m["Body"]) for m in messages]


def throttle_the_provider(patch) -> None:
    """The provider throttles every send (its adapter's own retries included)."""
    from botocore.exceptions import ClientError

    from reach.wiring import sender_from_env

    def throttled(*_args, **_kwargs):
        raise ClientError({"Error": {"Code": "Throttled", "Message": "slow"}}, "Publish")

    sms = sender_from_env()._sms
    patch.setattr(sms, "_send_once", throttled)
    patch.setattr(sms, "_sleep", lambda _seconds: None)


def test_new_notices_go_out_from_their_stream_records_and_a_repeat_sends_nothing(
    streamed, lambda_context
):
    sender = load_function("sender").lambda_handler

    first = sender({"Records": streamed}, lambda_context)
    repeat = sender({"Records": copy.deepcopy(streamed)}, lambda_context)

    assert first == {"batchItemFailures": []}
    assert repeat == {"batchItemFailures": []}
    texts = sorted(tuple(sms)[:2] for sms in sent_sms())
    assert [phone for phone, _ in texts] == ["+13125550123", "+13125550124"]
    assert all("Luis is on the way" in text for _, text in texts)
    assert queued_on_the_send_queue() == []


def test_throttled_stream_notices_move_to_the_send_queue_and_are_sent_from_there_once(
    streamed, lambda_context, monkeypatch
):
    sender = load_function("sender")
    with monkeypatch.context() as provider_down:
        throttle_the_provider(provider_down)
        result = sender.lambda_handler({"Records": streamed}, lambda_context)

    # Not reported to the stream: a failed record would hold up its shard
    assert result == {"batchItemFailures": []}
    moved = queued_on_the_send_queue()
    handed = [r["dynamodb"]["NewImage"]["notice_id"]["S"] for r in streamed]
    assert sorted(m.reminder_id for m in moved) == sorted(handed)
    assert {m.kind for m in moved} == {"notice"}
    assert sent_sms() == []

    # From the send queue they go, once each, and a repeat of the stream batch sends nothing
    sample = load_event("sender_sqs.json")["Records"][0]
    again = [
        {**copy.deepcopy(sample), "messageId": f"m-{n}", "body": m.model_dump_json()}
        for n, m in enumerate(moved)
    ]
    assert sender.lambda_handler({"Records": again}, lambda_context) == {"batchItemFailures": []}
    assert sender.lambda_handler({"Records": streamed}, lambda_context) == {"batchItemFailures": []}
    assert sorted(phone for phone, *_ in sent_sms()) == ["+13125550123", "+13125550124"]


def test_a_stream_notice_that_cannot_move_to_the_send_queue_is_reported_by_sequence_number(
    streamed, lambda_context, monkeypatch, capsys
):
    sender = load_function("sender")
    throttle_the_provider(monkeypatch)

    class Down:
        def enqueue(self, reminders):
            raise ConnectionError("SQS is unreachable")

    monkeypatch.setattr("reach.wiring.send_queue_from_env", lambda: Down())
    capsys.readouterr()

    result = sender.lambda_handler({"Records": streamed}, lambda_context)

    # Both were throttled; the stream delivers them again (the claims stop a repeat)
    assert result == {
        "batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in streamed]
    }
    assert sent_sms() == []
    assert metric_total(capsys.readouterr().out, "SendRetries", service="reach-sender") == 2


def test_a_stream_record_without_a_claimed_notice_is_acknowledged_and_counted(
    streamed, lambda_context, capsys
):
    mark = copy.deepcopy(streamed[0])
    mark["dynamodb"]["NewImage"]["type"] = {"S": "notice_mark"}
    mark["dynamodb"]["SequenceNumber"] = "999"
    capsys.readouterr()

    result = load_function("sender").lambda_handler(
        {"Records": [mark, streamed[1]]}, lambda_context
    )

    assert result == {"batchItemFailures": []}
    assert [phone for phone, *_ in sent_sms()] == ["+13125550124"]
    out = capsys.readouterr().out
    assert metric_total(out, "MalformedSendMessages", service="reach-sender") == 1


def test_the_notice_stream_sample_event_is_a_claimed_notice(lambda_context):
    from reach.services.sending.notice import queued_from_stream

    [record] = load_event("sender_notice_stream.json")["Records"]

    queued = queued_from_stream(record)

    assert queued is not None
    assert (queued.kind, queued.tenant_id, queued.phone) == ("notice", "ten_sample", "+13125550123")
    assert queued.reminder_id == record["dynamodb"]["NewImage"]["notice_id"]["S"]
