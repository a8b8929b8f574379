"""PynamoDB models of Reach's two tables, matching template.yaml's definitions.

TenantsTable (pk, sk) holds one item family per access path:
  ``tenant#<id> / profile``          the tenant
  ``tenant#<id> / key#<prefix>``     an API key's public record (listing, revocation)
  ``tenant#<id> / list#<id>``        an opt-in list, with its member counts
  ``tenant#<id> / listkw#<KEYWORD>`` which list holds a keyword (unique per tenant)
  ``contact#<tenant>#<e164> / consent#<time>#<id>``  the consent history (reach.data.consent_log)
  ``apikey#<sha256> / apikey``       the authorizer's lookup: one GetItem per cold key
  ``number#<e164> / number``         which tenant owns a sending number (reply routing)

AppointmentsTable (pk = ``<tenant>#<appointment>``) keeps an appointment and its reminders in
one item collection, so reading an appointment with its reminders is one Query:
  ``... / appointment``              the appointment; GSIs by_start and by_status list it
  ``... / appointment#reminder#<id>`` a reminder; while pending it carries due_shard/due_at and
                                     so sits in the sparse ``due`` GSI the dispatcher queries
  ``... / notice#<id>``             a field-service notice (and ``notice#last#<type>``,
                                     ``notice#key#<key>``: how a repeated request finds it)
  ``... / message#<time>#<id>``      one SMS of the appointment's conversation, either direction
  ``providermsg#<id> / providermsg`` provider message id -> our message (replies, receipts)
  ``<tenant>#contact#<e164> / message#...``  replies that matched no appointment
  ``<tenant>#callback#<id> / callback``      a recipient's request for a voice call back
  ``<tenant>#callbackguard#<e164> / ...``    at most one open callback per recipient
  ``config#page-tokens / key``       the stack's key for signing page tokens
  ``<tenant>#member#<list>#<e164> / member``  one phone on one opt-in list
  ``<tenant>#member#<list>#<e164> / invite``  its "Reply YES to join" text (double opt-in)
  ``<tenant>#campaign#<id> / campaign``      a campaign (reach.data.campaigns)
  ``<tenant>#campaigns / campaign#<id>``     the tenant's campaigns, for erasure (the same)
  ``<tenant>#import#<id> / import``          a list import and its report (reach.data.imports)
  ``<tenant>#campaign#<id> / count#<n>``     a shard of its counters (reach.data.recipients)
  ``<tenant>#campaign#<id>#<segment> / recipient#<e164>``  one member's text of it
  ``<tenant>#survey#<id> / survey``         a survey definition (model in reach.data.surveys)
  ``<tenant>#survey#<id> / response#<rid>``  one person's response; its texts, first question
                                     and nudge live in ``<tenant>#survey#<id>#<rid>``, and each
                                     phone's survey lane in ``<tenant>#respondent#<e164>``
                                     (models and layout in reach.data.survey_items)

The sparse ``lookup`` GSI (lookup_key, lookup_at) answers two key-bound questions without a
Scan: a recipient's appointments with a tenant (``<tenant>#phone#<e164>``, by start) and a
tenant's callback requests by status (``<tenant>#callbacks#open``, by request time); and a
tenant's messages of a UTC day (``<tenant>#messages#<yyyy-mm-dd>``, by time) for cost reports.

Table names come from Settings through ``bind_tables``, never from import-time environment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, cast

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

if TYPE_CHECKING:  # table names come in through bind_tables, never read here
    from reach.settings import Settings


class _Unbound:
    """Meta base: a model used before bind_tables() fails with a clear message."""

    table_name: str | None = None
    region: str | None = None
    host: str | None = None
    max_retry_attempts = 3
    connect_timeout_seconds = 2
    read_timeout_seconds = 5


# --- TenantsTable ------------------------------------------------------------------------


class TenantsTableItem(Model):
    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    item_type = DiscriminatorAttribute(attr_name="type")


class TenantProfileItem(TenantsTableItem, discriminator="tenant"):
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    timezone = UnicodeAttribute()
    sender_number = UnicodeAttribute()
    #: ``sender_number`` as texts show it (national format), written with every profile so
    #: that the sender renders without phonenumbers; absent on profiles written before it.
    sender_number_national = UnicodeAttribute(null=True)
    quiet_hours = UnicodeAttribute()
    reminder_offsets = ListAttribute(of=UnicodeAttribute)
    created_at = UTCDateTimeAttribute()
    #: JSON object: keyword set name -> the tenant's own words (added to the defaults).
    reply_keywords = UnicodeAttribute(null=True)
    #: JSON object: appointment kind -> that kind's own default reminder offsets.
    reminder_offsets_by_kind = UnicodeAttribute(null=True)
    #: The kinds of visit whose new bookings get a booking confirmation (absent: none).
    confirm_bookings = ListAttribute(of=UnicodeAttribute, null=True)
    #: Days messages are kept (absent: reach.domain.retention.DEFAULT_RETENTION_DAYS).
    retention_days = NumberAttribute(null=True)


class TemplateItem(TenantsTableItem, discriminator="template"):
    """A tenant's own wording for one kind of reminder in one language."""

    tenant_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    language = UnicodeAttribute()
    text = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()


