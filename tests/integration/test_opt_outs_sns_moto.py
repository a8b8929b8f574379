"""The SNS opt-out list adapter over the wire, against moto's SNS (query protocol, XML parsing).

moto's opt-out APIs are canned (moto/sns/models.py, 5.2.x): every region's backend starts with
the same eight UK numbers on its list; ``list_phone_numbers_opted_out`` returns all of them in
one page, never a ``nextToken``; ``opt_in_phone_number`` removes the number when it is listed
and ignores it otherwise, with no 30-day rule; ``check_if_phone_number_is_opted_out`` answers
True for any number ending in 99, whatever the list holds (the adapter never calls it). So
paging, the 30-day refusal and error classification cannot be tested here, and a "second
opt-in within 30 days" test would only pin moto's lack of the rule; the Stubber tests in
tests/unit/adapters/test_opt_outs.py cover them. What moto does show is the adapter reading
and changing a real, stateful list through botocore's real request and response handling.

Fake credentials and the region come from the autouse ``fake_aws_environment`` fixture in
tests/conftest.py (monkeypatched environment variables); the adapter builds its client inside
``mock_aws``, as a function would.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from reach.adapters.opt_outs_sns import SnsOptOutList
from reach.ports.opt_outs import ProviderOptOut

pytestmark = pytest.mark.integration

#: moto's canned list, in its order.
MOTO_CANNED = [
    "+447420500600",
    "+447420505401",
    "+447632960543",
    "+447632960028",
    "+447700900149",
    "+447700900550",
    "+447700900545",
    "+447700900907",
]
#: The two of them that libphonenumber (phonenumberslite, behind reach.domain.phones.to_e164)
#: takes as dialable UK mobile numbers. It refuses the other six (07632 960xxx, and
#: 07700 900xxx, a range Ofcom keeps for drama), so the adapter skips them: the skip-and-count
#: path of a real listing, chosen by moto's data, not by this test.
DIALABLE = ["+447420500600", "+447420505401"]


@pytest.fixture
def adapter() -> Iterator[SnsOptOutList]:
    with mock_aws():
        yield SnsOptOutList(region_name="us-east-1")


def moto_list() -> list[str]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].opt_out_numbers)


def test_moto_starts_with_its_canned_list(adapter):
    # The premise of every test below: if moto changes its canned numbers, this fails first
    assert moto_list() == MOTO_CANNED


def test_the_listing_yields_the_dialable_numbers_and_counts_the_rest_as_skipped(adapter):
    listed = list(adapter.opted_out())

    assert listed == [ProviderOptOut(phone, None, True) for phone in DIALABLE]
    assert adapter.skipped == len(MOTO_CANNED) - len(DIALABLE)


def test_opt_in_takes_the_number_off_the_list(adapter):
    assert adapter.opt_in("+447420500600") is True

    assert [item.phone for item in adapter.opted_out()] == ["+447420505401"]
    assert "+447420500600" not in moto_list()


def test_opt_in_of_a_number_not_listed_succeeds_and_changes_nothing(adapter):
    assert adapter.opt_in("+12025550143") is True

    assert moto_list() == MOTO_CANNED


def test_opting_in_every_listed_number_empties_the_listing(adapter):
    for item in list(adapter.opted_out()):
        assert adapter.opt_in(item.phone) is True

    assert list(adapter.opted_out()) == []
    # The six skipped entries are still on moto's list: Reach never matched them to anyone
    assert len(moto_list()) == len(MOTO_CANNED) - len(DIALABLE)


def test_each_mock_starts_from_the_canned_list_again():
    # Opt-ins made under one mock_aws do not leak into the next (the backends are reset)
    with mock_aws():
        SnsOptOutList(region_name="us-east-1").opt_in("+447420500600")
    with mock_aws():
        assert [item.phone for item in SnsOptOutList(region_name="us-east-1").opted_out()] == (
            DIALABLE
        )
