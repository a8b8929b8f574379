"""Contacts in TenantsTable: consent and recent clinic-reminder sends, per tenant and phone.

  ``contact#<tenant>#<e164> / contact``  one item per recipient a tenant has texted or heard

Consent and the caps' send log share one item and one version number, so every change is a
read followed by a write conditioned on the version read: two senders racing for a
recipient's last daily slot cannot both win, and an opt-out written meanwhile is never
overwritten by a sender recording its send (the loser re-reads and decides again).

An opt-out or opt-in may bring the record of itself (its consent-history entry,
``reach.data.consent_log``): it is then written in one transaction with the contact, on the
same version condition, so the history has the change exactly when the contact does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.transactions import TransactWrite

from reach.data.batch_reads import BatchReader, ItemKey
from reach.data.tables import TenantsTableItem
from reach.data.transactions import (
    CONDITION_FAILED,
    TRANSACTION_CONFLICT,
    cancelled_by,
    condition_failed,
)
from reach.domain.caps import CapDecision, CapReason, Contact, check_caps, prune_sends
from reach.domain.conversation import PendingChoice
from reach.domain.errors import Conflict, InvalidInput
from reach.domain.masking import mask_phone

_E164 = re.compile(r"\+[1-9]\d{6,14}")


class ContactsByPhoneIndex(GlobalSecondaryIndex["ContactItem"]):
    """Every tenant's contact for one phone number: what a provider's (account-wide)
    opt-out list is reconciled against."""

    class Meta:
        index_name = "contacts_by_phone"
        projection = AllProjection()

    phone = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute(range_key=True)


class ConsentRecord(Protocol):
    """What records a consent change, written in the change's own transaction (a
    ``reach.data.consent_log.ConsentEntry``: named by protocol, since that module reads
    this one's keys)."""

    def add_to(self, transaction: TransactWrite) -> None: ...


@dataclass(frozen=True)
class ConsentChange:
    """A consent update's result: the contact as stored and whether this call changed it."""

    contact: Contact
    changed: bool


@dataclass(frozen=True)
class ConversationState:
    pending: PendingChoice | None
    #: An unrecognised reply was answered and no recognised one has come since.
    nudged: bool


