"""Opt-out reconciliation under moto: the provider's list and Reach's records, both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import builders
from builders import FIXED_START, PATIENT, new_tenant
from conftest import load_event, load_function
from reach.adapters.opt_outs_fake import FakeOptOutList
from reach.data.appointments import AppointmentRepository
from reach.data.contacts import ContactRepository
from reach.domain.message import MessageStatus
from reach.ports.events import EventType
from reach.ports.opt_outs import OptOutListError
from reach.services.consent import ConsentService
from reach.services.reconcile import PROVIDER_SOURCE, OptOutReconciler
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
        provider, contacts, ConsentService(contacts, appointments, events, clock), clock
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
