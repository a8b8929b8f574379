import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reach.domain.errors import InvalidInput
from reach.domain.models import AppointmentKind
from reach.domain.rendering import REPLY_OPTIONS, render_reminder
from reach.domain.segments import SmsEncoding, count_segments
from reach.domain.template_review import review_template_edit
from reach.domain.templates import (
    CONFIRMATION_TEMPLATES,
    DEFAULT_TEMPLATES,
    InvalidTemplate,
    MessageTemplate,
    confirmation_template_for,
    template_for,
)

CLINIC = AppointmentKind.CLINIC_VISIT
SERVICE = AppointmentKind.SERVICE_VISIT
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")

WORST_CASE = {
    "first_name": "Konstantinos",  # 12 characters
    "org_name": "Riverside Family Health Clinic",  # 30 characters
    "org_phone_e164": "+12025550143",  # (202) 555-0143
}
# Wednesday 30 September, 12:30 in New York: "Wed, Sep 30" / "mié 30 sep", "12:30 PM"
WORST_CASE_START = datetime(2026, 9, 30, 16, 30, tzinfo=UTC)


def render(template, **overrides):
    values = {
        "first_name": "Ana",
        "starts_at": datetime(2026, 3, 10, 13, 30, tzinfo=UTC),
        "zone": NEW_YORK,
        "org_name": "Acme Clinic",
        "org_phone_e164": "+12025550143",
    } | overrides
    return render_reminder(template, **values)


@pytest.mark.parametrize("kind", [CLINIC, SERVICE])
@pytest.mark.parametrize("language", ["en", "es"])
def test_english_and_spanish_defaults_fit_one_gsm7_part_with_worst_case_values(kind, language):
    # Given the default template and long but realistic values
    template = DEFAULT_TEMPLATES[(kind, language)]

    # When it is rendered for the recipient
    text = render(template, **WORST_CASE, starts_at=WORST_CASE_START)

    # Then it is one GSM-7 part, with every placeholder filled
    count = count_segments(text)
    assert count.encoding == SmsEncoding.GSM7, count.unicode_characters
    assert count.parts == 1, len(text)
    assert "{" not in text
    assert "Konstantinos" in text
    assert "Riverside Family Health Clinic" in text
    assert "(202) 555-0143" in text


def test_the_worst_case_sample_uses_the_longest_dates():
    en = render(DEFAULT_TEMPLATES[(CLINIC, "en")], starts_at=WORST_CASE_START)
    es = render(DEFAULT_TEMPLATES[(CLINIC, "es")], starts_at=WORST_CASE_START)

    assert "Wed, Sep 30 at 12:30 PM" in en
    assert "mié 30 sep a las 12:30" in es


@pytest.mark.parametrize("kind", [CLINIC, SERVICE])
def test_arabic_defaults_are_sent_as_several_ucs2_parts(kind):
    text = render(DEFAULT_TEMPLATES[(kind, "ar")], **WORST_CASE, starts_at=WORST_CASE_START)

    count = count_segments(text)
    assert count.encoding == SmsEncoding.UCS2
    assert count.parts > 1
    assert "الأربعاء 30 سبتمبر" in text


@pytest.mark.parametrize(("key", "template"), list(DEFAULT_TEMPLATES.items()))
def test_no_default_or_reply_text_says_cancel_in_any_case(key, template):
    # CANCEL is a carrier opt-out word: "reply CANCEL" would opt people out of everything
    rendered = render(template)

    assert not re.search("cancel", template.text, re.IGNORECASE)
    assert not re.search("cancel", rendered, re.IGNORECASE)
    assert "STOP" in rendered
    assert "3" in REPLY_OPTIONS[key[1]]


def test_every_kind_has_a_default_in_every_language():
    assert set(DEFAULT_TEMPLATES) == {
        (kind, language) for kind in AppointmentKind for language in ("en", "es", "ar")
    }
    for template in DEFAULT_TEMPLATES.values():
        template.validate()


