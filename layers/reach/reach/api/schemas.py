"""Request and response bodies of the clinic API. The OpenAPI document is generated from these."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from reach.domain.callbacks import Callback
from reach.domain.caps import Contact
from reach.domain.durations import reminder_offset
from reach.domain.errors import InvalidInput
from reach.domain.languages import SUPPORTED_LANGUAGES, supported_language
from reach.domain.message import Message
from reach.domain.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    CustomerStatus,
    Reminder,
)
from reach.domain.notices import MAX_LINK_LENGTH, MAX_NOTICE_PARTS, Notice, NoticeType
from reach.domain.text import plain_text
from reach.domain.zones import load_zone, zone_name
from reach.services.appointments import AppointmentChanges, NewAppointment
from reach.services.consent import source_kind
from reach.services.notices import NoticeRequest


def _domain(check: Callable[[str], str]) -> AfterValidator:
    """A domain validator on a field: its InvalidInput becomes the ValueError pydantic reports
    as a 422 naming the field (or list item) at fault, with the domain's own message."""

    def checked(text: str) -> str:
        try:
            return check(text)
        except InvalidInput as error:
            raise ValueError(error.reason) from error

    return AfterValidator(checked)


def _encodable(text: str) -> None:
    """JSON's \\ud800 escape decodes to a lone surrogate, which no UTF-8 store or SMS can
    carry: refused here, naming the field, rather than failing the write later."""
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise ValueError("must be valid Unicode text, without unpaired surrogates (\\ud800)")


_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", re.IGNORECASE)
_TIMESTAMP_EXPECTED = (
    "must be an ISO 8601 date and time with a UTC offset, e.g. 2026-03-08T08:30:00-04:00"
)


def _timestamp_text(value: object) -> object:
    """Before pydantic parses a timestamp: only an ISO 8601 date and time. Left to itself it
    reads a number, or a string of digits such as "0.5", as seconds since 1970."""
    if isinstance(value, datetime):
        return value  # built in code, not read from a request
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value):
        raise ValueError(_TIMESTAMP_EXPECTED)
    return value


#: A timestamp in a body or query: ISO 8601 text only, never a number of seconds.
IsoTimestamp = BeforeValidator(_timestamp_text)


def _plain_text(field: str) -> AfterValidator:
    """One line of visible text that is texted (a name, a location): the domain's check,
    which names the character at fault (a lone surrogate, U+202E, U+0085, a line break)."""
    return _domain(lambda text: plain_text(field, text))


def _note_text(text: str) -> str:
    """Free text a person writes (a note, evidence of consent): line breaks are fine."""
    _encodable(text)
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise ValueError("must be plain text, without control characters")
    return text.strip()


OffsetText = Annotated[
    str,
    _domain(reminder_offset),
    Field(examples=["P1D", "PT2H", "P1D@18:00", "@07:30"], max_length=32),
]
ZoneName = Annotated[str, _domain(zone_name), Field(examples=["America/New_York"], max_length=64)]
FirstName = Annotated[
    str,
    _plain_text("first_name"),
    Field(
        min_length=1,
        max_length=40,
        description="First name only: reminders carry no more than the minimum necessary.",
    ),
]
TechnicianName = Annotated[
    str,
    _plain_text("technician_name"),
    Field(
        min_length=1,
        max_length=40,
        description="Service visits only: the technician's first name, as texts say it.",
    ),
]
WindowEnd = Annotated[
    AwareDatetime,
    IsoTimestamp,
    Field(
        description="Service visits only: when the arrival window closes (it opens at "
        "starts_at), ISO 8601 with offset, at most 12 hours after starts_at",
        examples=["2026-03-08T12:00:00-04:00"],
    ),
]
Location = Annotated[
    str,
    _plain_text("location"),
    Field(
        min_length=1,
        max_length=120,
        description="Where to go, e.g. the clinic's address; never a department or specialty.",
    ),
]
Note = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    AfterValidator(_note_text),
]
Evidence = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=500),
    AfterValidator(_note_text),
    Field(
        description="How the recipient's new consent was obtained, for the consent record",
        examples=["Signed SMS consent form at the front desk on 2027-03-02"],
    ),
]
_LANGUAGE_TAG = re.compile(r"[a-z]{2}(-[A-Z]{2})?")


