"""What a visit of each kind may carry beyond its start: a service visit's arrival window and
technician, which a clinic visit never has (its texts name no provider: HIPAA minimum
necessary, as in ``reach.domain.templates``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from reach.domain.errors import InvalidInput
from reach.domain.models import AppointmentKind

#: The longest arrival window: a company that cannot say within 12 hours has not booked a time.
MAX_ARRIVAL_WINDOW = timedelta(hours=12)


def check_visit_details(
    kind: AppointmentKind,
    starts_at: datetime,
    window_ends_at: datetime | None,
    technician_name: str | None,
) -> None:
    """InvalidInput naming the field when a detail does not fit the visit: a window or a
    technician on a clinic visit, or a window that does not close after it opens (at most
    ``MAX_ARRIVAL_WINDOW`` later)."""
    if kind is AppointmentKind.CLINIC_VISIT:
        if window_ends_at is not None:
            raise InvalidInput(
                "window_ends_at",
                "only a service_visit has an arrival window; a clinic visit "
                "has its start time alone",
            )
        if technician_name is not None:
            raise InvalidInput(
                "technician_name",
                "only a service_visit names a technician; clinic texts name no provider",
            )
        return
    if window_ends_at is None:
        return
    if window_ends_at.utcoffset() is None:
        raise InvalidInput("window_ends_at", "needs a UTC offset, e.g. 2026-03-08T12:00:00-04:00")
    if window_ends_at <= starts_at:
        raise InvalidInput("window_ends_at", "must be after starts_at, when the window opens")
    if window_ends_at - starts_at > MAX_ARRIVAL_WINDOW:
        hours = int(MAX_ARRIVAL_WINDOW.total_seconds()) // 3600
        raise InvalidInput("window_ends_at", f"must be at most {hours} hours after starts_at")
