"""The whole local stack: embedded AWS, the real functions, the HTTP front and the scheduler
that plays EventBridge and the send queue's event source mapping, in one process."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import ModuleType
from typing import Any, TextIO

from reach.data.appointments import AppointmentRepository
from reach.data.notices import NoticeStore
from reach.domain.models import Tenant
from reach.services.notices import NoticeService
from reach.services.survey_sends import SurveySendService, SurveyTriggers
from reach.services.tenants import IssuedKey, TenantAdmin
from reach.wiring import Stores, services_from_env
from reach_tools.demo_clock import DemoClock
from reach_tools.local.carrier import LocalCarrier
from reach_tools.local.embedded import DEFAULT_TABLE_PREFIX, REGION, EmbeddedAws
from reach_tools.local.functions import load_function
from reach_tools.local.gateway import LocalGateway, rest_api_of
from reach_tools.local.http_front import HttpFront
from reach_tools.local.lifecycle import Startable
from reach_tools.local.recipient import LocalPhone
from reach_tools.local.scheduler import LocalScheduler
from reach_tools.template import load_template

API_FUNCTION = "ApiFunction"
#: Local only: text Reach as a recipient (see LocalPhone.http_reply).
PHONE_ROUTE = "/_local/phone/replies"
AUTHORIZER_FUNCTION = "AuthorizerFunction"


def _notices_on(api: ModuleType, clock: DemoClock) -> None:
    """The API's notices and survey sends and triggers judged on the demo's clock. A notice goes out
    at once, so its ETA and the recipient's quiet hours must be read on the clock the sender
    runs on (which the demo moves days ahead); bookings stay on the real clock."""
    services = services_from_env()
    notices = NoticeService(
        AppointmentRepository(services.settings.due_shards),
        services.tenants,
        services.contacts,
        NoticeStore(shards=services.settings.due_shards),
        clock,
    )
    # A completed visit's surveys are timed from the completion on the same clock: the
    # sender that asks them runs on it.
    stores = Stores(services.settings)
    services.appointments.on_completed = SurveyTriggers(
        stores.surveys, stores.survey_responses, clock
    ).completed
    sends = SurveySendService(
        stores.surveys,
        stores.survey_sends,
        stores.survey_responses,
        stores.lists,
        stores.appointments,
        clock,
    )
    moved = replace(services, notices=notices, survey_sends=sends)
    api.__dict__["services_from_env"] = lambda: moved


class LocalReach(Startable):
    """Reach on this machine: start it, create tenants, call ``api_url``, stop it."""

    def __init__(
        self,
        *,
        api_port: int = 0,
        log_level: str = "WARNING",
        extra_environment: Mapping[str, str] | None = None,
        access_log: TextIO | None = None,
        template: Mapping[str, Any] | None = None,
        table_prefix: str = DEFAULT_TABLE_PREFIX,
        clock: DemoClock | None = None,
    ) -> None:
        self.template = load_template() if template is None else template
        #: Reach's "now" for the dispatcher and the sender (the API books on the real clock).
        self.clock = DemoClock() if clock is None else clock
        self._table_prefix = table_prefix
        self.aws = EmbeddedAws(
            self.template,
            log_level=log_level,
            extra_environment=extra_environment,
            table_prefix=table_prefix,
        )
        self._api_port = api_port
        self._access_log = access_log
        self._front: HttpFront | None = None
        self._scheduler: LocalScheduler | None = None
        self._phone: LocalPhone | None = None
        self._carrier: LocalCarrier | None = None

    @property
    def api_url(self) -> str:
        if self._front is None:
            raise RuntimeError("LocalReach is not started")
        return self._front.url

    @property
    def scheduler(self) -> LocalScheduler:
        """The dispatcher's schedule and the sender's queue mapping: ``tick`` runs both."""
        if self._scheduler is None:
            raise RuntimeError("LocalReach is not started")
        return self._scheduler

    @property
    def phone(self) -> LocalPhone:
        """The recipient's side: text Reach as any number and see what comes back."""
        if self._phone is None:
            raise RuntimeError("LocalReach is not started")
        return self._phone

    @property
    def carrier(self) -> LocalCarrier:
        """The carriers' side: report a text delivered (or not), as a receipt would."""
        if self._carrier is None:
            raise RuntimeError("LocalReach is not started")
        return self._carrier

    def start(self) -> None:
        self.aws.start()
        try:
            # The handlers read their environment at import, as in a Lambda cold start, so
            # they are loaded only once the embedded AWS has set it.
            api = load_function(self.template, API_FUNCTION, REGION)
            _notices_on(api.module, self.clock)
            gateway = LocalGateway(
                authorizer=load_function(self.template, AUTHORIZER_FUNCTION, REGION),
                api=api,
                rest_api=rest_api_of(self.template, API_FUNCTION),
                region=REGION,
            )
            self._scheduler = LocalScheduler(
                self.template, self.aws, self.clock, table_prefix=self._table_prefix
            )
            self._phone = LocalPhone(self.template, self.aws, self.clock, prefix=self._table_prefix)
            self._carrier = LocalCarrier(self.template, self.aws, self.clock)
            # The phone taps the bus with a queue of its own: capped like the template's.
            self.aws.keep_flat()
            self._front = HttpFront(
                gateway,
                port=self._api_port,
                access_log=self._access_log,
                local_routes={("POST", PHONE_ROUTE): self._phone.http_reply},
            )
            self._front.start()
        except BaseException:
            self._scheduler = None
            self._phone = None
            self._carrier = None
            self.aws.stop()
            raise

    @property
    def admin(self) -> TenantAdmin:
        """Tenant and key administration on the embedded tables (what `reach` does)."""
        return services_from_env().admin

    def create_tenant(
        self, name: str, timezone: str, sender_number: str
    ) -> tuple[Tenant, IssuedKey]:
        """A tenant with the stack's default quiet hours and reminders, and its first key."""
        services = services_from_env()
        return self.admin.create_tenant(
            name=name,
            timezone=timezone,
            sender_number=sender_number,
            quiet_hours=services.settings.default_quiet_hours,
            reminder_offsets=services.settings.reminder_offsets,
        )

    def stop(self) -> None:
        if self._front is not None:
            self._front.stop()
            self._front = None
        self._scheduler = None
        self._phone = None
        self._carrier = None
        self.aws.stop()
