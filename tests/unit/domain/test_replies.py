import tomllib
import unicodedata
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from reach.domain import replies
from reach.domain.replies import (
    CARRIER_OPT_OUT_WORDS,
    DEFAULT_KEYWORDS,
    MAX_MINUTES_LATE,
    PHRASE_LANGUAGES,
    ClassifiedReply,
    ReplyIntent,
    ReplyKeywords,
    classify_reply,
    fold,
    keywords_for_replies,
    keywords_with,
    phrase_groups,
)

REPO = Path(__file__).resolve().parents[3]

CONFIRM = ReplyIntent.CONFIRM
RESCHEDULE = ReplyIntent.RESCHEDULE
CANCEL_APPOINTMENT = ReplyIntent.CANCEL_APPOINTMENT
RUNNING_LATE = ReplyIntent.RUNNING_LATE
CALL_ME = ReplyIntent.CALL_ME
HELP = ReplyIntent.HELP
OPT_OUT = ReplyIntent.OPT_OUT
OPT_IN = ReplyIntent.OPT_IN
UNKNOWN = ReplyIntent.UNKNOWN

#: Every opt-out word docs/facts.md#opt-out-words lists: the AWS list plus STOPALL and REVOKE.
FACTS_OPT_OUT_WORDS = [
    "ARRET",
    "CANCEL",
    "END",
    "OPT-OUT",
    "OPTOUT",
    "QUIT",
    "REMOVE",
    "STOP",
    "TD",
    "UNSUBSCRIBE",
    "STOPALL",
    "REVOKE",
]
SPANISH_OPT_OUT_WORDS = ["ALTO", "PARAR", "DETENER", "BAJA", "CANCELAR"]

DEFAULT_KEYWORD_CASES = [
    (intent, word)
    for intent, words in DEFAULT_KEYWORDS.intent_sets().items()
    for word in sorted(words)
]


def variants(word: str) -> list[str]:
    return [word, word.lower(), word.upper(), word.title(), f"  {word}.  ", f"{word}!", f"{word}?!"]


# --- every default keyword, English and Spanish -------------------------------------------


@pytest.mark.parametrize(
    ("intent", "text"),
    [(intent, v) for intent, word in DEFAULT_KEYWORD_CASES for v in variants(word)],
)
def test_every_default_keyword_alone_classifies_as_its_intent_in_any_case_and_punctuation(
    intent, text
):
    # When a recipient replies with just the keyword, however typed
    reply = classify_reply(text)

    # Then it is that keyword's intent
    assert reply.intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("1", CONFIRM),
        ("C", CONFIRM),
        ("Y", CONFIRM),
        ("YES", CONFIRM),
        ("CONFIRM", CONFIRM),
        ("SI", CONFIRM),
        ("SÍ", CONFIRM),
        ("sí", CONFIRM),
        ("CONFIRMO", CONFIRM),
        ("2", RESCHEDULE),
        ("R", RESCHEDULE),
        ("RESCHEDULE", RESCHEDULE),
        ("CAMBIAR", RESCHEDULE),
        ("REPROGRAMAR", RESCHEDULE),
        ("3", CANCEL_APPOINTMENT),
        ("X", CANCEL_APPOINTMENT),
        ("ANULAR", CANCEL_APPOINTMENT),
        ("LATE", RUNNING_LATE),
        ("running late", RUNNING_LATE),
        ("TARDE", RUNNING_LATE),
        ("llego tarde", RUNNING_LATE),
        ("CALL", CALL_ME),
        ("call me", CALL_ME),
        ("LLAMAR", CALL_ME),
        ("llamenme", CALL_ME),
        ("Llámenme", CALL_ME),
        ("HELP", HELP),
        ("INFO", HELP),
        ("AYUDA", HELP),
        ("START", OPT_IN),
        ("UNSTOP", OPT_IN),
    ],
)
def test_the_architecture_keywords_are_in_the_defaults(text, intent):
    assert classify_reply(text).intent == intent


