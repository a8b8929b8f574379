import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reach.domain.envelopes import RejectedPayload
from reach.domain.message import MessageStatus
from reach.domain.receipts import (
    DELIVERED_EVENTS,
    SUBSCRIBED_EVENTS,
    UNDELIVERED_EVENTS,
    DeliveryReceipt,
    parse_receipt,
)

EVENT = {
    "eventType": "TEXT_DELIVERED",
    "eventVersion": "1.0",
    "eventTimestamp": 1804514401500,
    "isFinal": True,
    "originationPhoneNumber": "+12025550143",
    "destinationPhoneNumber": "+12025550187",
    "messageId": "provider-123",
    "messageStatus": "DELIVERED",
    "context": {"tenant_id": "ten_1", "message_id": "msg_1"},
}


def envelope(event) -> str:
    return json.dumps({"Type": "Notification", "MessageId": "x", "Message": json.dumps(event)})


def test_a_delivered_event_in_its_sns_envelope_reads_as_delivered():
    receipt = parse_receipt(envelope(EVENT))

    assert isinstance(receipt, DeliveryReceipt)
    assert receipt.provider_message_id == "provider-123"
    assert receipt.state is MessageStatus.DELIVERED
    assert receipt.reason is None
    assert receipt.at.isoformat() == "2027-03-08T14:00:01.500000+00:00"
    assert (receipt.tenant_id, receipt.message_id) == ("ten_1", "msg_1")


@pytest.mark.parametrize("event_type", sorted(UNDELIVERED_EVENTS))
def test_every_final_failure_is_undelivered_with_its_reason(event_type):
    receipt = parse_receipt({**EVENT, "eventType": event_type})

    assert isinstance(receipt, DeliveryReceipt)
    assert receipt.state is MessageStatus.UNDELIVERED
    assert receipt.reason == event_type.removeprefix("TEXT_").lower()


@pytest.mark.parametrize("event_type", ["TEXT_QUEUED", "TEXT_PENDING", "TEXT_SOMETHING_NEW"])
def test_progress_and_unknown_event_types_are_not_an_outcome(event_type):
    receipt = parse_receipt({**EVENT, "eventType": event_type})

    assert isinstance(receipt, DeliveryReceipt)
    assert receipt.state is None


def test_a_non_final_failure_is_not_an_outcome_yet():
    receipt = parse_receipt({**EVENT, "eventType": "TEXT_CARRIER_UNREACHABLE", "isFinal": False})

    assert isinstance(receipt, DeliveryReceipt)
    assert receipt.state is None


def test_the_configuration_set_subscribes_exactly_the_outcomes():
    assert set(SUBSCRIBED_EVENTS) == DELIVERED_EVENTS | UNDELIVERED_EVENTS
    assert "TEXT_QUEUED" not in SUBSCRIBED_EVENTS


def test_a_receipt_without_our_context_still_reads():
    receipt = parse_receipt({k: v for k, v in EVENT.items() if k != "context"})

    assert isinstance(receipt, DeliveryReceipt)
    assert (receipt.tenant_id, receipt.message_id) == (None, None)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**EVENT, "messageId": ""}, "messageId"),
        ({k: v for k, v in EVENT.items() if k != "messageId"}, "messageId"),
        ({**EVENT, "messageId": "x" * 300}, "messageId"),
        ({**EVENT, "eventType": 7}, "eventType"),
        ({**EVENT, "isFinal": "true"}, "isFinal"),
        ({**EVENT, "eventTimestamp": "1804514401500"}, "eventTimestamp"),
        ({**EVENT, "eventTimestamp": 1804514401}, "eventTimestamp"),
        ({**EVENT, "eventTimestamp": True}, "eventTimestamp"),
    ],
)
def test_a_bad_field_is_rejected_naming_it(payload, field):
    rejected = parse_receipt(payload)

    assert isinstance(rejected, RejectedPayload)
    assert rejected.fields == (field,)
    assert field in rejected.reason


@pytest.mark.parametrize("raw", [None, "", "not json", "[1, 2]", b"\xff\xfe", "{}"])
def test_unreadable_payloads_are_rejected_not_raised(raw):
    assert isinstance(parse_receipt(raw), RejectedPayload)


def test_a_rejection_summary_names_no_phone_number():
    rejected = parse_receipt({**EVENT, "isFinal": None})

    assert isinstance(rejected, RejectedPayload)
    assert "+1202555" not in rejected.summary
    assert "messageId=provider-123" in rejected.summary


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), st.lists, max_leaves=8))
def test_any_json_parses_or_is_rejected_without_raising(value):
    result = parse_receipt(json.dumps(value))

    assert isinstance(result, DeliveryReceipt | RejectedPayload)
