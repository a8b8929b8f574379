"""Issue 14, item 3 (the pure part): reading answers, re-prompting, and the next question."""

from __future__ import annotations

import pytest

from builders import survey_body
from reach.domain.survey_answers import (
    MAX_TEXT_ANSWER,
    Answer,
    Invalid,
    next_question,
    read_answer,
)
from reach.domain.surveys import END, parse_survey

SURVEY = parse_survey(survey_body())
NPS, WHY, ON_TIME, ELSE = SURVEY.questions


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("1", "1"),
        ("1.", "1"),
        (" 1 ", "1"),
        ("yes!", "1"),
        ("Yes", "1"),
        ("YES.", "1"),
        ("1 Yes", "1"),
        ("2", "2"),
        ("no", "2"),
        ("call me!", "3"),
        ("Call-me", "3"),
    ],
)
def test_a_choice_answer_matches_its_key_or_label_in_any_case_with_punctuation(text, key):
    assert read_answer(ON_TIME, text, "en") == Answer("on_time", key)


@pytest.mark.parametrize("text", ["4", "yes 2", "maybe", "", "   ", "1 2", "Yes please no"])
def test_a_choice_answer_naming_no_choice_is_reprompted_with_the_options(text):
    assert read_answer(ON_TIME, text, "en") == Invalid(
        "on_time",
        "Sorry, we didn't get that. Please reply with one of: 1 Yes, 2 No, 3 Call me",
    )


SCALE_ANSWERS = {
    "en": [
        ("7", 7),
        (" 7 ", 7),
        ("7/10", 7),
        ("7 / 10", 7),
        ("7 out of 10", 7),
        ("7 of 10", 7),
        ("10", 10),
        ("0", 0),
        ("seven", 7),
        ("Seven!", 7),
        ("ZERO", 0),
        ("ten", 10),
        ("nine/10", 9),
    ],
    "es": [("siete", 7), ("Diez", 10), ("cero", 0), ("uno", 1), ("7 de 10", 7), ("7/10", 7)],
    "fr": [("sept", 7), ("Zéro", 0), ("dix", 10), ("une", 1), ("7 sur 10", 7), ("8", 8)],
}


@pytest.mark.parametrize(
    ("language", "text", "score"),
    [(language, text, score) for language, rows in SCALE_ANSWERS.items() for text, score in rows],
)
def test_a_scale_answer_is_a_whole_number_in_range_in_digits_or_the_surveys_words(
    language, text, score
):
    assert read_answer(NPS, text, language) == Answer("nps", score)


SCALE_REFUSALS = {
    "en": ["11", "-1", "7.5", "7,5", "7-8", "7 10", "7/9", "siete", "about 7", "", "lots"],
    "es": ["seven", "once", "7 sur 10", "-3"],
    "fr": ["seven", "onze", "7 de 10", "99999999"],
}
REPROMPTS = {
    "en": "Sorry, we didn't get that. Please reply with a whole number from 0 to 10",
    "es": "Perdone, no le entendimos. Responda con un número entero del 0 al 10",
    "fr": "Désolé, nous n'avons pas compris. Répondez par un nombre entier de 0 à 10",
}


@pytest.mark.parametrize(
    ("language", "text"),
    [(language, text) for language, rows in SCALE_REFUSALS.items() for text in rows],
)
def test_a_scale_answer_out_of_range_signed_decimal_or_in_another_language_is_reprompted(
    language, text
):
    assert read_answer(NPS, text, language) == Invalid("nps", REPROMPTS[language])


def test_a_regional_language_reads_its_base_languages_words():
    assert read_answer(NPS, "siete", "es-mx") == Answer("nps", 7)


def test_a_free_text_answer_is_kept_stripped():
    assert read_answer(WHY, "  Be on time  ", "en") == Answer("why", "Be on time")


def test_a_free_text_answer_of_exactly_500_characters_is_kept_whole():
    assert read_answer(WHY, "x" * MAX_TEXT_ANSWER, "en") == Answer("why", "x" * MAX_TEXT_ANSWER)


def test_a_free_text_answer_over_500_characters_is_cut_and_flagged():
    answer = read_answer(WHY, "y" * (MAX_TEXT_ANSWER + 1), "en")

    assert answer == Answer("why", "y" * MAX_TEXT_ANSWER, truncated=True)


@pytest.mark.parametrize(
    ("language", "reprompt"),
    [
        ("en", "Sorry, we didn't get that. Please reply with a few words"),
        ("es", "Perdone, no le entendimos. Responda con unas palabras"),
        ("fr", "Désolé, nous n'avons pas compris. Répondez en quelques mots"),
    ],
)
def test_an_empty_free_text_answer_is_reprompted(language, reprompt):
    assert read_answer(WHY, " \n ", language) == Invalid("why", reprompt)


@pytest.mark.parametrize(
    ("question", "answer", "following"),
    [
        ("nps", 6, "why"),
        ("nps", 0, "why"),
        ("nps", 7, "on_time"),
        ("nps", None, "on_time"),  # no answer: the rule without if
        ("why", "Be on time", "on_time"),  # no rules: the next in the list
        ("on_time", "1", END),
        ("on_time", "2", "else"),  # no rule matches: the next in the list
        ("on_time", None, "else"),
        ("else", "No", END),  # the last question ends the survey
    ],
)
def test_the_next_question_follows_the_first_matching_rule_then_the_list(
    question, answer, following
):
    assert next_question(SURVEY, question, answer) == following


def test_every_operator_compares_a_scale_answer():
    body = survey_body()
    body["questions"][0]["next"] = [
        {"if": {"in": [0, 1]}, "goto": "else"},
        {"if": {"lt": 3}, "goto": "why"},
        {"if": {"equals": 5}, "goto": "end"},
        {"if": {"gte": 9}, "goto": "on_time"},
        {"if": {"gt": 5}, "goto": "why"},
    ]
    survey = parse_survey(body)

    assert [next_question(survey, "nps", score) for score in range(11)] == [
        "else",
        "else",
        "why",
        "why",  # 3 and 4 match nothing: the next in the list
        "why",
        END,
        "why",
        "why",
        "why",
        "on_time",
        "on_time",
    ]


def test_in_on_a_choice_matches_any_of_its_keys():
    body = survey_body()
    body["questions"][2]["next"] = [{"if": {"in": ["2", "3"]}, "goto": "else"}, {"goto": "end"}]
    survey = parse_survey(body)

    assert [next_question(survey, "on_time", key) for key in "123"] == [END, "else", "else"]
