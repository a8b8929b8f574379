import phonenumbers
import pytest

from reach.domain.errors import InvalidInput
from reach.domain.masking import mask_phone, mask_phones_in
from reach.domain.phones import region_of, textable_e164, to_e164


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 (202) 555-0187", None, "+12025550187"),
        ("(202) 555-0187", "US", "+12025550187"),
        ("202.555.0187", "US", "+12025550187"),
        ("+44 7400 123456", None, "+447400123456"),
        ("07400 123456", "GB", "+447400123456"),
        ("0034 612 345 678", "US", None),  # 00 is not the US international prefix
    ],
)
def test_numbers_are_normalised_to_e164(raw, region, expected):
    if expected is None:
        with pytest.raises(InvalidInput):
            to_e164(raw, default_region=region)
    else:
        assert to_e164(raw, default_region=region) == expected


@pytest.mark.parametrize("raw", ["", "hello", "+1 555", "12", "+999 1234567"])
def test_non_numbers_are_refused_naming_the_field(raw):
    with pytest.raises(InvalidInput) as raised:
        to_e164(raw, field="phone", default_region="US")

    assert raised.value.field == "phone"


def test_a_national_number_without_a_region_asks_for_international_format():
    with pytest.raises(InvalidInput, match="international format"):
        to_e164("(202) 555-0187")


def test_region_of_a_number_is_its_country():
    assert region_of("+12025550143") == "US"
    assert region_of("+447400123456") == "GB"
    assert region_of("not a number") is None


def test_a_masked_number_keeps_country_digit_and_last_three():
    assert mask_phone("+12025550187") == "+1*******187"
    assert mask_phone("+44") == "***"


def test_free_text_is_masked_everywhere_but_dates_and_ids_survive():
    text = (
        "sent to +12025550187 and 2025550143 on 2026-03-08T08:30:00-05:00 "
        "id apt_3f3706d224b35e6aa075ef8acdb8d390"
    )

    masked = mask_phones_in(text)

    assert "2025550187" not in masked
    assert "2025550143" not in masked
    assert "2026-03-08T08:30:00-05:00" in masked
    assert "apt_3f3706d224b35e6aa075ef8acdb8d390" in masked


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # US and Canadian numbers: the plan cannot tell a mobile from a landline
        ("+1 202 555 0187", "+12025550187"),
        ("+44 7911 123456", "+447911123456"),  # a UK mobile
        ("+33 6 12 34 56 78", "+33612345678"),  # a French mobile
        ("+44 56 1234 5678", "+445612345678"),  # UK VoIP: many people's texting number
        ("+44 70 1234 5678", "+447012345678"),  # UK personal number: routed to a person
    ],
)
def test_given_a_number_that_may_reach_a_handset_when_checked_as_a_recipient_then_it_is_kept(
    raw, expected
):
    assert textable_e164(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("+1 800 555 0100", "toll-free"),  # US toll-free 800
        ("+1 888 555 0100", "toll-free"),  # US toll-free 888
        ("+44 909 879 0000", "premium-rate"),  # UK premium 09xx
        ("+44 20 7946 0000", "landline"),  # UK London fixed line 020
        ("+33 1 40 00 00 00", "landline"),  # French fixed line
        ("+44 843 123 4567", "premium-rate"),  # UK 084x service number
        ("+44 300 123 4567", "company"),  # UK 03: universal access
        ("+44 7640 123456", "pager"),  # UK 076 pager
    ],
)
def test_given_a_landline_or_service_number_when_checked_as_a_recipient_then_it_is_refused(
    raw, reason
):
    with pytest.raises(InvalidInput, match=reason) as raised:
        textable_e164(raw)

    assert raised.value.field == "phone"
    assert "ask for a mobile number" in raised.value.reason


@pytest.mark.parametrize(
    "raw",
    [
        "+1 202 555 0187 ext. 12",
        "+12025550187 x12",
        "+12025550187;ext=12",
        "(202) 555-0187 ext 5",
    ],
)
def test_given_a_number_with_an_extension_when_parsed_then_it_is_refused_not_dropped(raw):
    for parse in (to_e164, textable_e164):
        with pytest.raises(InvalidInput, match="extension") as raised:
            parse(raw, default_region="US")

        assert raised.value.field == "phone"


def test_the_lite_phone_library_knows_number_types():
    # phonenumberslite drops geocoding, carrier and time-zone data, not the type metadata
    # these rules depend on: if a release ever did, every number would come back UNKNOWN.
    assert phonenumbers.number_type(phonenumbers.parse("+447911123456")) == (
        phonenumbers.PhoneNumberType.MOBILE
    )
