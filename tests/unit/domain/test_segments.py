from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reach.domain.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SmsEncoding,
    count_segments,
    estimate_cost,
    gsm_safe,
    split_into_parts,
)

EMOJI = "\U0001f600"  # outside the BMP: a surrogate pair in UTF-16
ARABIC = "\u0645"  # inside the BMP, outside GSM-7


@pytest.mark.parametrize(
    ("length", "parts"),
    [(0, 1), (160, 1), (161, 2), (153 * 2, 2), (153 * 2 + 1, 3), (153 * 3, 3), (153 * 3 + 1, 4)],
)
def test_gsm7_text_fits_160_in_one_part_and_153_per_part_when_split(length, parts):
    count = count_segments("a" * length)

    assert count.encoding == "GSM-7"
    assert count.units == length
    assert count.parts == parts


@pytest.mark.parametrize(
    ("length", "parts"), [(70, 1), (71, 2), (67 * 2, 2), (67 * 2 + 1, 3), (67 * 3, 3)]
)
def test_ucs2_text_fits_70_in_one_part_and_67_per_part_when_split(length, parts):
    count = count_segments(ARABIC * length)

    assert count.encoding == "UCS-2"
    assert count.units == length
    assert count.parts == parts


@pytest.mark.parametrize("character", sorted(GSM7_EXTENSION))
def test_extension_characters_count_two_septets_and_keep_gsm7(character):
    count = count_segments("a" * 158 + character)

    assert count.encoding == SmsEncoding.GSM7
    assert count.units == 160
    assert count.parts == 1


def test_one_extension_character_past_160_septets_needs_a_second_part():
    assert count_segments("a" * 159 + "€").parts == 2


def test_an_extension_character_is_never_split_between_parts():
    # Given 306 septets (153 * 2) with a euro sign whose two septets straddle the first cut
    text = "a" * 152 + "€" + "a" * 152

    # When it is packed into parts
    parts = split_into_parts(text)

    # Then the euro sign moves whole to the second part, which costs a third part: division
    # alone (306 / 153) would have said two
    assert count_segments(text).units == 306
    assert count_segments(text).parts == 3
    assert parts[0] == "a" * 152
    assert parts[1].startswith("€")
    assert "".join(parts) == text


def test_an_emoji_counts_two_code_units_and_forces_ucs2():
    count = count_segments("See you soon " + EMOJI)

    assert count.encoding == SmsEncoding.UCS2
    assert count.units == len("See you soon ") + 2
    assert count.unicode_characters == (EMOJI,)


def test_a_surrogate_pair_is_never_split_between_parts():
    # Given 134 code units (67 * 2) with an emoji straddling the first cut
    text = "a" * 66 + EMOJI + "a" * 66

    parts = split_into_parts(text)

    assert count_segments(text).units == 134
    assert count_segments(text).parts == 3
    assert parts[0] == "a" * 66
    assert parts[1].startswith(EMOJI)


def test_one_curly_quote_turns_a_one_part_message_into_three_ucs2_parts():
    # Given a 150-character message that fits one GSM-7 part
    plain = "Your appointment is confirmed, we'll see you soon. " + "x" * 99
    assert len(plain) == 150
    assert count_segments(plain).parts == 1

    # When the apostrophe is a typographic one
    curly = plain.replace("'", "\u2019")

    # Then every character costs UCS-2 room: 150 code units need three 67-unit parts
    count = count_segments(curly)
    assert count.encoding == SmsEncoding.UCS2
    assert count.parts == 3
    assert count.unicode_characters == ("\u2019",)


def test_the_characters_forcing_ucs2_are_listed_once_in_order_of_appearance():
    count = count_segments("Hi \u201cAna\u201d \u2013 ok \u201c")

    assert count.unicode_characters == ("\u201c", "\u201d", "\u2013")


def test_gsm7_greek_capitals_and_accented_letters_stay_gsm7():
    assert count_segments("ΔΦΓΛΩΠΨΣΘΞ èéùìòÇØøÅåÆæßÉÄÖÑÜäöñüà ¡¿ £¥§¤").encoding == "GSM-7"