def _language_tag(value: object) -> object:
    """Before the pattern: a tag of a language Reach writes, in words rather than a regular
    expression. A non-string is left to pydantic's own type error."""
    if isinstance(value, str):
        if not _LANGUAGE_TAG.fullmatch(value):
            raise ValueError(f"'{value}' is not a language tag such as en, es or es-MX")
        try:
            supported_language(value)
        except InvalidInput as error:
            raise ValueError(error.reason) from error
    return value


Language = Annotated[
    str,
    Field(
        # The document says exactly what is accepted: a supported language, maybe regional.
        pattern=rf"^({'|'.join(SUPPORTED_LANGUAGES)})(-[A-Z]{{2}})?$",
        examples=["en", "es", "es-MX"],
        description="The language of the texts; a regional variant is written in its base "
        f"language. Supported: {', '.join(SUPPORTED_LANGUAGES)}.",
    ),
    # After the Field, so that it runs first and the pattern stays in the document.
    BeforeValidator(_language_tag),
]
Phone = Annotated[str, Field(min_length=3, max_length=32, examples=["+12125550123"])]


class CreateAppointmentRequest(BaseModel):
    """A booking. The tenant is never part of the body: it comes from the API key."""

    model_config = ConfigDict(extra="forbid")

    phone: Phone = Field(
        description="Recipient's mobile number, E.164 or national format of the tenant's "
        "country. Refused (422): landline, toll-free, premium-rate and other service numbers, "
        "numbers with an extension, and your own or another tenant's sending number"
    )
    starts_at: Annotated[AwareDatetime, IsoTimestamp] = Field(
        description="ISO 8601 with offset, in the future",
        # An example in the future, so that a client (or a fuzzer) sending it is answered 201.
        examples=["2099-03-06T08:30:00-05:00"],
    )
    timezone: ZoneName | None = Field(
        default=None, description="Recipient's IANA time zone; the tenant's default when absent"
    )
    external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="Your id for the booking; repeating it returns the same appointment",
    )
    first_name: FirstName | None = None
    location: Location | None = None
    kind: AppointmentKind = AppointmentKind.CLINIC_VISIT
    language: Language = "en"
    reminders: list[OffsetText] | None = Field(
        default=None,
        max_length=5,
        description="ISO 8601 durations before the start, or local times of day: @07:30 "
        "(the day of the visit), P1D@18:00 (the day before). The tenant's default for the "
        "kind when absent",
    )
    window_ends_at: WindowEnd | None = None
    technician_name: TechnicianName | None = None

    def to_command(self) -> NewAppointment:
        """The booking as the appointment service takes it (the fields share their names)."""
        return NewAppointment(**self.model_dump())


#: The fields a PATCH may set to null, which removes them from the appointment.
_CLEARABLE = ("first_name", "location", "window_ends_at", "technician_name")


class UpdateAppointmentRequest(BaseModel):
    """A PATCH: only the fields present change. ``first_name``, ``location``,
    ``window_ends_at`` and ``technician_name`` may be null, which removes them."""

    # Absent means unchanged; only the _CLEARABLE fields may be sent as null. The document
    # says so: the others are not nullable there (``_not_nullable``).
    model_config = ConfigDict(extra="forbid", json_schema_extra=lambda s: _patch_schema(s))

    starts_at: Annotated[AwareDatetime, IsoTimestamp] | None = None
    timezone: ZoneName | None = None
    phone: Phone | None = None
    first_name: FirstName | None = None
    location: Location | None = None
    kind: AppointmentKind | None = None
    language: Language | None = None
    reminders: list[OffsetText] | None = Field(default=None, max_length=5)
    window_ends_at: WindowEnd | None = None
    technician_name: TechnicianName | None = None
    version: int | None = Field(
        default=None,
        ge=1,
        # A JSON integer only: never "6", true or 4.0.
        strict=True,
        description="Apply only if the appointment is still at this version",
    )

    @field_validator(
        "starts_at", "timezone", "phone", "kind", "language", "reminders", "version", mode="before"
    )
    @classmethod
    def _no_null_where_required(cls, value: object) -> object:
        # Runs only for fields the PATCH sends: absent means "unchanged", null is refused,
        # naming the field (only the _CLEARABLE fields can be cleared).
        if value is None:
            raise ValueError("may not be null; leave it out to keep it as it is")
        return value

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not self.model_fields_set - {"version"}:
            raise ValueError("nothing to change: send at least one field")
        return self

    def to_command(self) -> AppointmentChanges:
        """The PATCH as the appointment service takes it: absent fields stay None, and a
        ``first_name`` or ``location`` sent as null is named in ``cleared``."""
        return AppointmentChanges(
            **self.model_dump(exclude={"version"}),
            expected_version=self.version,
            cleared=frozenset(
                name
                for name in _CLEARABLE
                if name in self.model_fields_set and getattr(self, name) is None
            ),
        )


