"""What an outbound kind supplies to the send path, and nothing more.

The send path (``reach.services.sending.path``) owns everything every text goes through:
the ``queued -> sending`` transition, quiet hours (hold, never drop), consent and the
healthcare caps, pacing and the invocation's deadline, the provider call and its errors, the
record and ``DeliveryFailed``. A kind supplies only what differs between kinds: whether its
message may still go (and what it says), how it reads, by when it is worthless, whether the
caps apply, and the failure event that names it.

Adding an outbound kind (a field-service notice, a campaign message, a survey question):

1. Write one module in this package with a class that satisfies ``OutboundKind``:
   ``wants`` names the items the message depends on (the path reads a whole batch's in one
   call); ``load`` decides from them and returns an ``Outgoing``, a ``Stale`` with the
   recorded reason (a campaign message: the campaign was cancelled) or a ``Deferred`` (a
   paused campaign: held in the due index, decided again later); ``unchanged``
   is the condition, checked in the start transaction, that they have not changed since;
   ``render`` returns the body from the loaded subject and the tenant's wording;
   ``failure_event`` names the failed message for the tenant's bus; ``sent_event``
   (optional, ``AnnouncesSent``) the sent one, ``skipped_event`` (optional,
   ``AnnouncesSkipped``) one the path skipped. A kind may also guard more than its subject
   (optional, ``GuardsMore``), and refuse a body it rendered (``Unsendable``).
2. Register it: add an instance to ``kinds`` in ``reach.wiring.build_sender``, with the
   repositories it reads.
3. Nothing else in the path changes. The queue message names its kind (``kind``), and the
   path picks the registered kind by that name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from reach.data.batch_reads import ItemKey
    from reach.data.reminders import Guard
    from reach.domain.models import Tenant
    from reach.ports.events import DomainEvent
    from reach.ports.send_queue import QueuedReminder


@dataclass(frozen=True)
class Outgoing[Subject]:
    """A message its kind has re-checked: it may go now, if the path's own checks agree.

    ``subject`` is what the kind loaded and renders from (a reminder: its appointment).
    """

    tenant_id: str
    phone: str
    #: The recipient's zone: quiet hours and the caps' local days are judged in it.
    zone: ZoneInfo
    #: When the message becomes worthless (a reminder: the appointment's start). A hold
    #: that would end at or after it skips the message instead; the provider drops the
    #: message if it could not deliver it before then.
    deadline: datetime
    #: Whether the healthcare caps (daily and weekly, clinic visits) apply to it.
    capped: bool
    subject: Subject
    #: Whether quiet hours or the caps may hold it for later. False (a notice: a stale ETA is
    #: worse than none): what would hold it skips it instead.
    holds: bool = True
    #: Every zone the recipient may be in (a campaign member without a time zone: each zone
    #: of the number's area); quiet hours must allow the send in all of them. Empty: ``zone``.
    zones: tuple[ZoneInfo, ...] = ()

    def __post_init__(self) -> None:
        if not self.zones:
            object.__setattr__(self, "zones", (self.zone,))


@dataclass(frozen=True)
class Stale:
    """Why a queued message must not go any more; ``reason`` is recorded on it."""

    reason: str


@dataclass(frozen=True)
class Deferred:
    """The message may not go now but must not be dropped (a paused campaign): it goes back
    to the due index until ``until`` and is decided again then; ``reason`` is recorded."""

    until: datetime
    reason: str


class OutboundKind[Subject](Protocol):
    """One kind of outbound text: the hooks the send path calls around its own steps."""

    @property
    def name(self) -> str:
        """The kind's name in the registry (``reminder``)."""
        ...

    def wants(self, queued: QueuedReminder) -> Sequence[ItemKey]:
        """The items ``load`` needs for this message (a reminder: its appointment); the path
        reads every message's in one batch read."""
        ...

    def load(
        self, queued: QueuedReminder, found: Mapping[ItemKey, Any], now: datetime
    ) -> Outgoing[Subject] | Stale | Deferred:
        """Say from the items read (``found``) whether the message may still go at ``now``
        (``Deferred``: not now, but later; never skipped for it).

        ``queued.plan`` is the version of the subject the message was planned for (a
        reminder: the appointment's reminder plan); a newer one makes the message stale.
        """
        ...

    def unchanged(self, outgoing: Outgoing[Subject]) -> Guard:
        """A part of the message's start transaction that fails if the subject changed since
        it was read (its version): the send is then decided again on a fresh read."""
        ...

    def render(
        self,
        outgoing: Outgoing[Subject],
        tenant: Tenant,
        templates: Mapping[tuple[str, str], str],
    ) -> str:
        """The body to send, in the tenant's wording (``templates``: (kind, language) -> text)."""
        ...

    def failure_event(
        self,
        outgoing: Outgoing[Subject],
        reason: str,
        occurred_at: datetime,
        message_id: str | None,
    ) -> DomainEvent:
        """The event that tells the tenant this message could not be delivered."""
        ...


@runtime_checkable
class AnnouncesSent[Subject](Protocol):
    """Optional for an ``OutboundKind``: the event that tells the tenant the message went
    (``NoticeSent``). The path publishes it once the send is recorded; a kind without it (a
    reminder) announces nothing."""

    def sent_event(
        self, outgoing: Outgoing[Subject], occurred_at: datetime, message_id: str
    ) -> DomainEvent | None: ...


@runtime_checkable
class AnnouncesSkipped(Protocol):
    """Optional for an ``OutboundKind``: the event that tells the tenant the path skipped the
    message (``NoticeSkipped``: opted out, quiet hours, a repeat...), published once the skip
    is recorded. A kind without it (a reminder) announces nothing."""

    def skipped_event(
        self, queued: QueuedReminder, reason: str | None, occurred_at: datetime
    ) -> DomainEvent | None: ...


@runtime_checkable
class GuardsMore[Subject](Protocol):
    """Optional for an ``OutboundKind``: parts of the start transaction besides ``unchanged``
    (a notice asked without waiting moves its type's latest-notice mark there)."""

    def more_guards(self, outgoing: Outgoing[Subject]) -> Sequence[Guard]: ...


class Unsendable(Exception):
    """Raised by ``render``: this body must not go (a notice longer than its part limit).
    The path skips the message with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
