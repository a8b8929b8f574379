"""The sender function, invoked with events/sender_sqs.json under moto, sending through SNS."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from builders import book
from conftest import load_event, load_function, metric_total
from reach.domain.models import AppointmentKind
from reach.ports.send_queue import QueuedReminder


@pytest.fixture
def queued(aws, cable_company, lambda_context):
    """One reminder claimed by the real dispatcher function and read back from SQS."""
    book(
        aws,
        cable_company,
        phone="+13125550123",
        starts_at=datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1, minutes=30),
        timezone="America/Chicago",
        first_name="Sam",
        kind=AppointmentKind.SERVICE_VISIT,
        offsets=("PT2H",),
    )
    # A late booking: PT2H has passed, so it is due at once (on the next tick)
    tick = copy.deepcopy(load_event("dispatcher_scheduled.json"))
    tick["time"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    assert load_function("dispatcher").lambda_handler(tick, lambda_context)["queued"] == 1
    [message] = boto3.client("sqs").receive_message(QueueUrl=os.environ["SEND_QUEUE_URL"])[
        "Messages"
    ]
    return message["Body"]


def sqs_event(*bodies: str) -> dict:
    sample = load_event("sender_sqs.json")["Records"][0]
    records = []
    for number, body in enumerate(bodies):
        record = copy.deepcopy(sample)
        record.update(messageId=f"m-{number}", body=body)
        records.append(record)
    return {"Records": records}


def sent_sms() -> list:
    return list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values())


def test_a_queued_reminder_goes_out_through_sns_and_a_repeat_sends_nothing(queued, lambda_context):
    sender = load_function("sender").lambda_handler

    first = sender(sqs_event(queued), lambda_context)
    repeat = sender(sqs_event(queued), lambda_context)

    assert first == {"batchItemFailures": []}
    assert repeat == {"batchItemFailures": []}
    [(phone, text)] = [tuple(sms)[:2] for sms in sent_sms()]
    assert phone == "+13125550123"
    assert "Sam" in text
    assert "Hilltop Cable" in text
    assert "(312) 555-0100" in text


def test_a_malformed_message_is_acknowledged_and_a_good_one_beside_it_still_sent(
    queued, lambda_context
):
    result = load_function("sender").lambda_handler(
        sqs_event("{not json", json.dumps({"tenant_id": "x"}), queued), lambda_context
    )

    assert result == {"batchItemFailures": []}
    assert len(sent_sms()) == 1


def test_a_throttled_send_is_reported_as_a_batch_item_failure(queued, lambda_context, monkeypatch):
    from botocore.exceptions import ClientError

    def throttled(*_args, **_kwargs):
        raise ClientError({"Error": {"Code": "Throttled", "Message": "slow"}}, "Publish")

    sender = load_function("sender")
    from reach.wiring import sender_from_env

    sms = sender_from_env()._sms
    monkeypatch.setattr(sms, "_send_once", throttled)
    monkeypatch.setattr(sms, "_sleep", lambda _seconds: None)

    result = sender.lambda_handler(sqs_event(queued), lambda_context)

    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert sent_sms() == []
    assert QueuedReminder.model_validate_json(queued).reminder_id == "1.1"


def test_a_throttled_send_is_counted_for_the_dashboard_and_a_sent_one_is_not(
    queued, lambda_context, monkeypatch, capsys
):
    from botocore.exceptions import ClientError

    def throttled(*_args, **_kwargs):
        raise ClientError({"Error": {"Code": "Throttled", "Message": "slow"}}, "Publish")

    sender = load_function("sender")
    from reach.wiring import sender_from_env

    sms = sender_from_env()._sms
    capsys.readouterr()
    with monkeypatch.context() as provider_down:
        provider_down.setattr(sms, "_send_once", throttled)
        provider_down.setattr(sms, "_sleep", lambda _seconds: None)
        sender.lambda_handler(sqs_event(queued), lambda_context)
    throttled_out = capsys.readouterr().out
    sender.lambda_handler(sqs_event(queued), lambda_context)
    sent_out = capsys.readouterr().out

    assert metric_total(throttled_out, "SendsThrottled", service="reach-sender") == 1
    assert metric_total(throttled_out, "SendRetries", service="reach-sender") == 1
    assert metric_total(sent_out, "SendsThrottled") == 0
    assert metric_total(sent_out, "RemindersSent", service="reach-sender") == 1


def test_on_its_last_receive_a_throttled_send_is_recorded_failed_not_handed_back(
    queued, lambda_context, monkeypatch
):
    # The receive count comes from the record's attributes, read by hand
    from botocore.exceptions import ClientError

    from reach.services.sending import MAX_RECEIVES

    def throttled(*_args, **_kwargs):
        raise ClientError({"Error": {"Code": "Throttled", "Message": "slow"}}, "Publish")

    sender = load_function("sender")
    from reach.wiring import sender_from_env

    sms = sender_from_env()._sms
    monkeypatch.setattr(sms, "_send_once", throttled)
    monkeypatch.setattr(sms, "_sleep", lambda _seconds: None)
    event = sqs_event(queued)
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = str(MAX_RECEIVES)

    assert sender.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    assert sent_sms() == []


def test_a_tenant_profile_stores_its_sending_number_as_texts_show_it(aws, cable_company):
    assert aws.tenants.get(cable_company.tenant_id).sender_number_national == "(312) 555-0100"


def test_a_reminder_shows_the_number_as_the_profile_stores_it(
    aws, cable_company, queued, lambda_context
):
    # Proof that the sender does not format it again (it would need phonenumbers)
    stored_as("312.555.0100", cable_company.tenant_id)

    load_function("sender").lambda_handler(sqs_event(queued), lambda_context)

    [(_, text)] = [tuple(sms)[:2] for sms in sent_sms()]
    assert "312.555.0100" in text


def test_a_profile_stored_before_the_national_number_still_gets_the_same_text(
    aws, cable_company, queued, lambda_context
):
    stored_as(None, cable_company.tenant_id)
    assert aws.tenants.get(cable_company.tenant_id).sender_number_national is None

    load_function("sender").lambda_handler(sqs_event(queued), lambda_context)

    [(_, text)] = [tuple(sms)[:2] for sms in sent_sms()]
    assert "(312) 555-0100" in text


def stored_as(national: str | None, tenant_id: str) -> None:
    """The tenant's profile with ``national`` stored as its number's national form (None:
    as a profile written before the form was stored)."""
    from reach.data.tables import PROFILE_SK, TenantProfileItem, tenant_pk

    attribute = TenantProfileItem.sender_number_national
    action = attribute.remove() if national is None else attribute.set(national)
    TenantProfileItem(pk=tenant_pk(tenant_id), sk=PROFILE_SK).update(actions=[action])