class ApiKeyRecordItem(TenantsTableItem, discriminator="api_key"):
    tenant_id = UnicodeAttribute()
    prefix = UnicodeAttribute()
    key_hash = UnicodeAttribute()
    label = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)


class ApiKeyLookupItem(TenantsTableItem, discriminator="api_key_lookup"):
    tenant_id = UnicodeAttribute()
    prefix = UnicodeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)
    #: The tenant's usage key, copied here so the authorizer's one GetItem returns it.
    usage_key = UnicodeAttribute(null=True)


class UsageKeyItem(TenantsTableItem, discriminator="usage_key"):
    """The tenant's API Gateway API key (``tenant#<id>`` / ``usage_key``): the usage plan
    identifier the authorizer returns, so API Gateway throttles each tenant on its own."""

    key_id = UnicodeAttribute()
    value = UnicodeAttribute()


class SenderNumberItem(TenantsTableItem, discriminator="sender_number"):
    """A sending number: whose it is (how replies find their tenant) and the pace it is
    granted (``origination_type``, and ``mps`` when it differs from the type's default)."""

    tenant_id = UnicodeAttribute()
    origination_type = UnicodeAttribute(null=True)
    mps = NumberAttribute(null=True)


def tenant_pk(tenant_id: str) -> str:
    return f"tenant#{tenant_id}"


PROFILE_SK = "profile"
USAGE_KEY_SK = "usage_key"


def template_sk(kind: str, language: str) -> str:
    # Sorts after "profile", so one Query from "profile" reads a tenant with its templates.
    return f"template#{kind}#{language}"


def key_record_sk(prefix: str) -> str:
    return f"key#{prefix}"


def key_lookup_pk(key_hash: str) -> str:
    return f"apikey#{key_hash}"


KEY_LOOKUP_SK = "apikey"


def number_pk(e164: str) -> str:
    return f"number#{e164}"


NUMBER_SK = "number"


class ListItem(TenantsTableItem, discriminator="list"):
    """An opt-in list (reach.data.lists owns it). ``count_<status>`` hold its members per
    status, changed in the same transaction as the member they count."""

    tenant_id = UnicodeAttribute()
    list_id = UnicodeAttribute()
    name = UnicodeAttribute()
    keyword = UnicodeAttribute()
    description = UnicodeAttribute()
    frequency_messages = NumberAttribute()
    frequency_per = UnicodeAttribute()
    purpose = UnicodeAttribute()
    double_opt_in = BooleanAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = NumberAttribute()
    count_pending = NumberAttribute(default=0)
    count_active = NumberAttribute(default=0)
    count_left = NumberAttribute(default=0)
    count_expired = NumberAttribute(default=0)


class ListKeywordItem(TenantsTableItem, discriminator="list_keyword"):
    """Holds a keyword for one list of the tenant: written with the list, so two lists can
    never claim the same word (a conditional put in the same transaction)."""

    list_id = UnicodeAttribute()


