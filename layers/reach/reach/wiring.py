"""Builds the real collaborators once per cold start (handlers call the ``*_from_env``).

Every builder takes the function's settings and the same kinds of override, keyword-only:
``clock`` (and ``sleep`` where texts are paced), ``sms``, ``events`` and ``stores``, each
where the built service uses it. No builder runs at import time, and none makes an AWS client
before a handler asks for its service.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from reach.clock import Clock, system_clock
from reach.data.tables import bind_tables
from reach.settings import Settings

if TYPE_CHECKING:  # each function imports only the services it runs (cold start)
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer

    from reach.data.appointments import AppointmentRepository
    from reach.data.callbacks import CallbackRepository
    from reach.data.campaigns import CampaignRepository
    from reach.data.contacts import ContactRepository
    from reach.data.imports import ImportStore
    from reach.data.invites import ListInvites
    from reach.data.lists import ListRepository
    from reach.data.messages import MessageRepository
    from reach.data.notices import NoticeStore
    from reach.data.numbers import NumberRepository
    from reach.data.pacing import Gates
    from reach.data.paging import PageTokens
    from reach.data.reminders import ReminderLifecycle
    from reach.data.survey_responses import SurveyResponses
    from reach.data.survey_sends import SurveySends
    from reach.data.surveys import SurveyRepository
    from reach.data.tenants import ApiKeyRepository, TenantRepository
    from reach.ports.events import DomainEvent, EventPublisher
    from reach.ports.numbers import NumberProvider
    from reach.ports.opt_outs import ProviderOptOutLists
    from reach.ports.send_queue import SendQueue
    from reach.ports.sms import SmsSender
    from reach.ports.uploads import Uploads
    from reach.ports.usage_plans import UsagePlanGateway
    from reach.services.api_keys import Authenticator
    from reach.services.appointments import AppointmentService
    from reach.services.callbacks import CallbackService
    from reach.services.campaigns import CampaignService
    from reach.services.consent import ConsentService
    from reach.services.dispatch import Dispatcher
    from reach.services.erasure import ErasureService
    from reach.services.imports import ImportService
    from reach.services.inbound import InboundService
    from reach.services.lists import ListService
    from reach.services.notices import NoticeService
    from reach.services.numbers import NumberSetup
    from reach.services.receipts import ReceiptService
    from reach.services.recipients import RecipientService
    from reach.services.reconcile import OptOutReconciler, WarningLog
    from reach.services.sending import SendPath
    from reach.services.survey_results import SurveyResultsService
    from reach.services.survey_sends import SurveySendService
    from reach.services.surveys import SurveyService
    from reach.services.tenants import TenantAdmin
    from reach.services.threads import ThreadService
    from reach.services.usage_keys import UsageKeyProvisioning


@dataclass(frozen=True)
class Services:
    """What the API (and the admin CLI, and the authorizer) run on."""

    settings: Settings
    appointments: AppointmentService
    authenticator: Authenticator
    admin: TenantAdmin
    tenants: TenantRepository
    contacts: ContactRepository
    messages: MessageRepository
    consent: ConsentService
    callbacks: CallbackService
    recipients: RecipientService
    threads: ThreadService
    notices: NoticeService
    lists: ListService
    imports: ImportService
    erasure: ErasureService
    clock: Clock
    campaigns: CampaignService
    surveys: SurveyService
    survey_results: SurveyResultsService
    #: Sending surveys (issue 14): to a list, to an appointment's phone.
    survey_sends: SurveySendService


class Stores:
    """The repositories over the tables named by the settings, each made on first use (its
    module is imported then, so a function pays only for the tables it reads).

    Builders share one per service graph, so that its services see the same repositories.
    """

    def __init__(self, settings: Settings) -> None:
        bind_tables(settings)
        self._due_shards = settings.due_shards
        self._throughput = settings.throughput

    @cached_property
    def tenants(self) -> TenantRepository:
        from reach.data.tenants import TenantRepository

        return TenantRepository()

    @cached_property
    def numbers(self) -> NumberRepository:
        """Sending numbers' paces; one recorded without a type runs at the stack's own."""
        from reach.data.numbers import NumberRepository

        return NumberRepository(self._throughput)

    @cached_property
    def api_keys(self) -> ApiKeyRepository:
        from reach.data.tenants import ApiKeyRepository

        return ApiKeyRepository()

    @cached_property
    def contacts(self) -> ContactRepository:
        from reach.data.contacts import ContactRepository

        return ContactRepository()

    @cached_property
    def appointments(self) -> AppointmentRepository:
        from reach.data.appointments import AppointmentRepository

        return AppointmentRepository(self._due_shards, tokens=self.page_tokens)

    @cached_property
    def messages(self) -> MessageRepository:
        from reach.data.messages import MessageRepository

        return MessageRepository(tokens=self.page_tokens)

    @cached_property
    def callbacks(self) -> CallbackRepository:
        from reach.data.callbacks import CallbackRepository

        return CallbackRepository(tokens=self.page_tokens)

    @cached_property
    def campaigns(self) -> CampaignRepository:
        from reach.data.campaigns import CampaignRepository

        return CampaignRepository(due_shards=self._due_shards, tokens=self.page_tokens)

    @cached_property
    def surveys(self) -> SurveyRepository:
        """Survey definitions."""
        from reach.data.surveys import SurveyRepository

        return SurveyRepository(tokens=self.page_tokens)

    @cached_property
    def survey_responses(self) -> SurveyResponses:
        """Survey responses, each phone's survey lane, and the survey texts to send."""
        from reach.data.survey_responses import SurveyResponses

        return SurveyResponses(self._due_shards, tokens=self.page_tokens)

    @cached_property
    def survey_sends(self) -> SurveySends:
        """Survey sends and where each list send's fan-out has got to."""
        from reach.data.survey_sends import SurveySends

        return SurveySends()

    @cached_property
    def notices(self) -> NoticeStore:
        from reach.data.notices import NoticeStore

        return NoticeStore(self.reminders, shards=self._due_shards)

    @cached_property
    def lists(self) -> ListRepository:
        """Opt-in lists, their keywords and members."""
        from reach.data.lists import ListRepository

        return ListRepository()

    @cached_property
    def page_tokens(self) -> PageTokens:
        """One token key per service graph, read from the table on the first page token."""
        from reach.data.paging import PageTokens

        return PageTokens()

    @cached_property
    def imports(self) -> ImportStore:
        from reach.data.imports import ImportStore

        return ImportStore()

    @cached_property
    def reminders(self) -> ReminderLifecycle:
        from reach.data.reminders import ReminderLifecycle

        return ReminderLifecycle(self.messages)

    @cached_property
    def invites(self) -> ListInvites:
        """The "Reply YES to join" texts of double opt-in lists (their outbound items)."""
        from reach.data.invites import ListInvites

        return ListInvites(self._due_shards)