@pytest.mark.parametrize(
    "text", ["yes!", " Yes. ", "YES", "yEs", "sí", "Si!", "\tyes\n", "Yes, thank you", "1."]
)
def test_confirmations_tolerate_case_accents_whitespace_punctuation_and_thanks(text):
    assert classify_reply(text) == ClassifiedReply(CONFIRM, matched=fold(text)[0])


def test_yes_confirms_the_appointment_and_does_not_opt_back_in():
    assert classify_reply("YES").intent == CONFIRM


def test_a_single_word_keyword_inside_a_sentence_is_not_that_reply():
    # Given a message that merely contains "yes" and "3" among other words
    reply = classify_reply("yes I have 3 questions about parking")

    # Then it is not read as a confirmation or a cancellation
    assert reply.intent == UNKNOWN


@pytest.mark.parametrize(
    "text",
    [
        "Sí, confirmo",
        "si confirmo gracias",
        "Yes, confirmed",
        "yes 1",
        "Yep!",
        "Yeah sure",
        "Confirmado.",
        "I'll be there",
        "We'll be there, thanks",
        "See you then!",
        "ahí estaré",
        "Nos vemos mañana",
    ],
)
def test_everyday_confirmations_in_english_and_spanish_confirm(text):
    assert classify_reply(text).intent == CONFIRM


@pytest.mark.parametrize(
    "text",
    [
        # Keywords of two intents: a person reads it
        "yes 2",
        "1 3",
        "si, cambiar",
        # Negated: not a confirmation (a "won't be there" is NOT_HOME, tested below)
        "no nos vemos",
        # An acknowledgement of our answer, not a new confirmation
        "OK",
        "ok thanks",
    ],
)
def test_mixed_negated_or_acknowledging_replies_are_not_confirmations(text):
    assert classify_reply(text).intent == UNKNOWN


@pytest.mark.parametrize(
    "text", ["I won't be there", "I will not be there", "I cannot be there, sorry"]
)
def test_a_negated_i_will_be_there_says_nobody_will_be_home_never_a_confirmation(text):
    # Issue #12 reads these as "not home"; before it they were UNKNOWN
    assert classify_reply(text).intent == ReplyIntent.NOT_HOME


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("3 x", CANCEL_APPOINTMENT),
        ("help, help", HELP),
        ("2 reschedule", RESCHEDULE),
    ],
)
def test_a_message_of_keywords_of_one_intent_is_that_intent(text, intent):
    assert classify_reply(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Can you call me?", CALL_ME),
        ("please give me a call tomorrow", CALL_ME),
        ("I need to reschedule", RESCHEDULE),
        ("quiero otro día por favor", RESCHEDULE),
        ("I'm running late, sorry", RUNNING_LATE),
        ("voy tarde, perdón", RUNNING_LATE),
    ],
)
def test_multi_word_phrases_match_anywhere_in_a_sentence(text, intent):
    assert classify_reply(text).intent == intent


@pytest.mark.parametrize(
    "text", ["please don't call me", "do not call me", "I won't be late", "no need to reschedule"]
)
def test_a_negated_phrase_is_not_a_request(text):
    assert classify_reply(text).intent == UNKNOWN


# --- opt-out ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [v for word in FACTS_OPT_OUT_WORDS + SPANISH_OPT_OUT_WORDS for v in variants(word)],
)
def test_every_opt_out_word_alone_opts_out_in_any_case(text):
    reply = classify_reply(text)

    assert reply.intent == OPT_OUT
    assert reply.matched == " ".join(fold(text))


