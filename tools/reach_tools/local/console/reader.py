"""What the console shows, read from the embedded stack the cheap way: the repositories'
key-bound queries, the campaign registry, the bus through a tap of its own, and moto's SNS
record of texts. Every list is bounded by PANEL_LIMIT."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from moto.sns.models import sns_backends

from reach.data.appointments import AppointmentRepository
from reach.data.campaigns import CampaignRepository
from reach.data.messages import MessageRepository
from reach.data.recipients import CampaignCounts, read_counts
from reach.data.survey_responses import SurveyResponses, parse_ref
from reach.data.surveys import SurveyRepository
from reach.data.tables import CampaignItem, NoticeItem, appointment_pk, campaigns_lookup_key
from reach.domain.campaigns import Campaign
from reach.domain.errors import ReachError
from reach.domain.message import Message, Thread
from reach.domain.models import Appointment, Tenant
from reach.domain.survey_flow import response_thread_id
from reach.wiring import services_from_env
from reach_tools.local.console.markup import PANEL_LIMIT
from reach_tools.local.embedded import REGION
from reach_tools.local.functions import ACCOUNT_ID
from reach_tools.local.recipient import EVENT_BUS
from reach_tools.local.stack import LocalReach

#: The registry the dispatcher reads: campaigns to start, feed or settle.
REGISTRY = ("scheduled", "sending", "cancelled")
#: Appointments shown: from this long ago to this far ahead of the demo clock.
LOOK_BACK = timedelta(days=7)
LOOK_AHEAD = timedelta(days=366)
#: Texts per conversation.
THREAD_LIMIT = 20


@dataclass(frozen=True)
class Conversation:
    tenant: Tenant
    phone: str
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class NoticeRow:
    appointment: Appointment
    notice_id: str
    type: str
    eta: datetime
    status: str
    reason: str | None


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    counts: CampaignCounts


@dataclass(frozen=True)
class SurveyRow:
    survey_id: str
    name: str
    results: Mapping[str, Any] | None


class ConsoleReader:
    """Reads the stack for the panels; keeps the bus's events and the campaign ids it saw."""

    def __init__(self, reach: LocalReach) -> None:
        self._reach = reach
        services = services_from_env()
        self._admin = services.admin
        self._appointments = AppointmentRepository(services.settings.due_shards)
        self._messages = MessageRepository()
        self._campaigns = CampaignRepository(due_shards=services.settings.due_shards)
        self._surveys = SurveyRepository()
        self._responses = SurveyResponses(services.settings.due_shards)
        self._events: deque[Mapping[str, Any]] = deque(maxlen=PANEL_LIMIT)
        self._campaign_ids: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._phones: OrderedDict[str, None] = OrderedDict()
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()
        self._sqs = reach.aws.sqs()
        self._tap = self._tap_the_bus(f"{reach.aws.table_names['TenantsTable']}-console-tap")

    def tenants(self) -> list[Tenant]:
        return self._admin.list_tenants()[:PANEL_LIMIT]

    def tenant_for_number(self, number: str) -> Tenant | None:
        return next((t for t in self.tenants() if t.sender_number == number), None)

    def remember_phone(self, phone: str) -> None:
        with self._lock:
            self._phones[phone] = None
            self._phones.move_to_end(phone)
            while len(self._phones) > PANEL_LIMIT:
                self._phones.popitem(last=False)

    def appointments(self) -> list[Appointment]:
        """The tenants' appointments around the demo clock, each with its reminders."""
        now = self._reach.clock()
        found: list[Appointment] = []
        for tenant in self.tenants():
            page = self._appointments.page(
                tenant.tenant_id, now - LOOK_BACK, now + LOOK_AHEAD, None, PANEL_LIMIT, None
            )
            found += page.items
        found = found[:PANEL_LIMIT]
        return [self._appointments.get(a.tenant_id, a.appointment_id) for a in found]

    def notices(self, appointments: list[Appointment]) -> list[NoticeRow]:
        rows: list[NoticeRow] = []
        for appointment in appointments:
            items = NoticeItem.query(
                appointment_pk(appointment.tenant_id, appointment.appointment_id),
                NoticeItem.sk.startswith("notice#"),
                limit=PANEL_LIMIT,
            )
            rows += [
                NoticeRow(appointment, i.notice_id, i.notice_type, i.eta, i.status, i.reason)
                for i in items
                if isinstance(i, NoticeItem)
            ]
        return sorted(rows, key=lambda row: row.eta, reverse=True)[:PANEL_LIMIT]

    def conversations(self, appointments: list[Appointment]) -> list[Conversation]:
        """Each phone's texts with each tenant, both directions, newest phones first."""
        phones = self._known_phones(appointments)
        found: list[Conversation] = []
        for tenant in self.tenants():
            for phone in phones:
                threads = [
                    Thread(tenant.tenant_id, None, phone),
                    *(
                        Thread(tenant.tenant_id, a.appointment_id, phone)
                        for a in appointments
                        if a.tenant_id == tenant.tenant_id and a.phone == phone
                    ),
                    *self._survey_threads(tenant.tenant_id, phone),
                ]
                messages = sorted(
                    (m for thread in threads for m in self._messages.thread(thread, THREAD_LIMIT)),
                    key=lambda m: (m.created_at, m.message_id),
                )
                if messages:
                    found.append(Conversation(tenant, phone, tuple(messages[-THREAD_LIMIT:])))
        found.sort(key=lambda c: c.messages[-1].created_at, reverse=True)
        return found[:PANEL_LIMIT]

    def _survey_threads(self, tenant_id: str, phone: str) -> list[Thread]:
        """The phone's latest survey responses' threads (each response files its texts in
        its own), from its survey lane: one read, and none kept beyond a panel's worth."""
        history = self._responses.lane(tenant_id, phone).history[-PANEL_LIMIT:]
        return [Thread(tenant_id, response_thread_id(*parse_ref(ref)), phone) for ref in history]

    def campaigns(self) -> list[CampaignRow]:
        self.events()  # the campaigns the bus named since
        for status in REGISTRY:
            for item in CampaignItem.lookup.query(campaigns_lookup_key(status), limit=PANEL_LIMIT):
                self._saw_campaign(str(item.tenant_id), str(item.appointment_id))
        rows: list[CampaignRow] = []
        with self._lock:
            ids = list(reversed(self._campaign_ids))
        for tenant_id, campaign_id in ids:
            try:
                campaign = self._campaigns.get(tenant_id, campaign_id)
            except ReachError:
                continue
            rows.append(CampaignRow(campaign, read_counts(tenant_id, campaign_id)))
        return rows

    def surveys(self) -> list[SurveyRow]:
        rows: list[SurveyRow] = []
        for tenant in self.tenants():
            for survey in self._surveys.page(tenant.tenant_id, PANEL_LIMIT, None).items:
                results = self._results(tenant.tenant_id, survey.survey_id)
                rows.append(SurveyRow(survey.survey_id, survey.definition.name, results))
        return rows[:PANEL_LIMIT]

    def events(self) -> list[Mapping[str, Any]]:
        """The bus's events, newest first (the last PANEL_LIMIT)."""
        for event in self._drain_tap():
            detail = event.get("detail") or {}
            if "campaign_id" in detail and "tenant_id" in detail:
                self._saw_campaign(str(detail["tenant_id"]), str(detail["campaign_id"]))
            with self._lock:
                self._events.append(event)
        with self._lock:
            return list(reversed(self._events))

    def _saw_campaign(self, tenant_id: str, campaign_id: str) -> None:
        with self._lock:
            self._campaign_ids[(tenant_id, campaign_id)] = None
            while len(self._campaign_ids) > PANEL_LIMIT:
                self._campaign_ids.popitem(last=False)

    def _known_phones(self, appointments: list[Appointment]) -> list[str]:
        texts = list(dict(sns_backends[ACCOUNT_ID][REGION].sms_messages).values())
        recent = [str(sms[0]) for sms in texts[-PANEL_LIMIT:]]
        with self._lock:
            answered = list(self._phones)
        ordered = dict.fromkeys([*answered, *recent, *(a.phone for a in appointments)])
        return list(ordered)[:PANEL_LIMIT]

    def _results(self, tenant_id: str, survey_id: str) -> Mapping[str, Any] | None:
        """GET /surveys/{id}/results through the local API, with a key of the console's own;
        None when it answers 404 (no results, or no such endpoint yet)."""
        key = self._keys.get(tenant_id)
        if key is None:
            key = self._admin.issue_key(tenant_id, label="local console").secret
            self._keys[tenant_id] = key
        # The local API's own http:// address.
        request = urllib.request.Request(  # noqa: S310
            f"{self._reach.api_url}/surveys/{survey_id}/results",
            headers={"Authorization": f"Bearer {key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310  # nosec B310
                results: dict[str, Any] = json.loads(answer.read())
                return results
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def _tap_the_bus(self, name: str) -> str:
        """A rule on the bus of its own, to a queue of its own: the console reads every event
        without taking any from the local phone's tap."""
        url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events = self._reach.aws.client("events")
        bus = self._reach.aws.bus_names[EVENT_BUS]
        events.put_rule(Name=name, EventBusName=bus, EventPattern='{"source": ["reach"]}')
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "console", "Arn": arn}])
        return str(url)

    def _drain_tap(self) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        for _ in range(PANEL_LIMIT):
            messages = self._sqs.receive_message(
                QueueUrl=self._tap, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                found.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._tap, ReceiptHandle=message["ReceiptHandle"])
        return found
