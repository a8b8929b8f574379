"""Request and response bodies of the clinic API. The OpenAPI document is generated from these."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from reach.domain.callbacks import Callback
from reach.domain.campaigns import Campaign, CampaignStatus, RecipientOutcome
from reach.domain.caps import Contact
from reach.domain.durations import reminder_offset
from reach.domain.errors import InvalidInput
from reach.domain.forecast import Forecast
from reach.domain.languages import SUPPORTED_LANGUAGES, supported_language
from reach.domain.lists import (
    ConsentSource,
    Frequency,
    FrequencyPeriod,
    ListPurpose,
    Member,
    MemberConsent,
    MemberStatus,
    OptInList,
    confirmation_text,
    list_keyword,
)
from reach.domain.message import Message
from reach.domain.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    CustomerStatus,
    Reminder,
)
from reach.domain.notices import MAX_LINK_LENGTH, MAX_NOTICE_PARTS, Notice, NoticeType
from reach.domain.survey_flow import SurveyResponse
from reach.domain.survey_results import QuestionResults, SurveyResults
from reach.domain.surveys import (
    DEFAULT_EXPIRES_AFTER,
    SURVEY_LANGUAGES,
    Question,
    QuestionType,
    Survey,
    SurveyDefinition,
    survey_from_dict,
    survey_to_dict,
)
from reach.domain.text import plain_text
from reach.domain.zones import load_zone, zone_name
from reach.services.appointments import AppointmentChanges, NewAppointment
from reach.services.campaigns import MAX_PARTS, CampaignPlan, CampaignProgress, NewCampaign
from reach.services.consent import source_kind
from reach.services.lists import ListChanges, NewList, NewMember
from reach.services.notices import NoticeRequest
from reach.services.survey_results import shown_answers

if TYPE_CHECKING:
    from reach.data.consent_log import ConsentEntry
    from reach.data.survey_sends import SurveySend


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


ListName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=60,
        description="The program's name, as the sign-up confirmation says it",
        examples=["Pantry alerts"],
    ),
    _plain_text("name"),
]
Keyword = Annotated[
    str,
    # The pattern first: the domain's check (reserved words) then runs on one word only.
    Field(
        pattern=r"^[A-Za-z0-9]{2,20}$",
        description="One word people text to join, unique among your lists. Case does not "
        "matter; stored upper case. STOP, HELP, START, YES and their synonyms are reserved "
        "(422)",
        examples=["ALERTS"],
    ),
    _domain(list_keyword),
]
ListDescription = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=300),
    AfterValidator(_note_text),
    Field(
        description="What members get, for the consent record (part of the terms version)",
        examples=["Pick-up times and closures"],
    ),
]


class FrequencyBody(BaseModel):
    """The rate a list declares to its members, and caps its campaigns at."""

    model_config = ConfigDict(extra="forbid")

    messages: int = Field(ge=1, le=100, strict=True, examples=[4])
    per: FrequencyPeriod = Field(description="A month counts as 30 days")

    def to_domain(self) -> Frequency:
        return Frequency(self.messages, self.per)

    @classmethod
    def of(cls, frequency: Frequency) -> FrequencyBody:
        return cls(messages=frequency.messages, per=frequency.per)


class CreateListRequest(BaseModel):
    """A list people join by texting its keyword, or that you add them to with consent."""

    model_config = ConfigDict(extra="forbid")

    name: ListName
    keyword: Keyword
    description: ListDescription = ""
    frequency: FrequencyBody
    purpose: ListPurpose = Field(
        description="marketing lists need written consent with evidence for every member"
    )
    double_opt_in: bool = Field(
        default=False,
        strict=True,
        description="Members you add are pending until they reply YES (48 hours)",
    )

    def to_command(self) -> NewList:
        return NewList(
            name=self.name,
            keyword=self.keyword,
            frequency=self.frequency.to_domain(),
            purpose=self.purpose,
            double_opt_in=self.double_opt_in,
            description=self.description,
        )


class UpdateListRequest(BaseModel):
    """A PATCH: only the fields present change; none may be null."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=lambda s: _list_patch_schema(s))

    name: ListName | None = None
    keyword: Keyword | None = None
    description: ListDescription | None = None
    frequency: FrequencyBody | None = None
    purpose: ListPurpose | None = None
    double_opt_in: bool | None = Field(default=None, strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null; leave it out to keep it as it is")
        return value

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("nothing to change: send at least one field")
        return self

    def to_command(self) -> ListChanges:
        return ListChanges(
            name=self.name,
            keyword=self.keyword,
            description=self.description,
            frequency=self.frequency.to_domain() if self.frequency else None,
            purpose=self.purpose,
            double_opt_in=self.double_opt_in,
        )


def _list_patch_schema(schema: dict[str, Any]) -> None:
    _not_nullable(schema, ())
    schema["anyOf"] = [{"required": [name]} for name in schema.get("properties", {})]


class MemberCounts(BaseModel):
    pending: int
    active: int
    left: int
    expired: int


class ListView(BaseModel):
    id: str
    name: str
    keyword: str
    description: str
    frequency: FrequencyBody
    purpose: ListPurpose
    double_opt_in: bool
    counts: MemberCounts = Field(description="Members by status, as of this answer")
    confirmation_text: str = Field(
        description="What a person who texts the keyword is answered (at most 2 SMS parts)"
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, plist: OptInList, program: str) -> ListView:
        return cls(
            id=plist.list_id,
            name=plist.name,
            keyword=plist.keyword,
            description=plist.description,
            frequency=FrequencyBody.of(plist.frequency),
            purpose=plist.purpose,
            double_opt_in=plist.double_opt_in,
            counts=MemberCounts(**{s.value: plist.count(s) for s in MemberStatus}),
            confirmation_text=confirmation_text(program, plist),
            version=plist.version,
            created_at=plist.created_at,
            updated_at=plist.updated_at,
        )


class ListList(BaseModel):
    items: list[ListView]


class ApiConsentSource(StrEnum):
    """How the tenant obtained a member's consent (a YES and imports are recorded by Reach)."""

    KEYWORD = ConsentSource.KEYWORD.value
    WEB_FORM = ConsentSource.WEB_FORM.value
    PAPER_FORM = ConsentSource.PAPER_FORM.value
    VERBAL = ConsentSource.VERBAL.value


class ConsentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: ApiConsentSource = Field(
        description="keyword, web_form and paper_form are written consent, which a "
        "marketing list requires (with evidence)"
    )
    obtained_at: Annotated[AwareDatetime, IsoTimestamp] = Field(
        description="When the person consented: ISO 8601 with offset, not in the future",
        examples=["2026-03-02T10:15:00-05:00"],
    )
    evidence: Evidence | None = Field(
        default=None,
        description="Proof of the consent (a form's id or URL, a signed sheet's reference); "
        "required on a marketing list",
    )

    def to_domain(self) -> MemberConsent:
        return MemberConsent(ConsentSource(self.source.value), self.obtained_at, self.evidence)


class AddMemberRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Phone = Field(
        description="A mobile number, E.164 or national format of your number's country"
    )
    first_name: FirstName | None = None
    timezone: ZoneName | None = Field(
        default=None,
        description="The member's IANA time zone; without it a campaign keeps to the quiet "
        "hours of every zone the number's area may be in",
    )
    consent: ConsentBody

    def to_command(self) -> NewMember:
        return NewMember(
            phone=self.phone,
            consent=self.consent.to_domain(),
            first_name=self.first_name,
            timezone=self.timezone,
        )


class MemberConsentView(BaseModel):
    source: str
    obtained_at: datetime
    evidence: str | None = None


class MemberView(BaseModel):
    phone: str
    status: MemberStatus
    first_name: str | None
    timezone: str | None
    joined_at: datetime | None = Field(description="When the member became active")
    pending_until: datetime | None = Field(description="Pending: the deadline for YES")
    left_reason: str | None = Field(description="removed, stop_keyword or opted_out")
    consent: MemberConsentView | None
    terms_version: str | None = Field(description="The version of the wording the member agreed to")
    updated_at: datetime

    @classmethod
    def of(cls, member: Member) -> MemberView:
        consent = member.consent
        return cls(
            phone=member.phone,
            status=member.status,
            first_name=member.first_name,
            timezone=member.timezone,
            joined_at=member.joined_at,
            pending_until=member.pending_until,
            left_reason=member.left_reason,
            consent=MemberConsentView(
                source=consent.source.value,
                obtained_at=consent.obtained_at,
                evidence=consent.evidence,
            )
            if consent
            else None,
            terms_version=member.terms_version,
            updated_at=member.updated_at,
        )


class MemberList(BaseModel):
    items: list[MemberView]
    next_token: str | None = Field(description="Pass as next_token for the next page")


class ConsentEntryView(BaseModel):
    at: datetime
    scope: str = Field(description="tenant (everything you send), or list#<id>")
    action: str = Field(description="opted_out, opted_in, invited, joined, left or expired")
    source: str = Field(description="api, keyword, web_form, sms_keyword, import...")
    cause: str | None = Field(
        default=None, description="What made the change: a request or inbound message id"
    )
    evidence: str | None = None
    terms_version: str | None = None

    @classmethod
    def of(cls, entry: ConsentEntry) -> ConsentEntryView:
        return cls(
            at=entry.at,
            scope=entry.scope,
            action=entry.action.value,
            source=entry.source,
            cause=entry.cause,
            evidence=entry.evidence,
            terms_version=entry.terms_version,
        )


class ConsentHistoryView(BaseModel):
    phone: str
    items: list[ConsentEntryView] = Field(description="Oldest first; the latest 200")


_CAMPAIGN_TEXT = (
    "The text, which may use {first_name} (left out when unknown). It must name the program "
    f"(your organisation's name), fit {MAX_PARTS} SMS parts with a long first name, and give "
    "no health details (a condition, test, treatment or specialty)"
)


class CreateCampaignRequest(BaseModel):
    """A campaign: one text to every active member of a list, from ``send_at``."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, _plain_text("name"), Field(min_length=1, max_length=100)]
    list_id: Annotated[
        str,
        Field(
            min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$", description="A list of yours"
        ),
    ]
    message: Annotated[
        str,
        AfterValidator(_note_text),
        Field(
            min_length=1,
            max_length=1000,
            description=_CAMPAIGN_TEXT,
            examples=[
                "Hi {first_name}, Riverside Family Clinic: our open day moved to Sat. "
                "Reply STOP to opt out"
            ],
        ),
    ]
    send_at: Annotated[AwareDatetime, IsoTimestamp] = Field(
        description="When the campaign starts: ISO 8601 with offset, at most 5 minutes in the "
        "past (then it starts at once)",
        examples=["2099-03-06T10:00:00-05:00"],
    )

    def to_command(self) -> NewCampaign:
        return NewCampaign(**self.model_dump())


class SendWindowView(BaseModel):
    opens_at: datetime = Field(description="When these recipients' local hours first allow it")
    recipients: int


class CostView(BaseModel):
    amount: str = Field(description="Estimated SMS cost, a decimal amount in `currency`")
    currency: str
    priced_recipients: int
    unpriced_recipients: int = Field(
        description="Recipients in countries the price table lacks (not in `amount`)"
    )
    prices_as_of: str = Field(description="The date of the price table")
    source: str = Field(description="Where the prices come from")


class ForecastView(BaseModel):
    """The send as forecast before it starts."""

    recipients: int = Field(description="Active members of the list now")
    parts: int
    mps: float = Field(description="The sending number's message parts per second")
    origination_type: str
    windows: list[SendWindowView] = Field(
        description="Recipients per local send window, by opening time"
    )
    spills_into_quiet_hours: bool = Field(
        description="Some recipients are held to a later window by their quiet hours"
    )
    held: int = Field(description="Recipients held to a later window")
    unreachable: int = Field(
        description="Recipients whose possible time zones never share allowed hours"
    )
    reminders_due: int = Field(
        description="Your reminders due in that time on the same number; they go first"
    )
    reminders_due_at_least: bool = Field(description="Counting stopped at a bound: at least")
    sending_seconds: float = Field(description="Time at the number's pace, reminders included")
    estimated_finish: datetime
    cost: CostView

    @classmethod
    def of(cls, forecast: Forecast) -> ForecastView:
        cost = forecast.cost
        return cls(
            recipients=forecast.recipients,
            parts=forecast.parts,
            mps=forecast.mps,
            origination_type=forecast.origination_type,
            windows=[
                SendWindowView(opens_at=w.opens_at, recipients=w.recipients)
                for w in forecast.windows
            ],
            spills_into_quiet_hours=forecast.spills_into_quiet_hours,
            held=forecast.held,
            unreachable=forecast.unreachable,
            reminders_due=forecast.reminders_due,
            reminders_due_at_least=forecast.reminders_due_at_least,
            sending_seconds=round(forecast.sending_seconds, 3),
            estimated_finish=forecast.estimated_finish,
            cost=CostView(
                amount=f"{cost.amount:f}",
                currency=cost.currency,
                priced_recipients=cost.priced_recipients,
                unpriced_recipients=cost.unpriced_recipients,
                prices_as_of=cost.prices_as_of,
                source=cost.source,
            ),
        )


#: The outcomes GET /campaigns/{id} counts, each a counter of the send side.
_OUTCOMES = ("total", "sent", "delivered", "undelivered", "held", "failed")
_SKIP_PREFIX = "skipped_"


class CampaignCounts(BaseModel):
    total: int
    sent: int
    delivered: int
    undelivered: int
    held: int
    failed: int
    skipped: dict[str, int] = Field(
        description="Skipped recipients by reason (opted_out, left_list, frequency_cap...)"
    )

    @classmethod
    def of(cls, counts: dict[str, int]) -> CampaignCounts:
        return cls(
            **{name: counts.get(name, 0) for name in _OUTCOMES},
            skipped={
                name.removeprefix(_SKIP_PREFIX): value
                for name, value in sorted(counts.items())
                if name.startswith(_SKIP_PREFIX)
            },
        )


class CampaignView(BaseModel):
    id: str
    name: str
    list_id: str
    message: str
    status: CampaignStatus
    parts: int = Field(description="SMS parts of the text with a long first name")
    encoding: str = Field(description="GSM-7 or UCS-2")
    send_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    estimated_finish: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    counts: CampaignCounts | SkipJsonSchema[None] = Field(default=None, exclude_if=_absent)
    forecast: ForecastView | SkipJsonSchema[None] = Field(default=None, exclude_if=_absent)

    @classmethod
    def of(
        cls,
        campaign: Campaign,
        *,
        counts: dict[str, int] | None = None,
        forecast: Forecast | None = None,
    ) -> CampaignView:
        return cls(
            id=campaign.campaign_id,
            name=campaign.name,
            list_id=campaign.list_id,
            message=campaign.message,
            status=campaign.status,
            parts=campaign.parts,
            encoding=campaign.encoding,
            send_at=campaign.send_at,
            started_at=campaign.started_at,
            finished_at=campaign.finished_at,
            estimated_finish=campaign.estimated_finish,
            version=campaign.version,
            created_at=campaign.created_at,
            updated_at=campaign.updated_at,
            counts=CampaignCounts.of(counts) if counts is not None else None,
            forecast=ForecastView.of(forecast) if forecast is not None else None,
        )

    @classmethod
    def of_progress(cls, progress: CampaignProgress) -> CampaignView:
        return cls.of(progress.campaign, counts=progress.counts)


class CampaignDryRun(BaseModel):
    """What a campaign would do: nothing is created."""

    status: str = Field(description="Always dry_run: nothing was created")
    parts: int
    encoding: str
    forecast: ForecastView

    @classmethod
    def of(cls, plan: CampaignPlan) -> CampaignDryRun:
        return cls(
            status="dry_run",
            parts=plan.segments.parts,
            encoding=plan.segments.encoding.value,
            forecast=ForecastView.of(plan.forecast),
        )


class RecipientStatus(StrEnum):
    """A campaign recipient's message status."""

    QUEUED = "queued"
    HELD = "held"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    SKIPPED = "skipped"


class CampaignRecipientView(BaseModel):
    phone: str
    status: str
    reason: str | None
    updated_at: datetime | None

    @classmethod
    def of(cls, outcome: RecipientOutcome) -> CampaignRecipientView:
        return cls(
            phone=outcome.phone,
            status=outcome.status,
            reason=outcome.reason,
            updated_at=outcome.updated_at,
        )


class CampaignRecipientList(BaseModel):
    items: list[CampaignRecipientView]
    next_token: str | None = Field(description="Pass as next_token for the next page")


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


# --- surveys (issue 14) --------------------------------------------------------------------

_SURVEY_LANGUAGE = re.compile(rf"({'|'.join(SURVEY_LANGUAGES)})(-[A-Z]{{2}})?")


def _survey_language_tag(value: object) -> object:
    if isinstance(value, str) and not _SURVEY_LANGUAGE.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a language surveys are read in: use one of "
            f"{', '.join(SURVEY_LANGUAGES)}, or a regional variant such as es-MX"
        )
    return value


