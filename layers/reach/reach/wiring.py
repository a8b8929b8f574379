"""Builds the real collaborators once per cold start (handlers call ``services_from_env``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from reach.clock import Clock, system_clock
from reach.data.appointments import AppointmentRepository
from reach.data.tables import bind_tables
from reach.data.tenants import ApiKeyRepository, TenantRepository
from reach.services.appointments import AppointmentService
from reach.services.tenants import Authenticator, TenantAdmin
from reach.settings import Settings

if TYPE_CHECKING:  # each function imports only the services it runs (cold start)
    from reach.services.delivery import ReminderSender
    from reach.services.dispatch import Dispatcher


@dataclass(frozen=True)
class Services:
    settings: Settings
    appointments: AppointmentService
    authenticator: Authenticator
    admin: TenantAdmin


def build_services(settings: Settings) -> Services:
    bind_tables(settings)
    tenants = TenantRepository()
    keys = ApiKeyRepository()
    return Services(
        settings=settings,
        appointments=AppointmentService(
            AppointmentRepository(settings.due_shards), tenants, system_clock
        ),
        authenticator=Authenticator(keys),
        admin=TenantAdmin(tenants, keys, system_clock),
    )


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
) -> ReminderSender:
    """The sender with its SMS provider and the origination's throughput gate.

    ``clock`` and ``sleep`` are Lambda's real ones; the local run passes a clock it can move.
    """
    from reach.adapters.sms_factory import build_sms_sender
    from reach.data.contacts import ContactRepository
    from reach.data.pacing import ThroughputGate
    from reach.data.reminders import ReminderLifecycle
    from reach.services.delivery import ReminderSender

    bind_tables(settings)
    return ReminderSender(
        reminders=ReminderLifecycle(),
        appointments=AppointmentRepository(settings.due_shards),
        tenants=TenantRepository(),
        contacts=ContactRepository(),
        sms=build_sms_sender(settings, clock=clock, sleep=sleep),
        gate=ThroughputGate(
            settings.origination_identity or "default",
            settings.throughput_mps,
            clock,
            sleep,
        ),
        clock=clock,
        origination_identity=settings.origination_identity,
        configuration_set=settings.configuration_set,
    )


@lru_cache(maxsize=1)
def sender_from_env() -> ReminderSender:
    return build_sender(Settings.from_env())


@lru_cache(maxsize=1)
def services_from_env() -> Services:
    """The services for this Lambda container, built on first use."""
    return build_services(Settings.from_env())