@pytest.mark.parametrize("word", FACTS_OPT_OUT_WORDS + SPANISH_OPT_OUT_WORDS)
@pytest.mark.parametrize(
    "sentence",
    [
        "please {} texting me",
        "I want to {}.",
        "{} thank you",
        "ok... {}!!",
        "Hi, this is Ana. {} - I moved away",
        "YES {}",
        "{} 1",
    ],
)
@pytest.mark.parametrize("case", [str.lower, str.upper, str.title])
def test_every_opt_out_word_inside_a_sentence_opts_out_whatever_else_it_says(word, sentence, case):
    # Given an opt-out word somewhere in a longer message, even beside another keyword
    text = case(sentence.format(word))

    # When it is classified
    reply = classify_reply(text)

    # Then opt-out wins
    assert reply.intent == OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "Stop. Thank you",
        "please stop texting me",
        "I want to unsubscribe",
        "cancel all messages",
        "quit sending",
        "remove me from your list",
        "stop!!",
        "STOP.",
        "I'd like to opt out",
        "opt-out please",
        "don't stop",
        "\u200fSTOP",
        "STOP 🛑",
        "wrong number",
        "no más mensajes",
        "darme de baja",
    ],
)
def test_revocation_by_any_reasonable_means_opts_out(text):
    assert classify_reply(text).intent == OPT_OUT


def test_stop_thank_you_opts_out_the_bug_peers_shipped():
    assert classify_reply("Stop. Thank you") == ClassifiedReply(OPT_OUT, matched="stop")


@pytest.mark.parametrize("text", ["weekend", "stopped by yesterday", "quitting time", "Tuesday"])
def test_opt_out_words_match_whole_words_only(text):
    assert classify_reply(text).intent != OPT_OUT


# --- cancel: the appointment vs the messages ----------------------------------------------


@pytest.mark.parametrize("text", ["3", "X", "x", "anular", "ANULAR", "Anular.", " 3 ", "x!"])
def test_the_cancel_appointment_replies_never_opt_out(text):
    assert classify_reply(text).intent == CANCEL_APPOINTMENT


@pytest.mark.parametrize("text", ["CANCEL", "cancel", "Cancel.", "  cancel! ", "CANCELAR"])
def test_cancel_as_the_whole_message_opts_out(text):
    assert classify_reply(text).intent == OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "cancel my appointment",
        "I need to cancel the appointment",
        "Please cancel my appt tomorrow",
        "can you cancel the visit",
        "cancelar mi cita",
        "quiero anular la cita",
    ],
)
def test_a_sentence_about_cancelling_the_appointment_cancels_it(text):
    assert classify_reply(text).intent == CANCEL_APPOINTMENT


@pytest.mark.parametrize(
    "text",
    [
        "cancel my appointment and stop texting me",
        "cancel my appointment reminders",
        "cancel the appointment messages",
        "cancel everything",
        "cancel please",
    ],
)
def test_cancel_with_another_opt_out_word_or_about_the_messages_opts_out(text):
    assert classify_reply(text).intent == OPT_OUT


def test_a_negated_appointment_cancellation_is_neither_a_cancellation_nor_an_opt_out():
    assert classify_reply("don't cancel my appointment") == ClassifiedReply(UNKNOWN)


# --- running late -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("LATE 15", 15),
        ("late 15 min", 15),
        ("late 15min", 15),
        ("15 minutes late", 15),
        ("10 min late", 10),
        ("running 20 minutes late", 20),
        ("running late 10 min", 10),
        ("tarde 10", 10),
        ("10 minutos tarde", 10),
        ("late 1 hour", 60),
        ("2 hours late", 120),
        ("late 500", MAX_MINUTES_LATE),
        ("late 99999999999999999999999999", MAX_MINUTES_LATE),
        ("LATE", None),
        ("running late", None),
        ("llego tarde", None),
        ("minutes late", None),
    ],
)
def test_running_late_reads_the_minutes_next_to_the_word_and_caps_them(text, minutes):
    reply = classify_reply(text)

    assert reply.intent == RUNNING_LATE
    assert reply.minutes_late == minutes


def test_running_late_minutes_never_exceed_the_cap():
    assert classify_reply("late 241").minutes_late == 240
    assert classify_reply("late 240").minutes_late == 240


