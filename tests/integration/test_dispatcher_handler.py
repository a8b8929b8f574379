"""The dispatcher function, invoked with events/dispatcher_scheduled.json under moto."""

from __future__ import annotations

import copy
import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from builders import book
from conftest import emitted_metrics, load_event, load_function, metric_total
from reach.ports.send_queue import QueuedReminder


def test_a_scheduled_tick_queues_what_is_due_at_the_events_time(aws, cable_company, lambda_context):
    # Given a tenant without quiet hours and an appointment whose PT1H reminder is due
    tenant = cable_company
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    appointment = book(
        aws,
        tenant,
        phone="+13125550123",
        starts_at=start,
        timezone="America/Chicago",
        first_name=None,
        offsets=None,
    )
    event = copy.deepcopy(load_event("dispatcher_scheduled.json"))

    # When EventBridge's tick arrives a minute before it is due, then on time
    early = (start - timedelta(hours=1, minutes=1)).isoformat().replace("+00:00", "Z")
    on_time = (start - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    handler = load_function("dispatcher").lambda_handler
    before = handler({**event, "time": early}, lambda_context)
    due = handler({**event, "time": on_time}, lambda_context)

    # Then the early tick found nothing and the on-time tick queued the one reminder
    assert before == {"read": 0, "claimed": 0, "queued": 0}
    assert due == {"read": 1, "claimed": 1, "queued": 1}
    messages = boto3.client("sqs").receive_message(
        QueueUrl=os.environ["SEND_QUEUE_URL"], MaxNumberOfMessages=10
    )["Messages"]
    [queued] = [QueuedReminder.model_validate_json(m["Body"]) for m in messages]
    assert (queued.tenant_id, queued.appointment_id) == (
        tenant.tenant_id,
        appointment.appointment_id,
    )


def test_a_scheduled_event_without_a_readable_time_fails_the_invocation_naming_it(
    aws, lambda_context
):
    from reach.domain.schedule import InvalidScheduledEvent

    event = copy.deepcopy(load_event("dispatcher_scheduled.json"))
    handler = load_function("dispatcher").lambda_handler

    # EventBridge retries a failed invocation; nothing is claimed from an unreadable tick
    with pytest.raises(InvalidScheduledEvent, match="time"):
        handler({**event, "time": "2027-03-14T12:30:00"}, lambda_context)


def test_a_tick_reports_its_duration_and_how_long_the_oldest_due_reminder_waited(
    aws, cable_company, lambda_context, capsys
):
    # Given a reminder due an hour before its start, and a tick five minutes after that
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    book(
        aws,
        cable_company,
        phone="+13125550123",
        starts_at=start,
        timezone="America/Chicago",
        first_name=None,
        offsets=None,
    )
    event = copy.deepcopy(load_event("dispatcher_scheduled.json"))
    late = (start - timedelta(minutes=55)).isoformat().replace("+00:00", "Z")
    capsys.readouterr()

    load_function("dispatcher").lambda_handler({**event, "time": late}, lambda_context)

    # Then the lag the dashboard and the alarm read is those five minutes, in seconds
    out = capsys.readouterr().out
    assert metric_total(out, "OldestDueAge", service="reach-dispatcher") == 300
    [(_, took, _)] = [m for m in emitted_metrics(out) if m[0] == "TickDuration"]
    assert took > 0


def test_a_tick_with_nothing_due_reports_no_lag(aws, lambda_context, capsys):
    event = copy.deepcopy(load_event("dispatcher_scheduled.json"))
    capsys.readouterr()

    load_function("dispatcher").lambda_handler(event, lambda_context)

    out = capsys.readouterr().out
    assert [m[1] for m in emitted_metrics(out) if m[0] == "OldestDueAge"] == [0]