SurveyLanguage = Annotated[
    str,
    Field(
        pattern=rf"^({'|'.join(SURVEY_LANGUAGES)})(-[A-Z]{{2}})?$",
        examples=["en", "es", "fr-CA"],
        description="The language answers are read in (number words) and re-prompts are "
        f"written in. Supported: {', '.join(SURVEY_LANGUAGES)}.",
    ),
    BeforeValidator(_survey_language_tag),
]
QuestionId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9_-]+$",
        examples=["nps"],
        description="Unique in the survey; `end` is reserved (a goto to it ends the survey)",
    ),
]
SurveyText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    AfterValidator(_note_text),
]
_SURVEY_TEXT_RULES = (
    "at most 2 SMS parts as sent (see the question's description), and no health details "
    "(a condition, test, treatment or specialty)"
)


class SurveyChoiceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(
        min_length=1,
        max_length=10,
        pattern=r"^[A-Za-z0-9]+$",
        examples=["1"],
        description="What the recipient may reply; unique in the question, ignoring case",
    )
    label: Annotated[str, _plain_text("label"), Field(min_length=1, max_length=40)] = Field(
        examples=["Yes"],
        description="May be replied too, ignoring case and punctuation; never a STOP, START "
        "or HELP word, nor another choice's key or label",
    )
    action: Literal["callback"] | None = Field(
        default=None,
        description="callback: choosing it opens a callback request (the callbacks feature)",
    )


