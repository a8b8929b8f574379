"""The inbound function under moto: a reply published to an SNS topic, delivered to SQS as
the real subscription does, read by the handler; answers go out through SNS and events
reach the bus. Replays, poison messages and failures on the way."""

from __future__ import annotations

import copy
import io
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from builders import CLINIC_NUMBER, PATIENT, book, current, subscribe_queue, tap_bus
from conftest import load_event, load_function, metric_total
from reach.domain.models import AppointmentStatus


@pytest.fixture
def visit(aws, clinic):
    """A visit in three days, with the clinic's own reminder plan."""
    return book(
        aws,
        clinic,
        starts_at=datetime.now(UTC).replace(microsecond=0) + timedelta(days=3),
        offsets=None,
    )


@pytest.fixture
def pipe(aws):
    """The template's wiring: topic -> queue (SNS envelope kept); and a rule on the bus
    delivering every Reach event to a queue the test reads."""
    topic = boto3.client("sns").create_topic(Name="inbound")["TopicArn"]
    queue_url = (
        os.environ.get("INBOUND_QUEUE_URL")
        or boto3.client("sqs").create_queue(QueueName="inbound-q")["QueueUrl"]
    )
    subscribe_queue(topic, queue_url)
    return {"topic": topic, "queue": queue_url, "events": tap_bus(os.environ["EVENT_BUS_NAME"])}


def publish(pipe, body: str, inbound_id: str = "cae173d2-66b9-564c-8309-21f858e9fb84") -> None:
    reply = {
        "originationNumber": PATIENT,
        "destinationNumber": CLINIC_NUMBER,
        "messageKeyword": "",
        "messageBody": body,
        "inboundMessageId": inbound_id,
        "previousPublishedMessageId": "",
    }
    boto3.client("sns").publish(TopicArn=pipe["topic"], Message=json.dumps(reply))


def delivered(pipe) -> dict[str, Any]:
    """What the event source mapping would hand the function for the queue's messages."""
    messages = boto3.client("sqs").receive_message(
        QueueUrl=pipe["queue"], MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"]
    return sqs_event(*[(m["Body"], m["Attributes"]["SentTimestamp"]) for m in messages])


def sqs_event(*bodies: tuple[str, str]) -> dict[str, Any]:
    sample = load_event("inbound_sqs.json")["Records"][0]
    records = []
    for number, (body, sent) in enumerate(bodies):
        record = copy.deepcopy(sample)
        record["messageId"] = f"m-{number}"
        record["body"] = body
        record["attributes"]["SentTimestamp"] = sent
        records.append(record)
    return {"Records": records}


def now_ms() -> str:
    return str(int(datetime.now(UTC).timestamp() * 1000))


def texts_to(phone: str) -> list[str]:
    return [
        sms[1]
        for sms in sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()
        if sms[0] == phone
    ]


def bus_events(pipe) -> list[dict[str, Any]]:
    messages = (
        boto3.client("sqs")
        .receive_message(QueueUrl=pipe["events"], MaxNumberOfMessages=10)
        .get("Messages", [])
    )
    return [json.loads(m["Body"]) for m in messages]


def test_a_published_reply_confirms_answers_through_sns_and_tells_the_bus(
    aws, visit, pipe, lambda_context
):
    publish(pipe, "1")
    handler = load_function("inbound").lambda_handler

    result = handler(delivered(pipe), lambda_context)

    assert result == {"batchItemFailures": []}
    after = current(aws, visit)
    assert after.status is AppointmentStatus.CONFIRMED
    [answer] = texts_to(PATIENT)
    assert "confirmed" in answer
    [event] = bus_events(pipe)
    assert event["detail-type"] == "AppointmentConfirmed"
    assert event["detail"]["tenant_id"] == visit.tenant_id
    assert event["detail"]["appointment_id"] == visit.appointment_id
    assert PATIENT not in json.dumps(event)


def test_the_same_reply_delivered_twice_is_processed_once(aws, visit, pipe, lambda_context):
    publish(pipe, "2")
    event = delivered(pipe)
    handler = load_function("inbound").lambda_handler

    first = handler(event, lambda_context)
    again = handler(copy.deepcopy(event), lambda_context)

    assert first == again == {"batchItemFailures": []}
    assert len(texts_to(PATIENT)) == 1
    assert len(bus_events(pipe)) == 1
    after = current(aws, visit)
    assert after.version == visit.version + 1


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        "",
        json.dumps({"Type": "Notification", "Message": "{broken"}),
        json.dumps({"originationNumber": PATIENT, "destinationNumber": CLINIC_NUMBER}),
        json.dumps(
            {
                "originationNumber": "not a number",
                "destinationNumber": CLINIC_NUMBER,
                "messageBody": "1",
                "inboundMessageId": "x-1",
            }
        ),
        json.dumps([1, 2, 3]),
    ],
)
def test_unreadable_messages_are_logged_masked_and_acknowledged(aws, visit, lambda_context, body):
    function = load_function("inbound")
    # The function's own logger and formatter (the masking one), writing where we can read
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setFormatter(function.logger.registered_formatter)
    function.logger.addHandler(handler)
    try:
        result = function.lambda_handler(sqs_event((body, now_ms())), lambda_context)
    finally:
        function.logger.removeHandler(handler)

    assert result == {"batchItemFailures": []}
    logged = log.getvalue()
    assert "inbound message rejected" in logged
    assert PATIENT not in logged
    assert texts_to(PATIENT) == []


