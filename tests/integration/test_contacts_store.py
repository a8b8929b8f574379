"""ContactRepository under moto: consent and the healthcare caps' send log."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from botocore.client import BaseClient

from reach.data.contacts import CONTACT_SK, ContactItem, ContactRepository, contact_pk
from reach.domain.caps import CapReason
from reach.domain.errors import InvalidInput

NEW_YORK = ZoneInfo("America/New_York")
CLINIC = "tnt_clinic"
PATIENT = "+12025550187"


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


@pytest.fixture
def contacts(aws) -> ContactRepository:
    return ContactRepository()


def test_a_contact_never_seen_is_opted_in_with_no_sends(contacts):
    contact = contacts.get(CLINIC, PATIENT)

    assert contact.tenant_id == CLINIC
    assert contact.phone == PATIENT
    assert not contact.opted_out
    assert contact.consent_source is None
    assert contact.recent_sends == ()
    assert contact.version == 0


def test_a_reserved_send_is_recorded_and_blocks_a_second_one_that_day(contacts):
    # Given a first clinic reminder reserved this morning
    first = contacts.reserve_clinic_send(CLINIC, PATIENT, ny(2026, 6, 1, 9, 0), NEW_YORK)

    # When a second is attempted in the afternoon
    second = contacts.reserve_clinic_send(CLINIC, PATIENT, ny(2026, 6, 1, 15, 0), NEW_YORK)

    # Then the first was recorded and the second is held until the patient's next day
    assert first.allowed
    assert contacts.get(CLINIC, PATIENT).recent_sends == (ny(2026, 6, 1, 9, 0),)
    assert second.reason == CapReason.DAILY_CAP
    assert second.next_allowed_at == ny(2026, 6, 2, 0, 0)


def test_a_released_send_frees_its_slot_once(contacts):
    # Given a reserved send whose SMS then failed for good
    at = ny(2026, 6, 1, 9, 0, 0)
    contacts.reserve_clinic_send(CLINIC, PATIENT, at, NEW_YORK)

    # When it is released, twice (a retried failure handler)
    released = contacts.release_clinic_send(CLINIC, PATIENT, at)
    again = contacts.release_clinic_send(CLINIC, PATIENT, at)

    # Then the log is empty and the day's slot is free again
    assert (released, again) == (True, False)
    assert contacts.get(CLINIC, PATIENT).recent_sends == ()
    assert contacts.reserve_clinic_send(CLINIC, PATIENT, ny(2026, 6, 1, 15, 0), NEW_YORK).allowed


def test_a_fourth_send_in_a_week_is_refused_by_the_stored_log(contacts):
    for day in (1, 2, 3):
        assert contacts.reserve_clinic_send(
            CLINIC, PATIENT, ny(2026, 6, day, 9, 0), NEW_YORK
        ).allowed

    fourth = contacts.reserve_clinic_send(CLINIC, PATIENT, ny(2026, 6, 5, 9, 0), NEW_YORK)

    assert fourth.reason == CapReason.WEEKLY_CAP
    assert fourth.next_allowed_at == ny(2026, 6, 8, 9, 0)
    assert len(contacts.get(CLINIC, PATIENT).recent_sends) == 3


def test_sends_older_than_eight_days_are_pruned_on_the_next_write(contacts):
    contacts.reserve_clinic_send(CLINIC, PATIENT, ny(2026, 6, 1, 9, 0), NEW_YORK)
    contacts.reserve_clinic_send(CLINIC, PATIENT, ny(2026, 6, 5, 9, 0), NEW_YORK)

    contacts.reserve_clinic_send(CLINIC, PATIENT, ny(2026, 6, 10, 9, 0), NEW_YORK)

    assert contacts.get(CLINIC, PATIENT).recent_sends == (
        ny(2026, 6, 5, 9, 0),
        ny(2026, 6, 10, 9, 0),
    )


def test_the_same_phone_is_a_separate_contact_for_each_tenant(contacts):
    contacts.reserve_clinic_send(CLINIC, PATIENT, ny(2026, 6, 1, 9, 0), NEW_YORK)
    contacts.mark_opted_out(CLINIC, PATIENT, "sms:STOP", ny(2026, 6, 1, 10, 0))

    other = contacts.get("tnt_dentist", PATIENT)

    assert not other.opted_out
    assert other.recent_sends == ()
    assert contacts.reserve_clinic_send(
        "tnt_dentist", PATIENT, ny(2026, 6, 1, 11, 0), NEW_YORK
    ).allowed


def test_opting_out_records_source_and_time_and_repeating_it_changes_nothing(contacts):
    # Given a STOP at 10:00
    stop = ny(2026, 6, 1, 10, 0)
    contact = contacts.mark_opted_out(CLINIC, PATIENT, "sms:STOP", stop)

    # When a second opt-out arrives later (a duplicate, or the provider's opt-out list)
    again = contacts.mark_opted_out(CLINIC, PATIENT, "provider:opt_out_list", stop + timedelta(1))

    # Then the contact is opted out as of the first, and the repeat wrote nothing
    assert contact.opted_out
    assert (contact.consent_source, contact.consent_changed_at) == ("sms:STOP", stop)
    assert again == contact
    assert contacts.get(CLINIC, PATIENT) == contact


def test_opting_back_in_after_an_opt_out_restores_consent(contacts):
    contacts.mark_opted_out(CLINIC, PATIENT, "sms:STOP", ny(2026, 6, 1, 10, 0))

    contact = contacts.mark_opted_in(CLINIC, PATIENT, "sms:START", ny(2026, 6, 1, 10, 5))

    assert not contact.opted_out
    assert contact.consent_source == "sms:START"
    assert contact.consent_changed_at == ny(2026, 6, 1, 10, 5)


def test_an_opt_out_that_arrives_after_a_newer_opt_in_is_ignored(contacts):
    # Given STOP at 10:00 and START at 10:05, delivered in the wrong order
    # (docs/facts.md#two-way-payload: inbound order is not guaranteed)
    contacts.mark_opted_in(CLINIC, PATIENT, "sms:START", ny(2026, 6, 1, 10, 5))

    contact = contacts.mark_opted_out(CLINIC, PATIENT, "sms:STOP", ny(2026, 6, 1, 10, 0))

    # Then the newer START stands
    assert not contact.opted_out
    assert contact.consent_source == "sms:START"


def test_an_opt_in_and_opt_out_at_the_same_moment_leave_the_contact_opted_out(contacts):
    moment = ny(2026, 6, 1, 10, 0)
    contacts.mark_opted_out(CLINIC, PATIENT, "sms:STOP", moment)

    contact = contacts.mark_opted_in(CLINIC, PATIENT, "sms:START", moment)

    assert contact.opted_out


def test_consent_changes_and_send_records_do_not_overwrite_each_other(contacts):
    contacts.reserve_clinic_send(CLINIC, PATIENT, ny(2026, 6, 1, 9, 0), NEW_YORK)
    contacts.mark_opted_out(CLINIC, PATIENT, "sms:STOP", ny(2026, 6, 1, 10, 0))

    contacts.release_clinic_send(CLINIC, PATIENT, ny(2026, 6, 1, 9, 0))

    contact = contacts.get(CLINIC, PATIENT)
    assert contact.opted_out
    assert contact.recent_sends == ()
    assert contact.version == 3


def test_a_phone_that_is_not_e164_is_refused_before_it_becomes_a_key(contacts):
    with pytest.raises(InvalidInput) as raised:
        contacts.get(CLINIC, "(202) 555-0187")

    assert raised.value.field == "phone"


def test_four_senders_racing_for_the_last_daily_slot_leave_exactly_one_winner(
    contacts, atomic_requests, monkeypatch
):
    # Given four sender containers reserving a reminder for one patient at once, in the
    # worst interleaving: each reads the empty log before any of them writes
    moments = [ny(2026, 6, 1, 9, 0, second) for second in range(4)]
    everyone_has_read = threading.Barrier(4, timeout=10)
    first_write_done = threading.local()
    serialised = BaseClient._make_api_call

    def reads_before_writes(self, operation_name, api_params):
        if operation_name == "PutItem" and not getattr(first_write_done, "value", False):
            first_write_done.value = True
            everyone_has_read.wait()
        return serialised(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", reads_before_writes)
    decisions = []
    lock = threading.Lock()

    def reserve(at: datetime) -> None:
        decision = ContactRepository().reserve_clinic_send(CLINIC, PATIENT, at, NEW_YORK)
        with lock:
            decisions.append(decision)

    threads = [threading.Thread(target=reserve, args=(m,)) for m in moments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly one got the day's slot, the three others lost the write, re-read, and
    # are held to the next day
    assert len(decisions) == 4
    assert sum(d.allowed for d in decisions) == 1
    assert {d.reason for d in decisions if not d.allowed} == {CapReason.DAILY_CAP}
    assert atomic_requests["PutItem"] == 4
    stored = ContactItem.get(contact_pk(CLINIC, PATIENT), CONTACT_SK)
    assert len(stored.recent_sends) == 1
    assert stored.recent_sends[0].astimezone(UTC) in {m.astimezone(UTC) for m in moments}


def test_consent_from_a_booking_never_outweighs_an_opt_out_and_yields_to_a_start(contacts):
    # Given a contact whose only consent came with a booking
    booked = ny(2026, 6, 1, 10, 0)
    assert contacts.record_first_consent(CLINIC, PATIENT, "booking", booked).changed
    # A booking for a recipient already on record adds nothing
    assert not contacts.record_first_consent(CLINIC, PATIENT, "booking", booked).changed

    # When an opt-out dated before the booking arrives (a provider's listing, a late STOP)
    change = contacts.opt_out(CLINIC, PATIENT, "provider_opt_out_list", booked - timedelta(1))

    # Then it applies: the booking was the clinic's word, not the recipient's
    assert change.changed
    assert change.contact.opted_out is True
    # And a booking can never opt the recipient back in
    assert not contacts.record_first_consent(CLINIC, PATIENT, "booking", booked).changed
    assert contacts.get(CLINIC, PATIENT).opted_out is True


def test_an_explicit_start_replaces_consent_that_came_with_a_booking(contacts):
    contacts.record_first_consent(CLINIC, PATIENT, "booking", ny(2026, 6, 1, 10, 0))

    change = contacts.opt_in(CLINIC, PATIENT, "sms:START", ny(2026, 6, 1, 11, 0))

    assert change.changed
    assert change.contact.consent_source == "sms:START"


# --- HELP answers and STOP confirmations per local day --------------------------------


def test_keyword_answers_are_allowed_up_to_the_limit_and_each_is_counted_once(contacts):
    day = date(2026, 6, 1)

    # Given two answers reserved today, the first one retried
    assert contacts.reserve_keyword_answer(CLINIC, PATIENT, "msg_a", day, limit=3)
    assert contacts.reserve_keyword_answer(CLINIC, PATIENT, "msg_a", day, limit=3)
    assert contacts.reserve_keyword_answer(CLINIC, PATIENT, "msg_b", day, limit=3)

    # When a third and a fourth come
    third = contacts.reserve_keyword_answer(CLINIC, PATIENT, "msg_c", day, limit=3)
    fourth = contacts.reserve_keyword_answer(CLINIC, PATIENT, "msg_d", day, limit=3)

    # Then the retry counted once, so the third is allowed and the fourth refused, while an
    # answer already counted is still allowed (its own retry) and the consent is untouched
    assert (third, fourth) == (True, False)
    assert contacts.reserve_keyword_answer(CLINIC, PATIENT, "msg_b", day, limit=3)
    assert contacts.get(CLINIC, PATIENT).opted_out is False


def test_an_answer_without_a_limit_is_counted_and_a_new_day_starts_from_nothing(contacts):
    day = date(2026, 6, 1)
    for answer_id in ("msg_a", "msg_b"):
        contacts.reserve_keyword_answer(CLINIC, PATIENT, answer_id, day, limit=3)

    # An owed confirmation goes past any limit, and counts against the rest of the day
    assert contacts.reserve_keyword_answer(CLINIC, PATIENT, "msg_c", day, limit=None)
    assert contacts.reserve_keyword_answer(CLINIC, PATIENT, "msg_z", day, limit=None)
    assert not contacts.reserve_keyword_answer(CLINIC, PATIENT, "msg_d", day, limit=3)

    # The next day's answers start a new count, and the item keeps only that day's ids
    next_day = day + timedelta(days=1)
    assert contacts.reserve_keyword_answer(CLINIC, PATIENT, "msg_e", next_day, limit=3)
    stored = ContactItem.get(contact_pk(CLINIC, PATIENT), CONTACT_SK)
    assert (stored.keyword_answers_on, stored.keyword_answers) == ("2026-06-02", ["msg_e"])