# --- bodies that are not words ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "...!?",
        "😀",
        "👍👍👍",
        "🤷‍♀️",
        "مرحبا، شكرا",
        "שלום תודה",
        "\u200f\u200e",
        "\x00\x1b",
        "a" * 2000,
        "lorem ipsum " * 166,
    ],
)
def test_emoji_right_to_left_empty_and_long_bodies_are_unknown(text):
    assert classify_reply(text) == ClassifiedReply(UNKNOWN)


def test_a_keyword_beside_emoji_or_right_to_left_text_is_still_recognised():
    assert classify_reply("👍 YES 👍").intent == CONFIRM
    assert classify_reply("\u202bsí\u202c").intent == CONFIRM
    assert classify_reply("שלום STOP").intent == OPT_OUT


def test_an_opt_out_at_the_end_of_a_2000_character_body_opts_out():
    text = ("word " * 400)[:1995] + " stop"

    assert len(text) == 2000
    assert classify_reply(text).intent == OPT_OUT


def test_digits_in_other_scripts_and_keycap_emoji_read_as_the_digit():
    assert classify_reply("٣").intent == CANCEL_APPOINTMENT
    assert classify_reply("1️⃣").intent == CONFIRM


@given(st.text(max_size=2000))
def test_any_text_classifies_without_raising(text):
    reply = classify_reply(text)

    assert reply.intent in ReplyIntent
    assert reply.minutes_late is None or 0 <= reply.minutes_late <= MAX_MINUTES_LATE


# --- tenant keywords ----------------------------------------------------------------------


def test_a_tenant_can_replace_a_keyword_set():
    # Given a tenant whose patients confirm with OK or VALE
    keywords = DEFAULT_KEYWORDS.with_overrides(confirm={"OK", "Vale"})

    # Then the new words confirm and the replaced ones no longer do
    assert classify_reply("ok!", keywords).intent == CONFIRM
    assert classify_reply("vale", keywords).intent == CONFIRM
    assert classify_reply("yes", keywords).intent == UNKNOWN
    # And the other sets are untouched
    assert classify_reply("2", keywords).intent == RESCHEDULE


def test_a_tenant_can_add_opt_out_words_that_then_opt_out():
    keywords = DEFAULT_KEYWORDS.with_overrides(opt_out=DEFAULT_KEYWORDS.opt_out | {"BASTA"})

    assert classify_reply("basta ya", keywords).intent == OPT_OUT
    assert classify_reply("basta").intent == UNKNOWN


def test_a_tenant_can_add_appointment_nouns_for_cancel_sentences():
    keywords = DEFAULT_KEYWORDS.with_overrides(
        appointment_nouns=DEFAULT_KEYWORDS.appointment_nouns | {"service call"}
    )

    assert classify_reply("cancel the service call", keywords).intent == CANCEL_APPOINTMENT
    assert classify_reply("cancel the service call").intent == OPT_OUT


@pytest.mark.parametrize(
    ("field", "words", "named"),
    [
        ("confirm", {"YES", "STOP"}, "STOP"),
        ("cancel_appointment", {"3", "Cancel"}, "Cancel"),
        ("reschedule", {"end!"}, "end!"),
        ("opt_in", {"START", "opt-out"}, "opt-out"),
        ("call_me", {"please stop calling"}, "please stop calling"),
        ("help", {"td"}, "td"),
        ("appointment_nouns", {"unsubscribe"}, "unsubscribe"),
    ],
)
def test_a_tenant_cannot_put_an_opt_out_word_into_another_intent(field, words, named):
    with pytest.raises(ValueError, match=f"'{named}'.*opt-out"):
        DEFAULT_KEYWORDS.with_overrides(**{field: words})


def test_a_tenant_cannot_put_its_own_opt_out_word_into_another_intent():
    keywords = DEFAULT_KEYWORDS.with_overrides(opt_out=DEFAULT_KEYWORDS.opt_out | {"BASTA"})

    with pytest.raises(ValueError, match="'basta'"):
        keywords.with_overrides(confirm={"basta"})


