import dataclasses
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import examples
from reach.domain.conversation_texts import Choice, ReplyContext, ReplyKind, render_reply
from reach.domain.replies import (
    CARRIER_OPT_OUT_WORDS,
    DEFAULT_KEYWORDS,
    ReplyIntent,
    classify_reply,
)
from reach.domain.segments import GSM7_BASIC, SmsEncoding, count_segments

NEW_YORK = ZoneInfo("America/New_York")
LANGUAGES = ["en", "es"]
APPOINTMENT_KINDS = ["clinic_visit", "service_visit"]
ALL_KINDS = list(ReplyKind)
#: Kinds that may take two parts; every other kind must fit one.
TWO_PART_KINDS = {ReplyKind.HELP, ReplyKind.WHICH_APPOINTMENT}
#: Kinds that greet the recipient by first name when it is known.
NAMED_KINDS = {
    ReplyKind.CONFIRMED,
    ReplyKind.RESCHEDULE_REQUESTED,
    ReplyKind.CANCELLED,
    ReplyKind.RUNNING_LATE,
    ReplyKind.CALLBACK,
    ReplyKind.WHICH_APPOINTMENT,
}

ORG_40 = "Northwest Riverside Family Health Clinic"
NAME_20 = "Konstantinos-Alexios"
ORG_PHONE = "+12025550143"
ORG_PHONE_SHOWN = "(202) 555-0143"
# Wednesday 30 September 12:30 in New York: the longest date and time in both languages
# ("Wed, Sep 30 at 12:30 PM", "mié 30 sep a las 12:30").
WORST_START = datetime(2026, 9, 30, 16, 30, tzinfo=UTC)
WORST_CHOICES = tuple(
    Choice(letter, WORST_START + timedelta(days=7 * week)) for week, letter in enumerate("ABCD")
)


def budget(kind: ReplyKind) -> int:
    return 2 if kind in TWO_PART_KINDS else 1


def worst_case(language: str, appointment_kind: str = "service_visit") -> ReplyContext:
    return ReplyContext(
        org_name=ORG_40,
        org_phone=ORG_PHONE,
        language=language,
        zone=NEW_YORK,
        first_name=NAME_20,
        starts_at=WORST_START,
        kind=appointment_kind,
        minutes_late=240,
        # Two-digit day, 12:30, not today or tomorrow: "by 12:30 PM on Wed, Sep 30".
        callback_by=WORST_START,
        now=WORST_START - timedelta(days=5),
        choices=WORST_CHOICES,
    )


def sample(language: str = "en", **overrides: object) -> ReplyContext:
    values: dict[str, object] = {
        "org_name": "Riverside",
        "org_phone": ORG_PHONE,
        "language": language,
        "zone": NEW_YORK,
        "first_name": "Ana",
        "starts_at": datetime(2026, 11, 30, 13, 30, tzinfo=UTC),
        "minutes_late": 15,
        "callback_by": datetime(2026, 11, 30, 20, 0, tzinfo=UTC),
        "now": datetime(2026, 11, 30, 14, 0, tzinfo=UTC),
        "choices": (
            Choice("A", datetime(2026, 11, 30, 13, 30, tzinfo=UTC)),
            Choice("B", datetime(2026, 12, 1, 14, 0, tzinfo=UTC)),
        ),
    } | overrides
    return ReplyContext(**values)


def minimal(language: str = "en", **overrides: object) -> ReplyContext:
    """Only what is required (choices aside, which WHICH_APPOINTMENT cannot do without)."""
    return sample(
        language,
        zone=None,
        first_name=None,
        starts_at=None,
        minutes_late=None,
        callback_by=None,
        now=None,
        **overrides,
    )


def assert_clean(text: str) -> None:
    """No trace of a missing value: no None, no doubled or dangling spaces and punctuation."""
    assert "None" not in text
    assert "  " not in text
    assert not re.search(r"\s[,.;:!?]", text), text
    assert not re.search(r"[,;:][,.;:]", text), text
    assert text == text.strip()
    assert not text[0].islower(), text
    assert text.endswith("."), text


def instruction_keywords(text: str) -> list[str]:
    """The words a text tells people to send: each "Reply X ..." option's keyword."""
    keywords = []
    for options in re.findall(r"(?:Reply|Responda) (.+?)(?:\.|$)", text, flags=re.MULTILINE):
        for option in re.split(r", | or | o ", options):
            word = option.split(" ")[0]
            if word.isupper() or word.isdigit():
                keywords.append(word)
    return keywords


# --- every kind, both languages, worst-case values --------------------------------------------