class _EventBusOnFirstUse:
    """The EventBridge publisher, built when an event is first published: functions that
    never publish (the authorizer, most API calls) neither import the adapter nor need
    EVENT_BUS_NAME. A function that does publish without it fails naming the variable."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._publisher: EventPublisher | None = None

    def publish(self, events: Sequence[DomainEvent]) -> None:
        if self._publisher is None:
            from reach.adapters.events_eventbridge import build_event_publisher

            self._publisher = build_event_publisher(
                self._settings.require("event_bus_name"), self._settings.region
            )
        self._publisher.publish(events)


def _event_bus(settings: Settings) -> EventPublisher:
    """The bus of a function that publishes on every call: EVENT_BUS_NAME is checked now."""
    from reach.adapters.events_eventbridge import build_event_publisher

    return build_event_publisher(settings.require("event_bus_name"), settings.region)


def _consent(stores: Stores, events: EventPublisher, clock: Clock) -> ConsentService:
    from reach.services.consent import ConsentService

    return ConsentService(
        stores.contacts,
        stores.appointments,
        events,
        clock,
        stores.lists,
        responses=stores.survey_responses,
    )


def _gates(stores: Stores, clock: Clock, sleep: Callable[[float], None]) -> Gates:
    """Each sending number's throughput gate, shared by every text it sends."""
    from reach.data.pacing import Gates

    return Gates(stores.numbers, clock, sleep)