def test_a_tenant_cannot_drop_a_carrier_opt_out_word():
    with pytest.raises(ValueError, match="'STOP'"):
        DEFAULT_KEYWORDS.with_overrides(opt_out=CARRIER_OPT_OUT_WORDS - {"STOP"})


def test_a_tenant_may_drop_the_spanish_opt_out_words_but_never_the_carrier_ones():
    keywords = DEFAULT_KEYWORDS.with_overrides(opt_out=CARRIER_OPT_OUT_WORDS)

    assert classify_reply("alto", keywords).intent == UNKNOWN
    assert classify_reply("stop", keywords).intent == OPT_OUT


def test_a_keyword_may_not_have_two_intents():
    with pytest.raises(ValueError, match=r"'2'.*confirm"):
        DEFAULT_KEYWORDS.with_overrides(confirm={"2"})


@pytest.mark.parametrize("word", ["", "!!!", "👍"])
def test_a_keyword_without_letters_or_digits_is_rejected(word):
    with pytest.raises(ValueError, match="no letters or digits"):
        DEFAULT_KEYWORDS.with_overrides(confirm={word})


def test_an_unknown_keyword_set_is_rejected():
    with pytest.raises(ValueError, match="'maybe'"):
        DEFAULT_KEYWORDS.with_overrides(maybe={"perhaps"})


def test_building_keywords_directly_is_validated_too():
    with pytest.raises(ValueError, match="'quit'"):
        ReplyKeywords(help={"quit"})


def test_the_defaults_never_use_cancel_for_the_appointment():
    assert not any("cancel" in fold(w) for w in DEFAULT_KEYWORDS.cancel_appointment)


# --- property: a standalone opt-out word always opts out ----------------------------------

_OPT_OUT_WORDS = sorted(DEFAULT_KEYWORDS.opt_out)
_KEYWORD_TOKENS = frozenset(
    token
    for words in [*DEFAULT_KEYWORDS.intent_sets().values(), DEFAULT_KEYWORDS.appointment_nouns]
    for word in words
    for token in fold(word)
)

_APPOINTMENT_TOKENS = frozenset(t for w in DEFAULT_KEYWORDS.appointment_nouns for t in fold(w))


def _plain_word(word: str) -> bool:
    return all(token not in _KEYWORD_TOKENS for token in fold(word))


_filler = st.text(
    alphabet=st.characters(categories=["Ll", "Lu", "Nd"]), min_size=1, max_size=12
).filter(_plain_word)
_separator = st.sampled_from([" ", "  ", ", ", ". ", "! ", "? ", "\n", " - ", "... "])


@given(
    words=st.lists(_filler, max_size=30),
    opt_out=st.sampled_from(_OPT_OUT_WORDS),
    position=st.integers(min_value=0),
    cases=st.lists(st.booleans(), min_size=30, max_size=30),
    separators=st.lists(_separator, min_size=32, max_size=32),
)
def test_any_text_with_a_standalone_opt_out_word_opts_out(
    words, opt_out, position, cases, separators
):
    # Given random non-keyword words with an opt-out word, in random case, inserted anywhere
    cased = "".join(c.upper() if up else c.lower() for c, up in zip(opt_out, cases, strict=False))
    index = position % (len(words) + 1)
    parts = [*words[:index], cased, *words[index:]]
    text = "".join(part + separators[i] for i, part in enumerate(parts))
    # (filler never holds appointment nouns, so no generated text is a cancel-appointment
    # sentence; assert it rather than trust the filter)
    assume(not _APPOINTMENT_TOKENS.intersection(fold(text)))

    # When it is classified
    reply = classify_reply(text)

    # Then it opts out
    assert reply.intent == OPT_OUT