class ConsentEntryItem(TenantsTableItem, discriminator="consent_entry"):
    """One change in a person's consent with a tenant, in the contact's partition
    (reach.data.consent_log owns it). It carries no ``phone``/``tenant_id`` attribute on
    purpose: those would put it in the ``contacts_by_phone`` index."""

    at = UTCDateTimeAttribute()
    #: ``tenant`` (STOP, START: everything from the tenant) or ``list#<list id>``.
    scope = UnicodeAttribute()
    #: reach.data.consent_log.ConsentAction.
    action = UnicodeAttribute()
    source = UnicodeAttribute()
    evidence = UnicodeAttribute(null=True)
    #: What made the change: ``inbound_message_id=...``, ``request_id=...``, ``import=...``.
    cause = UnicodeAttribute(null=True)
    #: The hashed wording agreed to (reach.domain.lists.terms_version).
    terms_version = UnicodeAttribute(null=True)


def list_sk(list_id: str) -> str:
    # Sorts before "profile": reading a tenant with its templates (from "profile") skips it.
    return f"list#{list_id}"


def list_keyword_sk(keyword: str) -> str:
    return f"listkw#{keyword}"


def consent_entry_sk(at: datetime, entry_id: str) -> str:
    # After the contact's own "contact" sort key, in time order.
    return f"consent#{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}#{entry_id}"


# --- AppointmentsTable -------------------------------------------------------------------


class ByStartIndex(GlobalSecondaryIndex["AppointmentItem"]):
    """Appointments of a tenant in start order: GET /appointments?from=&to=."""

    class Meta:
        index_name = "by_start"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    starts_at = UTCDateTimeAttribute(range_key=True)


class ByStatusIndex(GlobalSecondaryIndex["AppointmentItem"]):
    """Appointments of a tenant in one status, in start order: ...&status=."""

    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    tenant_status = UnicodeAttribute(hash_key=True)
    starts_at = UTCDateTimeAttribute(range_key=True)


class ByDueIndex(GlobalSecondaryIndex["ReminderItem"]):
    """Sparse: only reminders waiting for a dispatcher carry due_shard/due_at, so the query
    ``due_shard = s AND due_at <= now`` reads due work and nothing else. Only
    reach.data.reminders.DueIndex reads or writes these attributes."""

    class Meta:
        index_name = "due"
        projection = AllProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    due_at = UTCDateTimeAttribute(range_key=True)


class LookupIndex(GlobalSecondaryIndex["AppointmentsTableItem"]):
    """Sparse: items that carry lookup_key/lookup_at (see the module docstring)."""

    class Meta:
        index_name = "lookup"
        projection = AllProjection()

    lookup_key = UnicodeAttribute(hash_key=True)
    lookup_at = UTCDateTimeAttribute(range_key=True)


class AnyDueIndex(GlobalSecondaryIndex["AppointmentsTableItem"]):
    """The same sparse ``due`` index read through the table's root model, so one query per
    shard returns every item family waiting there (reminders, and notices while leased)."""

    class Meta:
        index_name = "due"
        projection = AllProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    due_at = UTCDateTimeAttribute(range_key=True)


class AppointmentsTableItem(Model):
    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    item_type = DiscriminatorAttribute(attr_name="type")
    tenant_id = UnicodeAttribute()
    appointment_id = UnicodeAttribute()

    due_any = AnyDueIndex()


class AppointmentItem(AppointmentsTableItem, discriminator="appointment"):
    external_id = UnicodeAttribute(null=True)
    phone = UnicodeAttribute()
    starts_at = UTCDateTimeAttribute()
    timezone = UnicodeAttribute()
    kind = UnicodeAttribute()
    language = UnicodeAttribute()
    status = UnicodeAttribute()
    tenant_status = UnicodeAttribute()
    version = NumberAttribute()
    reminder_offsets = ListAttribute(of=UnicodeAttribute)
    first_name = UnicodeAttribute(null=True)
    location = UnicodeAttribute(null=True)
    #: A service visit's arrival window closes here (it opens at starts_at).
    window_ends_at = UTCDateTimeAttribute(null=True)
    technician_name = UnicodeAttribute(null=True)
    #: reach.domain.models.CustomerStatus, e.g. not_home.
    customer_status = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    #: The version whose reminder plan is current (absent: the same as version).
    plan_version = NumberAttribute(null=True)
    #: Minutes the recipient said they would be late (a RUNNING_LATE reply).
    late_minutes = NumberAttribute(null=True)
    #: Booked through FHIR: the patient participant's index in the clinic's resource.
    fhir_patient_participant = NumberAttribute(null=True)
    #: The last reply applied to the appointment: replays and older replies change nothing.
    last_reply_id = UnicodeAttribute(null=True)
    last_reply_at = UTCDateTimeAttribute(null=True)
    #: ``<tenant>#phone#<e164>`` and the start: the recipient's appointments, key-bound.
    lookup_key = UnicodeAttribute(null=True)
    lookup_at = UTCDateTimeAttribute(null=True)

    by_start = ByStartIndex()
    by_status = ByStatusIndex()
    lookup = LookupIndex()


