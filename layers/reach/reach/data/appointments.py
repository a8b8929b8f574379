"""Appointments and their reminders in AppointmentsTable."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from reach.data.batch_reads import ItemKey
from reach.data.paging import PageTokens
from reach.data.reminders import DueIndex, ReminderKey
from reach.data.tables import (
    APPOINTMENT_SK,
    AppointmentItem,
    AppointmentsTableItem,
    ReminderItem,
    appointment_pk,
    phone_lookup_key,
    reminder_sk,
    strings,
    tenant_status_key,
)
from reach.data.transactions import CONDITION_FAILED, cancelled_by, condition_failed
from reach.domain.errors import Conflict, InvalidToken, NotFound
from reach.domain.message import MessageStatus
from reach.domain.models import (
    OPTED_OUT_REASON,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    CustomerStatus,
    Reminder,
)


class ConcurrentChange(Conflict):
    """Someone else changed the appointment (or claimed a reminder) since it was read."""


class AlreadyExists(Conflict):
    """An appointment with this id exists already (an idempotent replay of a create)."""


@dataclass(frozen=True)
class AppointmentPage:
    items: list[Appointment]
    next_token: str | None


class AppointmentRepository:
    """Reads and writes appointments with their reminders; ``DueIndex`` says how each
    reminder write enters or leaves the due index."""

    def __init__(self, due_shards: int, *, tokens: PageTokens | None = None) -> None:
        self._due = DueIndex(due_shards)
        self._tokens = tokens or PageTokens()

    def create(self, appointment: Appointment) -> None:
        """Store a new appointment and its planned reminders in one transaction.

        Raises AlreadyExists when the id is taken (ids derived from ``external_id`` make a
        repeated create land here).
        """
        try:
            with self._transaction() as transaction:
                transaction.save(
                    self._appointment_item(appointment),
                    condition=AppointmentsTableItem.pk.does_not_exist(),
                )
                for reminder in appointment.reminders:
                    transaction.save(
                        self._reminder_item(appointment, reminder),
                        condition=AppointmentsTableItem.pk.does_not_exist(),
                    )
        except TransactWriteError as error:
            # Only a failed does-not-exist condition means the id is taken; an item DynamoDB
            # cannot store (a ValidationError) is no booking at all, and goes up as it is.
            if cancelled_by(error):
                raise AlreadyExists(f"appointment {appointment.appointment_id} exists") from error
            raise

    def get_without_reminders(self, tenant_id: str, appointment_id: str) -> Appointment | None:
        """Just the appointment item (one GetItem): what a sender re-checks before sending."""
        try:
            item = AppointmentItem.get(appointment_pk(tenant_id, appointment_id), APPOINTMENT_SK)
        except DoesNotExist:
            return None
        return _appointment(item, ())

    @staticmethod
    def item_key(tenant_id: str, appointment_id: str) -> ItemKey:
        """The appointment item's key, for a batch read."""
        return ItemKey(
            AppointmentsTableItem, appointment_pk(tenant_id, appointment_id), APPOINTMENT_SK
        )

    @staticmethod
    def from_found(found: Mapping[ItemKey, Any], key: ItemKey) -> Appointment | None:
        """The appointment (without its reminders) a batch read found at ``key``."""
        item = found.get(key)
        return _appointment(item, ()) if isinstance(item, AppointmentItem) else None

    @staticmethod
    def unchanged(appointment: Appointment) -> VersionCheck:
        """A transaction part that holds only while the appointment is at the version read."""
        return VersionCheck(appointment.tenant_id, appointment.appointment_id, appointment.version)

    def get(self, tenant_id: str, appointment_id: str) -> Appointment:
        """The appointment with all its reminders (one Query), or NotFound."""
        appointment: AppointmentItem | None = None
        reminders: list[ReminderItem] = []
        for item in AppointmentsTableItem.query(
            appointment_pk(tenant_id, appointment_id),
            AppointmentsTableItem.sk.startswith(APPOINTMENT_SK),
        ):
            if isinstance(item, AppointmentItem):
                appointment = item
            elif isinstance(item, ReminderItem):
                reminders.append(item)
        if appointment is None:
            raise NotFound(f"appointment {appointment_id} not found")
        return _appointment(appointment, reminders)

    def page(
        self,
        tenant_id: str,
        starts_from: datetime,
        starts_to: datetime,
        status: AppointmentStatus | None,
        limit: int,
        next_token: str | None,
        *,
        query: str = "",
    ) -> AppointmentPage:
        """A page of the tenant's appointments starting in [from, to], in start order.

        Key-bound: by_start (tenant) or by_status (tenant and status); no Scan, no filter on
        anything but the item type. ``query`` is the request as the client wrote it, to which
        the page token is bound with the tenant and status.
        """
        window = AppointmentItem.starts_at.between(starts_from, starts_to)
        if status is None:
            index: Any = AppointmentItem.by_start
            hash_key, hash_attribute = tenant_id, "tenant_id"
        else:
            index = AppointmentItem.by_status
            hash_key, hash_attribute = tenant_status_key(tenant_id, status), "tenant_status"
        scope = f"appointments\n{hash_key}\n{query}"
        start_key = (
            self._start_key(next_token, scope, hash_key, hash_attribute, starts_from, starts_to)
            if next_token
            else None
        )
        results = index.query(
            hash_key, window, limit=limit, last_evaluated_key=start_key, page_size=limit
        )
        items = [_appointment(item, ()) for item in results]
        last_key = results.last_evaluated_key if len(items) == limit else None
        return AppointmentPage(items=items, next_token=self._tokens.seal(last_key, scope))

    def _start_key(
        self,
        token: str,
        scope: str,
        hash_key: str,
        hash_attribute: str,
        starts_from: datetime,
        starts_to: datetime,
    ) -> dict[str, Any]:
        """The listing's start key from ``token``. Its start time must lie in the window asked
        for: DynamoDB refuses a start key outside the range condition with an error (a token
        from a page of another ``from``/``to``, or of a window that moved with the clock)."""
        key = self._tokens.open(token, scope, hash_key, hash_attribute, ("starts_at", "pk", "sk"))
        try:
            starts_at = AppointmentItem.starts_at.deserialize(key["starts_at"]["S"])
        except ValueError as error:
            raise InvalidToken("not a token this API issued") from error
        if not starts_from <= starts_at <= starts_to:
            raise InvalidToken("not a token for this listing: 'from' or 'to' changed")
        return key

    def save_changes(
        self,
        previous: Appointment,
        updated: Appointment,
        retired: list[Reminder],
        added: list[Reminder],
    ) -> None:
        """Replace ``previous`` with ``updated`` atomically.

        ``retired`` are the previous version's pending reminders, now cancelled (they leave the
        due index); ``added`` are new ones. Raises ConcurrentChange when the appointment's
        version moved or a retired reminder was claimed meanwhile; the caller re-reads.
        """
        try:
            with self._transaction() as transaction:
                transaction.save(
                    self._appointment_item(updated),
                    condition=AppointmentItem.version == previous.version,
                )
                for reminder in retired:
                    item = self._reminder_item(updated, reminder)
                    transaction.update(
                        item,
                        actions=[
                            ReminderItem.status.set(reminder.status.value),
                            ReminderItem.reason.set(reminder.reason or ""),
                            ReminderItem.updated_at.set(updated.updated_at),
                            *self._due.leave(),
                        ],
                        condition=ReminderItem.status == MessageStatus.PENDING.value,
                    )
                for reminder in added:
                    transaction.save(
                        self._reminder_item(updated, reminder),
                        condition=AppointmentsTableItem.pk.does_not_exist(),
                    )
        except TransactWriteError as error:
            # A failed version or status condition, or another transaction on the same items,
            # is a concurrent change worth a re-read; any other reason is not.
            if cancelled_by(error, (CONDITION_FAILED, "TransactionConflict")):
                raise ConcurrentChange(
                    f"appointment {updated.appointment_id} changed meanwhile"
                ) from error
            raise

    def for_phone(
        self, tenant_id: str, phone: str, starting_after: datetime, limit: int = 25
    ) -> list[Appointment]:
        """The recipient's appointments with the tenant starting after ``starting_after``
        (soonest first, without reminders): one key-bound Query on the lookup index."""
        items = AppointmentItem.lookup.query(
            phone_lookup_key(tenant_id, phone),
            AppointmentItem.lookup_at >= starting_after,
            limit=limit,
            page_size=limit,
        )
        return [_appointment(item, ()) for item in items if isinstance(item, AppointmentItem)]

    def ids_for_phone(self, tenant_id: str, phone: str, page_size: int = 25) -> Iterator[str]:
        """Every appointment id of the recipient with the tenant, past and future, read page
        by page from the lookup index (erasure walks them without holding them all)."""
        for item in AppointmentItem.lookup.query(
            phone_lookup_key(tenant_id, phone), page_size=page_size
        ):
            if isinstance(item, AppointmentItem):
                yield item.appointment_id

    def erase_names(self, tenant_id: str, appointment_id: str) -> int:
        """Forget the recipient's name on the appointment, and a service visit's location (the
        customer's address); 1 if there was something to forget, else 0.

        The write bumps the version (so a change read before it cannot write the name back:
        it fails its version check and re-reads) and pins the reminder plan to the one
        current, so the pending reminders stay valid and go without the name."""
        for _ in range(4):
            try:
                item = AppointmentItem.get(
                    appointment_pk(tenant_id, appointment_id), APPOINTMENT_SK, consistent_read=True
                )
            except DoesNotExist:
                return 0
            personal = [AppointmentItem.first_name] if item.first_name is not None else []
            if item.location is not None and item.kind == AppointmentKind.SERVICE_VISIT.value:
                # A service visit's location is the customer's own address.
                personal.append(AppointmentItem.location)
            if not personal:
                return 0
            try:
                item.update(
                    actions=[
                        *(attribute.remove() for attribute in personal),
                        AppointmentItem.version.set(int(item.version) + 1),
                        AppointmentItem.plan_version.set(int(item.plan_version or item.version)),
                    ],
                    condition=AppointmentItem.version == item.version,
                )
            except UpdateError as error:
                if not condition_failed(error):
                    raise
                continue
            return 1
        raise ConcurrentChange(f"appointment {appointment_id} kept changing during erasure")

    def pause_for_opt_out(self, appointment: Appointment, now: datetime) -> int:
        """Skip the appointment's pending reminders (``Appointment.paused_for_opt_out``): they
        leave the due index. Each is one conditional update, so a reminder a dispatcher claims
        meanwhile is left to the sender, whose consent check stops it. Returns how many were
        skipped."""
        skipped = 0
        for reminder in appointment.paused_for_opt_out():
            skipped += self._update_reminder(
                appointment,
                reminder,
                [*_status_of(reminder, now), *self._due.leave()],
                ReminderItem.status == MessageStatus.PENDING.value,
            )
        return skipped

    def resume_after_opt_in(self, appointment: Appointment, now: datetime) -> int:
        """Put back the reminders an opt-out skipped (``Appointment.resumed_after_opt_in``)
        into the due index. Returns how many were resumed."""
        resumed = 0
        for reminder in appointment.resumed_after_opt_in(now):
            assert reminder.send_at is not None  # only reminders still ahead resume
            key = _key(appointment, reminder)
            resumed += self._update_reminder(
                appointment,
                reminder,
                [*_status_of(reminder, now), *self._due.enter(key, reminder.send_at)],
                (ReminderItem.status == MessageStatus.SKIPPED.value)
                & (ReminderItem.reason == OPTED_OUT_REASON),
            )
        return resumed

    def _update_reminder(
        self, appointment: Appointment, reminder: Reminder, actions: list[Action], condition: Any
    ) -> bool:
        """One conditional update of a stored reminder; False when the condition failed (a
        dispatcher or another change got there first)."""
        try:
            self._reminder_item(appointment, reminder).update(actions=actions, condition=condition)
        except UpdateError as error:
            if not condition_failed(error):
                raise
            return False
        return True

    def _transaction(self) -> TransactWrite:
        return TransactWrite(connection=AppointmentsTableItem._get_connection().connection)

    def _appointment_item(self, appointment: Appointment) -> AppointmentItem:
        return AppointmentItem(
            pk=appointment_pk(appointment.tenant_id, appointment.appointment_id),
            sk=APPOINTMENT_SK,
            tenant_id=appointment.tenant_id,
            appointment_id=appointment.appointment_id,
            external_id=appointment.external_id,
            phone=appointment.phone,
            starts_at=appointment.starts_at,
            timezone=appointment.timezone,
            kind=appointment.kind.value,
            language=appointment.language,
            status=appointment.status.value,
            tenant_status=tenant_status_key(appointment.tenant_id, appointment.status.value),
            version=appointment.version,
            reminder_offsets=list(appointment.reminder_offsets),
            first_name=appointment.first_name,
            location=appointment.location,
            window_ends_at=appointment.window_ends_at,
            technician_name=appointment.technician_name,
            customer_status=appointment.customer_status.value
            if appointment.customer_status
            else None,
            created_at=appointment.created_at,
            updated_at=appointment.updated_at,
            plan_version=appointment.current_plan,
            late_minutes=appointment.late_minutes,
            fhir_patient_participant=appointment.fhir_patient_participant,
            last_reply_id=appointment.last_reply_id,
            last_reply_at=appointment.last_reply_at,
            lookup_key=phone_lookup_key(appointment.tenant_id, appointment.phone),
            lookup_at=appointment.starts_at,
        )

    def _reminder_item(self, appointment: Appointment, reminder: Reminder) -> ReminderItem:
        item = ReminderItem(
            pk=appointment_pk(appointment.tenant_id, appointment.appointment_id),
            sk=reminder_sk(reminder.reminder_id),
            tenant_id=appointment.tenant_id,
            appointment_id=appointment.appointment_id,
            reminder_id=reminder.reminder_id,
            appointment_version=reminder.appointment_version,
            offsets=list(reminder.offsets),
            send_at=reminder.send_at,
            status=reminder.status.value,
            reason=reminder.reason,
            updated_at=appointment.updated_at,
            appointment_starts_at=appointment.starts_at,
            phone=appointment.phone,
        )
        return self._due.place(item, reminder)