def build_services(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    events: EventPublisher | None = None,
    stores: Stores | None = None,
) -> Services:
    """The API's services. ``events`` replaces the real bus (the local run records them)."""
    from reach.data.consent_log import ConsentLog
    from reach.services.api_keys import Authenticator
    from reach.services.appointments import AppointmentService
    from reach.services.callbacks import CallbackService
    from reach.services.campaigns import CampaignService
    from reach.services.erasure import (
        ErasureService,
        campaign_erasers,
        list_erasers,
        store_erasers,
        survey_erasers,
    )
    from reach.services.imports import ImportService
    from reach.services.lists import ListService
    from reach.services.notices import NoticeService
    from reach.services.recipients import RecipientService
    from reach.services.survey_results import SurveyResultsService
    from reach.services.survey_sends import SurveySendService, SurveyTriggers
    from reach.services.surveys import SurveyService
    from reach.services.tenants import TenantAdmin
    from reach.services.threads import ThreadService

    stores = stores or Stores(settings)
    events = events or _EventBusOnFirstUse(settings)
    triggers = SurveyTriggers(stores.surveys, stores.survey_responses, clock)
    appointments = AppointmentService(
        stores.appointments,
        stores.tenants,
        stores.contacts,
        clock,
        events,
        on_completed=triggers.completed,
    )
    consent = _consent(stores, events, clock)
    recipients = RecipientService(stores.tenants, stores.contacts, consent, clock)
    return Services(
        settings=settings,
        appointments=appointments,
        authenticator=Authenticator(stores.api_keys),
        admin=TenantAdmin(stores.tenants, stores.api_keys, clock, stores.numbers),
        tenants=stores.tenants,
        contacts=stores.contacts,
        messages=stores.messages,
        consent=consent,
        callbacks=CallbackService(stores.callbacks, stores.tenants, clock),
        recipients=recipients,
        threads=ThreadService(appointments, stores.messages),
        notices=NoticeService(
            stores.appointments,
            stores.tenants,
            stores.contacts,
            stores.notices,
            clock,
        ),
        lists=ListService(
            stores.lists,
            stores.tenants,
            stores.contacts,
            ConsentLog(),
            stores.page_tokens,
            events,
            clock,
            invite=stores.invites.invite,
        ),
        imports=ImportService(
            stores.lists,
            stores.imports,
            stores.tenants,
            events,
            clock,
            uploads=_uploads_on_first_use(settings),
            invite=stores.invites.invite,
        ),
        erasure=ErasureService(
            recipients,
            [
                *store_erasers(
                    stores.appointments, stores.messages, stores.contacts, stores.callbacks
                ),
                *list_erasers(stores.lists, stores.messages),
                *campaign_erasers(stores.campaigns, stores.messages),
                *survey_erasers(stores.survey_responses, stores.messages),
            ],
            events,
            clock,
        ),
        clock=clock,
        campaigns=CampaignService(
            stores.campaigns, stores.lists, stores.tenants, stores.numbers, clock
        ),
        surveys=SurveyService(stores.surveys, clock),
        survey_results=SurveyResultsService(stores.surveys, stores.survey_responses),
        survey_sends=SurveySendService(
            stores.surveys,
            stores.survey_sends,
            stores.survey_responses,
            stores.lists,
            stores.appointments,
            clock,
        ),
    )


def _uploads_on_first_use(settings: Settings) -> Callable[[], Uploads]:
    """The S3 bucket of list imports, made on the first upload: API calls that upload
    nothing make no S3 client, and a stack without IMPORT_BUCKET fails naming it then."""
    made: list[Uploads] = []

    def uploads() -> Uploads:
        if not made:
            from reach.adapters.uploads_s3 import build_uploads

            made.append(build_uploads(settings.require("import_bucket"), settings.region))
        return made[0]

    return uploads


def build_importer(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    events: EventPublisher | None = None,
    stores: Stores | None = None,
    uploads: Uploads | None = None,
) -> ImportService:
    """The importer function's service: runs list import files S3 says arrived."""
    from reach.services.imports import ImportService

    stores = stores or Stores(settings)
    return ImportService(
        stores.lists,
        stores.imports,
        stores.tenants,
        events or _event_bus(settings),
        clock,
        uploads=(lambda: uploads) if uploads is not None else _uploads_on_first_use(settings),
        invite=stores.invites.invite,
    )


@lru_cache(maxsize=1)
def importer_from_env() -> ImportService:
    return build_importer(Settings.from_env())


@lru_cache(maxsize=1)
def services_from_env() -> Services:
    """The services for this Lambda container, built on first use."""
    return build_services(Settings.from_env())


def build_authenticator(settings: Settings, *, stores: Stores | None = None) -> Authenticator:
    """Only what the authorizer runs: the key table and the header check."""
    from reach.services.api_keys import Authenticator

    return Authenticator((stores or Stores(settings)).api_keys)


@lru_cache(maxsize=1)
def authenticator_from_env() -> Authenticator:
    return build_authenticator(Settings.from_env())


