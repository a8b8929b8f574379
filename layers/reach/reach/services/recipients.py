"""A recipient's consent as the clinic API reads and changes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reach.clock import Clock
from reach.data.contacts import ContactRepository
from reach.data.tenants import TenantRepository
from reach.domain.caps import Contact
from reach.domain.errors import Conflict, InvalidInput
from reach.domain.models import Tenant
from reach.domain.phones import region_of, to_e164
from reach.services.consent import ConsentResult, ConsentService, source_kind


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
        """Opt the recipient out: no more texts, pending reminders skipped.

        A recipient already opted out keeps the first opt-out's record. Sending the same
        again is answered as before; a ``note`` the record does not hold is a Conflict
        naming ``note``, not a note dropped quietly.
        """
        recipient = self.recipient(tenant_id, phone)
        result = self._consent.opt_out(
            tenant_id, recipient.phone, source, self._clock(), cause=cause, note=note
        )
        _ensure_recorded(result, source, "note", note, "opted out")
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
        """Opt the recipient back in, with ``evidence`` of their new consent.

        A recipient already opted in explicitly keeps that record: the same evidence again is
        answered as before, other evidence is a Conflict naming ``evidence``.
        """
        recipient = self.recipient(tenant_id, phone)
        result = self._consent.opt_in(
            tenant_id, recipient.phone, source, self._clock(), cause=cause, note=evidence
        )
        _ensure_recorded(result, source, "evidence", evidence, "opted in")
        return recipient, result


def _ensure_recorded(
    result: ConsentResult, source: str, field: str, detail: str | None, state: str
) -> None:
    """A consent change that found the record already saying so (a repeat) must not drop
    the ``detail`` it carried: Conflict when the record was made another way or with
    another text. A request without the detail drops nothing."""
    contact = result.contact
    if result.changed or detail is None:
        return
    recorded = contact.consent_source is not None and source_kind(
        contact.consent_source
    ) == source_kind(source)
    if recorded and contact.consent_note == detail:
        return
    how = source_kind(contact.consent_source or "unknown")
    since = contact.consent_changed_at.isoformat() if contact.consent_changed_at else "?"
    if (state == "opted out") is not contact.opted_out:
        # A change as recent as this one says otherwise (consent changes are ordered by
        # when they were received): this one was not applied.
        raise Conflict(
            f"a newer consent change ({how}, {since}) is recorded; this one was not applied",
            field=field,
        )
    held = "another" if recorded and contact.consent_note else "no"
    raise Conflict(
        f"the recipient was already {state} ({how}, {since}) with {held} {field}; that "
        f"record stands and this {field} was not recorded",
        field=field,
    )
