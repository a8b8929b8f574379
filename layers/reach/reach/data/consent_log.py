"""The consent history: every change in a person's consent with a tenant, with its source.

  ``contact#<tenant>#<e164> / consent#<time>#<id>``  one change (``ConsentEntryItem``)

An entry is written in the same transaction as the change it records (a list membership,
an opt-out), so the history never misses a change and never shows one that did not happen.
Its id is derived from what caused the change, so a retried write of the same change is the
same entry. Entries are never updated: a later change is a later entry.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pynamodb.transactions import TransactWrite

from reach.data.contacts import contact_pk
from reach.data.tables import ConsentEntryItem, consent_entry_sk

#: ``ConsentEntry.scope`` of a change to everything from the tenant (STOP, START).
TENANT_SCOPE = "tenant"


def list_scope(list_id: str) -> str:
    return f"list#{list_id}"


class ConsentAction(StrEnum):
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    #: Added to a list pending a YES (double opt-in).
    INVITED = "invited"
    JOINED = "joined"
    LEFT = "left"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ConsentEntry:
    tenant_id: str
    phone: str
    at: datetime
    scope: str
    action: ConsentAction
    source: str
    cause: str | None = None
    evidence: str | None = None
    terms_version: str | None = None

    @property
    def entry_id(self) -> str:
        """Stable for one change: a retry of the same write is the same entry."""
        basis = "\n".join(
            (self.scope, self.action.value, self.source, self.cause or "", self.at.isoformat())
        )
        return hashlib.sha256(basis.encode()).hexdigest()[:16]

    def item(self) -> ConsentEntryItem:
        return ConsentEntryItem(
            pk=contact_pk(self.tenant_id, self.phone),
            sk=consent_entry_sk(self.at, self.entry_id),
            at=self.at,
            scope=self.scope,
            action=self.action.value,
            source=self.source,
            evidence=self.evidence,
            cause=self.cause,
            terms_version=self.terms_version,
        )

    def add_to(self, transaction: TransactWrite) -> None:
        """Write the entry as part of the change's transaction (a replay rewrites it as is)."""
        transaction.save(self.item())


class ConsentLog:
    """Reads a person's consent history with a tenant."""

    def history(self, tenant_id: str, phone: str, *, limit: int = 200) -> list[ConsentEntry]:
        """The changes in time order, oldest first (at most ``limit``, the latest kept)."""
        items = ConsentEntryItem.query(
            contact_pk(tenant_id, phone),
            ConsentEntryItem.sk.startswith("consent#"),
            scan_index_forward=False,
            consistent_read=True,
        )
        latest = [_entry(tenant_id, phone, item) for item in itertools.islice(items, limit)]
        return latest[::-1]

    def entries(self, tenant_id: str, phone: str) -> Iterator[ConsentEntryItem]:
        """Every entry item, paged (erasure keeps these: they are the consent record)."""
        return ConsentEntryItem.query(
            contact_pk(tenant_id, phone), ConsentEntryItem.sk.startswith("consent#")
        )


def _entry(tenant_id: str, phone: str, item: ConsentEntryItem) -> ConsentEntry:
    return ConsentEntry(
        tenant_id=tenant_id,
        phone=phone,
        at=item.at,
        scope=item.scope,
        action=ConsentAction(item.action),
        source=item.source,
        cause=item.cause,
        evidence=item.evidence,
        terms_version=item.terms_version,
    )


__all__ = [
    "TENANT_SCOPE",
    "ConsentAction",
    "ConsentEntry",
    "ConsentLog",
    "list_scope",
]
