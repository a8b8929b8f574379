"""Delivery receipts under moto: a reminder goes out through the real sender, then End User
Messaging's events for it arrive (late, twice, out of order, for strangers' texts) and set
its status; an undelivered reminder reaches the clinic as DeliveryFailed."""

from __future__ import annotations

import copy
import json
import os
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from api_client import Api
from builders import PATIENT, book, subscribe_queue, tap_bus
from conftest import load_event, load_function, metric_total
from reach.adapters.events_fake import RecordingPublisher
from reach.data.messages import MessageRepository
from reach.domain.message import Thread
from reach.domain.receipts import DeliveryReceipt
from reach.ports.events import EventPublishError, EventType
from reach.services.receipts import ReceiptOutcome
from reach.wiring import build_receipts
from stand_ins import TimedSms, claim_when_due, drain, make_sender


@pytest.fixture
def sent(aws, clinic, clock):
    """A reminder the real sender sent: its appointment and the provider's message id."""
    sms = TimedSms(clock)
    appointment = book(aws, clinic, phone=PATIENT)
    drain(claim_when_due(aws, clock, appointment), make_sender(aws, sms, clock))
    assert len(sms.sent) == 1
    return appointment, "fake-000001"


@pytest.fixture
def receipts(aws, clock, events):
    return build_receipts(aws.settings, clock=clock, events=events)


def receipt(provider_id: str, event_type: str, at: datetime, **extra: Any) -> DeliveryReceipt:
    return DeliveryReceipt(
        provider_message_id=provider_id,
        event_type=event_type,
        final=extra.pop("final", True),
        at=at,
        **extra,
    )


def outbound(appointment):
    thread = Thread(appointment.tenant_id, appointment.appointment_id, PATIENT)
    [message] = [m for m in MessageRepository().thread(thread) if m.direction == "outbound"]
    return message


def test_a_delivered_receipt_marks_the_reminder_delivered(sent, receipts, clock, events):
    appointment, provider_id = sent
    at = clock() + timedelta(seconds=3)

    result = receipts.apply(receipt(provider_id, "TEXT_DELIVERED", at))

    assert (result.outcome, result.status) == (ReceiptOutcome.APPLIED, "delivered")
    assert result.tenant_id == appointment.tenant_id
    message = outbound(appointment)
    assert (message.status, message.reason, message.status_at) == ("delivered", None, at)
    assert events.events == []


def test_an_undelivered_reminder_is_reported_to_the_clinic(sent, receipts, clock, events):
    appointment, provider_id = sent
    at = clock() + timedelta(seconds=3)

    result = receipts.apply(receipt(provider_id, "TEXT_CARRIER_BLOCKED", at))

    assert result.outcome is ReceiptOutcome.APPLIED
    message = outbound(appointment)
    assert (message.status, message.reason) == ("undelivered", "carrier_blocked")
    [event] = events.events
    assert event.type is EventType.DELIVERY_FAILED
    assert event.tenant_id == appointment.tenant_id
    assert event.ids == {
        "appointment_id": appointment.appointment_id,
        "reminder_id": appointment.reminders[0].reminder_id,
        "message_id": message.message_id,
    }
    assert event.data == {"reason": "carrier:carrier_blocked"}


def test_an_older_receipt_arriving_late_changes_nothing(sent, receipts, clock, events):
    appointment, provider_id = sent
    later, earlier = clock() + timedelta(seconds=9), clock() + timedelta(seconds=3)

    receipts.apply(receipt(provider_id, "TEXT_UNREACHABLE", later))
    stale = receipts.apply(receipt(provider_id, "TEXT_SUCCESSFUL", earlier))

    assert stale.outcome is ReceiptOutcome.UNCHANGED
    assert outbound(appointment).status == "undelivered"
    assert len(events.events) == 1


def test_a_newer_final_receipt_replaces_an_older_one(sent, receipts, clock, events):
    appointment, provider_id = sent

    receipts.apply(receipt(provider_id, "TEXT_SUCCESSFUL", clock() + timedelta(seconds=3)))
    result = receipts.apply(receipt(provider_id, "TEXT_TTL_EXPIRED", clock() + timedelta(hours=1)))

    assert result.outcome is ReceiptOutcome.APPLIED
    assert (outbound(appointment).status, outbound(appointment).reason) == (
        "undelivered",
        "ttl_expired",
    )
    assert [e.type for e in events.events] == [EventType.DELIVERY_FAILED]