class ContactItem(TenantsTableItem, discriminator="contact"):
    """Persistence of reach.domain.caps.Contact."""

    tenant_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    opted_out = BooleanAttribute(default=False)
    consent_source = UnicodeAttribute(null=True)
    consent_changed_at = UTCDateTimeAttribute(null=True)
    consent_note = UnicodeAttribute(null=True)
    # What made the last consent change (e.g. ``inbound_message_id=...``): a retry of that
    # same change recognises it; another message that says the same thing does not.
    consent_cause = UnicodeAttribute(null=True)
    # Only clinic-visit reminders, pruned to the last 8 days on every write: the item stays
    # a few hundred bytes however long the relationship lasts.
    # (PynamoDB types a typed list by its element's attribute class; the values are datetimes.)
    recent_sends = cast(
        "ListAttribute[datetime]", ListAttribute(of=UTCDateTimeAttribute, default=list)
    )
    # A question we asked ("which appointment?") and the intent it holds until answered.
    pending_choice = cast("ListAttribute[str]", ListAttribute(of=UnicodeAttribute, null=True))
    pending_intent = UnicodeAttribute(null=True)
    pending_minutes = NumberAttribute(null=True)
    pending_asked_at = UTCDateTimeAttribute(null=True)
    #: When we last answered an unrecognised reply; cleared by the next recognised one, so
    #: an auto-responder on the other end gets one answer, not an endless conversation.
    nudged_at = UTCDateTimeAttribute(null=True)
    #: HELP answers and STOP confirmations sent on one local day (of the tenant): the ids of
    #: the answers, so a retried answer is counted once. Another day's list is replaced, so
    #: the item stays small (docs/facts.md#help-and-stop).
    keyword_answers_on = UnicodeAttribute(null=True)
    keyword_answers = cast("ListAttribute[str]", ListAttribute(of=UnicodeAttribute, null=True))
    version = VersionAttribute()

    by_phone = ContactsByPhoneIndex()


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

    @staticmethod
    def item_key(tenant_id: str, phone: str) -> ItemKey:
        """The contact item's key, for a batch read."""
        return ItemKey(TenantsTableItem, contact_pk(tenant_id, phone), CONTACT_SK)

    def opted_out_among(self, tenant_id: str, phones: Iterable[str]) -> set[str]:
        """Which of ``phones`` opted out of the tenant: batch reads (100 keys a call), not
        one read each. A number never seen has not opted out."""
        keys = {self.item_key(tenant_id, phone): phone for phone in phones}
        found = BatchReader().read(keys)
        return {
            keys[key]
            for key, item in found.items()
            if isinstance(item, ContactItem) and item.opted_out
        }

    @staticmethod
    def consent_check(tenant_id: str, phone: str) -> ConsentCheck:
        """A transaction part that holds while the recipient has not opted out."""
        return ConsentCheck(tenant_id, phone)

    def for_sending(
        self, found: Mapping[ItemKey, Any], tenant_id: str, phone: str
    ) -> ContactForSending:
        """The contact a batch read found (a new one if it has none), ready for the checks a
        send makes in its start transaction."""
        item = found.get(self.item_key(tenant_id, phone))
        if not isinstance(item, ContactItem):
            item = self._load(tenant_id, phone, read=False)
        return ContactForSending(item)

    def reserve_clinic_send(
        self, tenant_id: str, phone: str, at: datetime, zone: ZoneInfo
    ) -> CapDecision:
        """Check the daily and weekly caps for a clinic reminder at ``at`` (days in ``zone``,
        the appointment's) and, when allowed, record the send in the same conditional write.

        Consent is read in the same write: an opted-out contact is refused with
        ``CapReason.OPTED_OUT``, so the send path needs no separate consent read for kinds
        that count against the caps.
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
        """An opt-out learnt outside ``ConsentService`` (the provider refused a send to an
        opted-out number), still recorded in the consent history in the same write."""
        return self.opt_out(
            tenant_id, phone, source, at, record=_tenant_entry(tenant_id, phone, at, source, True)
        ).contact

    def mark_opted_in(self, tenant_id: str, phone: str, source: str, at: datetime) -> Contact:
        return self.opt_in(
            tenant_id, phone, source, at, record=_tenant_entry(tenant_id, phone, at, source, False)
        ).contact

    def opt_out(
        self,
        tenant_id: str,
        phone: str,
        source: str,
        at: datetime,
        note: str | None = None,
        cause: str | None = None,
        record: ConsentRecord | None = None,
    ) -> ConsentChange:
        """Record that the recipient revoked consent at ``at`` (``source``: e.g. ``sms:STOP``),
        with ``record`` in the same write when this call changes the contact.

        Idempotent: an opted-out contact keeps its first opt-out's source and time, and
        ``changed`` is True only for the call that opted it out. Inbound order is not
        guaranteed (docs/facts.md#two-way-payload), so an opt-out older than the last
        explicit consent change is stale and ignored (a booking is not one); at the same
        moment, opting out wins.
        """

        def opt_out(item: ContactItem) -> tuple[bool, bool]:
            if item.opted_out or not _is_newer(at, _explicit_change(item), ties_win=True):
                return False, False
            _set_consent(item, opted_out=True, source=source, at=at, note=note, cause=cause)
            return True, True

        changed, item = self._change(tenant_id, phone, opt_out, record)
        return ConsentChange(_contact(item), changed)

    def opt_in(
        self,
        tenant_id: str,
        phone: str,
        source: str,
        at: datetime,
        note: str | None = None,
        cause: str | None = None,
        record: ConsentRecord | None = None,
    ) -> ConsentChange:
        """Record that the recipient gave consent at ``at`` (``source``: e.g. ``sms:START``),
        with ``record`` in the same write when this call changes the contact.

        Idempotent: a contact already opted in explicitly keeps that record; consent that only
        came with a booking is replaced. A stale opt-in (older than the last explicit change,
        or as old as an opt-out) is ignored.
        """

        def opt_in(item: ContactItem) -> tuple[bool, bool]:
            explicit = _explicit_change(item) is not None
            if (not item.opted_out and explicit) or not _is_newer(
                at, _explicit_change(item), ties_win=False
            ):
                return False, False
            _set_consent(item, opted_out=False, source=source, at=at, note=note, cause=cause)
            return True, True

        changed, item = self._change(tenant_id, phone, opt_in, record)
        return ConsentChange(_contact(item), changed)

    def record_first_consent(
        self, tenant_id: str, phone: str, source: str, at: datetime
    ) -> ConsentChange:
        """Record where consent came from (e.g. ``booking``) for a contact with no consent
        record yet. Never overrides an existing record, least of all an opt-out."""

        def first(item: ContactItem) -> tuple[bool, bool]:
            if item.consent_source is not None or item.opted_out:
                return False, False
            _set_consent(item, opted_out=False, source=source, at=at)
            return True, True

        changed, item = self._change(tenant_id, phone, first)
        return ConsentChange(_contact(item), changed)

    def with_phone(self, phone: str, tenant_id: str | None = None) -> Iterator[Contact]:
        """Every tenant's contact for ``phone``, or only ``tenant_id``'s (the
        contacts_by_phone index, key-bound on both: its range key is the tenant)."""
        condition = None if tenant_id is None else ContactItem.tenant_id == tenant_id
        for item in ContactItem.by_phone.query(phone, range_key_condition=condition):
            yield _contact(item)

    def conversation_state(self, tenant_id: str, phone: str) -> ConversationState:
        """The question pending for the recipient and whether an unrecognised reply was
        answered since their last recognised one: one read for what a reply needs."""
        item = self._load(tenant_id, phone)
        pending = None
        if item.pending_choice and item.pending_asked_at is not None:
            pending = PendingChoice(
                appointment_ids=tuple(str(v) for v in item.pending_choice),
                intent=item.pending_intent or "",
                minutes_late=None if item.pending_minutes is None else int(item.pending_minutes),
                asked_at=item.pending_asked_at,
            )
        return ConversationState(pending, item.nudged_at is not None)

    def ask_choice(self, tenant_id: str, phone: str, choice: PendingChoice) -> None:
        """Remember the question we are asking; it replaces any earlier one."""

        def ask(item: ContactItem) -> tuple[None, bool]:
            item.pending_choice = list(choice.appointment_ids)
            item.pending_intent = choice.intent
            item.pending_minutes = choice.minutes_late
            item.pending_asked_at = choice.asked_at
            return None, True

        self._change(tenant_id, phone, ask)

    def clear_choice(self, tenant_id: str, phone: str, asked_at: datetime) -> None:
        """Forget the question asked at ``asked_at`` (answered); a newer one stays."""

        def clear(item: ContactItem) -> tuple[None, bool]:
            if item.pending_asked_at != asked_at:
                return None, False
            item.pending_choice = None
            item.pending_intent = None
            item.pending_minutes = None
            item.pending_asked_at = None
            return None, True

        self._change(tenant_id, phone, clear)

    def nudge(self, tenant_id: str, phone: str, at: datetime) -> bool:
        """Whether to answer an unrecognised reply: True once until a recognised reply."""

        def nudge(item: ContactItem) -> tuple[bool, bool]:
            if item.nudged_at is not None:
                return False, False
            item.nudged_at = at
            return True, True

        return self._change(tenant_id, phone, nudge)[0]

    def recognised(self, tenant_id: str, phone: str) -> None:
        """A recognised reply arrived: the next unrecognised one gets an answer again."""

        def reset(item: ContactItem) -> tuple[None, bool]:
            if item.nudged_at is None:
                return None, False
            item.nudged_at = None
            return None, True

        self._change(tenant_id, phone, reset)

    def reserve_keyword_answer(
        self, tenant_id: str, phone: str, answer_id: str, day: date, *, limit: int | None
    ) -> bool:
        """Count the HELP answer or STOP confirmation ``answer_id`` on ``day`` (the tenant's
        local day) and say whether it may be sent: at most ``limit`` a day, whatever the
        consent, so two machines answering each other stop within the day. ``limit`` None
        counts without refusing (the confirmation of an opt-out just made is owed).

        The same ``answer_id`` again (a retry of that answer) is allowed and counted once.
        """
        today = day.isoformat()

        def reserve(item: ContactItem) -> tuple[bool, bool]:
            answered = list(item.keyword_answers or ()) if item.keyword_answers_on == today else []
            if answer_id in answered:
                return True, False
            if limit is not None and len(answered) >= limit:
                return False, False
            item.keyword_answers_on = today
            item.keyword_answers = [*answered, answer_id]
            return True, True

        return self._change(tenant_id, phone, reserve)[0]

    def erase(self, tenant_id: str, phone: str) -> int:
        """Forget everything but what the consent record needs: the pending question, the
        nudge, the consent note (free text) and the HELP/STOP answer log go; the phone,
        ``opted_out``, the consent source, time and cause, and the caps' send log (times
        only, 8 days) stay. Returns 1 when something was erased, else 0."""

        def erase(item: ContactItem) -> tuple[int, bool]:
            held = [
                item.pending_choice,
                item.pending_intent,
                item.pending_minutes,
                item.pending_asked_at,
                item.nudged_at,
                item.consent_note,
                item.keyword_answers,
                item.keyword_answers_on,
            ]
            if all(value is None for value in held) or item.version is None:
                return 0, False
            item.pending_choice = None
            item.pending_intent = None
            item.pending_minutes = None
            item.pending_asked_at = None
            item.nudged_at = None
            item.consent_note = None
            item.keyword_answers = None
            item.keyword_answers_on = None
            return 1, True

        return self._change(tenant_id, phone, erase)[0]

    def _change[R](
        self,
        tenant_id: str,
        phone: str,
        decide: Callable[[ContactItem], tuple[R, bool]],
        record: ConsentRecord | None = None,
    ) -> tuple[R, ContactItem]:
        """Optimistic concurrency: read, let ``decide`` change the item (and say whether it
        did), write on condition of the version read (with ``record``, in one transaction);
        re-read and decide again on a lost race. Returns ``decide``'s result and the item as
        stored.
        """
        for _ in range(self._max_attempts):
            item = self._load(tenant_id, phone)
            result, changed = decide(item)
            if not changed:
                return result, item
            if _saved(item, record):
                return result, item
        raise Conflict(
            f"contact {tenant_id}/{mask_phone(phone)} changed {self._max_attempts} times while "
            "being updated; retry"
        )

    def _load(self, tenant_id: str, phone: str, *, read: bool = True) -> ContactItem:
        if not tenant_id:
            raise InvalidInput("tenant_id", "required")
        if not _E164.fullmatch(phone):
            raise InvalidInput("phone", "contacts are keyed by E.164 numbers, e.g. +15551234567")
        try:
            # Strongly consistent: consent just revoked must be seen by the next send.
            if read:
                return ContactItem.get(
                    contact_pk(tenant_id, phone), CONTACT_SK, consistent_read=True
                )
        except DoesNotExist:
            pass
        return ContactItem(
            pk=contact_pk(tenant_id, phone), sk=CONTACT_SK, tenant_id=tenant_id, phone=phone
        )


def _tenant_entry(
    tenant_id: str, phone: str, at: datetime, source: str, opted_out: bool
) -> ConsentRecord:
    # Imported here: the consent log keys its entries by this module's ``contact_pk``.
    from reach.data.consent_log import TENANT_SCOPE, ConsentAction, ConsentEntry

    action = ConsentAction.OPTED_OUT if opted_out else ConsentAction.OPTED_IN
    return ConsentEntry(tenant_id, phone, at, TENANT_SCOPE, action, source)


def _saved(item: ContactItem, record: ConsentRecord | None) -> bool:
    """Write ``item`` on the version read (PynamoDB adds "version = <read version>" and bumps
    it), with ``record`` in the same transaction; False when the version moved meanwhile."""
    if record is None:
        try:
            item.save()
        except PutError as error:
            if not condition_failed(error):
                raise
            return False
        return True
    try:
        with TransactWrite(connection=TenantsTableItem._get_connection().connection) as write:
            write.save(item)
            record.add_to(write)
    except TransactWriteError as error:
        if not cancelled_by(error, (CONDITION_FAILED, TRANSACTION_CONFLICT)):
            raise
        return False
    return True


class ContactForSending:
    """A contact as a batch read found it, and the part it plays in a send's start
    transaction: the consent check, and for a capped kind the caps' send log."""

    def __init__(self, item: ContactItem) -> None:
        self._item = item

    @property
    def opted_out(self) -> bool:
        return bool(self._item.opted_out)

    def consent_holds(self) -> ConsentCheck:
        """Holds while the recipient has not opted out (a contact never seen has not)."""
        return ConsentCheck(self._item.tenant_id, self._item.phone)

    def reserve_clinic_send(
        self, at: datetime, zone: ZoneInfo
    ) -> tuple[CapDecision, CapsWrite | None]:
        """The caps' decision for a clinic reminder at ``at`` (days in ``zone``) and, when it is
        allowed, the write that records the send: conditional on the contact's version, so an
        opt-out or another send recorded since the read fails the transaction instead of
        being overwritten."""
        if self._item.opted_out:
            return CapDecision(reason=CapReason.OPTED_OUT), None
        sends = _datetimes(self._item.recent_sends)
        decision = check_caps(sends, at, zone)
        if not decision.allowed:
            return decision, None
        item = ContactItem.from_raw_data(self._item.serialize())
        item.recent_sends = list(prune_sends([*sends, at], at))
        return decision, CapsWrite(item)


