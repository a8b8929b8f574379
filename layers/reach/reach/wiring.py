"""Builds the real collaborators once per cold start (handlers call ``services_from_env``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from reach.clock import system_clock
from reach.data.appointments import AppointmentRepository
from reach.data.tables import bind_tables
from reach.data.tenants import ApiKeyRepository, TenantRepository
from reach.services.appointments import AppointmentService
from reach.services.tenants import Authenticator, TenantAdmin
from reach.settings import Settings


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


@lru_cache(maxsize=1)
def services_from_env() -> Services:
    """The services for this Lambda container, built on first use."""
    return build_services(Settings.from_env())