class OutboundLifecycle:
    """The attributes every outbound item family carries for ``ReminderLifecycle``'s
    transitions (queued -> sending -> final, holds and leases in the ``due`` index): one
    definition, so a transition written with ``ReminderItem``'s attributes fits every family
    (reminders, notices, invitations, campaign recipients)."""

    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    claim_id = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    message_id = UnicodeAttribute(null=True)
    send_at = UTCDateTimeAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)
    due_at = UTCDateTimeAttribute(null=True)
    #: The sort key of the text's stored message, in the thread's partition: a campaign's
    #: thread holds every recipient's text, and erasure finds one person's by this key.
    message_sk = UnicodeAttribute(null=True)


class ReminderItem(OutboundLifecycle, AppointmentsTableItem, discriminator="reminder"):
    reminder_id = UnicodeAttribute()
    appointment_version = NumberAttribute()
    offsets = ListAttribute(of=UnicodeAttribute)
    # Named apart from the appointment's `starts_at` on purpose: a reminder carrying
    # tenant_id and starts_at would land in the by_start listing index.
    appointment_starts_at = UTCDateTimeAttribute(null=True)
    #: The recipient, copied from the appointment when the reminder is planned, so the
    #: dispatcher can tell a sender which contact to read (absent on older reminders).
    phone = UnicodeAttribute(null=True)

    due = ByDueIndex()


class NoticeItem(OutboundLifecycle, AppointmentsTableItem, discriminator="notice"):
    """A field-service notice (reach.data.notices owns it). It carries the attributes the
    ``ReminderLifecycle`` transitions write, so a notice moves queued -> sending -> final
    like a reminder. It sits in the ``due`` index only while claimed or sending (its lease),
    so a dispatcher settles one whose sender died (``failed``, ``outcome_unknown``)."""

    notice_id = UnicodeAttribute()
    notice_type = UnicodeAttribute()
    eta = UTCDateTimeAttribute()
    link = UnicodeAttribute(null=True)
    #: The appointment's reminder plan when the notice was asked for: a reschedule since
    #: makes it stale. With ``phone``, absent on a notice asked without waiting (the API did
    #: not read the visit; the sender takes both from it).
    appointment_plan = NumberAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class NoticeMarkItem(AppointmentsTableItem, discriminator="notice_mark"):
    """Which notice a repeat of a request gets: the latest of a type (``notice#last#<type>``,
    with its ETA) or the one an ``Idempotency-Key`` made (``notice#key#<key>``)."""

    notice_id = UnicodeAttribute()
    eta = UTCDateTimeAttribute(null=True)


class MessageItem(AppointmentsTableItem, discriminator="message"):
    """One SMS of a conversation, either direction (reach.data.messages owns it)."""

    message_id = UnicodeAttribute()
    #: reach.domain.message.MessageKind (absent on messages stored before it existed).
    kind = UnicodeAttribute(null=True)
    direction = UnicodeAttribute()
    phone = UnicodeAttribute()
    body = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    parts = NumberAttribute(default=0)
    encoding = UnicodeAttribute(null=True)
    provider = UnicodeAttribute(null=True)
    provider_message_id = UnicodeAttribute(null=True)
    reminder_id = UnicodeAttribute(null=True)
    #: Inbound: what the reply was read as. Outbound auto-replies: the reply kind.
    intent = UnicodeAttribute(null=True)
    #: An auto-reply's inbound message id (and the inbound's own id on inbound rows).
    inbound_message_id = UnicodeAttribute(null=True)
    #: The attempt that stored an auto-reply (reach.data.messages.MessageRepository.add).
    claim = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    #: Outbound: when the carrier's final receipt (delivered / undelivered) was reported.
    status_at = UTCDateTimeAttribute(null=True)
    #: The table's TTL attribute (epoch seconds): DynamoDB deletes the message after it.
    expires_at = NumberAttribute(null=True)
    #: ``<tenant>#messages#<yyyy-mm-dd>`` (UTC day) and the time: a tenant's messages of a
    #: day, key-bound on the sparse lookup index (reach.data.messages.MessageRepository.usage).
    lookup_key = UnicodeAttribute(null=True)
    lookup_at = UTCDateTimeAttribute(null=True)

    lookup = LookupIndex()