def test_the_cost_is_the_price_of_one_part_times_the_parts():
    count = count_segments("a" * 161)

    assert estimate_cost(count, Decimal("0.00581")) == Decimal("0.01162")


def test_a_negative_price_is_refused():
    with pytest.raises(ValueError, match="negative"):
        estimate_cost(count_segments("hi"), Decimal("-0.01"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("María José", "Maria José"),
        ("Zoë", "Zoe"),
        ("Łukasz", "Lukasz"),
        ("François", "Francois"),
        ("Siobhán", "Siobhan"),
        ("Dvořák", "Dvorak"),
        ("Nguyễn", "Nguyen"),
        ("Þór", "Thor"),
        ("Đorđe", "Dorde"),
        ("Ştefan", "Stefan"),
        ("O\u2019Brien", "O'Brien"),
        ("\u201cSunrise\u201d Dental \u2013 Main\u2026", '"Sunrise" Dental - Main...'),
        ("Ana\u00a0Lucía", "Ana Lucia"),
    ],
)
def test_gsm_safe_replaces_non_gsm_latin_with_the_nearest_gsm7(value, expected):
    assert gsm_safe(value) == expected


@pytest.mark.parametrize(
    "value",
    ["José", "Björn Søren", "Ñuñez Müller", "Ægir Åse", "Çelik", "Pierre-André Hélène", "¿¡"],
)
def test_gsm_safe_keeps_letters_that_are_already_gsm7(value):
    assert gsm_safe(value) == value


def test_gsm_safe_composes_a_decomposed_accent_into_its_gsm7_letter():
    assert gsm_safe("Jose\u0301") == "José"


def test_gsm_safe_keeps_the_nearest_accent_that_gsm7_has():
    assert gsm_safe("\u01d8") == "ü"  # u with diaeresis and acute


@pytest.mark.parametrize("value", ["أحمد", "李雷", "Ana " + EMOJI])
def test_gsm_safe_leaves_scripts_without_a_gsm7_equivalent_untouched(value):
    assert gsm_safe(value) == value


@pytest.mark.parametrize(
    "name",
    [
        "María José",
        "Zoë",
        "Łukasz",
        "François",
        "Chloé",
        "Renée",
        "Inés",
        "Raúl",
        "Begoña",
        "Joaquín",
        "Jürgen",
        "Małgorzata",
        "Søren",
        "Ólafur",
        "Ayşe",
        "Đặng",
        "Władysław",
        "Zsófia",
        "Mihály",
        "Dvořák",
    ],
)
def test_common_latin_names_become_gsm7_after_gsm_safe(name):
    assert count_segments(gsm_safe(name)).encoding == SmsEncoding.GSM7


_MOSTLY_GSM = st.one_of(
    st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION)),
    st.sampled_from([EMOJI, ARABIC, "\u2019", "€"]),
    st.characters(),
)


@given(st.one_of(st.text(_MOSTLY_GSM, max_size=500), st.text(max_size=300)))
def test_parts_are_one_exactly_when_the_text_fits_a_single_part_and_packing_respects_limits(
    text,
):
    count = count_segments(text)
    parts = split_into_parts(text)

    assert (count.parts == 1) == (count.units <= count.single_part_limit)
    assert len(parts) == count.parts
    assert "".join(parts) == text
    part_units = [units_of(part, count.encoding) for part in parts]
    assert sum(part_units) == count.units
    if count.parts > 1:
        assert all(0 < units <= count.per_part_limit for units in part_units)


def units_of(part, encoding):
    # Units of a part under the whole message's encoding: a GSM-only part of a UCS-2
    # message still costs UCS-2 code units.
    if encoding == SmsEncoding.GSM7:
        return sum(2 if ch in GSM7_EXTENSION else 1 for ch in part)
    return len(part.encode("utf-16-le", "surrogatepass")) // 2