@pytest.mark.parametrize(
    ("text", "offending"),
    [
        ("Hi {first_name}, see you at {location}", ("location",)),
        ("{first_name}: your {diagnosis} follow-up on {date}", ("diagnosis",)),
        ("Dr {provider} sees you {date} {time} for {procedure}", ("provider", "procedure")),
        ("Hi {patient_name}", ("patient_name",)),
    ],
)
def test_clinic_templates_may_use_only_the_minimum_necessary_fields(text, offending):
    with pytest.raises(InvalidTemplate) as raised:
        MessageTemplate(CLINIC, "en", text).validate()

    assert raised.value.fields == offending
    assert raised.value.field == "text"
    assert isinstance(raised.value, InvalidInput)
    for name in offending:
        assert f"{{{name}}}" in raised.value.reason
    assert "minimum necessary" in raised.value.reason


@pytest.mark.parametrize(
    "text",
    [
        "Hi {}, see you {date}",
        "Hi {0}, see you {date}",
        "Hi {first_name.upper}",
        "Hi {first_name[0]}",
        "At {time:>10}",
        "Hi {first_name!r}",
        "Hi {first_name",
        "Hi first_name}",
        "   ",
    ],
)
def test_positional_attribute_format_spec_and_malformed_fields_are_refused(text):
    with pytest.raises(InvalidTemplate):
        MessageTemplate(SERVICE, "en", text).validate()


def test_doubled_braces_are_literal_text():
    template = MessageTemplate(CLINIC, "en", "{{ok}} {first_name}")

    template.validate()
    assert template.fields == ("first_name",)
    assert render(template) == "{ok} Ana"


def test_service_templates_may_name_the_location():
    template = MessageTemplate(SERVICE, "en", "{org_name} arrives {date} {time} at {location}")

    template.validate()
    assert "at 12 Elm St" in render(template, location="12 Elm St")


def test_service_templates_still_refuse_unknown_fields():
    with pytest.raises(InvalidTemplate, match=r"\{technician\}"):
        MessageTemplate(SERVICE, "en", "{technician} arrives {time}").validate()


def test_fields_are_listed_once_in_order_of_first_use():
    template = MessageTemplate(CLINIC, "en", "{time} {first_name} {time} {date}")

    assert template.fields == ("time", "first_name", "date")


def test_the_same_instant_shows_each_recipient_their_own_local_time():
    # Given one appointment instant, 17:30 UTC on 10 March 2026 (after the US DST change)
    starts_at = datetime(2026, 3, 10, 17, 30, tzinfo=UTC)
    template = DEFAULT_TEMPLATES[(CLINIC, "en")]

    # When it is rendered for recipients in New York and Los Angeles
    east = render(template, starts_at=starts_at, zone=NEW_YORK)
    west = render(template, starts_at=starts_at, zone=LOS_ANGELES)

    # Then each sees the wall time where they are
    assert "Tue, Mar 10 at 1:30 PM" in east
    assert "Tue, Mar 10 at 10:30 AM" in west


def test_the_local_date_can_differ_from_the_utc_date():
    starts_at = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)

    text = render(DEFAULT_TEMPLATES[(CLINIC, "en")], starts_at=starts_at, zone=LOS_ANGELES)

    assert "Tue, Mar 10 at 7:00 PM" in text


@pytest.mark.parametrize(
    ("starts_at", "expected"),
    [
        # The same 13:30 UTC is 8:30 EST before the change and 9:30 EDT after it
        (datetime(2026, 3, 7, 13, 30, tzinfo=UTC), "Sat, Mar 7 at 8:30 AM"),
        (datetime(2026, 3, 9, 13, 30, tzinfo=UTC), "Mon, Mar 9 at 9:30 AM"),
        (datetime(2026, 11, 2, 13, 30, tzinfo=UTC), "Mon, Nov 2 at 8:30 AM"),
    ],
)
def test_the_time_shown_is_the_local_wall_time_on_either_side_of_dst(starts_at, expected):
    assert expected in render(DEFAULT_TEMPLATES[(CLINIC, "en")], starts_at=starts_at)