def test_a_tenants_words_are_added_to_the_defaults_not_instead_of_them() -> None:
    keywords = keywords_with((("confirm", ("sounds good", "vale")),))

    assert classify_reply("Sounds good", keywords).intent is ReplyIntent.CONFIRM
    assert classify_reply("vale", keywords).intent is ReplyIntent.CONFIRM
    assert classify_reply("1", keywords).intent is ReplyIntent.CONFIRM
    assert classify_reply("STOP", keywords).intent is ReplyIntent.OPT_OUT
    # The same words in another order are the same keyword set (compiled once)
    assert keywords_with((("confirm", ("vale", "sounds good")),)) is keywords


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((("confirm", ("stop",)),), "stop"),
        ((("call_me", ("please unsubscribe",)),), "unsubscribe"),
        ((("nonsense", ("x",)),), "not a reply keyword set"),
    ],
)
def test_a_tenants_words_may_not_capture_an_opt_out_word_or_name_an_unknown_set(
    extra: tuple[tuple[str, tuple[str, ...]], ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        keywords_with(extra)


# --- issue #17 item 7: every reasonable way of saying stop ----------------------------------

ISSUE_SETS = {
    "opt_out": ("misspellings", "remove_me", "lose_my_number", "do_not_contact", "leave_me_alone"),
    "reschedule": ("change_or_move", "another_time"),
}


def _unaccented(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _file_phrases(set_name: str) -> list[tuple[str, str]]:
    return [
        (language, word)
        for language in PHRASE_LANGUAGES
        for words in phrase_groups(language).get(set_name, {}).values()
        for word in words
    ]


@pytest.mark.parametrize("language", PHRASE_LANGUAGES)
@pytest.mark.parametrize(("set_name", "groups"), list(ISSUE_SETS.items()))
def test_each_language_file_loads_with_every_kind_of_phrasing_the_issue_names(
    language, set_name, groups
):
    # When a language's phrase file is read
    loaded = phrase_groups(language)

    # Then it has each kind of revocation and reschedule phrasing, none empty
    for group in groups:
        assert loaded[set_name][group], f"{language}: {set_name}.{group} is empty"


def test_the_phrase_files_ship_in_the_layer_and_the_package():
    # Given the layer's source tree (sam build copies it whole) and the package data
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    declared = pyproject["tool"]["setuptools"]["package-data"]["reach.domain"]

    # Then every language's file is inside the layer and matched by the package data
    for language in PHRASE_LANGUAGES:
        path = REPO / "layers" / "reach" / "reach" / "domain" / "phrases" / f"{language}.json"
        assert path.is_file()
        assert any(path.match(f"*/reach/domain/{pattern}") for pattern in declared)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "must be an object"),
        ('{"language": "de"}', "for language 'xx'"),
        ('{"language": "xx", "opt_outs": {}}', "'opt_outs' is not a phrase set"),
        ('{"language": "xx", "opt_out": ["stop"]}', "'opt_out' must map group names"),
        ('{"language": "xx", "opt_out": {"a": [1]}}', "'opt_out' must map group names"),
    ],
)
def test_a_phrase_file_in_the_wrong_shape_fails_loudly(tmp_path, monkeypatch, content, message):
    # Given a phrase file edited into a shape the reader does not know
    (tmp_path / "xx.json").write_text(content, encoding="utf-8")
    monkeypatch.setattr(replies, "_PHRASE_DIR", str(tmp_path))

    # Then reading it raises, instead of silently dropping a way of saying stop
    with pytest.raises(ValueError, match=message):
        phrase_groups("xx")


@pytest.mark.parametrize(("language", "phrase"), _file_phrases("opt_out"))
@pytest.mark.parametrize(
    "shape", [str, str.upper, _unaccented, lambda p: f"Hi, {_unaccented(p).lower()} thanks!"]
)
def test_every_revocation_in_the_phrase_files_opts_out_with_or_without_accents(
    language, phrase, shape
):
    # When a recipient writes any revocation in the files, alone or in a sentence,
    # in capitals or without its accents
    reply = classify_reply(shape(phrase))

    # Then it opts out
    assert reply.intent == OPT_OUT, (language, phrase)