def _one_operator(schema: dict[str, Any]) -> None:
    schema["minProperties"] = 1
    schema["maxProperties"] = 1


_ChoiceKey = Annotated[StrictStr, Field(min_length=1, max_length=10)]


class SurveyConditionBody(BaseModel):
    """Exactly one operator. A scale takes lte, gte, lt, gt, equals and in, with whole
    numbers within its range; a choice takes equals and in, with its keys; free text none."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=_one_operator, serialize_by_alias=True
    )

    lte: int | None = Field(default=None, strict=True)
    gte: int | None = Field(default=None, strict=True)
    lt: int | None = Field(default=None, strict=True)
    gt: int | None = Field(default=None, strict=True)
    equals: StrictInt | _ChoiceKey | None = None
    in_: list[StrictInt | _ChoiceKey] | None = Field(
        default=None, alias="in", min_length=1, max_length=20
    )


class SurveyRuleBody(BaseModel):
    model_config = ConfigDict(extra="forbid", serialize_by_alias=True)

    if_: SurveyConditionBody | None = Field(
        default=None, alias="if", description="Absent: the rule always applies"
    )
    goto: QuestionId = Field(description="A question's id, or `end`")


class SurveyQuestionBody(BaseModel):
    """A choice question is sent as its text then each choice as `<key> <label>`: "Was the
    technician on time? 1 Yes 2 No". The first question is sent after the intro and before
    the opt-out line ("Reply STOP to opt out"), in one text."""

    model_config = ConfigDict(extra="forbid", serialize_by_alias=True)

    id: QuestionId
    text: SurveyText = Field(description=_SURVEY_TEXT_RULES)
    type: QuestionType
    choices: list[SurveyChoiceBody] | None = Field(
        default=None, max_length=10, description="choice questions only: at least 2"
    )
    min: int | None = Field(default=None, strict=True, ge=0, le=100, description="scale only")
    max: int | None = Field(
        default=None, strict=True, ge=0, le=100, description="scale only: above min"
    )
    next: list[SurveyRuleBody] | None = Field(
        default=None,
        max_length=10,
        description="Read in order, the first that matches wins; none matching (or no "
        "answer), the next question in the list. No cycles; every question reachable",
    )


class SurveyTriggerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: Literal["appointment_completed"]
    delay: str = Field(
        max_length=32, examples=["PT2H"], description="ISO 8601 duration after the event"
    )
    kinds: list[AppointmentKind] = Field(
        min_length=1, max_length=len(AppointmentKind), json_schema_extra={"uniqueItems": True}
    )


class CreateSurveyRequest(BaseModel):
    """A survey: its questions, their branching, and optionally what sends it."""

    model_config = ConfigDict(extra="forbid", serialize_by_alias=True)

    name: Annotated[str, _plain_text("name"), Field(min_length=1, max_length=100)]
    language: SurveyLanguage
    intro: SurveyText | None = Field(
        default=None, description="Sent with the first question; " + _SURVEY_TEXT_RULES
    )
    thanks: SurveyText | None = Field(
        default=None, description="Sent after the last answer; " + _SURVEY_TEXT_RULES
    )
    expires_after: str = Field(
        default=DEFAULT_EXPIRES_AFTER,
        max_length=32,
        examples=["PT24H"],
        description="ISO 8601 duration (days, hours, minutes) without an answer after which "
        "a response expires",
    )
    nudge_after: str | None = Field(
        default=None,
        max_length=32,
        examples=["PT4H"],
        description="ISO 8601 duration: one reminder of the waiting question when it has no "
        "answer by then (shorter than expires_after; held to quiet hours and the caps)",
    )
    questions: list[SurveyQuestionBody] = Field(min_length=1, max_length=20)
    trigger: SurveyTriggerBody | None = None

    def to_definition(self) -> SurveyDefinition:
        """The definition as the domain reads it; an explicit null is kept, so that a
        condition such as {"lte": 6, "gte": null} is not taken for one operator."""
        return survey_from_dict(self.model_dump(mode="json", by_alias=True, exclude_unset=True))


class SurveyView(CreateSurveyRequest):
    """A stored survey, as it was defined (durations in capitals, defaults filled in)."""

    id: str = Field(examples=["srv_0123456789abcdef0123456789abcdef"])
    created_at: datetime

    @classmethod
    def of(cls, survey: Survey) -> SurveyView:
        return cls.model_validate(
            {
                "id": survey.survey_id,
                "created_at": survey.created_at,
                **survey_to_dict(survey.definition),
            }
        )


class SurveyList(BaseModel):
    items: list[SurveyView]
    next_token: str | None = Field(description="Pass as next_token for the next page")


# --- survey results (issue #14, item 4) -------------------------------------------------


class DispositionCounts(BaseModel):
    sent: int = Field(description="The first question went; no answer yet")
    started: int = Field(description="Answering, not expired")
    partial: int = Field(description="Answered some, then expired")
    completed: int
    stopped: int = Field(description="STOP mid-survey")
    expired: int = Field(description="Expired without any answer")


class ChoiceCount(BaseModel):
    key: str
    label: str
    count: int


class ValueCount(BaseModel):
    value: int
    count: int


class QuestionResultsView(BaseModel):
    id: str
    type: QuestionType
    text: str
    answered: int
    choices: list[ChoiceCount] | None
    distribution: list[ValueCount] | None
    mean: float | None
    median: float | None
    nps: float | None = Field(description="0-10 scales: % of 9-10 minus % of 0-6")


class SurveyResultsView(BaseModel):
    """GET /surveys/{id}/results: counted over responses with a disposition only."""

    survey_id: str
    name: str
    dispositions: DispositionCounts
    responses: int = Field(description="All responses, any disposition")
    response_rate: float | None = Field(
        description="Responses that answered at least one question, over all; null with none"
    )
    questions: list[QuestionResultsView]
    not_sent: dict[str, int] = Field(
        description="Never sent, so in no count above: waiting behind another survey, queued "
        "with the send path, or why it never went (e.g. opted_out)"
    )

    @classmethod
    def of(cls, survey: Survey, results: SurveyResults, not_sent: dict[str, int]) -> Self:
        return cls(
            survey_id=survey.survey_id,
            name=survey.definition.name,
            dispositions=DispositionCounts(
                **{d.value: count for d, count in results.dispositions.items()}
            ),
            responses=results.responses,
            response_rate=results.response_rate,
            questions=[
                _question_results(question, tally)
                for question, tally in zip(
                    survey.definition.questions, results.questions, strict=True
                )
            ],
            not_sent=not_sent,
        )


def _question_results(question: Question, tally: QuestionResults) -> QuestionResultsView:
    labels = {choice.key: choice.label for choice in question.choices}
    return QuestionResultsView(
        id=question.id,
        type=question.type,
        text=question.text,
        answered=tally.answered,
        choices=None
        if tally.choices is None
        else [
            ChoiceCount(key=key, label=labels.get(key, key), count=count)
            for key, count in tally.choices.items()
        ],
        distribution=None
        if tally.distribution is None
        else [ValueCount(value=v, count=c) for v, c in sorted(tally.distribution.items())],
        mean=tally.mean,
        median=tally.median,
        nps=tally.nps,
    )


class AnswerView(BaseModel):
    value: str | int | None
    at: datetime
    truncated: bool


class ResponseView(BaseModel):
    id: str
    contact: str = Field(
        description="A pseudonymous id of the person, the same across your surveys; never "
        "the phone number"
    )
    state: str
    disposition: str | None = Field(description="null: never sent (see state)")
    answers: dict[str, AnswerView]
    created_at: datetime
    first_sent_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, response: SurveyResponse, contact: str) -> Self:
        disposition = response.disposition()
        return cls(
            id=response.response_id,
            contact=contact,
            state=response.state.value,
            disposition=None if disposition is None else disposition.value,
            answers={
                qid: AnswerView(value=a.value, at=a.at, truncated=a.truncated)
                for qid, a in shown_answers(response).items()
            },
            created_at=response.created_at,
            first_sent_at=response.first_sent_at,
            finished_at=response.finished_at,
        )


class ResponseList(BaseModel):
    items: list[ResponseView]
    next_token: str | None = Field(description="Pass as next_token for the next page")


class FlowResultsRows(BaseModel):
    """A page of a Flow Results package's rows: [timestamp, row_id, contact_id, question_id,
    response, response_metadata], one per answer."""

    responses: list[list[Any]]
    next_token: str | None = Field(description="Pass as next_token for the next page")


_TARGET_ID = Field(default=None, min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")


class SurveySendRequest(BaseModel):
    """Whom to send a survey to: exactly one of a list (its active members) or an
    appointment (its phone)."""

    model_config = ConfigDict(extra="forbid")

    list_id: Annotated[str | None, _TARGET_ID] = None
    appointment_id: Annotated[str | None, _TARGET_ID] = None


class SurveySendCounts(BaseModel):
    responses: int = Field(
        description="Responses this send has started so far: one per person (a list send "
        "grows while it is starting)"
    )


class SurveySendView(BaseModel):
    """One send of a survey, and how far it has got."""

    id: str = Field(examples=["snd_0123456789abcdef0123456789abcdef"])
    survey_id: str
    list_id: str | None = None
    appointment_id: str | None = None
    status: Literal["starting", "done"] = Field(
        description="starting: a list send is still starting its members' responses (the "
        "dispatcher does it, a page each minute); done: every response is started"
    )
    counts: SurveySendCounts
    created_at: datetime
    finished_at: datetime | None = None

    @classmethod
    def of(cls, send: SurveySend) -> SurveySendView:
        return cls(
            id=send.send_id,
            survey_id=send.survey_id,
            list_id=send.list_id,
            appointment_id=send.appointment_id,
            status="done" if send.done else "starting",
            counts=SurveySendCounts(responses=send.responses),
            created_at=send.created_at,
            finished_at=send.finished_at,
        )
