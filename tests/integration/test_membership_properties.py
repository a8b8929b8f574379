"""Lists and consent over any interleaving (issue 13): keyword joins, STOP, "STOP <keyword>",
START, YES, members added and removed by the API, CSV imports, and pending members expiring.
After every step:

- each list's member counts by status equal its stored members;
- STOP wins over anything received before it: an opted-out number is on no list, active or
  pending, until it texts START or a keyword again;
- no member is active or pending without consent on record;
- every change is in the consent history: each membership's and the contact's latest entry
  says what they are now.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from builders import FIXED_START, a_list, new_tenant
from conftest import examples
from reach.adapters.events_fake import RecordingPublisher
from reach.data.consent_log import TENANT_SCOPE, ConsentAction, ConsentLog, list_scope
from reach.data.contacts import ContactRepository
from reach.data.imports import ImportStore
from reach.data.lists import ListRepository
from reach.domain.errors import Conflict, NotFound
from reach.domain.inbound import InboundSms, parse_inbound
from reach.domain.lists import ConsentSource, MemberConsent, MemberStatus
from reach.services.imports import ImportService
from reach.services.lists import NewMember
from reach.wiring import build_inbound, build_services
from reach_tools.demo_clock import DemoClock
from stand_ins import TimedSms

PHONES = ("+12025550301", "+12025550302", "+12025550303")
TENANT_NUMBERS = itertools.count(8100)
_ids = itertools.count(1)
#: The keyword of each list: ALERTS joins at once, HELPERS (double opt-in) asks for a YES.
LISTS = ("alerts", "helpers")
TEXTS = ("ALERTS", "HELPERS", "STOP", "STOP ALERTS", "STOP HELPERS", "START", "YES")
ON_THE_LIST = (MemberStatus.ACTIVE, MemberStatus.PENDING)
#: A membership's status and the consent action that makes it.
MADE_BY = {
    MemberStatus.ACTIVE: ConsentAction.JOINED,
    MemberStatus.PENDING: ConsentAction.INVITED,
    MemberStatus.LEFT: ConsentAction.LEFT,
    MemberStatus.EXPIRED: ConsentAction.EXPIRED,
}

person = st.integers(0, len(PHONES) - 1)
which_list = st.integers(0, len(LISTS) - 1)
step = st.one_of(
    st.tuples(st.just("text"), person, st.sampled_from(TEXTS)),
    st.tuples(st.just("add"), person, which_list),
    st.tuples(st.just("remove"), person, which_list),
    st.tuples(st.just("import"), st.sets(person, min_size=1), which_list),
    st.tuples(st.just("wait"), st.sampled_from([1, 49])),
)


class Lists:
    """One tenant with two lists, driven through the services a tenant and a texter use."""

    def __init__(self, aws) -> None:
        self.clock = DemoClock(FIXED_START)
        number = f"+1202556{next(TENANT_NUMBERS):04d}"
        self.number = number
        self.tenant_id = new_tenant(aws, "Eastside Food Bank", number=number).tenant_id
        repository = ListRepository()
        self.lists = [
            repository.create(replace(a_list(), tenant_id=self.tenant_id)),
            repository.create(
                replace(a_list("helpers", "HELPERS"), tenant_id=self.tenant_id, double_opt_in=True)
            ),
        ]
        events = RecordingPublisher()
        services = build_services(aws.settings, clock=self.clock, events=events)
        self.service = services.lists
        self.imports = ImportService(
            repository, ImportStore(), aws.tenants, events, self.clock, uploads=lambda: None
        )
        self.inbound = build_inbound(
            aws.settings, clock=self.clock, sleep=self.clock.sleep, sms=TimedSms(self.clock),
            events=events,
        )  # fmt: skip
        #: Who opted out of the tenant (STOP), by the model.
        self.opted_out: set[str] = set()

    def apply(self, action: str, who: Any, value: Any) -> None:
        self.clock.advance(timedelta(seconds=1))
        if action == "text":
            self._text(PHONES[who], value)
        elif action == "add":
            self._add(PHONES[who], LISTS[value])
        elif action == "remove":
            with contextlib.suppress(NotFound):  # never on the list
                self.service.remove_member(self.tenant_id, LISTS[value], PHONES[who], "r")
        elif action == "import":
            self._import([PHONES[i] for i in sorted(who)], LISTS[value])
        else:
            self.clock.advance(timedelta(hours=who))

    def _text(self, phone: str, body: str) -> None:
        sms = parse_inbound(
            {
                "originationNumber": phone,
                "destinationNumber": self.number,
                "messageBody": body,
                "inboundMessageId": f"in-{next(_ids):06d}",
            }
        )
        assert isinstance(sms, InboundSms)
        self.inbound.receive(sms, self.clock())
        if body == "STOP":
            self.opted_out.add(phone)
        elif body in ("START", "ALERTS", "HELPERS"):
            self.opted_out.discard(phone)  # texting in is consent again

    def _add(self, phone: str, list_id: str) -> None:
        consent = MemberConsent(ConsentSource.WEB_FORM, self.clock() - timedelta(hours=1))
        try:
            self.service.add_member(self.tenant_id, list_id, NewMember(phone, consent), "r")
        except Conflict:
            assert phone in self.opted_out  # only an opt-out refuses an add

    def _import(self, phones: list[str], list_id: str) -> None:
        at = (self.clock() - timedelta(hours=1)).isoformat()
        rows = "".join(f"{phone},,,paper_form,{at},form\n" for phone in phones)
        header = "phone,first_name,timezone,consent_source,consent_at,evidence\n"
        record = self.imports.import_csv(self.tenant_id, list_id, (header + rows).encode())
        refused = {r.row - 2 for r in record.report.rejected}
        assert {phones[i] for i in refused} == {p for p in phones if p in self.opted_out}

    def check(self) -> None:
        # Reading a list expires its overdue pending members first (and records it).
        counts = [self.service.get(self.tenant_id, plist.list_id) for plist in self.lists]
        self._histories = {phone: ConsentLog().history(self.tenant_id, phone) for phone in PHONES}
        for plist, counted in zip(self.lists, counts, strict=True):
            stored: Counter[str] = Counter()
            for phone in PHONES:
                member = ListRepository().member(self.tenant_id, plist.list_id, phone)
                if member is not None:
                    stored[member.status.value] += 1
                    self._check_member(phone, member)
            assert {s: counted.count(MemberStatus(s)) for s in stored} == dict(stored)
            assert sum(counted.count(s) for s in MemberStatus) == sum(stored.values())
        for phone in PHONES:
            contact = ContactRepository().get(self.tenant_id, phone)
            assert contact.opted_out == (phone in self.opted_out), phone
            tenant_entries = [e for e in self._history(phone) if e.scope == TENANT_SCOPE]
            latest = tenant_entries[-1].action if tenant_entries else ConsentAction.OPTED_IN
            assert (latest is ConsentAction.OPTED_OUT) == contact.opted_out, phone

    def _check_member(self, phone, member) -> None:
        if member.status in ON_THE_LIST:
            assert phone not in self.opted_out, (phone, member.list_id, member.status)
            assert member.consent is not None
            assert member.consent.source
        entries = [e for e in self._history(phone) if e.scope == list_scope(member.list_id)]
        assert entries, (phone, member.list_id)
        assert entries[-1].action is MADE_BY[member.status], (phone, member.list_id)

    def _history(self, phone: str):
        return self._histories[phone]


@settings(
    max_examples=examples(5),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=10))
# An import after a STOP must not put the number back on a list.
@example(steps=[("text", 0, "STOP"), ("import", {0, 1}, 0)])
# An invitation left unanswered expires, and a STOP after an import leaves every list.
@example(steps=[("import", {0}, 1), ("wait", 49, 0), ("import", {0, 2}, 0), ("text", 0, "STOP")])
def test_counts_consent_and_history_hold_whatever_the_interleaving_with_imports(aws, steps):
    run = Lists(aws)
    for action, who, value in [(*s, None)[:3] for s in steps]:
        run.apply(action, who, value)
        run.check()


@pytest.mark.parametrize("listed", [0, 1])
def test_an_import_refuses_a_number_that_opted_out_and_adds_the_others(aws, listed):
    run = Lists(aws)
    run.apply("text", 0, "STOP")

    run.apply("import", {0, 1}, listed)

    run.check()
    assert ListRepository().member(run.tenant_id, LISTS[listed], PHONES[0]) is None
