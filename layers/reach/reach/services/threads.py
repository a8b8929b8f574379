"""An appointment's conversation for the clinic API: reminders, replies and answers."""

from __future__ import annotations

from dataclasses import dataclass

from reach.data.messages import MessageRepository
from reach.domain.message import Message, Thread
from reach.services.appointments import AppointmentService


@dataclass(frozen=True)
class AppointmentThread:
    """A page of an appointment's messages, its time zone (in which they are shown) and the
    token for the next page."""

    timezone: str
    messages: list[Message]
    next_token: str | None = None


class ThreadService:
    """Reads the conversation of one appointment of a tenant."""

    def __init__(self, appointments: AppointmentService, messages: MessageRepository) -> None:
        self._appointments = appointments
        self._messages = messages

    def of_appointment(
        self,
        tenant_id: str,
        appointment_id: str,
        limit: int,
        next_token: str | None = None,
        *,
        newest_first: bool = False,
    ) -> AppointmentThread:
        """A page of the messages to and from the appointment's phone about it; NotFound for
        an appointment the tenant does not have."""
        appointment = self._appointments.get_without_reminders(tenant_id, appointment_id)
        page = self._messages.page(
            Thread(tenant_id, appointment.appointment_id, appointment.phone),
            limit,
            next_token,
            newest_first=newest_first,
        )
        return AppointmentThread(appointment.timezone, page.messages, page.next_token)