class ProviderMessageItem(AppointmentsTableItem, discriminator="provider_message"):
    """Provider message id -> our message: how replies and delivery receipts find it."""

    message_id = UnicodeAttribute()
    message_sk = UnicodeAttribute()
    #: The message's kind: a receipt for a campaign text also moves the campaign's counters.
    kind = UnicodeAttribute(null=True)


class CallbackItem(AppointmentsTableItem, discriminator="callback"):
    """A recipient asked for a voice call back by text. ``appointment_id`` is "" when the
    request matched no appointment. While open it sits in the lookup index under
    ``<tenant>#callbacks#open``; closing moves it to ``...#closed``."""

    callback_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    status = UnicodeAttribute()
    requested_at = UTCDateTimeAttribute()
    expected_by = UTCDateTimeAttribute()
    inbound_message_id = UnicodeAttribute()
    closed_at = UTCDateTimeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    lookup_key = UnicodeAttribute(null=True)
    lookup_at = UTCDateTimeAttribute(null=True)

    lookup = LookupIndex()


class CallbackGuardItem(AppointmentsTableItem, discriminator="callback_guard"):
    """Exists while ``callback_id`` is the recipient's open callback request."""

    callback_id = UnicodeAttribute()


class MemberItem(AppointmentsTableItem, discriminator="member"):
    """One phone on one list (reach.data.lists owns it); ``appointment_id`` holds the list
    id. Each member is its own partition, so no list is a hot key; the ``lookup`` index
    lists a list's members by status, over ``MEMBER_SEGMENTS`` keys
    (``<tenant>#list#<list>#<status>#<segment>``, by the time of the last change)."""

    list_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    status = UnicodeAttribute()
    joined_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    first_name = UnicodeAttribute(null=True)
    timezone = UnicodeAttribute(null=True)
    consent_source = UnicodeAttribute(null=True)
    consent_at = UTCDateTimeAttribute(null=True)
    consent_evidence = UnicodeAttribute(null=True)
    consent_message_id = UnicodeAttribute(null=True)
    terms_version = UnicodeAttribute(null=True)
    pending_until = UTCDateTimeAttribute(null=True)
    left_reason = UnicodeAttribute(null=True)
    #: The frequency cap's log: when this member's recent list texts went.
    recent_sends = cast(
        "ListAttribute[datetime]", ListAttribute(of=UTCDateTimeAttribute, default=list)
    )
    version = NumberAttribute()
    lookup_key = UnicodeAttribute(null=True)
    lookup_at = UTCDateTimeAttribute(null=True)

    lookup = LookupIndex()


def member_pk(tenant_id: str, list_id: str, phone: str) -> str:
    return f"{tenant_id}#member#{list_id}#{phone}"


MEMBER_SK = "member"


def members_lookup_key(tenant_id: str, list_id: str, status: str, segment: int) -> str:
    return f"{tenant_id}#list#{list_id}#{status}#{segment}"


class InviteItem(OutboundLifecycle, AppointmentsTableItem, discriminator="invite"):
    """A double opt-in list's "Reply YES to join" text to one pending member
    (reach.data.invites owns it), in the member's partition (sk ``invite``;
    ``appointment_id`` is ``member#<list>#<e164>``, so the partition is the member's). It
    carries the attributes the ``ReminderLifecycle`` transitions write and waits in the
    ``due`` index like a reminder: the dispatcher claims it, the sender holds it through
    quiet hours."""

    list_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    #: The member's YES deadline when invited: a later re-invitation is a new text.
    pending_until = UTCDateTimeAttribute()
    created_at = UTCDateTimeAttribute()


INVITE_SK = "invite"


