"""Issue 13, item 2: a double opt-in member who has not answered YES within 48 hours
expires in the hourly job, even on a list nobody reads through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from builders import FIXED_START, PATIENT, a_list, new_tenant
from conftest import load_event, load_function
from reach.adapters.opt_outs_fake import FakeOptOutList
from reach.data.lists import ListRepository
from reach.domain.lists import PENDING_FOR, ConsentSource, MemberConsent, MemberStatus
from reach.ports.opt_outs import AccountWideOptOutList
from reach.services.membership import Joiner, Membership, PendingSweep
from reach.wiring import build_reconciler
from reach_tools.demo_clock import DemoClock

OTHER_PATIENT = "+12025550166"
THIRD = "+12025550177"


@pytest.fixture
def clock() -> DemoClock:
    return DemoClock(FIXED_START)


@pytest.fixture
def pantry(aws, clock):
    tenant = new_tenant(aws, "Food bank")
    plist = a_list(tenant_id=tenant.tenant_id, double_opt_in=True)
    ListRepository().create(plist)
    return plist


def invite(plist, phone, at):
    consent = MemberConsent(ConsentSource.PAPER_FORM, at, evidence="form 12")
    joiner = Joiner(phone, consent, cause=f"request_id={phone}")
    Membership(ListRepository()).add(plist, joiner, "Food bank", at)


def statuses(plist):
    lists = ListRepository()
    return {
        phone: member.status
        for phone in (PATIENT, OTHER_PATIENT)
        if (member := lists.member(plist.tenant_id, plist.list_id, phone)) is not None
    }


def test_the_hourly_job_expires_pending_members_past_their_deadline_and_no_others(
    aws, pantry, clock
):
    invite(pantry, PATIENT, clock())
    invite(pantry, OTHER_PATIENT, clock() + timedelta(hours=2))
    clock.set(clock() + PENDING_FOR + timedelta(minutes=1))
    job = build_reconciler(
        aws.settings, clock=clock, provider=AccountWideOptOutList(FakeOptOutList())
    )

    report = job.run()

    assert report.members_expired == 1
    assert statuses(pantry) == {PATIENT: MemberStatus.EXPIRED, OTHER_PATIENT: MemberStatus.PENDING}
    counts = ListRepository().get(pantry.tenant_id, pantry.list_id).counts
    assert (counts["pending"], counts["expired"]) == (1, 1)
    assert job.run().members_expired == 0


def test_the_sweep_is_bounded_per_run_and_the_next_run_takes_the_rest(aws, pantry, clock):
    for phone in (PATIENT, OTHER_PATIENT, THIRD):
        invite(pantry, phone, clock())
    clock.set(clock() + PENDING_FOR + timedelta(minutes=1))
    sweep = PendingSweep(ListRepository(), clock, tenant_ids=aws.tenants.ids, per_run=2)

    assert [sweep.run(), sweep.run(), sweep.run()] == [2, 1, 0]
    assert ListRepository().get(pantry.tenant_id, pantry.list_id).counts["pending"] == 0


def test_the_hourly_function_reports_the_members_it_expired(aws, pantry, lambda_context):
    # the function runs on the wall clock: a member invited 49 hours ago has expired
    invite(pantry, PATIENT, datetime.now(UTC) - PENDING_FOR - timedelta(hours=1))

    counts = load_function("reconciler").lambda_handler(
        load_event("reconciler_scheduled.json"), lambda_context
    )

    assert counts["members_expired"] == 1
    assert statuses(pantry)[PATIENT] is MemberStatus.EXPIRED
