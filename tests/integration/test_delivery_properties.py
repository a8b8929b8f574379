"""Property: whatever the zone, the DST calendar, the booking and how late the sender runs,
no text goes out in the recipient's quiet hours, after the start, or to an opted-out number."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import book, new_tenant
from conftest import examples
from reach.data.contacts import ContactRepository
from reach.domain.quiet_hours import QuietHours
from reach_tools.demo_clock import DemoClock
from stand_ins import MemoryQueue, TimedSms, drain, make_sender, tick

ZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Australia/Sydney"]
NUMBERS = itertools.count(1000)


@settings(
    max_examples=examples(50),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    zone_name=st.sampled_from(ZONES),
    # Days ahead, chosen to straddle the 2027 DST changes in both hemispheres
    start_day=st.sampled_from([125, 126, 127, 128, 336, 337, 338, 339]),
    start_minute=st.integers(min_value=0, max_value=24 * 60 - 1),
    offsets=st.lists(
        st.sampled_from(["P1D", "PT2H", "PT12H", "PT30M"]), min_size=1, max_size=3, unique=True
    ),
    window=st.sampled_from(["21:00-08:00", "20:00-09:00", "22:00-07:00"]),
    lateness=st.sampled_from([0, 7, 95, 240, 480, 600, 720]),
    opted_out=st.booleans(),
)
def test_no_text_in_quiet_hours_after_the_start_or_to_an_opted_out_number(
    aws, zone_name, start_day, start_minute, offsets, window, lateness, opted_out
):
    number = next(NUMBERS)
    zone = ZoneInfo(zone_name)
    tenant = new_tenant(
        aws,
        f"Clinic {number}",
        timezone=zone_name,
        number=f"+1202555{number:04d}",
        quiet_hours=window,
    )
    booked_on = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    local_start = datetime.combine(
        (booked_on + timedelta(days=start_day)).date(), datetime.min.time()
    ) + timedelta(minutes=start_minute)
    starts_at = local_start.replace(tzinfo=zone)
    if starts_at <= datetime.now(UTC) + timedelta(hours=1):
        return
    phone = f"+1312555{number:04d}"
    appointment = book(
        aws,
        tenant,
        phone=phone,
        starts_at=starts_at,
        timezone=zone_name,
        offsets=offsets,
        first_name=None,
    )
    if opted_out:
        ContactRepository().mark_opted_out(tenant.tenant_id, phone, "keyword", booked_on)
    clock = DemoClock(booked_on)
    sms = TimedSms(clock)
    quiet = QuietHours.parse(window)

    # Tick at every moment something is due, with the sender running `lateness` minutes late,
    # until nothing is left to do (held reminders come back at their new due time)
    for _ in range(12):
        current = aws.appointments.get(tenant.tenant_id, appointment.appointment_id)
        waiting = [r.send_at for r in current.reminders if r.status.value == "pending"]
        if not waiting:
            break
        moment = max(min(w for w in waiting if w is not None), clock())
        clock.set(moment)
        queue = MemoryQueue()
        tick(aws, queue, moment)
        clock.set(moment + timedelta(minutes=lateness))
        drain(queue, make_sender(aws, sms, clock))

    for sent_at in sms.sent_times:
        assert not quiet.contains(sent_at, zone), f"sent at {sent_at.astimezone(zone)}"
        assert sent_at < starts_at
    if opted_out:
        assert sms.attempts == []
    final = aws.appointments.get(tenant.tenant_id, appointment.appointment_id)
    assert all(r.status.value not in ("pending", "queued", "sending") for r in final.reminders)
