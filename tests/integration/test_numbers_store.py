"""NumberRepository under moto: the pace recorded on each sending number's item."""

from __future__ import annotations

import pytest

from builders import CLINIC_NUMBER, new_tenant
from reach.data.numbers import NumberRepository
from reach.data.tables import NUMBER_SK, SenderNumberItem, number_pk
from reach.domain.errors import Conflict, NotFound
from reach.domain.numbers import OriginationType, Throughput
from reach.wiring import Services

STACK = Throughput(OriginationType.TOLL_FREE, 3.0)
SHORT_CODE = Throughput(OriginationType.SHORT_CODE, 100.0)
OTHER = "+13125550100"


def test_a_number_recorded_without_a_type_runs_at_the_stacks_pace(aws: Services) -> None:
    # given a tenant whose number was recorded before numbers had a type
    tenant = new_tenant(aws)
    numbers = NumberRepository(STACK)

    # when its pace is read
    record = numbers.get(tenant.sender_number)

    # then it is the stack's, and it says it was not recorded
    assert numbers.throughputs([tenant.sender_number]) == {tenant.sender_number: STACK}
    assert (record.tenant_id, record.throughput, record.recorded) == (
        tenant.tenant_id,
        STACK,
        False,
    )


def test_a_recorded_pace_is_read_back_for_every_known_number_in_one_batch(
    aws: Services,
) -> None:
    # given two tenants' numbers, one with a recorded short-code pace
    first = new_tenant(aws)
    second = new_tenant(aws, "Hilltop Cable", number=OTHER)
    numbers = NumberRepository(STACK)
    numbers.set_throughput(first.sender_number, SHORT_CODE)

    # when the paces of both, a repeat and an unknown number are read
    paces = numbers.throughputs([first.sender_number, second.sender_number, OTHER, "+15555550100"])

    # then each known number has its pace once, and the unknown one is left out
    assert paces == {first.sender_number: SHORT_CODE, second.sender_number: STACK}


def test_throughputs_of_more_numbers_than_one_batch_holds_are_all_read(aws: Services) -> None:
    # given 130 numbers on record (BatchGetItem takes 100 keys a call)
    phones = [f"+1202555{n:04d}" for n in range(130)]
    for phone in phones:
        SenderNumberItem(
            pk=number_pk(phone), sk=NUMBER_SK, tenant_id="ten_x", origination_type="10dlc"
        ).save()

    # when they are read at once, then every one comes back
    paces = NumberRepository(STACK).throughputs(phones)
    assert len(paces) == 130


def test_setting_the_pace_of_a_number_no_tenant_owns_is_refused_and_writes_nothing(
    aws: Services,
) -> None:
    numbers = NumberRepository(STACK)
    with pytest.raises(NotFound):
        numbers.set_throughput(OTHER, SHORT_CODE)
    assert numbers.throughputs([OTHER]) == {}


def test_a_new_tenants_number_carries_its_pace_from_the_creating_transaction(
    aws: Services,
) -> None:
    # when a tenant is created with a short code at 80 MPS
    tenant, _ = aws.admin.create_tenant(
        "Riverside Family Clinic",
        "America/New_York",
        CLINIC_NUMBER,
        "21:00-08:00",
        ("P1D",),
        number_type="short-code",
        mps=80,
    )

    # then the number item holds both, with the tenant
    item = SenderNumberItem.get(number_pk(CLINIC_NUMBER), NUMBER_SK)
    assert (item.tenant_id, item.origination_type, item.mps) == (tenant.tenant_id, "short-code", 80)


def test_a_tenant_refused_for_a_taken_number_leaves_that_numbers_pace_alone(
    aws: Services,
) -> None:
    # given a number that belongs to a tenant, recorded as toll-free
    aws.admin.create_tenant(
        "Riverside",
        "America/New_York",
        CLINIC_NUMBER,
        "21:00-08:00",
        ("P1D",),
        number_type="toll-free",
    )

    # when another tenant claims it as a short code, it is refused
    with pytest.raises(Conflict):
        aws.admin.create_tenant(
            "Hilltop",
            "America/Chicago",
            CLINIC_NUMBER,
            "21:00-08:00",
            ("P1D",),
            number_type="short-code",
        )

    # and the first tenant's pace is unchanged
    assert aws.admin.list_numbers()[0].throughput == Throughput(OriginationType.TOLL_FREE, 3.0)


def test_every_number_is_listed_by_number_with_its_tenant(aws: Services) -> None:
    second = new_tenant(aws, "Hilltop Cable", number=OTHER)
    first = new_tenant(aws)

    listed = NumberRepository(STACK).list_all()

    assert [(r.e164, r.tenant_id) for r in listed] == [
        (CLINIC_NUMBER, first.tenant_id),
        (OTHER, second.tenant_id),
    ]
