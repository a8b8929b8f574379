"""The send queue's message: a dataclass read and written as the pydantic model did."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import FrozenInstanceError, dataclass
from enum import StrEnum

import pytest

from reach.ports.send_queue import MalformedMessage, QueuedReminder
from reach.ports.wire import JsonRecord

#: What the pydantic model wrote: messages queued before a deploy are read after it.
PYDANTIC_BODY = '{"tenant_id":"t-1","appointment_id":"a-1","reminder_id":"1.1","claim_id":"c-1"}'
FIELDS = ("tenant_id", "appointment_id", "reminder_id", "claim_id")


def test_a_message_queued_by_the_release_before_the_copies_is_read_as_a_reminder():
    queued = QueuedReminder(
        tenant_id="t-1", appointment_id="a-1", reminder_id="1.1", claim_id="c-1"
    )

    assert QueuedReminder.model_validate_json(PYDANTIC_BODY) == queued
    assert QueuedReminder.model_validate_json(PYDANTIC_BODY.encode()) == queued
    assert queued.kind == "reminder"
    assert (queued.phone, queued.plan, queued.origination, queued.mps) == (None,) * 4


def test_a_queued_message_with_its_copies_reads_back_as_written():
    queued = QueuedReminder(
        tenant_id="t-1",
        appointment_id="a-1",
        reminder_id="1.1",
        claim_id="c-1",
        phone="+12025550101",
        plan=3,
        origination="+12025550143",
        mps=100.0,
    )

    assert QueuedReminder.model_validate_json(queued.model_dump_json()) == queued


@pytest.mark.parametrize("mps", [0, -1, True, "fast"])
def test_a_queued_message_with_a_pace_that_is_not_a_positive_number_is_refused(mps):
    body = PYDANTIC_BODY[:-1] + f',"mps":{json.dumps(mps)}}}'

    with pytest.raises(MalformedMessage) as refused:
        QueuedReminder.model_validate_json(body)
    assert refused.value.field == "mps"


def test_keys_a_queued_reminder_does_not_know_are_ignored():
    body = PYDANTIC_BODY[:-1] + ',"priority":2,"lane":"bulk"}'

    assert QueuedReminder.model_validate_json(body).claim_id == "c-1"


def test_a_queued_reminder_is_frozen_and_hashable():
    queued = QueuedReminder.model_validate_json(PYDANTIC_BODY)

    with pytest.raises(FrozenInstanceError):
        queued.claim_id = "other"  # type: ignore[misc]
    assert len({queued, QueuedReminder.model_validate_json(PYDANTIC_BODY)}) == 1


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        pytest.param("{not json", None, "is not JSON", id="not JSON"),
        pytest.param(b"\xff\xfe", None, "is not JSON", id="not UTF-8"),
        pytest.param("[]", None, "is not a JSON object", id="an array"),
        pytest.param('"text"', None, "is not a JSON object", id="a string"),
        pytest.param('{"tenant_id": "x"}', "appointment_id", "is required", id="fields missing"),
        pytest.param(
            PYDANTIC_BODY.replace('"c-1"', '""'),
            "claim_id",
            "must be a non-empty string",
            id="empty",
        ),
        pytest.param(
            PYDANTIC_BODY.replace('"t-1"', "7"),
            "tenant_id",
            "must be a non-empty string",
            id="number",
        ),
        pytest.param(
            PYDANTIC_BODY.replace('"1.1"', "null"), "reminder_id", "is required", id="null"
        ),
    ],
)
def test_a_malformed_message_is_refused_naming_the_field(body, field, reason):
    with pytest.raises(MalformedMessage) as refused:
        QueuedReminder.model_validate_json(body)

    assert (refused.value.field, refused.value.reason) == (field, reason)
    # The sender acknowledges a ValueError like pydantic's ValidationError was
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize("field", FIELDS)
def test_building_a_queued_reminder_with_an_empty_field_is_refused(field):
    values = dict.fromkeys(FIELDS, "x") | {field: ""}

    with pytest.raises(MalformedMessage, match=field):
        QueuedReminder(**values)


class Kind(StrEnum):
    REMINDER = "reminder"
    CAMPAIGN = "campaign"


@dataclass(frozen=True)
class Tagged(JsonRecord):
    name: str
    kind: Kind
    attempt: int = 0
    note: str | None = None


def test_a_record_reads_an_enum_from_its_value_and_writes_it_back_as_that_value():
    tagged = Tagged.model_validate_json('{"name":"n","kind":"campaign","attempt":2}')

    assert tagged == Tagged(name="n", kind=Kind.CAMPAIGN, attempt=2, note=None)
    assert tagged.model_dump_json() == '{"name":"n","kind":"campaign","attempt":2,"note":null}'


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ('{"name":"n","kind":"survey"}', "kind", "must be one of reminder, campaign"),
        ('{"name":"n","kind":"reminder","attempt":"2"}', "attempt", "must be an integer"),
        ('{"name":"n","kind":"reminder","attempt":true}', "attempt", "must be an integer"),
        ('{"name":"n","kind":"reminder","note":""}', "note", "must be a non-empty string"),
    ],
)
def test_a_record_refuses_a_value_of_the_wrong_type_naming_the_field(body, field, reason):
    with pytest.raises(MalformedMessage) as refused:
        Tagged.model_validate_json(body)

    assert (refused.value.field, refused.value.reason) == (field, reason)


def test_the_send_queue_port_loads_no_pydantic():
    # The dispatcher and sender cold starts depend on it (make bench --only cold-start)
    probe = "import sys, reach.ports.send_queue; print('pydantic' in sys.modules)"
    result = subprocess.run(  # noqa: S603 - a fixed probe in this interpreter
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "False", result.stderr
