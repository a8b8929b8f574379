"""Delivery receipts applied to the conversation: a sent text becomes delivered or undelivered,
and a reminder that never reached its recipient is reported to the clinic (``DeliveryFailed``)
so that someone can call instead."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reach.clock import Clock
from reach.data.messages import DeliveryUpdate, MessageRepository
from reach.domain.message import MessageStatus
from reach.domain.receipts import DeliveryReceipt
from reach.ports.events import EventPublisher, delivery_failed


class ReceiptOutcome(StrEnum):
    #: The message's status changed.
    APPLIED = "applied"
    #: The status says so already, or a newer receipt set it: nothing to do.
    UNCHANGED = "unchanged"
    #: Not an outcome yet (queued, pending, a temporary carrier error).
    IN_PROGRESS = "in_progress"
    #: No message of ours has this provider id (another sender on the same configuration
    #: set, or a text whose record is gone).
    UNKNOWN_MESSAGE = "unknown_message"


@dataclass(frozen=True)
class ReceiptResult:
    outcome: ReceiptOutcome
    tenant_id: str | None = None
    appointment_id: str | None = None
    status: str | None = None
    #: DeliveryFailed was published (again, under the same id, on a retried receipt).
    published: bool = False


class ReceiptService:
    def __init__(self, messages: MessageRepository, events: EventPublisher, clock: Clock) -> None:
        self._messages = messages
        self._events = events
        self._clock = clock

    def apply(self, receipt: DeliveryReceipt) -> ReceiptResult:
        """Record ``receipt`` on its message. Raises EventPublishError when the clinic could
        not be told of an undelivered reminder; the receipt's retry tells it then."""
        state = receipt.state
        if state is None:
            return ReceiptResult(ReceiptOutcome.IN_PROGRESS)
        ref = self._messages.find_provider_message(receipt.provider_message_id)
        if ref is None or (receipt.tenant_id is not None and receipt.tenant_id != ref.tenant_id):
            # The lookup is ours; a context naming another tenant is not trusted over it.
            return ReceiptResult(ReceiptOutcome.UNKNOWN_MESSAGE)
        update = self._messages.record_delivery(
            ref, state, receipt.reason, receipt.at, self._clock()
        )
        if update is None:
            return ReceiptResult(ReceiptOutcome.UNKNOWN_MESSAGE)
        ours = update.changed or _made_by(update, receipt, state)
        published = False
        if ours and state is MessageStatus.UNDELIVERED and update.reminder_id:
            event = delivery_failed(
                ref.tenant_id,
                ref.appointment_id,
                update.reminder_id,
                reason=f"carrier:{receipt.reason}",
                occurred_at=receipt.at,
                message_id=ref.message_id,
            )
            self._events.publish([event])
            published = True
        return ReceiptResult(
            ReceiptOutcome.APPLIED if update.changed else ReceiptOutcome.UNCHANGED,
            ref.tenant_id,
            ref.appointment_id,
            update.status,
            published,
        )


def _made_by(update: DeliveryUpdate, receipt: DeliveryReceipt, state: MessageStatus) -> bool:
    """The status is this receipt's own, set by an earlier try of it (whose event may not
    have gone out)."""
    return update.status is state and update.status_at == receipt.at