def build_dispatcher(
    settings: Settings,
    *,
    queue: SendQueue | None = None,
    stores: Stores | None = None,
    events: EventPublisher | None = None,
) -> Dispatcher:
    """The dispatcher with its SQS send queue (only the dispatcher function pays for it),
    and its campaign step.

    ``queue`` replaces the SQS queue, ``events`` the bus campaigns' starts and finishes go
    to. The dispatcher has no clock: each tick says its time.
    """
    from reach.data.lists import ListRepository
    from reach.data.recipients import CampaignRuns, RecipientStore
    from reach.services.campaign_feed import CampaignFeed
    from reach.services.dispatch import TICK, Dispatcher
    from reach.services.survey_sends import SurveyFanOut
    from reach.services.survey_timers import SurveyTimers

    stores = stores or Stores(settings)
    queue = queue or _send_queue(settings)
    campaigns = CampaignFeed(
        runs=CampaignRuns(),
        recipients=RecipientStore(),
        lists=ListRepository(),
        lifecycle=stores.reminders,
        tenants=stores.tenants,
        numbers=stores.numbers,
        queue=queue,
        tick=TICK,
        events=events or _EventBusOnFirstUse(settings),
    )
    return Dispatcher(
        stores.reminders,
        queue,
        settings.due_shards,
        tenants=stores.tenants,
        numbers=stores.numbers,
        campaigns=campaigns,
        survey_fanout=SurveyFanOut(
            stores.surveys, stores.survey_sends, stores.survey_responses, stores.lists
        ),
        survey_timers=SurveyTimers(stores.survey_responses, stores.surveys.get),
    )


def _send_queue(settings: Settings) -> SendQueue:
    from reach.adapters.send_queue_sqs import build_send_queue

    return build_send_queue(settings.require("send_queue_url"), settings.region)


@lru_cache(maxsize=1)
def send_queue_from_env() -> SendQueue:
    """The send queue, for the sender's stream-fed notices that need another try."""
    return _send_queue(Settings.from_env())


@lru_cache(maxsize=1)
def dispatcher_from_env() -> Dispatcher:
    return build_dispatcher(Settings.from_env())


def build_sender(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    sleep: Callable[[float], None] = time.sleep,
    sms: SmsSender | None = None,
    events: EventPublisher | None = None,
    stores: Stores | None = None,
) -> SendPath:
    """The send path with its SMS provider, the origination's throughput gate and the
    outbound kinds it sends (register a new kind here).

    ``clock`` and ``sleep`` are Lambda's real ones; the local run passes a clock it can move.
    ``sms`` and ``events`` replace the real provider and bus; without ``events`` the bus is
    used only when EVENT_BUS_NAME is set (a failed send is then reported to it).
    """
    from reach.adapters.sms_factory import build_sms_sender
    from reach.services.sending import NoticeKind, ReminderKind, SendPath
    from reach.services.sending.campaign import CampaignKind
    from reach.services.sending.invite import InviteKind
    from reach.services.sending.survey import SurveyKind

    stores = stores or Stores(settings)
    if events is None and settings.event_bus_name:
        events = _event_bus(settings)
    return SendPath(
        reminders=stores.reminders,
        tenants=stores.tenants,
        contacts=stores.contacts,
        sms=sms or build_sms_sender(settings, clock=clock, sleep=sleep),
        gates=_gates(stores, clock, sleep),
        clock=clock,
        kinds=[
            ReminderKind(stores.appointments),
            NoticeKind(stores.appointments, stores.notices),
            InviteKind(stores.invites),
            CampaignKind(),
            SurveyKind(),
        ],
        configuration_set=settings.configuration_set,
        concurrency=settings.send_concurrency,
        events=events,
    )


@lru_cache(maxsize=1)
def sender_from_env() -> SendPath:
    return build_sender(Settings.from_env())


def build_inbound(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    sleep: Callable[[float], None] = time.sleep,
    sms: SmsSender | None = None,
    events: EventPublisher | None = None,
    stores: Stores | None = None,
) -> InboundService:
    """The inbound reply handler with its answers' SMS provider, pace and event bus.

    ``sms`` and ``events`` replace the real provider and bus (the local run records them).
    """
    from reach.adapters.sms_factory import build_sms_sender
    from reach.services.inbound import InboundService
    from reach.services.replies import ReplySender

    stores = stores or Stores(settings)
    publisher = events or _event_bus(settings)
    answers = ReplySender(
        sms=sms or build_sms_sender(settings, clock=clock, sleep=sleep),
        gates=_gates(stores, clock, sleep),
        messages=stores.messages,
        contacts=stores.contacts,
        clock=clock,
        origination_identity=settings.origination_identity,
        configuration_set=settings.configuration_set,
    )
    return InboundService(
        tenants=stores.tenants,
        appointments=stores.appointments,
        contacts=stores.contacts,
        messages=stores.messages,
        callbacks=stores.callbacks,
        answers=answers,
        events=publisher,
        consent=_consent(stores, publisher, clock),
        clock=clock,
        callback_within=settings.callback_window,
        lists=stores.lists,
        surveys=stores.surveys,
        responses=stores.survey_responses,
    )