def _key(appointment: Appointment, reminder: Reminder) -> ReminderKey:
    return ReminderKey(appointment.tenant_id, appointment.appointment_id, reminder.reminder_id)


def _status_of(reminder: Reminder, now: datetime) -> list[Action]:
    """Updates that store ``reminder``'s status and reason as of ``now``."""
    return [
        ReminderItem.status.set(reminder.status.value),
        ReminderItem.reason.set(reminder.reason or ""),
        ReminderItem.updated_at.set(now),
    ]


@dataclass(frozen=True)
class VersionCheck:
    """The appointment is still at ``version``: any change since it was read (rescheduled,
    cancelled, confirmed, edited) fails the transaction this is part of."""

    tenant_id: str
    appointment_id: str
    version: int

    def add_to(self, transaction: TransactWrite) -> None:
        transaction.condition_check(
            AppointmentItem,
            appointment_pk(self.tenant_id, self.appointment_id),
            APPOINTMENT_SK,
            condition=AppointmentItem.version == self.version,
        )


def _appointment(item: AppointmentItem, reminders: Any) -> Appointment:
    ordered = sorted(reminders, key=lambda r: (r.appointment_version, _ordinal(r.reminder_id)))
    return Appointment(
        tenant_id=item.tenant_id,
        appointment_id=item.appointment_id,
        external_id=item.external_id,
        phone=item.phone,
        starts_at=item.starts_at,
        timezone=item.timezone,
        kind=AppointmentKind(item.kind),
        language=item.language,
        status=AppointmentStatus(item.status),
        version=int(item.version),
        reminder_offsets=strings(item.reminder_offsets),
        first_name=item.first_name,
        location=item.location,
        window_ends_at=item.window_ends_at,
        technician_name=item.technician_name,
        customer_status=CustomerStatus(item.customer_status) if item.customer_status else None,
        created_at=item.created_at,
        updated_at=item.updated_at,
        plan_version=int(item.plan_version or item.version),
        late_minutes=None if item.late_minutes is None else int(item.late_minutes),
        fhir_patient_participant=None
        if item.fhir_patient_participant is None
        else int(item.fhir_patient_participant),
        last_reply_id=item.last_reply_id,
        last_reply_at=item.last_reply_at,
        reminders=tuple(_reminder(r) for r in ordered),
    )


def _reminder(item: ReminderItem) -> Reminder:
    return Reminder(
        reminder_id=item.reminder_id,
        appointment_version=int(item.appointment_version),
        offsets=strings(item.offsets),
        send_at=item.send_at,
        status=MessageStatus(item.status),
        reason=item.reason,
    )


def _ordinal(reminder_id: str) -> int:
    _, _, number = reminder_id.rpartition(".")
    return int(number) if number.isdigit() else 0
