"""A recipient's consent as the clinic API reads and changes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reach.clock import Clock
from reach.data.contacts import ContactRepository
from reach.data.tenants import TenantRepository
from reach.domain.caps import Contact
from reach.domain.errors import InvalidInput
from reach.domain.models import Tenant
from reach.domain.phones import region_of, to_e164
from reach.services.consent import ConsentResult, ConsentService


@dataclass(frozen=True)
class Recipient:
    """A phone number as one tenant knows it."""

    tenant: Tenant
    #: The number in E.164.
    phone: str


class RecipientService:
    """Reads a recipient's consent with a tenant and records the clinic's changes to it.

    The clinic may write a number nationally: it is read in the region of the tenant's own
    number. Changes take effect now and carry ``source`` and ``cause`` to the consent record.
    """

    def __init__(
        self,
        tenants: TenantRepository,
        contacts: ContactRepository,
        consent: ConsentService,
        clock: Clock,
    ) -> None:
        self._tenants = tenants
        self._contacts = contacts
        self._consent = consent
        self._clock = clock

    def recipient(self, tenant_id: str, phone: str) -> Recipient:
        """The tenant and ``phone`` as E.164; NotFound for a tenant that no longer exists."""
        tenant = self._tenants.get(tenant_id)
        text = phone.strip()
        if not text:
            raise InvalidInput("phone", "required")
        return Recipient(tenant, to_e164(text, default_region=region_of(tenant.sender_number)))

    def contact(self, tenant_id: str, phone: str) -> tuple[Recipient, Contact]:
        """The recipient's consent record (a number never seen is opted in)."""
        recipient = self.recipient(tenant_id, phone)
        return recipient, self._contacts.get(tenant_id, recipient.phone)

    def opt_out(
        self,
        tenant_id: str,
        phone: str,
        *,
        source: str,
        cause: Mapping[str, str],
        note: str | None,
    ) -> tuple[Recipient, ConsentResult]:
        """Opt the recipient out: no more texts, pending reminders skipped."""
        recipient = self.recipient(tenant_id, phone)
        result = self._consent.opt_out(
            tenant_id, recipient.phone, source, self._clock(), cause=cause, note=note
        )
        return recipient, result

    def opt_in(
        self,
        tenant_id: str,
        phone: str,
        *,
        source: str,
        cause: Mapping[str, str],
        evidence: str,
    ) -> tuple[Recipient, ConsentResult]:
        """Opt the recipient back in, with ``evidence`` of their new consent."""
        recipient = self.recipient(tenant_id, phone)
        result = self._consent.opt_in(
            tenant_id, recipient.phone, source, self._clock(), cause=cause, note=evidence
        )
        return recipient, result