@lru_cache(maxsize=1)
def inbound_from_env() -> InboundService:
    return build_inbound(Settings.from_env())


def build_idempotency_store(
    settings: Callable[[], Settings] = Settings.from_env,
) -> BasePersistenceLayer:
    """The inbound function's once-per-reply store on IDEMPOTENCY_TABLE.

    Powertools needs it when the function module is imported; it reads ``settings`` and makes
    its DynamoDB client only when the first reply is guarded.
    """
    from reach.adapters.idempotency_dynamodb import DynamoDBIdempotencyStore

    return DynamoDBIdempotencyStore(lambda: settings().require("idempotency_table"))


def build_reconciler(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    provider: ProviderOptOutLists | None = None,
    events: EventPublisher | None = None,
    stores: Stores | None = None,
    logger: WarningLog | None = None,
) -> OptOutReconciler:
    """The opt-out reconciliation job with the provider's lists and the event bus.

    ``provider`` replaces the provider's opt-out lists (they are this job's SMS side). With
    per-tenant lists (End User Messaging) the job lists the tenants' ids from the tenants table.
    ``logger`` replaces the one that notes tenants skipped for want of a list.
    """
    from reach.adapters.opt_outs_factory import build_opt_out_lists
    from reach.observability import build_logger
    from reach.services.membership import PendingSweep
    from reach.services.reconcile import OptOutReconciler

    stores = stores or Stores(settings)
    consent = _consent(stores, events or _event_bus(settings), clock)
    return OptOutReconciler(
        provider
        or build_opt_out_lists(
            settings.sms_provider, settings.region, endpoint_url=settings.endpoint_url
        ),
        stores.contacts,
        consent,
        clock,
        tenant_ids=stores.tenants.ids,
        logger=logger or build_logger("reach-reconciler"),
        expire_pending=PendingSweep(stores.lists, clock, tenant_ids=stores.tenants.ids).run,
    )


@lru_cache(maxsize=1)
def reconciler_from_env() -> OptOutReconciler:
    return build_reconciler(Settings.from_env())


def build_number_setup(
    settings: Settings,
    *,
    provider: NumberProvider | None = None,
    stores: Stores | None = None,
) -> NumberSetup:
    """`reach numbers attach|check`: End User Messaging's number settings against the
    stack's inbound topic (INBOUND_TOPIC_ARN) and the tenant's own opt-out list.

    ``provider`` replaces End User Messaging (tests pass one over a stubbed client).
    """
    from reach.services.numbers import NumberSetup

    stores = stores or Stores(settings)
    if provider is None:
        from reach.adapters.numbers_eum import EumNumberProvider

        provider = EumNumberProvider(
            region_name=settings.region, endpoint_url=settings.endpoint_url
        )
    return NumberSetup(
        stores.tenants, stores.numbers, provider, settings.require("inbound_topic_arn")
    )


def build_usage_keys(
    settings: Settings,
    *,
    gateway: UsagePlanGateway | None = None,
    stores: Stores | None = None,
) -> UsageKeyProvisioning:
    """`reach tenants create|usage-key`: the tenant's API Gateway usage key in the stack's
    usage plan (USAGE_PLAN_ID), copied where the authorizer reads it.

    ``gateway`` replaces API Gateway (tests pass one over moto or a stubbed client).
    """
    from reach.services.usage_keys import UsageKeyProvisioning

    stores = stores or Stores(settings)
    if gateway is None:
        from reach.adapters.usage_plans_apigateway import ApiGatewayUsagePlans

        gateway = ApiGatewayUsagePlans(
            settings.require("usage_plan_id"),
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
        )
    return UsageKeyProvisioning(stores.tenants, stores.api_keys, gateway)


def build_receipts(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    events: EventPublisher | None = None,
    stores: Stores | None = None,
) -> ReceiptService:
    """Delivery receipts onto the conversation, and DeliveryFailed to the clinic's bus."""
    from reach.services.receipts import ReceiptService

    stores = stores or Stores(settings)
    return ReceiptService(stores.messages, events or _event_bus(settings), clock)


@lru_cache(maxsize=1)
def receipts_from_env() -> ReceiptService:
    return build_receipts(Settings.from_env())