@dataclass(frozen=True)
class ConsentCheck:
    tenant_id: str
    phone: str

    def add_to(self, transaction: TransactWrite) -> None:
        transaction.condition_check(
            ContactItem,
            contact_pk(self.tenant_id, self.phone),
            CONTACT_SK,
            condition=ContactItem.opted_out.does_not_exist() | (ContactItem.opted_out == False),  # noqa: E712
        )


@dataclass(frozen=True)
class CapsWrite:
    item: ContactItem

    def add_to(self, transaction: TransactWrite) -> None:
        transaction.save(self.item)  # conditional on the version read, which it then bumps


#: Consent that came with a booking: the clinic's word, not the recipient's. It never makes
#: a recipient's (or the provider's) opt-out look stale, and an explicit opt-in replaces it.
IMPLICIT_SOURCES = frozenset({"booking"})


def _explicit_change(item: ContactItem) -> datetime | None:
    """When the recipient's consent last changed explicitly (None: never)."""
    if item.consent_source is None or item.consent_source in IMPLICIT_SOURCES:
        return None
    return item.consent_changed_at


def _is_newer(at: datetime, last_change: datetime | None, *, ties_win: bool) -> bool:
    if last_change is None:
        return True
    return at >= last_change if ties_win else at > last_change


def _set_consent(
    item: ContactItem,
    *,
    opted_out: bool,
    source: str,
    at: datetime,
    note: str | None = None,
    cause: str | None = None,
) -> None:
    item.opted_out = opted_out
    item.consent_source = source
    item.consent_changed_at = at
    item.consent_note = note
    item.consent_cause = cause


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
        consent_note=item.consent_note,
        consent_cause=item.consent_cause,
    )
