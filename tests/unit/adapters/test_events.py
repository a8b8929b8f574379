"""Domain events: what an event may carry, how EventBridgePublisher chunks and retries
PutEvents (botocore's Stubber on a real client), and the recording fake."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from reach.adapters.events_eventbridge import (
    MAX_REQUEST_BYTES,
    EventBridgePublisher,
    build_event_publisher,
)
from reach.adapters.events_fake import RecordingPublisher
from reach.adapters.sms_base import SDK_CLIENT_CONFIG, full_jitter_delay
from reach.ports.events import (
    DomainEvent,
    EventPublisher,
    EventPublishError,
    EventType,
    event_id_for,
)

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
BUS = "reach-test"


def event(n: int = 0, /, **changes: Any) -> DomainEvent:
    fields: dict[str, Any] = {
        "type": EventType.APPOINTMENT_CONFIRMED,
        "tenant_id": "t_a",
        "event_id": f"evt_{n:04d}",
        "occurred_at": NOW + timedelta(seconds=n),
        "ids": {"appointment_id": f"apt_{n:04d}"},
    }
    fields.update(changes)
    return DomainEvent(**fields)


# --- DomainEvent ---------------------------------------------------------------------------


def test_detail_is_envelope_then_ids_then_data() -> None:
    late = DomainEvent(
        type=EventType.RUNNING_LATE,
        tenant_id="t_a",
        event_id="evt_1",
        occurred_at=datetime(2026, 11, 2, 9, 30, tzinfo=timezone(timedelta(hours=-5))),
        ids={"appointment_id": "apt_1", "inbound_message_id": "in_9"},
        data={"minutes_late": 10, "source": "sms", "confirmed": True, "reason": None},
    )
    detail = late.detail()
    assert detail == {
        "tenant_id": "t_a",
        "event_id": "evt_1",
        "occurred_at": "2026-11-02T14:30:00Z",
        "appointment_id": "apt_1",
        "inbound_message_id": "in_9",
        "minutes_late": 10,
        "source": "sms",
        "confirmed": True,
        "reason": None,
    }
    assert json.loads(json.dumps(detail)) == detail


def test_occurred_at_keeps_microseconds_when_there_are_some() -> None:
    moment = NOW.replace(microsecond=250_000)
    assert event(occurred_at=moment).detail()["occurred_at"] == "2026-11-02T14:00:00.250000Z"


def test_event_types_are_the_public_detail_types() -> None:
    assert [t.value for t in EventType] == [
        "AppointmentConfirmed",
        "AppointmentCancelled",
        "RescheduleRequested",
        "RunningLate",
        "CallbackRequested",
        "OptedOut",
        "OptedIn",
        "DeliveryFailed",
        "SurveyCompleted",
        "ReplyReceived",
        # Issue #12: field-service visits
        "CustomerNotHome",
        "NeedsAttention",
        "AppointmentCompleted",
        "AppointmentNoShow",
        "NoticeSent",
        "NoticeSkipped",
        # Issue #13: lists and campaigns
        "ListJoined",
        "ListLeft",
        "CampaignStarted",
        "CampaignFinished",
        # Issue #15: erasure
        "ContactErased",
    ]


@pytest.mark.parametrize(
    "key", ["body", "text", "message", "message_body", "messageBody", "Body", "phone_number"]
)
@pytest.mark.parametrize("where", ["ids", "data"])
def test_refuses_keys_named_like_message_content(where: str, key: str) -> None:
    with pytest.raises(ValueError, match="never carry"):
        event(**{where: {key: "x"}})


@pytest.mark.parametrize(
    "value",
    ["+12025550143", "call me on 2025550143", "15551234567", "to +447700900123 please"],
)
@pytest.mark.parametrize("where", ["ids", "data"])
def test_refuses_values_that_look_like_phone_numbers(where: str, value: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        event(**{where: {"reference": value}})


def test_refuses_a_phone_number_given_as_an_int() -> None:
    with pytest.raises(ValueError, match="phone number"):
        event(data={"reference": 12025550143})


def test_accepts_ids_and_small_numbers_that_are_not_phone_numbers() -> None:
    ok = event(
        ids={"appointment_id": "apt_2025550143", "message_id": "01JC9Z8K2025550143ABCD"},
        data={"minutes_late": 15, "attempts": 3, "source": "sms"},
    )
    assert ok.detail()["minutes_late"] == 15


@pytest.mark.parametrize("key", ["tenant_id", "event_id", "occurred_at"])
@pytest.mark.parametrize("where", ["ids", "data"])
def test_refuses_keys_that_collide_with_the_envelope(where: str, key: str) -> None:
    with pytest.raises(ValueError, match="envelope"):
        event(**{where: {key: "x"}})


def test_refuses_a_data_key_that_would_overwrite_an_id() -> None:
    with pytest.raises(ValueError, match="overwrite"):
        event(ids={"appointment_id": "apt_1"}, data={"appointment_id": "apt_2"})


@pytest.mark.parametrize("field", ["tenant_id", "event_id"])
@pytest.mark.parametrize("value", ["", "   "])
def test_refuses_empty_tenant_and_event_ids(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        event(**{field: value})


def test_refuses_a_naive_occurred_at() -> None:
    with pytest.raises(ValueError, match="aware"):
        event(occurred_at=datetime(2026, 11, 2, 14, 0))


def test_refuses_a_type_that_is_not_an_event_type() -> None:
    with pytest.raises(ValueError, match="EventType"):
        event(type="AppointmentConfirmed")


def test_refuses_values_that_are_not_json_scalars() -> None:
    with pytest.raises(ValueError, match="must be str, int, bool or None"):
        event(data={"minutes_late": 1.5})
    with pytest.raises(ValueError, match="non-empty string"):
        event(ids={"appointment_id": ""})


def test_a_later_change_to_the_callers_dict_does_not_alter_the_event() -> None:
    ids = {"appointment_id": "apt_1"}
    built = event(ids=ids)
    ids["appointment_id"] = "apt_2"
    assert built.ids["appointment_id"] == "apt_1"


def test_event_id_for_is_deterministic_and_distinguishes_occurrences() -> None:
    first = event_id_for(EventType.APPOINTMENT_CONFIRMED, "t_a", "apt_1", "v3")
    assert first == event_id_for(EventType.APPOINTMENT_CONFIRMED, "t_a", "apt_1", "v3")
    others = {
        event_id_for(EventType.APPOINTMENT_CANCELLED, "t_a", "apt_1", "v3"),
        event_id_for(EventType.APPOINTMENT_CONFIRMED, "t_b", "apt_1", "v3"),
        event_id_for(EventType.APPOINTMENT_CONFIRMED, "t_a", "apt_1", "v4"),
        event_id_for(EventType.APPOINTMENT_CONFIRMED, "t_a", "apt_1v", "3"),
    }
    assert first not in others
    assert len(others) == 4
    with pytest.raises(ValueError, match="key"):
        event_id_for(EventType.APPOINTMENT_CONFIRMED, "t_a")


# --- EventBridgePublisher ------------------------------------------------------------------


@pytest.fixture
def client() -> Any:
    return boto3.client("events", region_name="us-east-1", config=SDK_CLIENT_CONFIG)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def publisher(client: Any, sleeps: Sleeps, **options: Any) -> EventBridgePublisher:
    return EventBridgePublisher(client, BUS, sleep=sleeps, random=lambda: 1.0, **options)


def entry(e: DomainEvent) -> dict[str, Any]:
    return {
        "Source": "reach",
        "DetailType": e.type.value,
        "Detail": json.dumps(e.detail(), separators=(",", ":"), sort_keys=True),
        "EventBusName": BUS,
        "Time": e.occurred_at,
        "Resources": [],
    }


def ok(n: int) -> dict[str, Any]:
    return {"FailedEntryCount": 0, "Entries": [{"EventId": f"eb-{i}"} for i in range(n)]}


def answer(*codes: str | None) -> dict[str, Any]:
    """A PutEvents response: None for an accepted entry, an error code for a failed one."""
    entries: list[dict[str, str]] = [
        {"EventId": f"eb-{i}"}
        if code is None
        else {"ErrorCode": code, "ErrorMessage": f"{code} happened"}
        for i, code in enumerate(codes)
    ]
    return {"FailedEntryCount": sum(code is not None for code in codes), "Entries": entries}


def expect(stubber: Stubber, events: Sequence[DomainEvent], response: dict[str, Any]) -> None:
    stubber.add_response("put_events", response, {"Entries": [entry(e) for e in events]})


def test_entry_shape_is_compact_sorted_json_on_the_named_bus(client: Any) -> None:
    one = event(
        7,
        type=EventType.CALLBACK_REQUESTED,
        ids={"callback_id": "cb_1", "appointment_id": "apt_1"},
        data={"source": "sms"},
    )
    with Stubber(client) as stub:
        stub.add_response(
            "put_events",
            ok(1),
            {
                "Entries": [
                    {
                        "Source": "reach",
                        "DetailType": "CallbackRequested",
                        "Detail": (
                            '{"appointment_id":"apt_1","callback_id":"cb_1",'
                            '"event_id":"evt_0007","occurred_at":"2026-11-02T14:00:07Z",'
                            '"source":"sms","tenant_id":"t_a"}'
                        ),
                        "EventBusName": BUS,
                        "Time": NOW + timedelta(seconds=7),
                        "Resources": [],
                    }
                ]
            },
        )
        EventBridgePublisher(client, BUS).publish([one])
        stub.assert_no_pending_responses()


def test_23_events_go_in_chunks_of_10_10_3_in_order(client: Any, stubber: Stubber) -> None:
    events = [event(n) for n in range(23)]
    expect(stubber, events[0:10], ok(10))
    expect(stubber, events[10:20], ok(10))
    expect(stubber, events[20:23], ok(3))
    sleeps = Sleeps()
    publisher(client, sleeps).publish(events)
    assert sleeps == []


def test_nothing_to_publish_makes_no_call(client: Any, stubber: Stubber) -> None:
    publisher(client, Sleeps()).publish([])


def test_chunks_also_stay_under_256_kb(client: Any, stubber: Stubber) -> None:
    # Each detail about 100 KB: two fit in 256 KB, a third does not.
    big = [event(n, data={"note": "x" * 100_000}) for n in range(3)]
    expect(stubber, big[0:2], ok(2))
    expect(stubber, big[2:3], ok(1))
    publisher(client, Sleeps()).publish(big)


def test_an_entry_over_256_kb_is_refused_without_a_call(client: Any, stubber: Stubber) -> None:
    huge = event(data={"note": "x" * MAX_REQUEST_BYTES})
    with pytest.raises(EventPublishError) as raised:
        publisher(client, Sleeps()).publish([event(1), huge])
    assert raised.value.retryable is False
    assert raised.value.failed_event_ids == (huge.event_id,)


def test_only_failed_entries_are_resent_in_order(client: Any, stubber: Stubber) -> None:
    events = [event(n) for n in range(5)]
    expect(stubber, events, answer(None, "ThrottlingException", None, "InternalFailure", None))
    expect(stubber, [events[1], events[3]], answer(None, "InternalFailure"))
    expect(stubber, [events[3]], ok(1))
    sleeps = Sleeps()
    publisher(client, sleeps).publish(events)
    # Full jitter with the draw pinned at 1.0: the capped exponential itself.
    assert sleeps == [0.2, 0.4]


def test_failed_entries_from_several_chunks_are_resent_together(
    client: Any, stubber: Stubber
) -> None:
    events = [event(n) for n in range(12)]
    expect(stubber, events[0:10], answer(*[None] * 9, "ThrottlingException"))
    expect(stubber, events[10:12], answer("InternalFailure", None))
    expect(stubber, [events[9], events[10]], ok(2))
    publisher(client, Sleeps()).publish(events)


def test_permanent_failure_raises_after_max_attempts(client: Any, stubber: Stubber) -> None:
    events = [event(n) for n in range(3)]
    expect(stubber, events, answer(None, "ThrottlingException", "InternalFailure"))
    for _ in range(3):
        expect(stubber, events[1:], answer("ThrottlingException", "InternalFailure"))
    sleeps = Sleeps()
    with pytest.raises(EventPublishError) as raised:
        publisher(client, sleeps, max_attempts=4).publish(events)
    error = raised.value
    assert error.retryable is True
    assert error.error_codes == ("ThrottlingException", "InternalFailure")
    assert "ThrottlingException" in str(error)
    assert "InternalFailure" in str(error)
    assert error.failed_event_ids == ("evt_0001", "evt_0002")
    assert sleeps == [0.2, 0.4, 0.8]  # three waits between four attempts, none real


def test_a_non_retryable_entry_code_raises_at_once(client: Any, stubber: Stubber) -> None:
    events = [event(n) for n in range(3)]
    expect(stubber, events, answer(None, "MalformedDetail", "ThrottlingException"))
    sleeps = Sleeps()
    with pytest.raises(EventPublishError) as raised:
        publisher(client, sleeps).publish(events)
    assert raised.value.retryable is False
    assert raised.value.error_codes == ("MalformedDetail", "ThrottlingException")
    assert sleeps == []


def test_access_denied_raises_at_once_as_non_retryable(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error(
        "put_events", service_error_code="AccessDeniedException", http_status_code=400
    )
    sleeps = Sleeps()
    with pytest.raises(EventPublishError) as raised:
        publisher(client, sleeps).publish([event(0), event(1)])
    assert raised.value.retryable is False
    assert raised.value.error_codes == ("AccessDeniedException",)
    assert raised.value.failed_event_ids == ("evt_0000", "evt_0001")
    assert sleeps == []


def test_a_missing_bus_raises_at_once(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error(
        "put_events", service_error_code="ResourceNotFoundException", http_status_code=400
    )
    with pytest.raises(EventPublishError) as raised:
        publisher(client, Sleeps()).publish([event(0)])
    assert raised.value.retryable is False


@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottlingException", 400), ("TooManyRequests", 429), ("InternalException", 500)],
)
def test_throttling_and_server_errors_are_retried(
    client: Any, stubber: Stubber, code: str, status: int
) -> None:
    events = [event(n) for n in range(2)]
    stubber.add_client_error("put_events", service_error_code=code, http_status_code=status)
    expect(stubber, events, ok(2))
    sleeps = Sleeps()
    publisher(client, sleeps).publish(events)
    assert sleeps == [0.2]


def test_throttling_that_never_stops_raises_retryable(client: Any, stubber: Stubber) -> None:
    for _ in range(2):
        stubber.add_client_error(
            "put_events", service_error_code="ThrottlingException", http_status_code=400
        )
    with pytest.raises(EventPublishError) as raised:
        publisher(client, Sleeps(), max_attempts=2).publish([event(0)])
    assert raised.value.retryable is True
    assert raised.value.error_codes == ("ThrottlingException",)


def test_full_jitter_is_capped_and_scaled_by_the_draw() -> None:
    assert full_jitter_delay(1, base=0.2, cap=5.0, random=lambda: 1.0) == 0.2
    assert full_jitter_delay(3, base=0.2, cap=5.0, random=lambda: 0.5) == 0.4
    assert full_jitter_delay(20, base=0.2, cap=5.0, random=lambda: 1.0) == 5.0
    assert full_jitter_delay(4, base=0.2, cap=5.0, random=lambda: 0.0) == 0.0


def test_max_attempts_must_allow_one_call(client: Any) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        EventBridgePublisher(client, BUS, max_attempts=0)


def test_build_event_publisher_names_the_bus_and_region() -> None:
    built = build_event_publisher("reach-prod", "eu-west-1")
    assert built.bus_name == "reach-prod"
    assert built.source == "reach"
    assert built._client.meta.region_name == "eu-west-1"
    assert built._client.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}  # type: ignore[attr-defined]


def test_the_adapters_satisfy_the_port(client: Any) -> None:
    publishers: list[EventPublisher] = [EventBridgePublisher(client, BUS), RecordingPublisher()]
    assert len(publishers) == 2


# --- RecordingPublisher --------------------------------------------------------------------


def test_recording_publisher_records_in_order_and_filters_by_type() -> None:
    fake = RecordingPublisher()
    confirmed = event(0)
    late = event(1, type=EventType.RUNNING_LATE, data={"minutes_late": 5})
    fake.publish([confirmed, late])
    fake.publish([event(2)])
    assert [e.event_id for e in fake.events] == ["evt_0000", "evt_0001", "evt_0002"]
    assert fake.of_type(EventType.RUNNING_LATE) == [late]
    assert [e.event_id for e in fake.of_type(EventType.APPOINTMENT_CONFIRMED)] == [
        "evt_0000",
        "evt_0002",
    ]
    assert fake.of_type(EventType.OPTED_OUT) == []


def test_recording_publisher_fails_the_first_calls_and_records_nothing_for_them() -> None:
    fake = RecordingPublisher(fail_times=2)
    for _ in range(2):
        with pytest.raises(EventPublishError) as raised:
            fake.publish([event(0)])
        assert raised.value.retryable is True
        assert raised.value.failed_event_ids == ("evt_0000",)
    assert fake.events == []
    fake.publish([event(0)])
    assert fake.events == [event(0)]
    assert fake.calls == 3


def test_recording_publisher_can_fail_as_non_retryable() -> None:
    fake = RecordingPublisher(fail_times=1, retryable=False)
    with pytest.raises(EventPublishError) as raised:
        fake.publish([event(0)])
    assert raised.value.retryable is False
    with pytest.raises(ValueError, match="fail_times"):
        RecordingPublisher(fail_times=-1)


class FlakyClient:
    """A client whose first PutEvents calls raise network errors, then accept everything."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls: list[list[dict[str, Any]]] = []

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        if self.errors:
            raise self.errors.pop(0)
        return ok(len(Entries))


def test_network_errors_are_retried() -> None:
    flaky = FlakyClient(
        EndpointConnectionError(endpoint_url="https://events.us-east-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://events.us-east-1.amazonaws.com"),
    )
    sleeps = Sleeps()
    events = [event(0), event(1)]
    EventBridgePublisher(flaky, BUS, sleep=sleeps, random=lambda: 1.0).publish(events)  # type: ignore[arg-type]
    assert len(flaky.calls) == 3
    assert [json.loads(e["Detail"])["event_id"] for e in flaky.calls[-1]] == [
        "evt_0000",
        "evt_0001",
    ]
    assert sleeps == [0.2, 0.4]