@pytest.mark.parametrize(("language", "phrase"), _file_phrases("reschedule"))
@pytest.mark.parametrize("shape", [str, str.upper, _unaccented])
def test_every_reschedule_phrasing_in_the_files_asks_to_reschedule(language, phrase, shape):
    assert classify_reply(shape(phrase)).intent == RESCHEDULE, (language, phrase)


#: Revocations in everyday words: each one opts out. The issue's examples come first.
REVOCATIONS = [
    # asking to be removed or taken off a list
    "remove me",
    "Take me off your list please",
    "sácame de la lista",
    "Sáquenme de su lista por favor",
    "retirez-moi de la liste",
    "Retirez moi de votre liste svp",
    # asking the sender to lose or delete the number
    "delete my number",
    "Please lose my number",
    "Forget this number",
    "borra mi número",
    "Borren mi numero por favor",
    "supprimez mon numéro",
    "Oubliez mon numero",
    # asking not to be contacted or texted
    "don't text me",
    "Do not contact me again",
    "DONT MESSAGE ME",
    "no me escriban",
    "No me manden más mensajes",
    "ne me contactez plus",
    "Ne m'écrivez plus jamais",
    "Arrêtez de m'envoyer des SMS",
    # asking to be left alone
    "leave me alone",
    "Just leave us alone",
    "déjenme en paz",
    "Dejame en paz",
    "laissez-moi tranquille",
    "Fichez-moi la paix",
    # misspelt and unaccented keywords
    "stpo",
    "Sotp",
    "STOPP",
    "unsubcribe",
    "Unsuscribe",
    "I want to unsubscibe",
    "desuscribir",
    "Desuscribirme por favor",
    "desinscrire",
    "désinscrire",
    "arret",
    "Arrêt",
    "ARRETEZ",
    "desabonner",
]


@pytest.mark.parametrize("text", REVOCATIONS)
def test_revocations_in_english_spanish_and_french_opt_out(text):
    assert classify_reply(text).intent == OPT_OUT


#: Replies that use a revocation word in another sense and are DELIBERATELY read as a
#: revocation all the same: the FCC names "stop", "cancel", "end", "quit" and "unsubscribe" as
#: revocations wherever they appear, and a wrongly dropped consent costs a START while a wrongly
#: kept one is a TCPA claim. None of them cancels the appointment: an opt-out leaves it booked.
DELIBERATELY_TREATED_AS_REVOCATION = [
    "I'll stop by at 3",
    "I'm at the bus stop",
    "don't stop",
    "can you remove the old address from my file?",
    "take me off the waitlist",
    "the end of the road",
    "Je suis à l'arrêt de bus",
    "para de llover y voy, alto ahí",
]


@pytest.mark.parametrize("text", DELIBERATELY_TREATED_AS_REVOCATION)
def test_a_revocation_word_in_another_sense_deliberately_opts_out_and_cancels_nothing(text):
    reply = classify_reply(text)

    assert reply.intent == OPT_OUT
    assert reply.intent != CANCEL_APPOINTMENT


#: Replies that share words with a revocation but DELIBERATELY are not one: the words that
#: make a revocation ("me alone", "my number", "contact me" after a negation) are not there.
DELIBERATELY_NOT_REVOCATION = [
    "leave me a message",
    "Can I come alone?",
    "please contact me",
    "who do I contact about parking?",
    "text me the address",
    "I lost my phone, this is my new number",
    "my number changed",
    "déjame saber",
    "escríbeme la dirección",
    "laissez-moi un message",
    "contactez-moi",
    "merci stp",
    "basta",
    "perdí un arete",
    "do not call me",
    "please don't call me",
]


