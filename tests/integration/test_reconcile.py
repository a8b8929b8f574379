"""Opt-out reconciliation under moto: the provider's list and Reach's records, both ways."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import builders
from builders import FIXED_START, PATIENT, new_tenant
from conftest import load_event, load_function
from reach.adapters.opt_outs_eum import EumTenantOptOutLists
from reach.adapters.opt_outs_fake import FakeOptOutList
from reach.data.appointments import AppointmentRepository
from reach.data.contacts import ContactRepository
from reach.domain.message import MessageStatus
from reach.ports.events import EventType
from reach.ports.opt_outs import AccountWideOptOutList, OptOutListError
from reach.services.consent import ConsentService
from reach.services.reconcile import PROVIDER_SOURCE, OptOutReconciler
from reach.wiring import build_reconciler
from reach_tools.demo_clock import DemoClock

OTHER = "+12025550111"


@pytest.fixture
def clock() -> DemoClock:
    """A fixed start rather than the wall clock's."""
    return DemoClock(FIXED_START)


@pytest.fixture
def tenants(aws):
    return [
        new_tenant(aws, "Riverside", number="+12025550143"),
        new_tenant(aws, "Hillside", number="+12025550199"),
    ]


@pytest.fixture
def provider() -> FakeOptOutList:
    return FakeOptOutList()


@pytest.fixture
def reconciler(aws, provider, events, clock) -> OptOutReconciler:
    contacts = ContactRepository()
    appointments = AppointmentRepository(aws.settings.due_shards)
    return OptOutReconciler(
        AccountWideOptOutList(provider),
        contacts,
        ConsentService(contacts, appointments, events, clock),
        clock,
    )


def book(aws, clock, tenant, phone=PATIENT):
    """A visit four days out at 14:00, in the tenant's own zone, with no first name."""
    return builders.book(
        aws, tenant, phone=phone, days=4, timezone=None, first_name=None, clock=clock
    )


def test_a_number_the_provider_lists_is_opted_out_for_every_tenant_that_knows_it(
    aws, tenants, clock, provider, reconciler, events
):
    riverside, hillside = tenants
    visits = [book(aws, clock, riverside), book(aws, clock, hillside)]
    book(aws, clock, riverside, phone=OTHER)
    provider.add(PATIENT, at=clock() - timedelta(days=1))

    report = reconciler.run()

    assert (report.listed, report.contacts_seen, report.marked_opted_out) == (1, 2, 2)
    for tenant in tenants:
        contact = ContactRepository().get(tenant.tenant_id, PATIENT)
        assert (contact.opted_out, contact.consent_source) == (True, PROVIDER_SOURCE)
    for visit in visits:
        [reminder] = aws.appointments.get(visit.tenant_id, visit.appointment_id).reminders
        assert (reminder.status, reminder.reason) == (MessageStatus.SKIPPED, "opted_out")
    assert ContactRepository().get(riverside.tenant_id, OTHER).opted_out is False
    assert {e.tenant_id for e in events.of_type(EventType.OPTED_OUT)} == {
        t.tenant_id for t in tenants
    }
    assert all(PATIENT not in str(e.detail()) for e in events.events)


def test_a_second_run_changes_nothing(aws, tenants, clock, provider, reconciler, events):
    book(aws, clock, tenants[0])
    provider.add(PATIENT, at=clock() - timedelta(days=1))
    reconciler.run()

    again = reconciler.run()

    assert (again.marked_opted_out, again.already_agreed) == (0, 1)
    assert len(events.events) == 1


def test_a_recipient_who_texted_start_after_the_listing_is_removed_from_the_provider_list(
    aws, tenants, clock, provider, reconciler
):
    riverside = tenants[0]
    book(aws, clock, riverside)
    listed_at = clock() - timedelta(days=2)
    ContactRepository().mark_opted_in(riverside.tenant_id, PATIENT, "sms:START", clock())
    provider.add(PATIENT, at=listed_at)

    report = reconciler.run()

    assert report.removed_from_provider == 1
    assert provider.entries == {}
    assert ContactRepository().get(riverside.tenant_id, PATIENT).opted_out is False


