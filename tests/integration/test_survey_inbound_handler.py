"""A survey answered through the inbound function under moto: the reply published to SNS,
read from SQS by the handler, answered through SNS, and ``SurveyCompleted`` on the bus
without the free text, which no log line carries either."""

from __future__ import annotations

import io
import json
import logging
import os
from datetime import UTC, datetime

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from builders import CLINIC_NUMBER, PATIENT, subscribe_queue, survey_body, tap_bus
from conftest import load_event, load_function
from reach.data.survey_responses import SurveyResponses
from reach.data.surveys import SurveyRepository
from reach.domain.survey_flow import ResponseState, SurveyResponse, first_sent
from reach.domain.surveys import Survey, check_survey, survey_from_dict

FREE_TEXT = "My knee still hurts since the visit"


def _texts_to(phone: str) -> list[str]:
    backend = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return [sms[1] for sms in backend.sms_messages.values() if sms[0] == phone]


def _delivered(queue_url: str) -> dict:
    sample = load_event("inbound_sqs.json")["Records"][0]
    messages = boto3.client("sqs").receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"]
    records = []
    for number, message in enumerate(messages):
        record = json.loads(json.dumps(sample))
        record["messageId"] = f"m-{number}"
        record["body"] = message["Body"]
        record["attributes"]["SentTimestamp"] = message["Attributes"]["SentTimestamp"]
        records.append(record)
    return {"Records": records}


def _publish(topic: str, body: str, inbound_id: str) -> None:
    reply = {
        "originationNumber": PATIENT,
        "destinationNumber": CLINIC_NUMBER,
        "messageKeyword": "",
        "messageBody": body,
        "inboundMessageId": inbound_id,
        "previousPublishedMessageId": "",
    }
    boto3.client("sns").publish(TopicArn=topic, Message=json.dumps(reply))


def test_a_survey_answered_through_the_inbound_function_completes_without_free_text_leaking(
    aws, clinic, lambda_context
):
    now = datetime.now(UTC)
    definition = check_survey(survey_from_dict(survey_body()))
    SurveyRepository().create(Survey(clinic.tenant_id, "srv_h", definition, now))
    store = SurveyResponses(aws.settings.due_shards)
    started = store.start(
        SurveyResponse(
            tenant_id=clinic.tenant_id,
            survey_id="srv_h",
            response_id="r_h",
            phone=PATIENT,
            state=ResponseState.QUEUED,
            origin="list:l_1",
            created_at=now,
            send_after=now,
            question_id="on_time",
        ),
        now,
    ).response
    assert store.save(first_sent(started, now), started.version, None)
    topic = boto3.client("sns").create_topic(Name="inbound")["TopicArn"]
    queue = boto3.client("sqs").create_queue(QueueName="inbound-q")["QueueUrl"]
    subscribe_queue(topic, queue)
    bus = tap_bus(os.environ["EVENT_BUS_NAME"])
    function = load_function("inbound")
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setFormatter(function.logger.registered_formatter)
    function.logger.addHandler(handler)
    try:
        _publish(topic, "2", "in-h-1")
        first = function.lambda_handler(_delivered(queue), lambda_context)
        _publish(topic, FREE_TEXT, "in-h-2")
        second = function.lambda_handler(_delivered(queue), lambda_context)
    finally:
        function.logger.removeHandler(handler)

    assert first == second == {"batchItemFailures": []}
    assert _texts_to(PATIENT) == ["Anything else?", "Thank you for your answers!"]
    response = store.get(clinic.tenant_id, "srv_h", "r_h")
    assert response.state is ResponseState.COMPLETED
    assert response.answers["else"].value == FREE_TEXT
    messages = boto3.client("sqs").receive_message(QueueUrl=bus, MaxNumberOfMessages=10)
    events = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    [completed] = [e for e in events if e["detail-type"] == "SurveyCompleted"]
    assert completed["detail"]["answers"] == {"on_time": "2"}
    assert "knee" not in json.dumps(events)
    assert "knee" not in log.getvalue()
    assert PATIENT not in log.getvalue()