@pytest.mark.parametrize(
    "body",
    ["", "👍🏽", "نعم، سأحضر", "x" * 2_500, "¿Puedo llevar a mi hijo?"],
)
def test_odd_but_valid_bodies_are_stored_and_never_crash(aws, visit, pipe, lambda_context, body):
    publish(pipe, body)

    result = load_function("inbound").lambda_handler(delivered(pipe), lambda_context)

    assert result == {"batchItemFailures": []}
    assert current(aws, visit).status is AppointmentStatus.SCHEDULED


def test_a_failure_a_retry_can_fix_is_reported_and_the_retry_then_succeeds(
    aws, visit, pipe, lambda_context, monkeypatch
):
    publish(pipe, "3")
    event = delivered(pipe)
    handler = load_function("inbound").lambda_handler
    # The bus is missing for a moment (a deploy in progress, a typo fixed since)
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    from reach.wiring import inbound_from_env

    inbound_from_env.cache_clear()

    failed = handler(event, lambda_context)

    assert failed == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert texts_to(PATIENT) == []

    monkeypatch.setenv("EVENT_BUS_NAME", "test-reach")
    inbound_from_env.cache_clear()
    retried = handler(copy.deepcopy(event), lambda_context)

    assert retried == {"batchItemFailures": []}
    assert current(aws, visit).status is AppointmentStatus.CANCELLED
    assert len(texts_to(PATIENT)) == 1
    assert [e["detail-type"] for e in bus_events(pipe)] == ["AppointmentCancelled"]


def test_replies_are_counted_by_intent_and_an_opt_out_once_even_when_replayed(
    aws, visit, pipe, lambda_context, capsys
):
    publish(pipe, "1", inbound_id="11111111-66b9-564c-8309-21f858e9fb84")
    publish(pipe, "STOP", inbound_id="22222222-66b9-564c-8309-21f858e9fb84")
    event = delivered(pipe)
    handler = load_function("inbound").lambda_handler
    capsys.readouterr()

    handler(event, lambda_context)
    handler(copy.deepcopy(event), lambda_context)  # SQS delivers the same batch again

    out = capsys.readouterr().out
    assert metric_total(out, "Replies", service="reach-inbound", intent="confirm") == 1
    assert metric_total(out, "Replies", service="reach-inbound", intent="opt_out") == 1
    assert metric_total(out, "OptedOutByReply", service="reach-inbound") == 1