def test_a_booking_older_than_the_listing_does_not_outweigh_it(
    aws, tenants, clock, provider, reconciler
):
    riverside = tenants[0]
    book(aws, clock, riverside)  # records consent source "booking"
    provider.add(PATIENT, at=clock() + timedelta(minutes=5))
    clock.advance(timedelta(minutes=10))

    report = reconciler.run()

    assert report.removed_from_provider == 0
    assert report.marked_opted_out == 1
    assert PATIENT in provider.entries


def test_a_refused_provider_opt_in_is_counted_and_tried_again_next_run(
    aws, tenants, clock, provider, reconciler
):
    riverside = tenants[0]
    ContactRepository().mark_opted_in(riverside.tenant_id, PATIENT, "sms:START", clock())
    provider.add(PATIENT)  # SNS: no listing time; the recipient's own START wins
    provider.refuse_opt_in.add(PATIENT)

    first = reconciler.run()
    provider.refuse_opt_in.clear()
    second = reconciler.run()

    assert (first.provider_refused, second.removed_from_provider) == (1, 1)
    assert ContactRepository().get(riverside.tenant_id, PATIENT).opted_out is False


def test_a_provider_failure_surfaces_so_the_schedule_retries(aws, tenants, provider, reconciler):
    provider.fail_next(OptOutListError("throttled", retryable=True))

    with pytest.raises(OptOutListError):
        reconciler.run()


def test_the_hourly_function_reconciles_with_sns_under_moto(aws, tenants, lambda_context):
    # moto's SNS lists a canned set of numbers as opted out; +447420500600 is one of them
    listed = "+447420500600"
    riverside = tenants[0]
    ContactRepository().record_first_consent(
        riverside.tenant_id, listed, "booking", datetime.now(UTC)
    )
    event = load_event("reconciler_scheduled.json")

    counts = load_function("reconciler").lambda_handler(event, lambda_context)

    assert counts["marked_opted_out"] == 1
    contact = ContactRepository().get(riverside.tenant_id, listed)
    assert (contact.opted_out, contact.consent_source) == (True, PROVIDER_SOURCE)
    # The second hour finds nothing left to do
    again = load_function("reconciler").lambda_handler(event, lambda_context)
    assert again["marked_opted_out"] == 0


# --- End User Messaging: each tenant's own list, for that tenant only ---------------------
#
# The adapter runs against botocore's Stubber (the real service model) and the tables under
# moto; the job is built by the wiring, so the tenants' ids come from the tenants table.


class RecordingLog:
    def __init__(self) -> None:
        self.warnings: list[tuple[object, dict[str, object]]] = []

    def warning(self, msg: object, *, extra: Mapping[str, object] | None = None) -> None:
        self.warnings.append((msg, dict(extra or {})))


@pytest.fixture
def eum_client() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def eum_reconciler(aws, client, events, clock, log=None) -> OptOutReconciler:
    settings = replace(aws.settings, sms_provider="end-user-messaging")
    return build_reconciler(
        settings, clock=clock, provider=EumTenantOptOutLists(client), events=events, logger=log
    )


def list_page(stubber, tenant_id, numbers, *, token=None, next_token=None, at=None):
    params: dict[str, Any] = {"OptOutListName": f"reach-{tenant_id}", "MaxResults": 100}
    if token:
        params["NextToken"] = token
    page: dict[str, Any] = {
        "OptOutListArn": f"arn:aws:sms-voice:us-east-1:123456789012:opt-out-list/reach-{tenant_id}",
        "OptOutListName": f"reach-{tenant_id}",
        "OptedOutNumbers": [
            {"OptedOutNumber": n, "OptedOutTimestamp": at, "EndUserOptedOut": True} for n in numbers
        ],
    }
    if next_token:
        page["NextToken"] = next_token
    stubber.add_response("describe_opted_out_numbers", page, params)


def no_list(stubber, tenant_id):
    name = f"reach-{tenant_id}"
    stubber.add_client_error(
        "describe_opted_out_numbers",
        service_error_code="ResourceNotFoundException",
        service_message=f"opt-out list {name} not found",
        http_status_code=404,
        modeled_fields={
            "Message": f"opt-out list {name} not found",
            "ResourceType": "opt-out-list",
            "ResourceId": name,
        },
        expected_params={"OptOutListName": name, "MaxResults": 100},
    )


def in_id_order(tenants):
    return sorted(tenants, key=lambda t: t.tenant_id)