@pytest.mark.parametrize("appointment_kind", APPOINTMENT_KINDS)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_text_fits_its_segment_budget_in_gsm7_with_worst_case_values(
    kind, language, appointment_kind
):
    # Given a 40-character organisation name, a 20-character first name and the longest dates
    context = worst_case(language, appointment_kind)

    # When the reply is rendered
    text = render_reply(kind, context)

    # Then it is GSM-7 and within its budget: one part, two for HELP and WHICH_APPOINTMENT
    count = count_segments(text)
    assert count.encoding is SmsEncoding.GSM7, count.unicode_characters
    assert count.parts <= budget(kind), (count.units, text)
    # And nothing was given up to fit: the names are there in full
    assert ORG_40 in text
    if kind in NAMED_KINDS:
        assert NAME_20 in text
    assert_clean(text)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_text_names_the_organisation_and_says_nothing_missing(kind, language):
    for context in (sample(language), minimal(language)):
        text = render_reply(kind, context)
        assert "Riverside" in text
        assert_clean(text)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_no_text_tells_anyone_to_reply_cancel(kind, language):
    # Given every way a text can come out
    contexts = [
        sample(language),
        minimal(language),
        worst_case(language),
        sample(language, kind="x"),
    ]

    for context in contexts:
        text = render_reply(kind, context)
        # Then the carrier opt-out word CANCEL appears nowhere ("cancelled" is fine)
        assert not re.search(r"\bcancel\b", text, re.IGNORECASE), text
        assert not re.search(r"\bcancelar\b", text, re.IGNORECASE), text
        # And no keyword it offers is an opt-out word, STOP in its proper place aside
        for keyword in instruction_keywords(text):
            if keyword != "STOP":
                assert keyword not in CARRIER_OPT_OUT_WORDS, text
                assert classify_reply(keyword).intent is not ReplyIntent.OPT_OUT, text


def test_reply_context_carries_no_health_information():
    # HIPAA minimum necessary: there is nowhere to put a place, provider or reason for visit
    assert {field.name for field in dataclasses.fields(ReplyContext)} == {
        "org_name",
        "org_phone",
        "language",
        "zone",
        "first_name",
        "starts_at",
        # A service visit's arrival window (issue #12): a time, like starts_at
        "window_ends_at",
        "kind",
        "minutes_late",
        "callback_by",
        "now",
        "choices",
        # The tenant's own list names and keywords, for HELP (issue #13): about the tenant
        "programs",
    }


# --- HELP, STOP and START ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "pieces"),
    [
        (
            "en",
            ["Msg frequency varies", "Msg & data rates may apply", "Reply STOP to opt out"],
        ),
        (
            "es",
            [
                "Frecuencia de mensajes variable",
                "Pueden aplicarse tarifas de mensajes y datos",
                "Responda STOP para darse de baja",
            ],
        ),
    ],
)
def test_help_names_brand_contact_frequency_rates_and_how_to_stop(language, pieces):
    text = render_reply(ReplyKind.HELP, sample(language))

    assert text.startswith("Riverside")
    assert ORG_PHONE_SHOWN in text
    for piece in pieces:
        assert piece in text
    assert "Ana" not in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "You won't get any more texts from Riverside. Reply START to resubscribe."),
        (
            "es",
            "Ya no le enviaremos mensajes de Riverside. Responda START para volver a recibirlos.",
        ),
    ],
)
def test_opt_out_confirms_once_and_asks_only_for_start(language, expected):
    text = render_reply(ReplyKind.OPTED_OUT, sample(language))

    assert text == expected
    assert "?" not in text
    assert instruction_keywords(text) == ["START"]
    assert classify_reply("START").intent is ReplyIntent.OPT_IN


@pytest.mark.parametrize("language", LANGUAGES)
def test_opt_in_says_how_to_stop_and_get_help(language):
    text = render_reply(ReplyKind.OPTED_IN, sample(language))

    assert "Riverside" in text
    assert instruction_keywords(text) == ["HELP", "STOP"]
    assert classify_reply("HELP").intent is ReplyIntent.HELP
    assert classify_reply("STOP").intent is ReplyIntent.OPT_OUT


# --- UNKNOWN: the options it offers do what they say ------------------------------------------


@pytest.mark.parametrize(
    ("language", "keywords"),
    [("en", ["1", "2", "3", "CALL"]), ("es", ["1", "2", "3", "LLAMAR"])],
)
def test_unknown_lists_the_default_keywords_and_each_classifies_as_promised(language, keywords):
    text = render_reply(ReplyKind.UNKNOWN, sample(language))

    assert instruction_keywords(text) == keywords
    promised = [
        ReplyIntent.CONFIRM,
        ReplyIntent.RESCHEDULE,
        ReplyIntent.CANCEL_APPOINTMENT,
        ReplyIntent.CALL_ME,
    ]
    assert [classify_reply(keyword).intent for keyword in keywords] == promised
    assert keywords[-1] in DEFAULT_KEYWORDS.call_me