class CampaignItem(AppointmentsTableItem, discriminator="campaign"):
    """A campaign: one text to a list's active members (``appointment_id`` holds the
    campaign id). While ``scheduled`` or ``sending`` it sits in the ``lookup`` index under
    ``campaigns#<status>`` (all tenants', by ``send_at``): what the dispatcher reads each
    tick to start and feed campaigns, key-bound and small."""

    campaign_id = UnicodeAttribute()
    list_id = UnicodeAttribute()
    name = UnicodeAttribute()
    message = UnicodeAttribute()
    parts = NumberAttribute()
    encoding = UnicodeAttribute()
    send_at = UTCDateTimeAttribute()
    #: reach.domain.campaigns.CampaignStatus.
    status = UnicodeAttribute()
    version = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    #: The forecast's finish, as made when the campaign was created (and when it started).
    estimated_finish = UTCDateTimeAttribute(null=True)
    lookup_key = UnicodeAttribute(null=True)
    lookup_at = UTCDateTimeAttribute(null=True)
    #: The fan-out's place in each member segment (JSON, reach.data.recipients): advanced
    #: only on the value read, so two dispatchers never both move it.
    cursors = UnicodeAttribute(null=True)

    lookup = LookupIndex()


def campaign_pk(tenant_id: str, campaign_id: str) -> str:
    return f"{tenant_id}#campaign#{campaign_id}"


CAMPAIGN_SK = "campaign"


class TenantCampaignItem(AppointmentsTableItem, discriminator="tenant_campaign"):
    """One campaign of a tenant (``<tenant>#campaigns / campaign#<id>``), written before the
    campaign: erasure pages through them to find a person's recipient items by key, where an
    index on the recipients would cost a write for every text of every campaign."""

    campaign_id = UnicodeAttribute()


def tenant_campaigns_pk(tenant_id: str) -> str:
    return f"{tenant_id}#campaigns"


def tenant_campaign_sk(campaign_id: str) -> str:
    return f"campaign#{campaign_id}"


def campaigns_lookup_key(status: str) -> str:
    """The dispatcher's registry of campaigns to start (``scheduled``) or feed (``sending``)."""
    return f"campaigns#{status}"


class ImportItem(AppointmentsTableItem, discriminator="list_import"):
    """A list import and its report (reach.data.imports owns it); ``appointment_id`` holds
    the list id."""

    import_id = UnicodeAttribute()
    list_id = UnicodeAttribute()
    #: reach.data.imports.ImportStatus.
    status = UnicodeAttribute()
    #: ``api`` (a CSV body) or ``upload`` (a file put at a presigned URL).
    source = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    #: JSON: the report (counts and the listed refusals), or the reason the file was refused.
    report = UnicodeAttribute(null=True)


def import_pk(tenant_id: str, import_id: str) -> str:
    return f"{tenant_id}#import#{import_id}"


IMPORT_SK = "import"


class RecipientItem(OutboundLifecycle, AppointmentsTableItem, discriminator="recipient"):
    """One member's text of one campaign (reach.data.recipients owns it); ``appointment_id``
    holds the campaign id. Put once (``attribute_not_exists``), so a repeated fan-out texts
    nobody twice; it carries the attributes the ``ReminderLifecycle`` transitions write, and
    sits in the ``due`` index (shard ``campaign#<tenant>#<campaign>``) while held or leased."""

    campaign_id = UnicodeAttribute()
    list_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    first_name = UnicodeAttribute(null=True)
    timezone = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


def recipient_pk(tenant_id: str, campaign_id: str, segment: int) -> str:
    """A campaign's recipients over ``MEMBER_SEGMENTS`` partitions (the member's segment)."""
    return f"{campaign_pk(tenant_id, campaign_id)}#{segment}"


def recipient_sk(phone: str) -> str:
    return f"recipient#{phone}"


class CampaignCountItem(AppointmentsTableItem, discriminator="campaign_count"):
    """One shard (``count#<n>``) of a campaign's counters, in the campaign's partition:
    updated with ADD in the same transaction as the outcomes it counts; the counts are the
    sums over the shards (reach.data.recipients.read_counts)."""

    total = NumberAttribute(null=True)
    held = NumberAttribute(null=True)
    sent = NumberAttribute(null=True)
    delivered = NumberAttribute(null=True)
    undelivered = NumberAttribute(null=True)
    failed = NumberAttribute(null=True)
    skipped_opted_out = NumberAttribute(null=True)
    skipped_left_list = NumberAttribute(null=True)
    skipped_frequency_cap = NumberAttribute(null=True)
    skipped_cancelled = NumberAttribute(null=True)
    skipped_quiet_hours = NumberAttribute(null=True)
    skipped_invalid = NumberAttribute(null=True)
    skipped_other = NumberAttribute(null=True)