def test_an_entry_on_a_tenants_own_list_opts_out_only_that_tenants_contact(
    aws, tenants, clock, events, eum_client
):
    client, stubber = eum_client
    riverside, hillside = tenants
    visits = {t.tenant_id: book(aws, clock, t) for t in tenants}
    listed_at = clock() - timedelta(hours=1)
    for tenant in in_id_order(tenants):
        # The patient texted STOP to Riverside's number only
        list_page(stubber, tenant.tenant_id, [PATIENT] if tenant is riverside else [], at=listed_at)

    report = eum_reconciler(aws, client, events, clock).run()

    assert (report.tenants_read, report.listed, report.marked_opted_out) == (2, 1, 1)
    contacts = ContactRepository()
    assert contacts.get(riverside.tenant_id, PATIENT).opted_out is True
    assert contacts.get(hillside.tenant_id, PATIENT).opted_out is False
    kept = visits[hillside.tenant_id]
    [reminder] = aws.appointments.get(kept.tenant_id, kept.appointment_id).reminders
    assert reminder.status == MessageStatus.PENDING
    assert [e.tenant_id for e in events.of_type(EventType.OPTED_OUT)] == [riverside.tenant_id]


def test_a_tenant_without_its_own_list_is_skipped_with_a_log_line_not_an_error(
    aws, tenants, clock, events, eum_client
):
    client, stubber = eum_client
    riverside, hillside = tenants
    for tenant in tenants:
        book(aws, clock, tenant)
    for tenant in in_id_order(tenants):
        if tenant is hillside:  # its number was never attached: no reach-<id> list
            no_list(stubber, tenant.tenant_id)
        else:
            list_page(stubber, tenant.tenant_id, [PATIENT], at=clock() - timedelta(hours=1))
    log = RecordingLog()

    report = eum_reconciler(aws, client, events, clock, log).run()

    assert report.tenants_without_list == [hillside.tenant_id]
    assert (report.tenants_read, report.marked_opted_out) == (1, 1)
    assert ContactRepository().get(riverside.tenant_id, PATIENT).opted_out is True
    assert ContactRepository().get(hillside.tenant_id, PATIENT).opted_out is False
    [(message, extra)] = log.warnings
    assert "reach numbers attach" in str(message)
    assert extra == {
        "tenant_id": hillside.tenant_id,
        "opt_out_list": f"reach-{hillside.tenant_id}",
    }


def test_every_page_of_a_tenants_list_is_read(aws, tenants, clock, events, eum_client):
    client, stubber = eum_client
    riverside, _ = tenants
    book(aws, clock, riverside)
    book(aws, clock, riverside, phone=OTHER)
    at = clock() - timedelta(hours=1)
    for tenant in in_id_order(tenants):
        if tenant is riverside:
            list_page(stubber, tenant.tenant_id, [PATIENT], next_token="page-2", at=at)
            list_page(stubber, tenant.tenant_id, [OTHER.removeprefix("+")], token="page-2", at=at)
        else:
            list_page(stubber, tenant.tenant_id, [])

    report = eum_reconciler(aws, client, events, clock).run()

    assert (report.listed, report.marked_opted_out) == (2, 2)
    assert ContactRepository().get(riverside.tenant_id, OTHER).opted_out is True


def test_a_restart_after_a_tenants_listing_is_taken_off_that_tenants_list_only(
    aws, tenants, clock, events, eum_client
):
    client, stubber = eum_client
    riverside, _ = tenants
    book(aws, clock, riverside)
    listed_at = clock() - timedelta(days=2)
    ContactRepository().mark_opted_in(riverside.tenant_id, PATIENT, "sms:START", clock())
    for tenant in in_id_order(tenants):
        list_page(stubber, tenant.tenant_id, [PATIENT] if tenant is riverside else [], at=listed_at)
        if tenant is riverside:
            stubber.add_response(
                "delete_opted_out_number",
                {"OptOutListName": f"reach-{riverside.tenant_id}", "OptedOutNumber": PATIENT},
                {"OptOutListName": f"reach-{riverside.tenant_id}", "OptedOutNumber": PATIENT},
            )

    report = eum_reconciler(aws, client, events, clock).run()

    assert (report.removed_from_provider, report.marked_opted_out) == (1, 0)