@pytest.mark.parametrize(
    ("language", "person"),
    [("en", "Riverside staff will read it"), ("es", "alguien de Riverside lo va a leer")],
)
def test_unknown_says_a_person_at_the_organisation_will_read_it(language, person):
    assert person in render_reply(ReplyKind.UNKNOWN, sample(language))


# --- dates, times and zones -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_at", "english", "spanish"),
    [
        # 13:30 UTC is 8:30 in New York in winter (EST) and 9:30 in summer time (EDT)
        (
            datetime(2026, 11, 30, 13, 30, tzinfo=UTC),
            "Mon, Nov 30 at 8:30 AM",
            "lun 30 nov a las 8:30",
        ),
        (
            datetime(2026, 3, 10, 13, 30, tzinfo=UTC),
            "Tue, Mar 10 at 9:30 AM",
            "mar 10 mar a las 9:30",
        ),
        (datetime(2026, 7, 1, 17, 5, tzinfo=UTC), "Wed, Jul 1 at 1:05 PM", "mié 1 jul a las 13:05"),
        (datetime(2026, 7, 1, 5, 5, tzinfo=UTC), "Wed, Jul 1 at 1:05 AM", "mié 1 jul a la 1:05"),
    ],
)
def test_appointment_times_are_written_in_the_appointments_zone(starts_at, english, spanish):
    assert render_reply(ReplyKind.CONFIRMED, sample("en", starts_at=starts_at)) == (
        f"Thanks Ana, your visit with Riverside on {english} is confirmed."
    )
    assert render_reply(ReplyKind.CONFIRMED, sample("es", starts_at=starts_at)) == (
        f"Gracias Ana, su cita con Riverside del {spanish} queda confirmada."
    )


def test_without_a_zone_times_are_shown_in_the_datetimes_own_offset():
    starts_at = datetime(2026, 11, 30, 8, 30, tzinfo=NEW_YORK)

    text = render_reply(ReplyKind.CANCELLED, sample(zone=None, starts_at=starts_at))

    assert "Mon, Nov 30 at 8:30 AM" in text


@pytest.mark.parametrize(
    ("callback_by", "now", "english", "spanish"),
    [
        (
            datetime(2026, 11, 30, 20, 0, tzinfo=UTC),
            datetime(2026, 11, 30, 14, 0, tzinfo=UTC),
            "by 3:00 PM today",
            "hoy antes de las 15:00",
        ),
        (
            datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
            datetime(2026, 11, 30, 14, 0, tzinfo=UTC),
            "by 9:00 AM tomorrow",
            "mañana antes de las 9:00",
        ),
        (
            datetime(2026, 12, 2, 18, 0, tzinfo=UTC),
            datetime(2026, 11, 30, 14, 0, tzinfo=UTC),
            "by 1:00 PM on Wed, Dec 2",
            "el mié 2 dic antes de las 13:00",
        ),
        # 04:00 UTC on the 30th is still the 29th in New York: the 30th is tomorrow there
        (
            datetime(2026, 11, 30, 15, 0, tzinfo=UTC),
            datetime(2026, 11, 30, 4, 0, tzinfo=UTC),
            "by 10:00 AM tomorrow",
            "mañana antes de las 10:00",
        ),
        # 01:30 UTC on 1 December is 20:30 on the 30th in New York: today there
        (
            datetime(2026, 12, 1, 1, 30, tzinfo=UTC),
            datetime(2026, 11, 30, 14, 0, tzinfo=UTC),
            "by 8:30 PM today",
            "hoy antes de las 20:30",
        ),
        (
            datetime(2026, 12, 1, 6, 0, tzinfo=UTC),
            datetime(2026, 11, 30, 14, 0, tzinfo=UTC),
            "by 1:00 AM tomorrow",
            "mañana antes de la 1:00",
        ),
    ],
)
def test_callback_says_today_or_tomorrow_in_the_recipients_zone(callback_by, now, english, spanish):
    context = {"callback_by": callback_by, "now": now}

    assert render_reply(ReplyKind.CALLBACK, sample("en", **context)) == (
        f"Thanks Ana, Riverside will call you at this number {english}."
    )
    assert render_reply(ReplyKind.CALLBACK, sample("es", **context)) == (
        f"Gracias Ana, Riverside le va a llamar a este teléfono {spanish}."
    )