def test_a_repeated_receipt_republishes_under_the_same_id_and_changes_nothing(
    sent, receipts, clock, events
):
    appointment, provider_id = sent
    failed = receipt(provider_id, "TEXT_SPAM", clock() + timedelta(seconds=3))
    status_before = outbound(appointment).status

    first = receipts.apply(failed)
    second = receipts.apply(failed)

    assert status_before == "sent"
    assert (first.outcome, second.outcome) == (ReceiptOutcome.APPLIED, ReceiptOutcome.UNCHANGED)
    assert outbound(appointment).status == "undelivered"
    assert len(events.events) == 2
    assert len({e.event_id for e in events.events}) == 1


def test_a_bus_failure_is_retried_with_the_receipt(aws, sent, clock):
    appointment, provider_id = sent
    flaky = RecordingPublisher(fail_times=1)
    receipts = build_receipts(aws.settings, clock=clock, events=flaky)
    failed = receipt(provider_id, "TEXT_BLOCKED", clock() + timedelta(seconds=3))

    with pytest.raises(EventPublishError):
        receipts.apply(failed)
    # The status is recorded; the queue's redelivery of the receipt tells the clinic
    assert outbound(appointment).status == "undelivered"
    retried = receipts.apply(failed)

    assert retried.published is True
    assert [e.type for e in flaky.events] == [EventType.DELIVERY_FAILED]


def test_progress_events_change_nothing(sent, receipts, clock):
    appointment, provider_id = sent

    for event_type, final in (("TEXT_QUEUED", False), ("TEXT_CARRIER_UNREACHABLE", False)):
        result = receipts.apply(
            receipt(provider_id, event_type, clock() + timedelta(seconds=1), final=final)
        )
        assert result.outcome is ReceiptOutcome.IN_PROGRESS
    assert outbound(appointment).status == "sent"


def test_a_receipt_for_a_text_we_did_not_send_is_unmatched(sent, receipts, clock):
    result = receipts.apply(receipt("someone-elses-id", "TEXT_DELIVERED", clock()))

    assert result.outcome is ReceiptOutcome.UNKNOWN_MESSAGE


def test_a_receipt_whose_context_names_another_tenant_touches_nothing(sent, receipts, clock):
    appointment, provider_id = sent

    result = receipts.apply(
        receipt(provider_id, "TEXT_BLOCKED", clock(), tenant_id="ten_someone_else")
    )

    assert result.outcome is ReceiptOutcome.UNKNOWN_MESSAGE
    assert outbound(appointment).status == "sent"


def test_the_conversation_api_shows_the_delivery_status_reason_and_time(
    sent, receipts, clock, lambda_context
):
    appointment, provider_id = sent
    at = clock().replace(microsecond=0) + timedelta(seconds=2)
    receipts.apply(receipt(provider_id, "TEXT_UNREACHABLE", at))
    api = Api(load_function("api"), lambda_context, appointment.tenant_id)

    status, page = api.call(
        "GET", "/appointments/{id}/messages", params={"id": appointment.appointment_id}
    )

    assert status == 200
    [message] = [m for m in page["items"] if m["direction"] == "outbound"]
    assert (message["status"], message["reason"]) == ("undelivered", "unreachable")
    # In the appointment's time zone, like every time the API returns
    assert datetime.fromisoformat(message["status_at"]) == at
    assert message["status_at"].endswith("-05:00") or message["status_at"].endswith("-04:00")


# --- the function: topic -> queue -> handler ----------------------------------------------


@pytest.fixture
def pipe(aws):
    """The template's wiring: the delivery events topic delivers (enveloped) to StatusQueue;
    a rule on the bus copies Reach's events to a queue the test reads."""
    topic = boto3.client("sns").create_topic(Name="delivery-events")["TopicArn"]
    queue_url = boto3.client("sqs").get_queue_url(QueueName="test-StatusQueue")["QueueUrl"]
    subscribe_queue(topic, queue_url)
    return {"topic": topic, "queue": queue_url, "events": tap_bus(os.environ["EVENT_BUS_NAME"])}