def _patch_schema(schema: dict[str, Any]) -> None:
    """The PATCH as the code takes it: fields not nullable but the clearable ones, and at
    least one field to change besides ``version``."""
    _not_nullable(schema, _CLEARABLE)
    schema["anyOf"] = [
        {"required": [name]} for name in schema.get("properties", {}) if name != "version"
    ]


def _not_nullable(schema: dict[str, Any], nullable: tuple[str, ...]) -> None:
    """The JSON schema of a model whose optional fields may be left out but not sent as
    null, except ``nullable``: ``X | None`` is documented as ``X``."""
    for name, field in schema.get("properties", {}).items():
        variants = field.get("anyOf")
        if name in nullable or not isinstance(variants, list):
            continue
        kept = [v for v in variants if v != {"type": "null"}]
        if len(kept) == 1:
            del field["anyOf"]
            field.update(kept[0])


class ReminderView(BaseModel):
    id: str
    send_at: datetime | None = Field(description="In the appointment's time zone; null if skipped")
    status: str
    offsets: list[str]
    reason: str | None = None
    version: int = Field(description="The appointment version this reminder was planned for")

    @classmethod
    def of(cls, reminder: Reminder, zone_name: str) -> ReminderView:
        zone = load_zone(zone_name)
        return cls(
            id=reminder.reminder_id,
            send_at=reminder.send_at.astimezone(zone) if reminder.send_at else None,
            status=reminder.status.value,
            offsets=list(reminder.offsets),
            reason=reminder.reason,
            version=reminder.appointment_version,
        )


class RecipientConsent(StrEnum):
    """The recipient's consent to this tenant's texts, as an appointment answer reports it."""

    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"

    @classmethod
    def of(cls, opted_out: bool) -> RecipientConsent:
        return cls.OPTED_OUT if opted_out else cls.OPTED_IN


def _absent(value: object) -> bool:
    return value is None


class AppointmentView(BaseModel):
    id: str
    external_id: str | None
    status: AppointmentStatus
    phone: str
    starts_at: datetime = Field(description="In the appointment's own time zone")
    timezone: str
    kind: AppointmentKind
    language: str
    first_name: str | None
    location: str | None
    window_ends_at: datetime | None = Field(
        default=None, description="Service visits: when the arrival window closes"
    )
    technician_name: str | None = None
    customer_status: CustomerStatus | None = Field(
        default=None,
        description="What the customer texted of their own part: not_home (the visit stays "
        "booked; you decide)",
    )
    reminder_offsets: list[str]
    version: int
    created_at: datetime
    updated_at: datetime
    # A list carries no reminders and no consent: it leaves them out rather than say null.
    reminders: list[ReminderView] | SkipJsonSchema[None] = Field(
        default=None,
        exclude_if=_absent,
        description="Every reminder planned, newest version last (single reads; absent from lists)",
    )
    consent: RecipientConsent | SkipJsonSchema[None] = Field(
        default=None,
        exclude_if=_absent,
        description="The recipient's consent to your texts, on bookings, changes and single "
        "reads (absent from lists and cancellations). opted_out: the booking is kept, but no "
        "text reaches them while they stay opted out",
    )

    @classmethod
    def of(
        cls,
        appointment: Appointment,
        *,
        with_reminders: bool = True,
        opted_out: bool | None = None,
    ) -> AppointmentView:
        zone = load_zone(appointment.timezone)
        return cls(
            id=appointment.appointment_id,
            external_id=appointment.external_id,
            status=appointment.status,
            phone=appointment.phone,
            starts_at=appointment.starts_at.astimezone(zone),
            timezone=appointment.timezone,
            kind=appointment.kind,
            language=appointment.language,
            first_name=appointment.first_name,
            location=appointment.location,
            window_ends_at=appointment.window_ends_at.astimezone(zone)
            if appointment.window_ends_at
            else None,
            technician_name=appointment.technician_name,
            customer_status=appointment.customer_status,
            reminder_offsets=list(appointment.reminder_offsets),
            version=appointment.version,
            created_at=appointment.created_at,
            updated_at=appointment.updated_at,
            reminders=[ReminderView.of(r, appointment.timezone) for r in appointment.reminders]
            if with_reminders
            else None,
            consent=None if opted_out is None else RecipientConsent.of(opted_out),
        )