def test_callback_without_now_gives_the_date_and_without_a_deadline_says_soon():
    without_now = render_reply(ReplyKind.CALLBACK, sample(now=None))
    without_deadline = render_reply(ReplyKind.CALLBACK, sample("es", callback_by=None))

    assert without_now.endswith("by 3:00 PM on Mon, Nov 30.")
    assert without_deadline.endswith("le va a llamar a este teléfono pronto.")


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("naive", ["starts_at", "callback_by", "now"])
def test_naive_datetimes_are_refused(naive, kind):
    context = sample(**{naive: datetime(2026, 11, 30, 8, 30)})

    with pytest.raises(ValueError, match=naive):
        render_reply(kind, context)


# --- running late -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "english", "spanish"),
    [
        (15, "you'll be about 15 min late", "que va a llegar unos 15 min tarde"),
        (None, "you're running late", "que va a llegar tarde"),
        (0, "you're running late", "que va a llegar tarde"),
        (10_000, "you'll be about 240 min late", "que va a llegar unos 240 min tarde"),
    ],
)
def test_running_late_tells_how_late_when_known(minutes, english, spanish):
    assert render_reply(ReplyKind.RUNNING_LATE, sample("en", minutes_late=minutes)) == (
        f"Thanks Ana, we told Riverside {english}."
    )
    assert render_reply(ReplyKind.RUNNING_LATE, sample("es", minutes_late=minutes)) == (
        f"Gracias Ana, le avisamos a Riverside {spanish}."
    )


# --- which appointment ------------------------------------------------------------------------


def test_which_appointment_lists_choices_by_letter_in_the_zone():
    text = render_reply(ReplyKind.WHICH_APPOINTMENT, sample())

    assert text == (
        "Ana, you have 2 upcoming visits with Riverside:\n"
        "A) Mon, Nov 30 at 8:30 AM\n"
        "B) Tue, Dec 1 at 9:00 AM\n"
        "Reply A or B, then your answer, e.g. A 1."
    )


def test_which_appointment_in_spanish_without_a_first_name():
    choices = tuple(
        Choice(letter.lower(), datetime(2026, 12, day, 15, 0, tzinfo=UTC))
        for letter, day in zip("ABC", (1, 2, 3), strict=True)
    )

    text = render_reply(ReplyKind.WHICH_APPOINTMENT, sample("es", first_name=None, choices=choices))

    assert text == (
        "Tiene 3 citas pendientes con Riverside:\n"
        "A) mar 1 dic a las 10:00\n"
        "B) mié 2 dic a las 10:00\n"
        "C) jue 3 dic a las 10:00\n"
        "Responda A, B o C y su respuesta, por ejemplo A 1."
    )


@pytest.mark.parametrize(
    "choices",
    [
        (),
        (Choice("A", WORST_START),),
        (*WORST_CHOICES, Choice("E", WORST_START)),
        (Choice("A", WORST_START), Choice("a", WORST_START)),
        (Choice("A", WORST_START), Choice("1", WORST_START)),
    ],
)
def test_which_appointment_needs_two_to_four_distinct_letters(choices):
    with pytest.raises(ValueError, match="choice"):
        render_reply(ReplyKind.WHICH_APPOINTMENT, sample(choices=choices))


def test_choices_are_ignored_by_other_kinds():
    assert render_reply(ReplyKind.CONFIRMED, sample(choices=())) == render_reply(
        ReplyKind.CONFIRMED, sample()
    )


# --- languages and appointment kinds ----------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "same_as"),
    [("fr", "en"), ("ar", "en"), ("", "en"), ("EN-gb", "en"), ("es-MX", "es"), ("ES_us", "es")],
)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_other_languages_fall_back_like_reminders(kind, tag, same_as):
    assert render_reply(kind, sample(tag)) == render_reply(kind, sample(same_as))


@pytest.mark.parametrize(
    ("appointment_kind", "noun"),
    [("clinic_visit", "visit"), ("service_visit", "appointment"), ("something_new", "appointment")],
)
def test_the_appointment_is_called_what_its_kind_is(appointment_kind, noun):
    text = render_reply(ReplyKind.CONFIRMED, sample(kind=appointment_kind))

    assert text.startswith(f"Thanks Ana, your {noun} with Riverside")
    assert "su cita" in render_reply(ReplyKind.CONFIRMED, sample("es", kind=appointment_kind))


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_kind_may_be_given_as_its_string_value(kind):
    assert render_reply(kind.value, sample()) == render_reply(kind, sample())


# --- names: sanitised as for reminders, given up only to fit ----------------------------------


