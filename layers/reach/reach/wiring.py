"""Builds the real collaborators once per cold start (handlers call ``services_from_env``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from reach.clock import Clock, system_clock
from reach.data.tables import bind_tables
from reach.settings import Settings

if TYPE_CHECKING:  # each function imports only the services it runs (cold start)
    from reach.data.contacts import ContactRepository
    from reach.data.conversations import ConversationRepository
    from reach.data.tenants import TenantRepository
    from reach.ports.events import DomainEvent, EventPublisher
    from reach.ports.opt_outs import ProviderOptOutList
    from reach.ports.sms import SmsSender
    from reach.services.api_keys import Authenticator
    from reach.services.appointments import AppointmentService
    from reach.services.consent import ConsentService
    from reach.services.dispatch import Dispatcher
    from reach.services.inbound import InboundService
    from reach.services.receipts import ReceiptService
    from reach.services.reconcile import OptOutReconciler
    from reach.services.sending import SendPath
    from reach.services.tenants import TenantAdmin


@dataclass(frozen=True)
class Services:
    """What the API (and the admin CLI, and the authorizer) run on."""

    settings: Settings
    appointments: AppointmentService
    authenticator: Authenticator
    admin: TenantAdmin
    tenants: TenantRepository
    contacts: ContactRepository
    conversations: ConversationRepository
    consent: ConsentService
    clock: Clock


class _EventBusOnFirstUse:
    """The EventBridge publisher, built when an event is first published: functions that
    never publish (the authorizer, most API calls) neither import the adapter nor need
    EVENT_BUS_NAME. A function that does publish without it fails naming the variable."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._publisher: EventPublisher | None = None

    def publish(self, events: Sequence[DomainEvent]) -> None:
        if self._publisher is None:
            from reach.adapters.events_eventbridge import build_event_publisher

            self._publisher = build_event_publisher(
                self._settings.require("event_bus_name"), self._settings.region
            )
        self._publisher.publish(events)


def build_services(
    settings: Settings, *, clock: Clock = system_clock, events: EventPublisher | None = None
) -> Services:
    """The API's services. ``events`` replaces the real bus (the local run records them)."""
    from reach.data.appointments import AppointmentRepository
    from reach.data.contacts import ContactRepository
    from reach.data.conversations import ConversationRepository
    from reach.data.tenants import ApiKeyRepository, TenantRepository
    from reach.services.api_keys import Authenticator
    from reach.services.appointments import AppointmentService
    from reach.services.consent import ConsentService
    from reach.services.tenants import TenantAdmin

    bind_tables(settings)
    tenants = TenantRepository()
    keys = ApiKeyRepository()
    contacts = ContactRepository()
    appointments = AppointmentRepository(settings.due_shards)
    return Services(
        settings=settings,
        appointments=AppointmentService(appointments, tenants, contacts, clock),
        authenticator=Authenticator(keys),
        admin=TenantAdmin(tenants, keys, clock),
        tenants=tenants,
        contacts=contacts,
        conversations=ConversationRepository(),
        consent=ConsentService(
            contacts, appointments, events or _EventBusOnFirstUse(settings), clock
        ),
        clock=clock,
    )


def build_authenticator(settings: Settings) -> Authenticator:
    """Only what the authorizer runs: the key table and the header check."""
    from reach.data.tenants import ApiKeyRepository
    from reach.services.api_keys import Authenticator

    bind_tables(settings)
    return Authenticator(ApiKeyRepository())


@lru_cache(maxsize=1)
def authenticator_from_env() -> Authenticator:
    return build_authenticator(Settings.from_env())


def build_dispatcher(settings: Settings) -> Dispatcher:
    """The dispatcher with its SQS send queue (only the dispatcher function pays for it)."""
    import boto3

    from reach.adapters.send_queue_sqs import SqsSendQueue
    from reach.data.reminders import ReminderLifecycle
    from reach.services.dispatch import Dispatcher

    bind_tables(settings)
    queue = SqsSendQueue(
        boto3.client("sqs", region_name=settings.region), settings.require("send_queue_url")
    )
    return Dispatcher(ReminderLifecycle(), queue, settings.due_shards)


@lru_cache(maxsize=1)
def dispatcher_from_env() -> Dispatcher:
    return build_dispatcher(Settings.from_env())


