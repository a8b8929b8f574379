import pytest

from reach.domain.errors import InvalidInput
from reach.domain.masking import mask_phone, mask_phones_in
from reach.domain.phones import region_of, to_e164


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
