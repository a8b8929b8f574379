"""Reading a survey answer, the re-prompt for one that can't be read, and where the survey goes
next. Pure: the inbound conversation calls these (STOP, START and HELP never get here).

Text is compared folded (``reach.domain.replies.fold``): case, accents and punctuation do not
count, so "1", "1.", " yes! " and "YES" all read the same.

- A choice answer is a choice's key, its label, or both ("1 Yes"): "1", "1.", "yes!", "Yes".
- A scale answer is a whole number in the scale: digits ("7", " 7 "), with the scale's top
  ("7/10", "7 out of 10", "7 de 10", "7 sur 10"), or a number word of the survey's language
  from zero to ten ("seven", "siete", "sept"). A sign, a decimal or a range ("-1", "7.5",
  "7-8") is not read as a number: it is re-prompted, never rounded or cut.
- A free-text answer is the text, stripped; at most ``MAX_TEXT_ANSWER`` characters, a longer
  one is kept cut to that length and flagged ``truncated``. An empty one is invalid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reach.domain.replies import fold
from reach.domain.surveys import (
    END,
    AnswerValue,
    Question,
    QuestionType,
    SurveyDefinition,
    base_language,
)

#: Longest free-text answer kept, in characters.
MAX_TEXT_ANSWER = 500

_NUMBER_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    "es": (
        "cero",
        "uno",
        "dos",
        "tres",
        "cuatro",
        "cinco",
        "seis",
        "siete",
        "ocho",
        "nueve",
        "diez",
    ),
    "fr": ("zero", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix"),
}
#: Other spellings of one: "nought", Spanish "un"/"una" and French "une".
_MORE_WORDS: dict[str, dict[str, int]] = {
    "en": {"nought": 0, "nil": 0, "none": 0},
    "es": {"un": 1, "una": 1},
    "fr": {"une": 1},
}
#: The words between a score and the scale's top: "7 out of 10", "7 de 10", "7 sur 10".
_OUT_OF: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (("out", "of"), ("of",)),
    "es": (("de",), ("sobre",)),
    "fr": (("sur",),),
}
#: A sign before a number, a decimal or a range: never read as a whole number.
_NOT_WHOLE = re.compile(r"[-+\u2212]\s*\d|\d\s*[.,]\s*\d|\d\s*[-\u2013\u2014]\s*\d")

_REPROMPTS = {
    "en": {
        QuestionType.CHOICE: "Sorry, we didn't get that. Please reply with one of: {options}",
        QuestionType.SCALE: "Sorry, we didn't get that. Please reply with a whole number "
        "from {min} to {max}",
        QuestionType.TEXT: "Sorry, we didn't get that. Please reply with a few words",
    },
    "es": {
        QuestionType.CHOICE: "Perdone, no le entendimos. Responda con una de estas opciones: "
        "{options}",
        QuestionType.SCALE: "Perdone, no le entendimos. Responda con un número entero "
        "del {min} al {max}",
        QuestionType.TEXT: "Perdone, no le entendimos. Responda con unas palabras",
    },
    "fr": {
        QuestionType.CHOICE: "Désolé, nous n'avons pas compris. Répondez par l'une de ces "
        "options : {options}",
        QuestionType.SCALE: "Désolé, nous n'avons pas compris. Répondez par un nombre entier "
        "de {min} à {max}",
        QuestionType.TEXT: "Désolé, nous n'avons pas compris. Répondez en quelques mots",
    },
}


@dataclass(frozen=True)
class Answer:
    """An answer read: a choice's key, a scale's integer, or free text."""

    question_id: str
    value: AnswerValue
    #: A free-text answer longer than MAX_TEXT_ANSWER, kept cut.
    truncated: bool = False


@dataclass(frozen=True)
class Invalid:
    """An answer that can't be read, with the re-prompt saying what is expected."""

    question_id: str
    reprompt: str


def read_answer(question: Question, text: str, language: str) -> Answer | Invalid:
    """``text`` read as an answer to ``question`` in a survey in ``language``."""
    value: AnswerValue | None
    if question.type is QuestionType.CHOICE:
        value = read_choice(question, text)
    elif question.type is QuestionType.SCALE:
        value = read_scale(question, text, language)
    else:
        kept = text.strip()
        if not kept:
            return Invalid(question.id, reprompt(question, language))
        return Answer(question.id, kept[:MAX_TEXT_ANSWER], len(kept) > MAX_TEXT_ANSWER)
    if value is None:
        return Invalid(question.id, reprompt(question, language))
    return Answer(question.id, value)


def read_choice(question: Question, text: str) -> str | None:
    """The key of the choice ``text`` names by key, label, or both; None if none."""
    words = fold(text)
    for choice in question.choices:
        key, label = fold(choice.key), fold(choice.label)
        if words in (key, label, key + label):
            return choice.key
    return None


def read_scale(question: Question, text: str, language: str) -> int | None:
    """The whole number in the scale that ``text`` gives; None if it gives none."""
    if question.min is None or question.max is None or _NOT_WHOLE.search(text):
        return None
    words = fold(text)
    if not words:
        return None
    number = _number(words[0], language)
    rest = words[1:]
    if rest and not _names_top(rest, question.max, language, "/" in text):
        return None
    if number is None or not question.min <= number <= question.max:
        return None
    return number


def _number(word: str, language: str) -> int | None:
    if word.isascii() and word.isdigit():
        return int(word) if len(word) <= 4 else None
    base = base_language(language)
    words = _NUMBER_WORDS[base]
    if word in words:
        return words.index(word)
    return _MORE_WORDS[base].get(word)


def _names_top(rest: tuple[str, ...], top: int, language: str, slash: bool) -> bool:
    """Whether the words after the score only name the scale's top: "/10", "out of 10"."""
    if _number(rest[-1], language) != top:
        return False
    between = rest[:-1]
    if not between:
        return slash
    return between in _OUT_OF[base_language(language)]


def reprompt(question: Question, language: str) -> str:
    """What to text back after an answer that can't be read: what is expected."""
    wording = _REPROMPTS[base_language(language)][question.type]
    options = ", ".join(f"{choice.key} {choice.label}" for choice in question.choices)
    return wording.format(options=options, min=question.min, max=question.max)


def next_question(
    definition: SurveyDefinition, question_id: str, answer: AnswerValue | None
) -> str:
    """The id of the question after ``question_id`` given ``answer`` (None: no answer was
    recorded), or END. The first rule that matches wins; none matching, the next in the list."""
    questions = definition.questions
    index = next(i for i, question in enumerate(questions) if question.id == question_id)
    for rule in questions[index].next:
        if rule.condition is None:
            return rule.goto
        if answer is not None and rule.condition.matches(answer):
            return rule.goto
    return questions[index + 1].id if index + 1 < len(questions) else END