def test_an_aware_time_in_another_zone_is_converted_to_the_recipients_zone():
    starts_at = datetime(2026, 3, 9, 9, 30, tzinfo=NEW_YORK)

    text = render(DEFAULT_TEMPLATES[(CLINIC, "en")], starts_at=starts_at, zone=LOS_ANGELES)

    assert "Mon, Mar 9 at 6:30 AM" in text


def test_a_naive_start_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        render(DEFAULT_TEMPLATES[(CLINIC, "en")], starts_at=datetime(2026, 3, 9, 9, 30))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Tue, Mar 10 at 9:30 AM"),
        ("es", "mar 10 mar a las 9:30"),
        ("ar", "الثلاثاء 10 مارس الساعة 9:30 ص"),
    ],
)
def test_dates_and_times_are_written_in_the_templates_language(language, expected):
    assert expected in render(DEFAULT_TEMPLATES[(CLINIC, language)])


def test_midnight_and_noon_use_twelve_on_the_twelve_hour_clock():
    template = MessageTemplate(CLINIC, "en", "{time}")

    assert render(template, starts_at=datetime(2026, 3, 10, 4, 5, tzinfo=UTC)) == "12:05 AM"
    assert render(template, starts_at=datetime(2026, 3, 10, 16, 0, tzinfo=UTC)) == "12:00 PM"


@pytest.mark.parametrize(
    ("language", "greeting"),
    [("en", "Hi, Acme Clinic"), ("es", "Hola, cita en Acme Clinic"), ("ar", "مرحباً، تذكير")],
)
@pytest.mark.parametrize("first_name", [None, "", "   "])
def test_a_missing_first_name_leaves_a_clean_greeting(language, greeting, first_name):
    text = render(DEFAULT_TEMPLATES[(CLINIC, language)], first_name=first_name)

    assert text.startswith(greeting)
    assert "  " not in text
    assert " ," not in text
    assert " ،" not in text


def test_a_missing_field_at_the_start_leaves_no_stray_punctuation():
    text = render(MessageTemplate(CLINIC, "en", "{first_name}, see you {date}"), first_name=None)

    assert text == "see you Tue, Mar 10"


def test_field_values_are_made_gsm_safe_and_single_spaced():
    # Given a name and clinic pasted from a word processor
    text = render(
        DEFAULT_TEMPLATES[(CLINIC, "en")],
        first_name=" María\n",
        org_name="St\u00a0Mary\u2019s \u2013 Eastside",
    )

    # Then the reminder stays GSM-7 and reads normally
    assert text.startswith("Hi Maria, St Mary's - Eastside visit")
    assert count_segments(text).encoding == SmsEncoding.GSM7


def test_the_phone_is_written_the_way_its_own_country_dials_it():
    template = MessageTemplate(CLINIC, "en", "Call {org_phone}")

    assert render(template, org_phone_e164="+12025550143") == "Call (202) 555-0143"
    assert render(template, org_phone_e164="+442071234567") == "Call 020 7123 4567"


def test_a_short_code_is_shown_as_given():
    template = MessageTemplate(CLINIC, "en", "Call {org_phone}")

    assert render(template, org_phone_e164="72345") == "Call 72345"


def test_a_clinic_template_with_location_never_renders():
    template = MessageTemplate(CLINIC, "en", "See you at {location}")

    with pytest.raises(InvalidTemplate):
        render(template, location="Oncology wing")


@pytest.mark.parametrize(
    ("language", "expected"),
    [("es", "es"), ("es-MX", "es"), ("ES_mx", "es"), ("ar-EG", "ar"), ("fr", "en"), ("", "en")],
)
def test_languages_fall_back_to_their_base_then_to_english(language, expected):
    template = template_for(CLINIC, language)

    assert template == DEFAULT_TEMPLATES[(CLINIC, expected)]


