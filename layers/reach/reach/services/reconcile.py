"""Reconciles Reach's consent records with the provider's opt-out lists, both ways.

Which contacts an entry concerns depends on the provider (reach.ports.opt_outs.
ProviderOptOutLists):

- **SNS** keeps one list per account and region. A number on it concerns every tenant that
  texts it: each tenant's record is found through the ``contacts_by_phone`` index (key-bound,
  no Scan). This is SNS's limit, not a choice (README, "With SNS").
- **End User Messaging**: each tenant's numbers are on the tenant's own list,
  ``reach-<tenant id>``, so an entry concerns that tenant's contact alone (the same index, with
  the tenant as its range key): a STOP to one tenant's number never opts the person out of
  another tenant. The job lists the tenants' ids (``tenant_ids``: one Scan of the tenants
  table projected to keys, reach.data.tenants.TenantRepository.ids) and reads each tenant's
  list, one ``DescribeOptedOutNumbers`` page per 100 entries. A tenant without a list (its
  number not attached yet) is logged and skipped: its texts go out from a number on some
  other list, whose entries cannot be told apart by tenant, and ``reach numbers check`` shows
  the drift.

For each listed number and contact:

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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from reach.clock import Clock
from reach.data.contacts import ContactRepository
from reach.domain.caps import Contact
from reach.ports.opt_outs import (
    OptOutListMissing,
    ProviderOptOut,
    ProviderOptOutList,
    ProviderOptOutLists,
)
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
    tenants_read: int = 0
    """Tenants whose own list was read (End User Messaging; 0 with an account-wide list)."""
    tenants_without_list: list[str] = field(default_factory=list)
    """Tenants skipped because their own list does not exist yet (number not attached)."""
    members_expired: int = 0
    """Double opt-in list members expired for want of a YES in time (``expire_pending``)."""
    errors: list[str] = field(default_factory=list)


class WarningLog(Protocol):
    """The part of a logger the job uses (services import no logging library)."""

    def warning(self, msg: object, *, extra: Mapping[str, object] | None = None) -> None: ...


class OptOutReconciler:
    def __init__(
        self,
        lists: ProviderOptOutLists,
        contacts: ContactRepository,
        consent: ConsentService,
        clock: Clock,
        *,
        tenant_ids: Callable[[], Iterable[str]] = tuple,
        logger: WarningLog | None = None,
        expire_pending: Callable[[], int] | None = None,
    ) -> None:
        self._lists = lists
        #: The lists' pending members past their deadline are expired by the same hourly job
        #: (reach.services.membership.PendingSweep), whatever the provider.
        self._expire_pending = expire_pending
        self._contacts = contacts
        self._consent = consent
        self._clock = clock
        self._tenant_ids = tenant_ids
        self._logger = logger

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        self._opt_out_lists(report)
        if self._expire_pending is not None:
            report.members_expired = self._expire_pending()
        return report

    def _opt_out_lists(self, report: ReconcileReport) -> None:
        shared = self._lists.shared()
        if shared is not None:
            self._reconcile(shared, None, report)
            return
        for tenant_id in self._tenant_ids():
            try:
                self._reconcile(self._lists.of_tenant(tenant_id), tenant_id, report)
            except OptOutListMissing as missing:
                report.tenants_without_list.append(tenant_id)
                if self._logger is not None:
                    self._logger.warning(
                        "tenant has no opt-out list of its own yet, skipped: "
                        "run `reach numbers attach` for its number",
                        extra={"tenant_id": tenant_id, "opt_out_list": missing.list_name},
                    )
            else:
                report.tenants_read += 1

    def _reconcile(
        self, provider: ProviderOptOutList, tenant_id: str | None, report: ReconcileReport
    ) -> None:
        """One list's entries, applied to ``tenant_id``'s contacts (every tenant's if None)."""
        now = self._clock()
        for entry in provider.opted_out():
            report.listed += 1
            resubscribed = False
            for contact in self._contacts.with_phone(entry.phone, tenant_id):
                report.contacts_seen += 1
                if contact.opted_out:
                    report.already_agreed += 1
                elif _resubscribed_after(contact, entry):
                    resubscribed = True
                else:
                    self._mark(contact, entry, now, report)
            if resubscribed:
                if provider.opt_in(entry.phone):
                    report.removed_from_provider += 1
                else:
                    report.provider_refused += 1

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
