"""Reconciles Reach's consent records with the provider's opt-out list, both ways.

The provider's list is account-wide (SNS) or per opt-out list (End User Messaging), so one
listed number may be a contact of several tenants; each tenant's record is looked at through
the ``contacts_by_phone`` index (key-bound, no Scan). For each listed number and contact:

- **Provider -> Reach.** A contact still opted in is marked opted out (source
  ``provider_opt_out_list``), its pending reminders are skipped and ``OptedOut`` is published,
  unless the recipient re-subscribed with us after the provider listed them (below). SNS
  drops messages to listed numbers without an error (Notify.gov #683;
  docs/facts.md#provider-opt-out-list): this is what keeps such recipients from vanishing silently.
- **Reach -> provider.** A contact who opted back in explicitly (texted START, or the clinic
  recorded new consent through the API) *after* the provider listed the number is removed from
  the provider's list, so sends are not dropped. Without the provider's timestamp (SNS) only
  an explicit opt-in by the recipient's own text counts. The provider may refuse for now (SNS
  allows one opt-in per number per 30 days); the next run tries again.

Numbers a tenant never texted get no record: the first send to them meets the provider's
refusal (End User Messaging) and records it then.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from reach.clock import Clock
from reach.data.contacts import ContactRepository
from reach.domain.caps import Contact
from reach.ports.opt_outs import ProviderOptOut, ProviderOptOutList
from reach.services.consent import ConsentService

PROVIDER_SOURCE = "provider_opt_out_list"
#: Consent sources that are a recipient's or clinic's explicit, recorded opt-in.
_EXPLICIT_OPT_IN = ("sms:", "api")


@dataclass
class ReconcileReport:
    listed: int = 0
    contacts_seen: int = 0
    marked_opted_out: int = 0
    reminders_skipped: int = 0
    removed_from_provider: int = 0
    provider_refused: int = 0
    already_agreed: int = 0
    errors: list[str] = field(default_factory=list)


class OptOutReconciler:
    def __init__(
        self,
        provider: ProviderOptOutList,
        contacts: ContactRepository,
        consent: ConsentService,
        clock: Clock,
    ) -> None:
        self._provider = provider
        self._contacts = contacts
        self._consent = consent
        self._clock = clock

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        now = self._clock()
        for entry in self._provider.opted_out():
            report.listed += 1
            resubscribed = False
            for contact in self._contacts.with_phone(entry.phone):
                report.contacts_seen += 1
                if contact.opted_out:
                    report.already_agreed += 1
                elif _resubscribed_after(contact, entry):
                    resubscribed = True
                else:
                    self._mark(contact, entry, now, report)
            if resubscribed:
                if self._provider.opt_in(entry.phone):
                    report.removed_from_provider += 1
                else:
                    report.provider_refused += 1
        return report

    def _mark(
        self, contact: Contact, entry: ProviderOptOut, now: datetime, report: ReconcileReport
    ) -> None:
        at = entry.opted_out_at or now
        result = self._consent.opt_out(
            contact.tenant_id, contact.phone, PROVIDER_SOURCE, at, cause={"listing_id": _id(entry)}
        )
        if result.changed:
            report.marked_opted_out += 1
            report.reminders_skipped += result.reminders
        else:
            report.already_agreed += 1


def _resubscribed_after(contact: Contact, entry: ProviderOptOut) -> bool:
    """Whether the contact's consent is an explicit opt-in newer than the provider's listing."""
    source = contact.consent_source or ""
    if not source.startswith(_EXPLICIT_OPT_IN) or contact.consent_changed_at is None:
        return False
    if entry.opted_out_at is None:
        # No listing time (SNS): only the recipient's own START outweighs the provider.
        return source.startswith("sms:")
    return contact.consent_changed_at > entry.opted_out_at


def _id(entry: ProviderOptOut) -> str:
    """A listing's id in events: a digest, never the number itself."""
    moment = entry.opted_out_at.isoformat() if entry.opted_out_at else "-"
    return "lst_" + hashlib.sha256(f"{entry.phone}|{moment}".encode()).hexdigest()[:32]