def test_a_tenant_override_wins_over_the_default_for_its_language():
    overrides = {("clinic_visit", "es"): "Hola {first_name}: {date} {time}. {reply_options}"}

    template = template_for(CLINIC, "es-MX", overrides)

    assert template.text == overrides[("clinic_visit", "es")]
    assert template.language == "es"
    assert template_for(SERVICE, "es", overrides) == DEFAULT_TEMPLATES[(SERVICE, "es")]


def test_a_regional_override_wins_over_the_base_language_override():
    overrides = {
        ("clinic_visit", "es"): "es {date}",
        ("clinic_visit", "es-MX"): "mx {date}",
    }

    assert template_for(CLINIC, "es-mx", overrides).text == "mx {date}"
    assert template_for(CLINIC, "es-AR", overrides).text == "es {date}"


def test_the_recipients_language_default_wins_over_an_english_override():
    overrides = {("clinic_visit", "en"): "Custom {date}"}

    assert template_for(CLINIC, "es", overrides) == DEFAULT_TEMPLATES[(CLINIC, "es")]
    assert template_for(CLINIC, "fr", overrides).text == "Custom {date}"


def test_an_override_for_a_language_without_defaults_is_used_and_dated_in_iso():
    overrides = {("clinic_visit", "fr"): "Bonjour {first_name}, RDV le {date} a {time}"}

    template = template_for(CLINIC, "fr-CA", overrides)

    assert render(template) == "Bonjour Ana, RDV le 2026-03-10 a 9:30"


def test_a_stored_override_that_breaks_the_rules_is_refused_not_sent():
    overrides = {("clinic_visit", "en"): "Your {diagnosis} visit is {date}"}

    with pytest.raises(InvalidTemplate):
        template_for(CLINIC, "en", overrides)


def test_an_edit_with_a_curly_apostrophe_warns_about_ucs2_and_names_it():
    # Given the English default, and an edit that adds "We're" typed on a phone
    old = DEFAULT_TEMPLATES[(CLINIC, "en")].text
    new = old.replace("Call", "We\u2019re at")

    # When the edit is reviewed
    report = review_template_edit(CLINIC, "en", new, old)

    # Then it says the encoding switches, because of which character, and what to type
    assert report.segments.encoding == SmsEncoding.UCS2
    assert report.segments.unicode_characters == ("\u2019",)
    switch = next(w for w in report.warnings if "UCS-2" in w)
    assert "\u2019" in switch
    assert "right single quotation mark" in switch
    assert "use ' instead" in switch


def test_an_edit_that_adds_a_part_says_how_many_and_the_cost_multiplier():
    # Given the English default (one part) and an edit that adds a sentence
    old = DEFAULT_TEMPLATES[(SERVICE, "en")].text
    new = old.replace("Call", "Please have someone over 18 at home. Call")

    report = review_template_edit(SERVICE, "en", new, old)

    assert report.segments.encoding == SmsEncoding.GSM7
    assert report.segments.parts == 2
    assert any("adds 1 part:" in w and "2 parts instead of 1" in w for w in report.warnings)
    assert any("2x the cost" in w for w in report.warnings)
    assert not any("UCS-2" in w for w in report.warnings)


def test_an_edit_from_two_to_three_parts_costs_one_and_a_half_times():
    old = "{first_name} " + "a" * 200 + " {reply_options}"
    new = "{first_name} " + "a" * 300 + " {reply_options}"

    report = review_template_edit(SERVICE, "en", new, old)

    assert report.segments.parts == 3
    assert any("1.5x the cost" in w for w in report.warnings)


def test_an_edit_that_stays_in_one_part_has_no_warnings():
    old = DEFAULT_TEMPLATES[(CLINIC, "en")].text

    report = review_template_edit(CLINIC, "en", old.replace("visit", "appt"), old)

    assert report.warnings == []
    assert report.segments.parts == 1


def test_a_new_template_that_needs_several_parts_says_so():
    report = review_template_edit(SERVICE, "en", "x" * 150 + " {org_name} {reply_options}", None)

    assert report.segments.parts == 2
    assert any("needs 2 parts" in w for w in report.warnings)