class NoticeRequestBody(BaseModel):
    """A field-service notice: the technician is on the way, or running late."""

    model_config = ConfigDict(extra="forbid")

    type: NoticeType = Field(description="on_the_way, or delayed (with the new time)")
    eta: Annotated[AwareDatetime, IsoTimestamp] | None = Field(
        default=None,
        description="When the technician should arrive: ISO 8601 with offset, in the future "
        "and at most 12 hours ahead. Give this or eta_minutes, not both",
        examples=["2099-03-06T10:40:00-06:00"],
    )
    eta_minutes: int | None = Field(
        default=None,
        ge=1,
        le=720,
        strict=True,
        description="Minutes from now until the technician should arrive (1 to 720)",
        examples=[25],
    )
    link: str | None = Field(
        default=None,
        min_length=9,
        max_length=MAX_LINK_LENGTH,
        description="An https URL appended to the text (e.g. live tracking). It counts toward "
        f"the SMS parts: a notice longer than {MAX_NOTICE_PARTS} parts is refused, naming link",
        examples=["https://track.example.com/t/8f3k2"],
    )

    def to_request(self) -> NoticeRequest:
        return NoticeRequest(
            type=self.type, eta=self.eta, eta_minutes=self.eta_minutes, link=self.link
        )


class NoticeView(BaseModel):
    """A notice's message as it was asked for: ``queued`` for the send queue."""

    id: str
    type: NoticeType
    status: str = Field(description="queued when asked; then sending, sent, skipped or failed")
    eta: datetime = Field(description="In the appointment's time zone")
    link: str | None = None
    created_at: datetime

    @classmethod
    def of(cls, notice: Notice, zone_name: str) -> NoticeView:
        zone = load_zone(zone_name)
        return cls(
            id=notice.notice_id,
            type=notice.type,
            status=notice.status.value,
            eta=notice.eta.astimezone(zone),
            link=notice.link,
            created_at=notice.created_at.astimezone(zone),
        )


class AppointmentList(BaseModel):
    items: list[AppointmentView]
    next_token: str | None = Field(description="Pass as next_token for the next page")


class MessageView(BaseModel):
    """One message of an appointment's conversation, either direction."""

    id: str
    kind: str = Field(
        description="reminder, notice (a field-service notice), answer (our automatic answer) "
        "or inbound"
    )
    direction: str = Field(description="inbound (the recipient's reply) or outbound (ours)")
    status: str = Field(
        description="received (inbound); sent, failed, skipped, sending or retry (outbound); "
        "delivered or undelivered once the carrier's receipt came (End User Messaging)"
    )
    reason: str | None = Field(
        default=None,
        description="Why it failed, was skipped or was not delivered (e.g. carrier_blocked)",
    )
    body: str | None
    parts: int = Field(description="SMS segments the text took")
    encoding: str | None = Field(default=None, description="GSM-7 or UCS-2")
    intent: str | None = Field(
        default=None,
        description="Inbound: how the reply was read (confirm, opt_out, unknown...); "
        "outbound answers: the kind of answer",
    )
    reminder_id: str | None = Field(default=None, description="Outbound reminders: which one")
    created_at: datetime = Field(description="In the appointment's time zone")
    updated_at: datetime
    status_at: datetime | None = Field(
        default=None, description="When the carrier reported delivered or undelivered"
    )

    @classmethod
    def of(cls, message: Message, zone_name: str) -> MessageView:
        zone = load_zone(zone_name)
        return cls(
            id=message.message_id,
            kind=message.kind.value,
            direction=message.direction,
            status=message.status,
            reason=message.reason,
            body=message.body,
            parts=message.parts,
            encoding=message.encoding,
            intent=message.intent,
            reminder_id=message.reminder_id,
            created_at=message.created_at.astimezone(zone),
            updated_at=message.updated_at.astimezone(zone),
            status_at=message.status_at.astimezone(zone) if message.status_at else None,
        )