def test_names_are_sanitised_like_reminders():
    context = sample(org_name="  Clínica\n“Niños”  ", first_name="María\tJosé")

    text = render_reply(ReplyKind.CONFIRMED, context)

    assert text.startswith('Thanks Maria José, your visit with Clinica "Niños" on')
    assert count_segments(text).encoding is SmsEncoding.GSM7


def test_an_emoji_in_a_name_is_dropped_rather_than_doubling_the_cost():
    context = sample(first_name="Ana 😀", org_name="Riverside 🏥 Family Health")

    text = render_reply(ReplyKind.CANCELLED, context)

    assert text.startswith("Ana, your visit with Riverside Family Health on Mon, Nov 30")
    assert count_segments(text).encoding is SmsEncoding.GSM7


def test_an_organisation_name_without_gsm7_letters_is_replaced_by_its_number():
    text = render_reply(ReplyKind.OPTED_OUT, sample(org_name="مركز النور الطبي"))

    assert (
        text == f"You won't get any more texts from {ORG_PHONE_SHOWN}. Reply START to resubscribe."
    )


def test_a_long_organisation_name_is_cut_between_words_only_when_it_must_be():
    org = "Riverside Family Health and Wellness Clinic of North Springfield"

    confirmed = render_reply(ReplyKind.CONFIRMED, sample(org_name=org, starts_at=None))
    unknown = render_reply(ReplyKind.UNKNOWN, sample(org_name=org))

    assert org in confirmed
    assert "Riverside Family Health and Wellness staff" in unknown
    assert count_segments(unknown).parts == 1


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_blank_organisation_name_is_replaced_by_its_number(kind):
    text = render_reply(kind, sample(org_name=" \n "))

    assert ORG_PHONE_SHOWN in text
    assert_clean(text)


def test_an_organisation_phone_is_required():
    with pytest.raises(ValueError, match="org_phone"):
        render_reply(ReplyKind.HELP, sample(org_phone="  "))


# --- properties -------------------------------------------------------------------------------

#: Any text, with a good share of emoji and right-to-left scripts.
ANY_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from("🏥😀👍🏽‍❤️ שלום مرحبا Ñandú ü é")),
)
GSM7_TEXT = st.text(alphabet=st.sampled_from(sorted(GSM7_BASIC)))


@settings(max_examples=examples(300))
@given(
    kind=st.sampled_from(ALL_KINDS),
    language=st.sampled_from(["en", "es", "fr", "es-MX"]),
    org_name=ANY_TEXT.map(lambda text: text[:40]),
    first_name=st.one_of(st.none(), ANY_TEXT.map(lambda text: text[:20])),
)
def test_any_names_never_raise_and_never_exceed_the_budget(kind, language, org_name, first_name):
    context = dataclasses.replace(worst_case(language), org_name=org_name, first_name=first_name)

    text = render_reply(kind, context)

    assert text
    assert count_segments(text).parts <= budget(kind)


@settings(max_examples=examples(300))
@given(
    kind=st.sampled_from(ALL_KINDS),
    language=st.sampled_from(LANGUAGES),
    org_name=GSM7_TEXT.map(lambda text: text[:40]),
    first_name=GSM7_TEXT.map(lambda text: text[:20]),
)
def test_gsm7_names_up_to_the_sized_lengths_are_kept_whole(kind, language, org_name, first_name):
    context = dataclasses.replace(worst_case(language), org_name=org_name, first_name=first_name)

    text = render_reply(kind, context)

    assert count_segments(text).encoding is SmsEncoding.GSM7
    assert count_segments(text).parts <= budget(kind)
    assert (" ".join(org_name.split()) or ORG_PHONE_SHOWN) in text
    if kind in NAMED_KINDS:
        assert " ".join(first_name.split()) in text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", [ReplyKind.NOT_HOME, ReplyKind.LATE_FOR_HOME_VISIT])
def test_home_visit_answers_fit_one_gsm7_part_with_a_window_and_usual_names(language, kind):
    context = dataclasses.replace(
        worst_case(language),
        org_name="Hilltop Cable",
        first_name="Maria",
        window_ends_at=WORST_START + timedelta(hours=4),
        minutes_late=20,
    )

    text = render_reply(kind, context)

    count = count_segments(text)
    assert (count.encoding, count.parts) == (SmsEncoding.GSM7, 1), text
    assert "Hilltop Cable" in text
    assert "Maria" in text
    if kind is ReplyKind.LATE_FOR_HOME_VISIT:
        assert ("between 12:30 PM and 4:30 PM" if language == "en" else "entre las 12:30") in text
    else:
        assert ("reply 2" if language == "en" else "responda 2") in text
