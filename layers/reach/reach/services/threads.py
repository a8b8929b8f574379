"""An appointment's conversation for the clinic API: reminders, replies and answers."""

from __future__ import annotations

from dataclasses import dataclass

from reach.data.messages import MessageRepository
from reach.domain.message import Message, Thread
from reach.services.appointments import AppointmentService


@dataclass(frozen=True)
class AppointmentThread:
    """An appointment's messages, oldest first, and its time zone (in which they are shown)."""

    timezone: str
    messages: list[Message]


class ThreadService:
    """Reads the conversation of one appointment of a tenant."""

    def __init__(self, appointments: AppointmentService, messages: MessageRepository) -> None:
        self._appointments = appointments
        self._messages = messages

    def of_appointment(self, tenant_id: str, appointment_id: str, limit: int) -> AppointmentThread:
        """The messages to and from the appointment's phone about it; NotFound for an
        appointment the tenant does not have."""
        appointment = self._appointments.get_without_reminders(tenant_id, appointment_id)
        messages = self._messages.thread(
            Thread(tenant_id, appointment.appointment_id, appointment.phone), limit
        )
        return AppointmentThread(appointment.timezone, messages)