def eum_event(provider_id: str, event_type: str, at: datetime) -> dict[str, Any]:
    sample = json.loads(json.loads(load_event("status_sqs.json")["Records"][0]["body"])["Message"])
    return {
        **sample,
        "messageId": provider_id,
        "eventType": event_type,
        "eventTimestamp": int(at.timestamp() * 1000),
        "context": {},
    }


def delivered_batch(pipe) -> dict[str, Any]:
    messages = boto3.client("sqs").receive_message(
        QueueUrl=pipe["queue"], MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"]
    sample = load_event("status_sqs.json")["Records"][0]
    records = []
    for number, message in enumerate(messages):
        record = copy.deepcopy(sample)
        record["messageId"] = f"m-{number}"
        record["body"] = message["Body"]
        records.append(record)
    return {"Records": records}


def bus_events(pipe) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=pipe["events"], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_the_function_applies_receipts_from_the_topic_and_acknowledges_poison(
    aws, sent, pipe, clock, lambda_context
):
    appointment, provider_id = sent
    function = load_function("status")
    sns = boto3.client("sns")
    at = clock() + timedelta(seconds=5)
    sns.publish(
        TopicArn=pipe["topic"], Message=json.dumps(eum_event(provider_id, "TEXT_BLOCKED", at))
    )
    sns.publish(TopicArn=pipe["topic"], Message="not json at all")
    sns.publish(TopicArn=pipe["topic"], Message=json.dumps({"eventType": "TEXT_DELIVERED"}))

    response = function.lambda_handler(delivered_batch(pipe), lambda_context)

    assert response == {"batchItemFailures": []}
    assert outbound(appointment).status == "undelivered"
    [event] = bus_events(pipe)
    assert event["detail-type"] == "DeliveryFailed"
    assert event["detail"]["tenant_id"] == appointment.tenant_id
    assert PATIENT not in json.dumps(event)


def test_the_function_reports_a_failed_receipt_for_redelivery(
    aws, sent, pipe, clock, lambda_context, monkeypatch
):
    appointment, provider_id = sent
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    function = load_function("status")
    boto3.client("sns").publish(
        TopicArn=pipe["topic"],
        Message=json.dumps(eum_event(provider_id, "TEXT_INVALID", clock() + timedelta(seconds=5))),
    )
    batch = delivered_batch(pipe)

    response = function.lambda_handler(batch, lambda_context)

    # The status is recorded, the clinic not told yet: SQS delivers the receipt again
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert outbound(appointment).status == "undelivered"


def test_the_function_counts_each_final_outcome_once_for_the_failure_rate(
    aws, sent, pipe, clock, lambda_context, capsys
):
    _, provider_id = sent
    function = load_function("status")
    sns = boto3.client("sns")
    at = clock() + timedelta(seconds=5)
    for _ in range(2):  # the same receipt twice: the second changes nothing
        sns.publish(
            TopicArn=pipe["topic"],
            Message=json.dumps(eum_event(provider_id, "TEXT_DELIVERED", at)),
        )
    capsys.readouterr()

    function.lambda_handler(delivered_batch(pipe), lambda_context)

    out = capsys.readouterr().out
    assert metric_total(out, "MessagesDelivered", service="reach-status") == 1
    assert metric_total(out, "MessagesUndelivered") == 0


def test_the_function_counts_an_undelivered_text(aws, sent, pipe, clock, lambda_context, capsys):
    _, provider_id = sent
    boto3.client("sns").publish(
        TopicArn=pipe["topic"],
        Message=json.dumps(eum_event(provider_id, "TEXT_BLOCKED", clock() + timedelta(seconds=5))),
    )
    capsys.readouterr()

    load_function("status").lambda_handler(delivered_batch(pipe), lambda_context)

    out = capsys.readouterr().out
    assert metric_total(out, "MessagesUndelivered", service="reach-status") == 1
    assert metric_total(out, "MessagesDelivered") == 0