def campaign_count_sk(shard: int) -> str:
    return f"count#{shard}"


def appointment_pk(tenant_id: str, appointment_id: str) -> str:
    return f"{tenant_id}#{appointment_id}"


APPOINTMENT_SK = "appointment"


def reminder_sk(reminder_id: str) -> str:
    # Under the appointment's own sort key, so that reading an appointment with its reminders
    # is one Query on begins_with("appointment"), which skips the conversation's messages.
    return f"{APPOINTMENT_SK}#reminder#{reminder_id}"


def notice_sk(notice_id: str) -> str:
    # Outside the "appointment" prefix: reading an appointment with its reminders skips it.
    return f"notice#{notice_id}"


def notice_last_sk(notice_type: str) -> str:
    return f"notice#last#{notice_type}"


def notice_key_sk(idempotency_key: str) -> str:
    return f"notice#key#{idempotency_key}"


def message_sk(created_at: datetime, message_id: str) -> str:
    # Time first, so one Query over the partition returns the conversation in order.
    return f"message#{created_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}#{message_id}"


def provider_message_pk(provider_message_id: str) -> str:
    return f"providermsg#{provider_message_id}"


PROVIDER_MESSAGE_SK = "providermsg"


def tenant_status_key(tenant_id: str, status: str) -> str:
    return f"{tenant_id}#{status}"


def contact_conversation_pk(tenant_id: str, phone: str) -> str:
    """Replies that matched no appointment, kept for the clinic to read."""
    return f"{tenant_id}#contact#{phone}"


def callback_pk(tenant_id: str, callback_id: str) -> str:
    return f"{tenant_id}#callback#{callback_id}"


CALLBACK_SK = "callback"


def callback_guard_pk(tenant_id: str, phone: str) -> str:
    return f"{tenant_id}#callbackguard#{phone}"


CALLBACK_GUARD_SK = "callback_guard"


def phone_lookup_key(tenant_id: str, phone: str) -> str:
    return f"{tenant_id}#phone#{phone}"


def usage_key(tenant_id: str, day: date) -> str:
    """A tenant's messages of one UTC day, on the lookup index (cost reports)."""
    return f"{tenant_id}#messages#{day.isoformat()}"


def callbacks_lookup_key(tenant_id: str, status: str) -> str:
    return f"{tenant_id}#callbacks#{status}"


def strings(values: Any) -> tuple[str, ...]:
    """A ListAttribute of UnicodeAttribute, as the tuple of str it holds."""
    return tuple(str(value) for value in values or ())


# --- binding -----------------------------------------------------------------------------


class PageKeyItem(Model):
    """The stack's key for signing page tokens (reach.data.paging), made on first use. Not an
    AppointmentsTableItem: it belongs to no tenant, and no index or query reads it."""

    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    secret = UnicodeAttribute()


PAGE_KEY_PK = "config#page-tokens"
PAGE_KEY_SK = "key"

_BINDINGS: dict[type[Model], str] = {
    TenantsTableItem: "tenants_table",
    AppointmentsTableItem: "appointments_table",
    PageKeyItem: "appointments_table",
}


def bind_tables(settings: Settings) -> None:
    """Point every model at the tables, region and endpoint named by ``settings``."""
    for model, setting in _BINDINGS.items():
        meta: Any = model.Meta
        binding = (getattr(settings, setting), settings.region, settings.endpoint_url)
        if (
            getattr(meta, "table_name", None),
            getattr(meta, "region", None),
            getattr(meta, "host", None),
        ) == binding:
            # Already bound there: keep the connections (each holds a botocore session and
            # client, which take tens of milliseconds to build).
            continue
        meta.table_name, meta.region, meta.host = binding
        for cls in (model, *_subclasses(model)):
            cls._connection = None


def _subclasses(model: type[Model]) -> list[type[Model]]:
    found: list[type[Model]] = []
    for sub in model.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found
