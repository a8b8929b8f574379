"""EventBridgePublisher under moto: the README's subscription pattern, a rule on the bus that
matches one tenant's CallbackRequested events, delivers exactly those events and no others."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from builders import take_all, tap_bus
from reach.adapters.events_eventbridge import EventBridgePublisher, build_event_publisher
from reach.ports.events import DomainEvent, EventPublishError, EventType, event_id_for

pytestmark = pytest.mark.integration

BUS = "reach-test"
NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
CALLBACKS_FOR_T_A = {
    "source": ["reach"],
    "detail-type": ["CallbackRequested"],
    "detail": {"tenant_id": ["t_a"]},
}


@dataclass
class Subscription:
    events: Any
    sqs: Any
    queue_url: str


@pytest.fixture
def subscription(monkeypatch: pytest.MonkeyPatch) -> Iterator[Subscription]:
    """moto with the bus, and the README's rule delivering to an SQS queue."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        events.create_event_bus(Name=BUS)
        queue_url = tap_bus(
            BUS,
            rule="clinic-a-callbacks",
            queue="clinic-a-callbacks",
            pattern=CALLBACKS_FOR_T_A,
            target_id="queue",
        )
        yield Subscription(events, sqs, queue_url)


def received(subscription: Subscription) -> list[dict[str, Any]]:
    return take_all(subscription.sqs, subscription.queue_url)


def domain_event(event_type: EventType, tenant_id: str, n: int, **fields: Any) -> DomainEvent:
    return DomainEvent(
        type=event_type,
        tenant_id=tenant_id,
        event_id=event_id_for(event_type, tenant_id, str(n)),
        occurred_at=NOW + timedelta(minutes=n),
        **fields,
    )


def test_rule_receives_only_one_tenants_callback_requests(subscription: Subscription) -> None:
    wanted = domain_event(
        EventType.CALLBACK_REQUESTED,
        "t_a",
        1,
        ids={"callback_id": "cb_1", "appointment_id": "apt_1", "inbound_message_id": "in_1"},
        data={"source": "sms"},
    )
    others = [
        domain_event(EventType.CALLBACK_REQUESTED, "t_b", 2, ids={"callback_id": "cb_2"}),
        domain_event(EventType.APPOINTMENT_CONFIRMED, "t_a", 3, ids={"appointment_id": "apt_3"}),
        domain_event(
            EventType.RUNNING_LATE,
            "t_a",
            4,
            ids={"appointment_id": "apt_4"},
            data={"minutes_late": 10},
        ),
        domain_event(EventType.OPTED_OUT, "t_b", 5, data={"source": "keyword"}),
        domain_event(EventType.REPLY_RECEIVED, "t_a", 6, ids={"inbound_message_id": "in_6"}),
    ]
    # Enough events for two PutEvents requests, the wanted one in the second.
    filler = [
        domain_event(EventType.APPOINTMENT_CONFIRMED, "t_b", 10 + n, ids={"appointment_id": "x"})
        for n in range(8)
    ]
    publisher = EventBridgePublisher(subscription.events, BUS, sleep=lambda _: None)

    publisher.publish([*others, *filler, wanted])

    messages = received(subscription)
    assert len(messages) == 1
    delivered = messages[0]
    assert delivered["source"] == "reach"
    assert delivered["detail-type"] == "CallbackRequested"
    assert delivered["detail"] == {
        "tenant_id": "t_a",
        "event_id": wanted.event_id,
        "occurred_at": "2026-11-02T14:01:00Z",
        "callback_id": "cb_1",
        "appointment_id": "apt_1",
        "inbound_message_id": "in_1",
        "source": "sms",
    }


def test_publishing_again_delivers_the_same_event_id(subscription: Subscription) -> None:
    """At least once: a republished event reaches the clinic again, with the same id."""
    callback = domain_event(EventType.CALLBACK_REQUESTED, "t_a", 1, ids={"callback_id": "cb_1"})
    publisher = build_event_publisher(BUS, "us-east-1")
    publisher.publish([callback])
    publisher.publish([callback])
    ids = [message["detail"]["event_id"] for message in received(subscription)]
    assert ids == [callback.event_id, callback.event_id]


def test_a_missing_bus_is_a_non_retryable_error(subscription: Subscription) -> None:
    sleeps: list[float] = []
    publisher = EventBridgePublisher(subscription.events, "no-such-bus", sleep=sleeps.append)
    callback = domain_event(EventType.CALLBACK_REQUESTED, "t_a", 1, ids={"callback_id": "cb_1"})
    with pytest.raises(EventPublishError) as raised:
        publisher.publish([callback])
    # moto, like EventBridge, refuses the request with ResourceNotFoundException: retrying
    # cannot create the bus, so it is raised at once.
    assert raised.value.retryable is False
    assert raised.value.error_codes == ("ResourceNotFoundException",)
    assert sleeps == []
    assert received(subscription) == []