def test_a_long_clinic_reminder_warns_that_it_loses_the_fcc_healthcare_exemption():
    report = review_template_edit(CLINIC, "en", "x" * 150 + " {org_name} {reply_options}", None)

    assert any("FCC" in w for w in report.warnings)


def test_an_edit_asking_for_cancel_warns_that_it_opts_people_out():
    report = review_template_edit(
        SERVICE, "en", "{org_name} on {date}. Reply CANCEL to cancel, STOP to opt out", None
    )

    assert any("CANCEL" in w and "opts the person out" in w for w in report.warnings)


@pytest.mark.parametrize("kind", [CLINIC, SERVICE])
@pytest.mark.parametrize(
    "text",
    [
        "{org_name} on {date}",
        "{org_name} on {date}. Stop by the desk to change it",
        "{org_name} on {date}. Reply stop to opt out",
        "Hola {first_name}, {org_name} el {date}",
    ],
)
def test_an_edit_without_reply_options_or_a_stop_instruction_is_refused(kind, text):
    # given a reminder template that does not say how to opt out (issue 17 item 4; it was
    # only a warning before, and the text was stored and sent)
    # when it is reviewed
    with pytest.raises(InvalidTemplate) as raised:
        review_template_edit(kind, "en", text, None)

    # then it is refused, naming the text and what to add
    assert raised.value.field == "text"
    assert "{reply_options}" in raised.value.reason
    assert "STOP" in raised.value.reason


def test_an_edit_with_its_own_stop_instruction_but_no_reply_options_is_kept_with_a_warning():
    report = review_template_edit(SERVICE, "en", "{org_name} on {date}. STOP to opt out", None)

    assert any("{reply_options}" in w for w in report.warnings)


def test_the_field_rules_are_reported_before_the_missing_opt_out():
    with pytest.raises(InvalidTemplate, match=r"\{diagnosis\}"):
        review_template_edit(CLINIC, "en", "Your {diagnosis} visit is {date}", None)


def test_an_edit_is_refused_when_the_new_text_breaks_the_field_rules():
    with pytest.raises(InvalidTemplate):
        review_template_edit(CLINIC, "en", "See Dr {provider} on {date}", None)


# --- booking confirmations (issue #12, item 5) ------------------------------------------


@pytest.mark.parametrize(("key", "template"), list(CONFIRMATION_TEMPLATES.items()))
def test_every_confirmation_keeps_its_kinds_field_rules_and_the_reminders_reply_options(
    key, template
):
    template.validate()  # a clinic's uses no more than its reminder may: no health detail

    text = render(template, **WORST_CASE, starts_at=WORST_CASE_START)

    assert REPLY_OPTIONS[key[1]] in text
    assert "cancel" not in text.lower()
    assert set(CONFIRMATION_TEMPLATES) == set(DEFAULT_TEMPLATES)


@pytest.mark.parametrize("kind", [CLINIC, SERVICE])
@pytest.mark.parametrize("language", ["en", "es"])
def test_english_and_spanish_confirmations_fit_one_gsm7_part_with_worst_case_values(kind, language):
    text = render(
        confirmation_template_for(kind, language), **WORST_CASE, starts_at=WORST_CASE_START
    )

    count = count_segments(text)
    assert count.encoding == SmsEncoding.GSM7, count.unicode_characters
    assert count.parts == 1, len(text)


def test_a_service_visit_confirmation_says_it_is_booked_with_the_window():
    opens = datetime(2026, 12, 8, 13, 0, tzinfo=UTC)

    text = render(
        confirmation_template_for(SERVICE, "en-US"),
        starts_at=opens,
        window_ends_at=opens + timedelta(hours=4),
        org_name="Hilltop Cable",
    )

    assert text.startswith("Hi Ana, Hilltop Cable booked Tue, Dec 8 between 8 AM")
    assert "and 12 PM" in text
    assert text.endswith("Reply 1 confirm, 2 reschedule, 3 can't come, STOP opt out")