@pytest.mark.parametrize("text", DELIBERATELY_NOT_REVOCATION)
def test_words_shared_with_a_revocation_do_not_opt_out_or_cancel(text):
    reply = classify_reply(text)

    assert reply.intent not in {OPT_OUT, CANCEL_APPOINTMENT}


@pytest.mark.parametrize(
    "text",
    [
        "Can we move my appointment to Friday?",
        "I need to change the time",
        "could we do another day?",
        "Postpone please",
        "can we postpone?",
        "I'd like to reschedule my appointment",
        "rescedule",
        "¿Podemos cambiar la hora?",
        "necesito otra fecha",
        "quiero posponer la cita",
        "Est-ce qu'on peut décaler le rendez-vous ?",
        "un autre jour svp",
        "Reporter",
    ],
)
def test_asking_to_change_move_or_postpone_or_for_another_time_reschedules(text):
    assert classify_reply(text).intent == RESCHEDULE


@pytest.mark.parametrize(
    "text",
    [
        "I moved house last year",
        "I called the other day",
        "don't change the appointment",
        "no quiero cambiar la cita",
        "je ne veux pas changer le rendez-vous",
    ],
)
def test_moving_in_another_sense_or_a_negated_change_is_not_a_reschedule(text):
    assert classify_reply(text).intent == UNKNOWN


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("annuler mon rendez-vous", CANCEL_APPOINTMENT),
        ("Je dois annuler le rdv de demain", CANCEL_APPOINTMENT),
        ("cancle my appt", CANCEL_APPOINTMENT),
        ("cancle", OPT_OUT),
        # About the reminders, not the visit: a revocation
        ("annuler les rappels du rendez-vous", OPT_OUT),
    ],
)
def test_french_and_misspelt_appointment_cancellations(text, intent):
    assert classify_reply(text).intent == intent


def test_a_phrase_matched_whole_is_reported_whole():
    # The consent record's source reads "sms:REMOVE ME" only when the whole phrase matched
    assert classify_reply("Remove me!").matched == "remove me"


def test_a_stored_tenant_word_that_became_unsafe_is_left_out_of_reading_replies():
    # Given a tenant word stored before "take me off" became an opt-out phrasing, beside a
    # word that is still fine, and a set name that no longer exists
    stored = (("confirm", ("take me off", "vale")), ("no_such_set", ("x",)))
    with pytest.raises(ValueError, match=r"not a reply keyword set|opt-out words always opt out"):
        keywords_with(stored)
    # When replies are read with the tenant's words
    keywords = keywords_for_replies(stored)
    # Then the unsafe word and the unknown set are left out, the rest works, and the phrase
    # keeps its opt-out meaning
    assert classify_reply("vale", keywords).intent is ReplyIntent.CONFIRM
    assert classify_reply("take me off", keywords).intent is ReplyIntent.OPT_OUT
    assert keywords_for_replies(()) is keywords_with(())


@pytest.mark.parametrize(
    "text",
    [
        "not home",
        "Nobody home",
        "no one will be home",
        "No one will be there tomorrow",
        "I won't be there",
        "we will not be home",
        "I'm not going to be home, sorry",
        "no estaré en casa",
        "No hay nadie en casa",
        "no vamos a estar",
        "nadie en casa",
        "il n'y aura personne",
    ],
)
def test_nobody_home_is_read_in_english_spanish_and_french(text):
    assert classify_reply(text).intent == ReplyIntent.NOT_HOME


@pytest.mark.parametrize(
    "text", ["not home. STOP", "nobody home, stop texting me", "no estaré, BAJA"]
)
def test_a_not_home_reply_with_an_opt_out_word_still_opts_out(text):
    assert classify_reply(text).intent == ReplyIntent.OPT_OUT


@given(st.sampled_from(sorted(DEFAULT_KEYWORDS.not_home)))
def test_no_not_home_phrasing_ever_opts_out(phrase):
    assert classify_reply(phrase).intent == ReplyIntent.NOT_HOME
