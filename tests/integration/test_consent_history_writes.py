"""Tenant-wide consent changes are in the consent history exactly when the contact is: the
entry is written in the contact's own transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pynamodb.transactions import TransactWrite

from builders import PATIENT
from reach.data.consent_log import TENANT_SCOPE, ConsentAction, ConsentLog
from reach.data.contacts import ContactItem, ContactRepository
from reach.domain.errors import Conflict

AT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


class RefusedRecord:
    """A history write that DynamoDB refuses (its condition never holds)."""

    def add_to(self, transaction: TransactWrite) -> None:
        transaction.condition_check(
            ContactItem, "contact#nobody#+12025550100", "contact", condition=ContactItem.pk.exists()
        )


def test_an_opt_out_whose_history_entry_cannot_be_written_is_not_made(aws):
    contacts = ContactRepository(max_attempts=2)

    with pytest.raises(Conflict):
        contacts.opt_out("t1", PATIENT, "sms:STOP", AT, record=RefusedRecord())

    assert not contacts.get("t1", PATIENT).opted_out


def test_an_opt_out_the_provider_reports_is_in_the_history(aws):
    ContactRepository().mark_opted_out("t1", PATIENT, "provider_opt_out", AT)

    [entry] = ConsentLog().history("t1", PATIENT)
    assert (entry.scope, entry.action, entry.source) == (
        TENANT_SCOPE,
        ConsentAction.OPTED_OUT,
        "provider_opt_out",
    )


def test_a_repeated_opt_out_adds_no_second_entry(aws):
    contacts = ContactRepository()
    contacts.mark_opted_out("t1", PATIENT, "provider_opt_out", AT)
    contacts.mark_opted_out("t1", PATIENT, "provider_opt_out", AT)  # no change: no entry

    assert [e.action for e in ConsentLog().history("t1", PATIENT)] == [ConsentAction.OPTED_OUT]
