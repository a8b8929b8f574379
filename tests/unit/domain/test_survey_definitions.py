"""Issue 14, item 1: a survey definition is refused naming the exact path at fault."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from builders import survey_body
from reach.domain.errors import InvalidInput
from reach.domain.segments import count_segments
from reach.domain.surveys import (
    END,
    MAX_PARTS,
    parse_survey,
    render_question,
    survey_from_dict,
    survey_to_dict,
)

type Edit = Callable[[dict[str, Any]], None]


def refused(edit: Edit) -> InvalidInput:
    body = copy.deepcopy(survey_body())
    edit(body)
    with pytest.raises(InvalidInput) as caught:
        parse_survey(body)
    return caught.value


def q(body: dict[str, Any], index: int) -> dict[str, Any]:
    question: dict[str, Any] = body["questions"][index]
    return question


def test_a_valid_survey_reads_back_as_written_with_canonical_durations():
    body = survey_body(
        expires_after="pt4h",
        trigger={"on": "appointment_completed", "delay": "pt2h", "kinds": ["service_visit"]},
        language="es-MX",
    )

    definition = parse_survey(body)

    assert definition.expires_after == "PT4H"
    assert definition.trigger is not None
    assert definition.trigger.delay == "PT2H"
    assert definition.language == "es-MX"
    assert survey_from_dict(survey_to_dict(definition)) == definition


def test_expires_after_defaults_to_24_hours():
    body = survey_body()
    body.pop("expires_after", None)

    assert parse_survey(body).expires_after == "PT24H"


def test_a_choice_question_is_sent_with_its_choices_after_the_text():
    definition = parse_survey(survey_body())

    assert render_question(definition, definition.questions[2]) == (
        "Was the technician on time? 1 Yes 2 No 3 Call me"
    )


def test_the_first_question_carries_the_intro_before_and_the_opt_out_line_after():
    definition = parse_survey(survey_body(language="fr"))

    assert render_question(definition, definition.first).split("\n") == [
        "Riverside Plumbing: 3 quick questions about today's visit.",
        "How likely are you to recommend us, 0-10?",
        "Répondez STOP pour vous désabonner",
    ]


def _set(path: str, value: Any) -> Edit:
    def edit(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return edit


#: (why, edit, the path named)
REFUSALS: list[tuple[str, Edit, str]] = [
    (
        "goto names no question",
        _set("questions.0.next.1.goto", "nowhere"),
        "questions[0].next[1].goto",
    ),
    (
        "goto back to an earlier question",
        _set("questions.3.next", [{"goto": "nps"}]),
        "questions[3].next[0].goto",
    ),
    ("goto to itself", _set("questions.1.next", [{"goto": "why"}]), "questions[1].next[0].goto"),
    (
        "a question no answer reaches",
        _set("questions.0.next", [{"if": {"lte": 6}, "goto": "end"}, {"goto": "on_time"}]),
        "questions[1]",
    ),
    ("duplicate question id", _set("questions.3.id", "why"), "questions[3].id"),
    ("the reserved id end", _set("questions.3.id", "END"), "questions[3].id"),
    ("a text over 2 parts", _set("questions.1.text", "Tell us more. " * 25), "questions[1].text"),
    (
        "choices rendered push the text over 2 parts",
        _set("questions.2.text", "x" * 290),
        "questions[2].text",
    ),
    ("the intro pushes the first text over 2 parts", _set("intro", "Hello. " * 40), "intro"),
    ("thanks over 2 parts", _set("thanks", "Thanks! " * 45), "thanks"),
    (
        "health details in a question",
        _set("questions.1.text", "How was your therapy?"),
        "questions[1].text",
    ),
    (
        "health details in a label",
        _set("questions.2.choices.1.label", "My diagnosis"),
        "questions[2].choices[1].label",
    ),
    ("health details in the intro", _set("intro", "About your vaccine"), "intro"),
    ("health details in thanks", _set("thanks", "Good luck with the chemo"), "thanks"),
    ("lte on a choice", _set("questions.2.next.0.if", {"lte": 1}), "questions[2].next[0].if.lte"),
    (
        "any operator on free text",
        _set("questions.1.next", [{"if": {"equals": "x"}, "goto": "end"}]),
        "questions[1].next[0].if.equals",
    ),
    (
        "equals a key the choice lacks",
        _set("questions.2.next.0.if", {"equals": "9"}),
        "questions[2].next[0].if.equals",
    ),
    (
        "in with a key the choice lacks",
        _set("questions.2.next.0.if", {"in": ["1", "7"]}),
        "questions[2].next[0].if.in",
    ),
    ("in with nothing", _set("questions.2.next.0.if", {"in": []}), "questions[2].next[0].if.in"),
    (
        "a scale compared with text",
        _set("questions.0.next.0.if", {"lte": "6"}),
        "questions[0].next[0].if.lte",
    ),
    (
        "a scale compared outside its range",
        _set("questions.0.next.0.if", {"gt": 11}),
        "questions[0].next[0].if.gt",
    ),
    (
        "a condition with two operators",
        _set("questions.0.next.0.if", {"lte": 6, "gte": 2}),
        "questions[0].next[0].if",
    ),
    ("a condition with no operator", _set("questions.0.next.0.if", {}), "questions[0].next[0].if"),
    (
        "a condition with a null second operator",
        _set("questions.0.next.0.if", {"lte": 6, "gte": None}),
        "questions[0].next[0].if",
    ),
    (
        "a null operator",
        _set("questions.0.next.0.if", {"lte": None}),
        "questions[0].next[0].if.lte",
    ),
    (
        "an unknown operator",
        _set("questions.0.next.0.if", {"below": 6}),
        "questions[0].next[0].if.below",
    ),
    (
        "a rule after one that always applies",
        _set("questions.0.next", [{"goto": "why"}, {"if": {"lte": 6}, "goto": "on_time"}]),
        "questions[0].next[1]",
    ),
    ("a scale with min = max", _set("questions.0.max", 0), "questions[0].max"),
    ("a scale with min > max", _set("questions.0.min", 11), "questions[0].max"),
    ("a scale without max", lambda b: q(b, 0).pop("max"), "questions[0].max"),
    ("min on a text question", _set("questions.1.min", 0), "questions[1].min"),
    (
        "choices on a scale",
        _set("questions.0.choices", [{"key": "1", "label": "a"}]),
        "questions[0].choices",
    ),
    (
        "a choice question with one choice",
        _set("questions.2.choices", [{"key": "1", "label": "Yes"}]),
        "questions[2].choices",
    ),
    ("a choice question with no choices", lambda b: q(b, 2).pop("choices"), "questions[2].choices"),
    ("duplicate keys", _set("questions.2.choices.1.key", "1"), "questions[2].choices[1].key"),
    (
        "keys equal after folding",
        _set("questions.2.choices.1.key", "1."),
        "questions[2].choices[1].key",
    ),
    (
        "a label that is another choice's key",
        _set("questions.2.choices.1.label", "1"),
        "questions[2].choices[1].label",
    ),
    (
        "a label repeated in another case",
        _set("questions.2.choices.1.label", "YES!"),
        "questions[2].choices[1].label",
    ),
    (
        "a key of punctuation only",
        _set("questions.2.choices.0.key", "?"),
        "questions[2].choices[0].key",
    ),
    (
        "a label that is an opt-out word",
        _set("questions.2.choices.1.label", "Stop"),
        "questions[2].choices[1].label",
    ),
    (
        "a label that is a HELP word",
        _set("questions.2.choices.1.label", "Info"),
        "questions[2].choices[1].label",
    ),
    (
        "an unknown choice action",
        _set("questions.2.choices.2.action", "email"),
        "questions[2].choices[2].action",
    ),
    ("no questions", _set("questions", []), "questions"),
    ("a language surveys are not read in", _set("language", "ar"), "language"),
    ("an expiry that is not a duration", _set("expires_after", "tomorrow"), "expires_after"),
    ("an expiry in months", _set("expires_after", "P1M"), "expires_after"),
    (
        "a trigger on another event",
        _set("trigger", {"on": "appointment_booked", "delay": "PT2H", "kinds": ["service_visit"]}),
        "trigger.on",
    ),
    (
        "a trigger delay that is not a duration",
        _set("trigger", {"on": "appointment_completed", "delay": "2h", "kinds": ["service_visit"]}),
        "trigger.delay",
    ),
    (
        "a trigger on an unknown kind",
        _set("trigger", {"on": "appointment_completed", "delay": "PT2H", "kinds": ["haircut"]}),
        "trigger.kinds[0]",
    ),
    (
        "a trigger naming a kind twice",
        _set(
            "trigger",
            {
                "on": "appointment_completed",
                "delay": "PT2H",
                "kinds": ["service_visit", "service_visit"],
            },
        ),
        "trigger.kinds[1]",
    ),
    (
        "a trigger with no kinds",
        _set("trigger", {"on": "appointment_completed", "delay": "PT2H", "kinds": []}),
        "trigger.kinds",
    ),
]


@pytest.mark.parametrize(("why", "edit", "path"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_an_invalid_survey_is_refused_naming_the_exact_path(why, edit, path):
    assert refused(edit).field == path, why


def test_a_cycle_further_down_is_named_at_the_goto_that_closes_it():
    def edit(body: dict[str, Any]) -> None:
        q(body, 2)["next"] = [{"if": {"equals": "2"}, "goto": "why"}]

    # nps -> why -> on_time -> why: the goto from on_time back to why closes it.
    assert refused(edit).field == "questions[2].next[0].goto"


def test_a_choice_text_fits_when_it_and_its_rendered_choices_fill_exactly_2_parts():
    # 2 GSM-7 parts hold 306 characters; the choices add " 1 Yes 2 No 3 Call me".
    body = survey_body()
    q(body, 2)["text"] = "x" * (2 * 153 - len(" 1 Yes 2 No 3 Call me"))

    parsed = parse_survey(body)

    assert count_segments(render_question(parsed, parsed.questions[2])).parts == MAX_PARTS
    q(body, 2)["text"] += "x"
    assert refused(lambda b: b.update(copy.deepcopy(body))).field == "questions[2].text"


def test_end_is_a_goto_and_never_a_question():
    definition = parse_survey(survey_body())

    assert END not in {question.id for question in definition.questions}
    assert definition.questions[2].next[0].goto == END
