"""Contacts in TenantsTable: consent and recent clinic-reminder sends, per tenant and phone.

  ``contact#<tenant>#<e164> / contact``  one item per recipient a tenant has texted or heard

Consent and the caps' send log share one item and one version number, so every change is a
read followed by a write conditioned on the version read: two senders racing for a
recipient's last daily slot cannot both win, and an opt-out written meanwhile is never
overwritten by a sender recording its send (the loser re-reads and decides again).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError

from reach.data.tables import TenantsTableItem
from reach.domain.caps import CapDecision, CapReason, Contact, check_caps, prune_sends
from reach.domain.errors import Conflict, InvalidInput
from reach.domain.phones import mask_phone

_E164 = re.compile(r"\+[1-9]\d{6,14}")


class ContactItem(TenantsTableItem, discriminator="contact"):
    """Persistence of reach.domain.caps.Contact."""

    tenant_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    opted_out = BooleanAttribute(default=False)
    consent_source = UnicodeAttribute(null=True)
    consent_changed_at = UTCDateTimeAttribute(null=True)
    # Only clinic-visit reminders, pruned to the last 8 days on every write: the item stays
    # a few hundred bytes however long the relationship lasts.
    # (PynamoDB types a typed list by its element's attribute class; the values are datetimes.)
    recent_sends = cast(
        "ListAttribute[datetime]", ListAttribute(of=UTCDateTimeAttribute, default=list)
    )
    version = VersionAttribute()


def contact_pk(tenant_id: str, phone: str) -> str:
    return f"contact#{tenant_id}#{phone}"


CONTACT_SK = "contact"


class ContactRepository:
    """Consent state and healthcare-cap bookkeeping of each (tenant, phone)."""

    def __init__(self, max_attempts: int = 8) -> None:
        self._max_attempts = max_attempts

    def get(self, tenant_id: str, phone: str) -> Contact:
        """The contact as stored; one never seen is opted in with no sends."""
        return _contact(self._load(tenant_id, phone))

    def reserve_clinic_send(
        self, tenant_id: str, phone: str, at: datetime, zone: ZoneInfo
    ) -> CapDecision:
        """Check the daily and weekly caps for a clinic reminder at ``at`` (days in ``zone``,
        the appointment's) and, when allowed, record the send in the same conditional write.

        Consent is not checked here: the sender reads it with ``get`` first.
        """

        def reserve(item: ContactItem) -> tuple[CapDecision, bool]:
            if item.opted_out:
                return CapDecision(reason=CapReason.OPTED_OUT), False
            sends = _datetimes(item.recent_sends)
            decision = check_caps(sends, at, zone)
            if not decision.allowed:
                return decision, False
            item.recent_sends = list(prune_sends([*sends, at], at))
            return decision, True

        return self._change(tenant_id, phone, reserve)[0]

    def release_clinic_send(self, tenant_id: str, phone: str, at: datetime) -> bool:
        """Forget the send recorded at ``at`` (its SMS failed for good), freeing its slot.

        Returns whether a send was forgotten; releasing twice forgets it once.
        """

        def release(item: ContactItem) -> tuple[bool, bool]:
            sends = list(_datetimes(item.recent_sends))
            if at not in sends:
                return False, False
            sends.remove(at)
            item.recent_sends = sends
            return True, True

        return self._change(tenant_id, phone, release)[0]

    def mark_opted_out(self, tenant_id: str, phone: str, source: str, at: datetime) -> Contact:
        """Record that the recipient revoked consent at ``at`` (``source``: e.g. ``sms:STOP``).

        Idempotent: an opted-out contact keeps its first opt-out's source and time. Inbound
        order is not guaranteed (facts.md), so an opt-out older than the last recorded
        consent change is stale and ignored; at the same moment, opting out wins.
        """

        def opt_out(item: ContactItem) -> tuple[None, bool]:
            if item.opted_out or not _is_newer(at, item.consent_changed_at, ties_win=True):
                return None, False
            _set_consent(item, opted_out=True, source=source, at=at)
            return None, True

        return _contact(self._change(tenant_id, phone, opt_out)[1])

    def mark_opted_in(self, tenant_id: str, phone: str, source: str, at: datetime) -> Contact:
        """Record that the recipient gave consent at ``at`` (``source``: e.g. ``sms:START``).

        Idempotent: a contact already opted in with a recorded consent keeps that record.
        A stale opt-in (older than the last recorded change, or as old as an opt-out) is
        ignored.
        """

        def opt_in(item: ContactItem) -> tuple[None, bool]:
            recorded = item.consent_source is not None
            if (not item.opted_out and recorded) or not _is_newer(
                at, item.consent_changed_at, ties_win=False
            ):
                return None, False
            _set_consent(item, opted_out=False, source=source, at=at)
            return None, True

        return _contact(self._change(tenant_id, phone, opt_in)[1])

    def _change[R](
        self, tenant_id: str, phone: str, decide: Callable[[ContactItem], tuple[R, bool]]
    ) -> tuple[R, ContactItem]:
        """Optimistic concurrency: read, let ``decide`` change the item (and say whether it
        did), write on condition of the version read; re-read and decide again on a lost race.
        Returns ``decide``'s result and the item as stored.
        """
        for _ in range(self._max_attempts):
            item = self._load(tenant_id, phone)
            result, changed = decide(item)
            if not changed:
                return result, item
            try:
                item.save()  # PynamoDB adds "version = <read version>" and bumps it
            except PutError as error:
                if error.cause_response_code != "ConditionalCheckFailedException":
                    raise
                continue
            return result, item
        raise Conflict(
            f"contact {tenant_id}/{mask_phone(phone)} changed {self._max_attempts} times while "
            "being updated; retry"
        )

    def _load(self, tenant_id: str, phone: str) -> ContactItem:
        if not tenant_id:
            raise InvalidInput("tenant_id", "required")
        if not _E164.fullmatch(phone):
            raise InvalidInput("phone", "contacts are keyed by E.164 numbers, e.g. +15551234567")
        try:
            # Strongly consistent: consent just revoked must be seen by the next send.
            return ContactItem.get(contact_pk(tenant_id, phone), CONTACT_SK, consistent_read=True)
        except DoesNotExist:
            return ContactItem(
                pk=contact_pk(tenant_id, phone),
                sk=CONTACT_SK,
                tenant_id=tenant_id,
                phone=phone,
            )


def _is_newer(at: datetime, last_change: datetime | None, *, ties_win: bool) -> bool:
    if last_change is None:
        return True
    return at >= last_change if ties_win else at > last_change


def _set_consent(item: ContactItem, *, opted_out: bool, source: str, at: datetime) -> None:
    item.opted_out = opted_out
    item.consent_source = source
    item.consent_changed_at = at


def _datetimes(values: list[datetime] | None) -> tuple[datetime, ...]:
    return tuple(values or ())


def _contact(item: ContactItem) -> Contact:
    return Contact(
        tenant_id=item.tenant_id,
        phone=item.phone,
        opted_out=bool(item.opted_out),
        consent_source=item.consent_source,
        consent_changed_at=item.consent_changed_at,
        recent_sends=_datetimes(item.recent_sends),
        version=item.version or 0,
    )