class MessageOrder(StrEnum):
    """Which end of a conversation a listing starts from."""

    OLDEST = "oldest"
    NEWEST = "newest"


class MessageList(BaseModel):
    items: list[MessageView] = Field(
        description="By time, and messages of the same time by id; oldest first unless order=newest"
    )
    next_token: str | None = Field(description="Pass as next_token for the next page")


class CallbackStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CallbackOutcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    LEFT_VOICEMAIL = "left_voicemail"
    WRONG_NUMBER = "wrong_number"
    OTHER = "other"


class CallbackView(BaseModel):
    """A recipient's request (CALL) to be called back."""

    id: str
    phone: str
    appointment_id: str | None = Field(description="The appointment it was about, if any")
    status: CallbackStatus
    requested_at: datetime = Field(description="In the tenant's time zone")
    expected_by: datetime = Field(description="When the recipient was told to expect the call")
    closed_at: datetime | None
    outcome: CallbackOutcome | None
    note: str | None

    @classmethod
    def of(cls, callback: Callback, zone_name: str) -> CallbackView:
        zone = load_zone(zone_name)
        return cls(
            id=callback.callback_id,
            phone=callback.phone,
            appointment_id=callback.appointment_id,
            status=CallbackStatus(callback.status),
            requested_at=callback.requested_at.astimezone(zone),
            expected_by=callback.expected_by.astimezone(zone),
            closed_at=callback.closed_at.astimezone(zone) if callback.closed_at else None,
            outcome=CallbackOutcome(callback.outcome) if callback.outcome else None,
            note=callback.note,
        )


class CallbackList(BaseModel):
    items: list[CallbackView]
    next_token: str | None = Field(description="Pass as next_token for the next page")


class CloseCallbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: CallbackOutcome
    note: Note | None = Field(default=None, description="Plain text, at most 500 characters")


class ContactView(BaseModel):
    """A recipient's consent with this tenant. A number never seen is opted in, no source."""

    phone: str
    opted_out: bool
    consent_source: str | None = Field(
        description="booking, api, sms_keyword (STOP/START...), provider_opt_out...",
    )
    consent_changed_at: datetime | None = Field(description="In the tenant's time zone")
    consent_note: str | None = Field(
        default=None,
        description="What the clinic recorded with an API change: the evidence of new "
        "consent, or the opt-out's note",
    )

    @classmethod
    def fields_of(cls, contact: Contact, zone_name: str) -> dict[str, Any]:
        changed = contact.consent_changed_at
        return {
            "phone": contact.phone,
            "opted_out": contact.opted_out,
            "consent_source": source_kind(contact.consent_source)
            if contact.consent_source
            else None,
            "consent_changed_at": changed.astimezone(load_zone(zone_name)) if changed else None,
            "consent_note": contact.consent_note,
        }

    @classmethod
    def of(cls, contact: Contact, zone_name: str) -> ContactView:
        return cls(**cls.fields_of(contact, zone_name))


class OptOutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note | None = Field(
        default=None, description="Why, e.g. how the recipient asked (kept in the audit log)"
    )


class OptOutView(ContactView):
    reminders_skipped: int = Field(description="Pending reminders this opt-out skipped")


class OptInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evidence: Evidence


class OptInView(ContactView):
    reminders_resumed: int = Field(description="Reminders skipped by the opt-out now pending")


class KeptField(BaseModel):
    field: str
    reason: str


class ErasureView(BaseModel):
    """What ``DELETE /contacts/{phone}`` erased and what it kept, and why."""

    phone: str = Field(description="The number the clinic asked about, E.164")
    opted_out: bool = Field(description="Kept: an opt-out stays in force after erasure")
    erased: dict[str, int] = Field(
        description="Items erased by this request, per kind of data (all 0 on a repeat)"
    )
    kept: list[KeptField]
    request_id: str = Field(description="Also in the ContactErased event, which has no phone")


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str
    message: str
    fields: list[FieldError] | None = None

    def payload(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)
