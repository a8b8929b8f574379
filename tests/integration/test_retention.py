"""Retention (issue #15, item 3): message bodies and inbound texts expire after the tenant's
retention through DynamoDB TTL. moto never expires items, so these tests check that every
stored message carries the right ``expires_at`` and that the table's TTL names it."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, timedelta

import pytest

from builders import CLINIC_NUMBER, PATIENT, book, new_tenant
from reach.data.tables import MessageItem
from reach.domain.errors import InvalidInput
from reach.domain.inbound import InboundSms, parse_inbound
from reach.domain.message import Direction, Thread
from reach.domain.retention import DEFAULT_RETENTION_DAYS
from reach.wiring import build_inbound
from reach_tools.cli import main
from reach_tools.template import load_template
from stand_ins import MemoryQueue, drain, make_sender, tick

_ids = itertools.count(1)


def stored(aws, tenant_id, appointment_id):
    return aws.messages.thread(Thread(tenant_id, appointment_id, PATIENT))


def reply(body: str) -> InboundSms:
    parsed = parse_inbound(
        {
            "originationNumber": PATIENT,
            "destinationNumber": CLINIC_NUMBER,
            "messageKeyword": "",
            "messageBody": body,
            "inboundMessageId": f"in-ret-{next(_ids):04d}",
            "previousPublishedMessageId": "",
        }
    )
    assert isinstance(parsed, InboundSms)
    return parsed


def test_the_appointments_table_expires_items_by_the_attribute_messages_carry():
    table = load_template()["Resources"]["AppointmentsTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {
        "AttributeName": MessageItem.expires_at.attr_name,
        "Enabled": True,
    }


def test_a_new_tenant_keeps_messages_the_default_days_unless_it_sets_its_own(aws):
    tenant = new_tenant(aws)
    assert tenant.retention_days == DEFAULT_RETENTION_DAYS == 90

    changed = aws.admin.update_tenant(tenant.tenant_id, retention_days=30)

    assert changed.retention_days == 30
    assert aws.admin.get_tenant(tenant.tenant_id).retention_days == 30


@pytest.mark.parametrize("days", [0, -1, 3651, True, 1.5])
def test_a_retention_out_of_range_or_not_whole_days_is_refused_naming_it(aws, days):
    tenant = new_tenant(aws)
    with pytest.raises(InvalidInput) as refused:
        aws.admin.update_tenant(tenant.tenant_id, retention_days=days)
    assert refused.value.field == "retention_days"
    assert aws.admin.get_tenant(tenant.tenant_id).retention_days == DEFAULT_RETENTION_DAYS


def test_a_sent_reminder_its_reply_and_our_answer_expire_after_the_tenants_retention(
    aws, clock, sms, events
):
    tenant = new_tenant(aws, quiet_hours="00:00-00:00")
    aws.admin.update_tenant(tenant.tenant_id, retention_days=7)
    visit = book(aws, tenant, clock=clock, starts_at=clock() + timedelta(hours=30))
    clock.set(clock() + timedelta(hours=7))
    queue = MemoryQueue()
    tick(aws, queue, clock())
    drain(queue, make_sender(aws, sms, clock))
    inbound = build_inbound(aws.settings, clock=clock, sleep=clock.sleep, sms=sms, events=events)
    inbound.receive(reply("1"), clock())

    messages = stored(aws, tenant.tenant_id, visit.appointment_id)
    directions = sorted(m.direction for m in messages)
    assert directions == [Direction.INBOUND, Direction.OUTBOUND, Direction.OUTBOUND]
    for message in messages:
        assert message.expires_at == (message.created_at + timedelta(days=7)).replace(
            microsecond=0
        ).astimezone(UTC)


def test_the_cli_sets_retention_on_create_and_update_and_refuses_a_bad_one(aws, capsys):
    code = main(["tenants", "create", "--name", "Clinic", "--timezone", "America/New_York",
                 "--number", "+12025550143", "--retention-days", "30", "--json"])  # fmt: skip
    created = json.loads(capsys.readouterr().out)
    assert code == 0
    assert created["retention_days"] == 30

    code = main(["tenants", "update", created["tenant_id"], "--retention-days", "365", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["retention_days"] == 365

    for bad in ("abc", "0", "4000", "7.5"):
        code = main(["tenants", "update", created["tenant_id"], "--retention-days", bad])
        assert code == 2
        assert "(--retention-days)" in capsys.readouterr().err
    assert aws.admin.get_tenant(created["tenant_id"]).retention_days == 365