def build_sender(
    settings: Settings,
    clock: Clock = system_clock,
    sleep: Callable[[float], None] = time.sleep,
    *,
    sms: SmsSender | None = None,
    events: EventPublisher | None = None,
) -> SendPath:
    """The send path with its SMS provider, the origination's throughput gate and the
    outbound kinds it sends (register a new kind here).

    ``clock`` and ``sleep`` are Lambda's real ones; the local run passes a clock it can move.
    ``sms`` and ``events`` replace the real provider and bus; without ``events`` the bus is
    used only when EVENT_BUS_NAME is set.
    """
    from reach.adapters.sms_factory import build_sms_sender
    from reach.data.appointments import AppointmentRepository
    from reach.data.contacts import ContactRepository
    from reach.data.pacing import ThroughputGate
    from reach.data.reminders import ReminderLifecycle
    from reach.data.tenants import TenantRepository
    from reach.services.sending import ReminderKind, SendPath

    bind_tables(settings)
    if events is None and settings.event_bus_name:
        from reach.adapters.events_eventbridge import build_event_publisher

        events = build_event_publisher(settings.event_bus_name, settings.region)
    return SendPath(
        reminders=ReminderLifecycle(),
        tenants=TenantRepository(),
        contacts=ContactRepository(),
        sms=sms or build_sms_sender(settings, clock=clock, sleep=sleep),
        gate=ThroughputGate(
            settings.origination_identity or "default",
            settings.throughput_mps,
            clock,
            sleep,
        ),
        clock=clock,
        kinds=[ReminderKind(AppointmentRepository(settings.due_shards))],
        origination_identity=settings.origination_identity,
        configuration_set=settings.configuration_set,
        events=events,
    )


@lru_cache(maxsize=1)
def sender_from_env() -> SendPath:
    return build_sender(Settings.from_env())


def build_inbound(
    settings: Settings,
    clock: Clock = system_clock,
    sleep: Callable[[float], None] = time.sleep,
    *,
    sms: SmsSender | None = None,
    events: EventPublisher | None = None,
) -> InboundService:
    """The inbound reply handler with its answers' SMS provider, pace and event bus.

    ``sms`` and ``events`` replace the real provider and bus (the local run records them).
    """
    from reach.adapters.events_eventbridge import build_event_publisher
    from reach.adapters.sms_factory import build_sms_sender
    from reach.data.appointments import AppointmentRepository
    from reach.data.contacts import ContactRepository
    from reach.data.conversations import ConversationRepository
    from reach.data.pacing import ThroughputGate
    from reach.data.tenants import TenantRepository
    from reach.services.consent import ConsentService
    from reach.services.inbound import InboundService
    from reach.services.replies import ReplySender

    bind_tables(settings)
    contacts = ContactRepository()
    conversations = ConversationRepository()
    appointments = AppointmentRepository(settings.due_shards)
    publisher = events or build_event_publisher(settings.require("event_bus_name"), settings.region)
    answers = ReplySender(
        sms=sms or build_sms_sender(settings, clock=clock, sleep=sleep),
        gate=ThroughputGate(
            settings.origination_identity or "default", settings.throughput_mps, clock, sleep
        ),
        conversations=conversations,
        contacts=contacts,
        clock=clock,
        origination_identity=settings.origination_identity,
        configuration_set=settings.configuration_set,
    )
    return InboundService(
        tenants=TenantRepository(),
        appointments=appointments,
        contacts=contacts,
        conversations=conversations,
        answers=answers,
        events=publisher,
        consent=ConsentService(contacts, appointments, publisher, clock),
        clock=clock,
        callback_within=settings.callback_window,
    )


@lru_cache(maxsize=1)
def inbound_from_env() -> InboundService:
    return build_inbound(Settings.from_env())


@lru_cache(maxsize=1)
def services_from_env() -> Services:
    """The services for this Lambda container, built on first use."""
    return build_services(Settings.from_env())


def build_reconciler(
    settings: Settings,
    clock: Clock = system_clock,
    *,
    provider: ProviderOptOutList | None = None,
    events: EventPublisher | None = None,
) -> OptOutReconciler:
    """The opt-out reconciliation job with the provider's list and the event bus."""
    from reach.adapters.events_eventbridge import build_event_publisher
    from reach.adapters.opt_outs_factory import build_opt_out_list
    from reach.data.appointments import AppointmentRepository
    from reach.data.contacts import ContactRepository
    from reach.services.consent import ConsentService
    from reach.services.reconcile import OptOutReconciler

    bind_tables(settings)
    contacts = ContactRepository()
    publisher = events or build_event_publisher(settings.require("event_bus_name"), settings.region)
    return OptOutReconciler(
        provider
        or build_opt_out_list(
            settings.sms_provider,
            settings.region,
            settings.opt_out_list_name,
            endpoint_url=settings.endpoint_url,
        ),
        contacts,
        ConsentService(contacts, AppointmentRepository(settings.due_shards), publisher, clock),
        clock,
    )


@lru_cache(maxsize=1)
def reconciler_from_env() -> OptOutReconciler:
    return build_reconciler(Settings.from_env())


def build_receipts(
    settings: Settings, clock: Clock = system_clock, *, events: EventPublisher | None = None
) -> ReceiptService:
    """Delivery receipts onto the conversation, and DeliveryFailed to the clinic's bus."""
    from reach.adapters.events_eventbridge import build_event_publisher
    from reach.data.conversations import ConversationRepository
    from reach.services.receipts import ReceiptService

    bind_tables(settings)
    publisher = events or build_event_publisher(settings.require("event_bus_name"), settings.region)
    return ReceiptService(ConversationRepository(), publisher, clock)


@lru_cache(maxsize=1)
def receipts_from_env() -> ReceiptService:
    return build_receipts(Settings.from_env())
