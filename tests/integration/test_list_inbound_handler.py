"""The inbound function with opt-in lists: a keyword published to the inbound topic joins the
list, is answered once through SNS, and tells the bus, however often it is delivered."""

from __future__ import annotations

import copy
import json

from test_inbound_handler import bus_events, delivered, pipe, publish, texts_to

from builders import PATIENT, a_list
from conftest import load_function
from reach.data.lists import ListRepository
from reach.domain.lists import MemberStatus, confirmation_text

__all__ = ["pipe"]  # the fixture, shared with the handler's own tests


def test_a_keyword_delivered_twice_joins_once_answers_once_and_tells_the_bus(
    aws, clinic, pipe, lambda_context
):
    plist = ListRepository().create(a_list(tenant_id=clinic.tenant_id))
    publish(pipe, "Join Alerts!")
    event = delivered(pipe)
    handler = load_function("inbound").lambda_handler

    first = handler(event, lambda_context)
    again = handler(copy.deepcopy(event), lambda_context)

    assert first == again == {"batchItemFailures": []}
    member = ListRepository().member(clinic.tenant_id, plist.list_id, PATIENT)
    assert member is not None
    assert member.status is MemberStatus.ACTIVE
    assert texts_to(PATIENT) == [confirmation_text(clinic.name, plist)]
    [joined] = bus_events(pipe)
    assert joined["detail-type"] == "ListJoined"
    assert joined["detail"]["list_id"] == plist.list_id
    assert PATIENT not in json.dumps(joined)


def test_stop_with_a_keyword_through_the_handler_leaves_the_list_not_the_tenant(
    aws, clinic, pipe, lambda_context
):
    plist = ListRepository().create(a_list(tenant_id=clinic.tenant_id))
    handler = load_function("inbound").lambda_handler
    publish(pipe, "ALERTS", inbound_id="in-1")
    handler(delivered(pipe), lambda_context)
    publish(pipe, "STOP ALERTS", inbound_id="in-2")

    handler(delivered(pipe), lambda_context)

    member = ListRepository().member(clinic.tenant_id, plist.list_id, PATIENT)
    assert member is not None
    assert member.status is MemberStatus.LEFT
    assert not aws.contacts.get(clinic.tenant_id, PATIENT).opted_out
    assert texts_to(PATIENT)[-1].startswith("You left Pantry alerts.")
