"""SMS surveys: the definition a tenant writes, and every rule it must meet before it is stored.

A survey is a list of questions, each ``choice``, ``scale`` or ``text``, with optional ``next``
rules. Rules are read in order; the first whose ``if`` matches the answer (or that has no
``if``) gives the next question, ``end`` finishing the survey. When none matches, or the
question got no answer (a second invalid one), the survey goes on with the question after it
in the list, and after the last one it ends. A rule after one without ``if`` could never be
used, and is refused.

How a question is sent, so that its size is counted as sent (``render_question``):
- a choice question is its text, a space, then each choice as ``<key> <label>`` separated by
  spaces: "Was the technician on time? 1 Yes 2 No". Its text should not list them again.
- a scale or text question is its text unchanged (say the range in it: "0-10").
- the first question is preceded by the ``intro`` (its own line, when there is one) and
  followed by the opt-out instruction in the survey's language (its own line): the survey's
  first text says how to stop, as every reminder must (``template_review.require_opt_out``,
  docs/facts.md#help-and-stop). It all goes as one text, so the intro can never arrive after
  the question.
Each text, so rendered, must fit in ``MAX_PARTS`` SMS parts, and so must ``thanks``.

Health details: Reach records no "healthcare tenant" flag (``Tenant`` has no sector; every
tenant's default kind is a clinic visit), so, as for campaigns, the template lint
(``template_review.health_details``) applies to every tenant's survey: its intro, thanks,
question texts and choice labels. Free-text answers may still contain health details; they
are the recipient's own words, kept for the tenant only.

Languages: ``SURVEY_LANGUAGES`` (en, es, fr and their regional variants), the languages whose
number words and re-prompts ``reach.domain.survey_answers`` knows.

No I/O here: ``parse_survey`` reads and checks a request's definition, ``survey_from_dict``
reads a stored one back (already checked when it was stored), ``survey_to_dict`` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from reach.domain.durations import fixed_duration
from reach.domain.errors import InvalidInput
from reach.domain.languages import normalize_language
from reach.domain.models import AppointmentKind
from reach.domain.replies import ReplyIntent, classify_reply, fold
from reach.domain.segments import count_segments
from reach.domain.template_review import health_details

#: The goto that finishes a survey; no question may take this id.
END = "end"
#: The longest a survey text may be, in SMS parts (as rendered, see the module docstring).
MAX_PARTS = 2
DEFAULT_EXPIRES_AFTER = "PT24H"
#: The languages whose number words and re-prompts Reach has (survey_answers).
SURVEY_LANGUAGES = ("en", "es", "fr")
#: The one event a survey can follow today.
TRIGGER_EVENTS = ("appointment_completed",)
#: The one action a choice can carry: a callback request, through the callback feature.
CHOICE_ACTIONS = ("callback",)
#: The line that closes a survey's first text, per language.
OPT_OUT_LINES = {
    "en": "Reply STOP to opt out",
    "es": "Responda STOP para darse de baja",
    "fr": "Répondez STOP pour vous désabonner",
}
#: Answers that the consent keywords take before any survey sees them: a choice read so
#: could never be chosen by that word.
_CONSENT_INTENTS = frozenset({ReplyIntent.OPT_OUT, ReplyIntent.OPT_IN, ReplyIntent.HELP})


class QuestionType(StrEnum):
    CHOICE = "choice"
    SCALE = "scale"
    TEXT = "text"


class Operator(StrEnum):
    LTE = "lte"
    GTE = "gte"
    LT = "lt"
    GT = "gt"
    EQUALS = "equals"
    IN = "in"


#: Which operators fit which type: a scale compares numbers; a choice names keys; a free
#: text answer is not compared at all (only an unconditional goto follows it).
OPERATORS: dict[QuestionType, frozenset[Operator]] = {
    QuestionType.SCALE: frozenset(Operator),
    QuestionType.CHOICE: frozenset({Operator.EQUALS, Operator.IN}),
    QuestionType.TEXT: frozenset(),
}

type AnswerValue = str | int
type ConditionValue = int | str | tuple[int | str, ...]


@dataclass(frozen=True)
class Choice:
    key: str
    label: str
    action: str | None = None


@dataclass(frozen=True)
class Condition:
    operator: Operator
    value: ConditionValue

    def matches(self, answer: AnswerValue) -> bool:
        """Whether ``answer`` (a choice's key, or a scale's integer) meets the condition."""
        value = self.value
        if self.operator is Operator.EQUALS:
            return answer == value
        if self.operator is Operator.IN:
            return isinstance(value, tuple) and answer in value
        if not isinstance(answer, int) or not isinstance(value, int):
            return False
        return {
            Operator.LTE: answer <= value,
            Operator.GTE: answer >= value,
            Operator.LT: answer < value,
            Operator.GT: answer > value,
        }[self.operator]


@dataclass(frozen=True)
class Rule:
    goto: str
    condition: Condition | None = None


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    type: QuestionType
    choices: tuple[Choice, ...] = ()
    min: int | None = None
    max: int | None = None
    next: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Trigger:
    on: str
    delay: str
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class SurveyDefinition:
    name: str
    language: str
    questions: tuple[Question, ...]
    intro: str | None = None
    thanks: str | None = None
    expires_after: str = DEFAULT_EXPIRES_AFTER
    trigger: Trigger | None = None
    #: One reminder of the waiting question when it has no answer this long after it went
    #: (an ISO 8601 duration shorter than ``expires_after``); None: no reminder.
    nudge_after: str | None = None

    @property
    def first(self) -> Question:
        return self.questions[0]

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def expiry(self) -> timedelta:
        return fixed_duration(self.expires_after, field="expires_after")

    def nudge(self) -> timedelta | None:
        if self.nudge_after is None:
            return None
        return fixed_duration(self.nudge_after, field="nudge_after")


@dataclass(frozen=True)
class Survey:
    """A stored survey: the definition, whose it is, and when it was made."""

    tenant_id: str
    survey_id: str
    definition: SurveyDefinition
    created_at: datetime


# --- reading and writing ----------------------------------------------------------------


def survey_from_dict(data: Mapping[str, Any]) -> SurveyDefinition:
    """The definition in ``data`` (the request's or the stored JSON shape), unchecked: a
    condition with no or several operators raises InvalidInput naming its path."""
    trigger = data.get("trigger")
    return SurveyDefinition(
        name=data["name"],
        language=data["language"],
        intro=data.get("intro"),
        thanks=data.get("thanks"),
        expires_after=data.get("expires_after") or DEFAULT_EXPIRES_AFTER,
        nudge_after=data.get("nudge_after"),
        questions=tuple(
            _question(raw, f"questions[{index}]") for index, raw in enumerate(data["questions"])
        ),
        trigger=None
        if trigger is None
        else Trigger(on=trigger["on"], delay=trigger["delay"], kinds=tuple(trigger["kinds"])),
    )


def _question(raw: Mapping[str, Any], path: str) -> Question:
    return Question(
        id=raw["id"],
        text=raw["text"],
        type=QuestionType(raw["type"]),
        choices=tuple(
            Choice(key=c["key"], label=c["label"], action=c.get("action"))
            for c in raw.get("choices") or ()
        ),
        min=raw.get("min"),
        max=raw.get("max"),
        next=tuple(
            _rule(rule, f"{path}.next[{index}]") for index, rule in enumerate(raw.get("next") or ())
        ),
    )


def _rule(raw: Mapping[str, Any], path: str) -> Rule:
    condition = raw.get("if")
    return Rule(
        goto=raw["goto"],
        condition=None if condition is None else _condition(condition, f"{path}.if"),
    )


def _condition(raw: Mapping[str, Any], path: str) -> Condition:
    # Every operator given counts, null included: {"lte": 6, "gte": null} is not one operator.
    given = dict(raw)
    if len(given) != 1:
        raise InvalidInput(
            path, f'must hold exactly one of {", ".join(Operator)}, e.g. {{"lte": 6}}'
        )
    ((name, value),) = given.items()
    if name not in set(Operator):
        raise InvalidInput(
            f"{path}.{name}", f"is not an operator; use one of {', '.join(Operator)}"
        )
    if value is None:
        raise InvalidInput(f"{path}.{name}", "may not be null")
    if isinstance(value, list | tuple):
        value = tuple(value)
    return Condition(Operator(name), value)


def survey_to_dict(definition: SurveyDefinition) -> dict[str, Any]:
    """The JSON shape of ``definition``, as the API takes and shows it."""
    data: dict[str, Any] = {
        "name": definition.name,
        "language": definition.language,
        "expires_after": definition.expires_after,
        "questions": [_question_dict(q) for q in definition.questions],
    }
    for name in ("intro", "thanks", "nudge_after"):
        if getattr(definition, name) is not None:
            data[name] = getattr(definition, name)
    if definition.trigger is not None:
        trigger = definition.trigger
        data["trigger"] = {"on": trigger.on, "delay": trigger.delay, "kinds": list(trigger.kinds)}
    return data


def _question_dict(question: Question) -> dict[str, Any]:
    data: dict[str, Any] = {"id": question.id, "text": question.text, "type": question.type.value}
    if question.choices:
        data["choices"] = [
            {"key": c.key, "label": c.label, **({"action": c.action} if c.action else {})}
            for c in question.choices
        ]
    if question.min is not None:
        data["min"] = question.min
    if question.max is not None:
        data["max"] = question.max
    if question.next:
        data["next"] = [_rule_dict(rule) for rule in question.next]
    return data


def _rule_dict(rule: Rule) -> dict[str, Any]:
    if rule.condition is None:
        return {"goto": rule.goto}
    value = rule.condition.value
    shown = list(value) if isinstance(value, tuple) else value
    return {"if": {rule.condition.operator.value: shown}, "goto": rule.goto}


# --- rendering --------------------------------------------------------------------------


def survey_language(tag: str) -> str:
    """``tag`` unchanged if its base language is one surveys are read in (``es-MX`` is read
    in Spanish), or InvalidInput naming ``language``."""
    if normalize_language(tag).split("-")[0] not in SURVEY_LANGUAGES:
        raise InvalidInput(
            "language",
            f"'{tag}' is not a language surveys are read in: use one of "
            f"{', '.join(SURVEY_LANGUAGES)}, or a regional variant such as es-MX",
        )
    return tag


def base_language(tag: str) -> str:
    """The survey language ``tag`` is read in (``es-mx`` -> ``es``; anything else: en)."""
    base = normalize_language(tag).split("-")[0]
    return base if base in SURVEY_LANGUAGES else SURVEY_LANGUAGES[0]


def render_question(definition: SurveyDefinition, question: Question) -> str:
    """The text that asks ``question``, as sent (see the module docstring)."""
    body = question.text
    if question.choices:
        body += " " + " ".join(f"{c.key} {c.label}" for c in question.choices)
    if question.id != definition.first.id:
        return body
    lines = [definition.intro] if definition.intro else []
    return "\n".join([*lines, body, OPT_OUT_LINES[base_language(definition.language)]])


# --- checking ---------------------------------------------------------------------------


def parse_survey(data: Mapping[str, Any]) -> SurveyDefinition:
    """Read and check a new survey; InvalidInput names the path at fault (e.g.
    ``questions[2].next[0].goto``)."""
    return check_survey(survey_from_dict(data))


def check_survey(definition: SurveyDefinition) -> SurveyDefinition:
    """``definition`` with its language and durations canonical, or InvalidInput naming the
    first path at fault, checked in this order: each question on its own (type, choices,
    scale, rules), then ids, then the graph (gotos, reachability, cycles), then sizes and
    health details."""
    language = survey_language(definition.language)
    expires_after = _duration(definition.expires_after, "expires_after")
    trigger = _checked_trigger(definition.trigger)
    nudge_after = _nudge(definition.nudge_after, expires_after)
    if not definition.questions:
        raise InvalidInput("questions", "must hold at least one question")
    for index, question in enumerate(definition.questions):
        _check_question(question, f"questions[{index}]")
    _check_ids(definition.questions)
    check_graph(definition.questions)
    checked = replace(
        definition,
        language=language,
        expires_after=expires_after,
        trigger=trigger,
        nudge_after=nudge_after,
    )
    _check_texts(checked)
    return checked


def _duration(text: str, field: str) -> str:
    fixed_duration(text, field=field)
    return text.strip().upper()


def _nudge(text: str | None, expires_after: str) -> str | None:
    """``nudge_after`` canonical; InvalidInput unless it comes before the survey expires (a
    reminder after the expiry would ask a question that can no longer be answered)."""
    if text is None:
        return None
    nudge = _duration(text, "nudge_after")
    if fixed_duration(nudge, field="nudge_after") >= fixed_duration(
        expires_after, field="expires_after"
    ):
        raise InvalidInput("nudge_after", f"must be shorter than expires_after ({expires_after})")
    if fixed_duration(nudge, field="nudge_after") <= timedelta(0):
        raise InvalidInput("nudge_after", "must be longer than zero")
    return nudge


def _checked_trigger(trigger: Trigger | None) -> Trigger | None:
    if trigger is None:
        return None
    if trigger.on not in TRIGGER_EVENTS:
        raise InvalidInput("trigger.on", f"must be one of {', '.join(TRIGGER_EVENTS)}")
    if not trigger.kinds:
        raise InvalidInput("trigger.kinds", "must name at least one kind of appointment")
    kinds = {kind.value for kind in AppointmentKind}
    for index, kind in enumerate(trigger.kinds):
        if kind not in kinds:
            raise InvalidInput(f"trigger.kinds[{index}]", f"must be one of {', '.join(kinds)}")
        if kind in trigger.kinds[:index]:
            raise InvalidInput(f"trigger.kinds[{index}]", f"names {kind} twice")
    return replace(trigger, delay=_duration(trigger.delay, "trigger.delay"))


def _check_question(question: Question, path: str) -> None:
    if question.type is QuestionType.CHOICE:
        _check_choices(question, path)
    elif question.choices:
        raise InvalidInput(f"{path}.choices", "only a choice question has choices")
    if question.type is QuestionType.SCALE:
        _check_scale(question, path)
    else:
        for bound in ("min", "max"):
            if getattr(question, bound) is not None:
                raise InvalidInput(f"{path}.{bound}", "only a scale question has min and max")
    unconditional = False
    for index, rule in enumerate(question.next):
        rule_path = f"{path}.next[{index}]"
        if unconditional:
            raise InvalidInput(
                rule_path, "comes after a rule without 'if', which always applies: never used"
            )
        if rule.condition is None:
            unconditional = True
        else:
            _check_condition(question, rule.condition, f"{rule_path}.if")


def _check_scale(question: Question, path: str) -> None:
    if question.min is None or question.max is None:
        missing = "min" if question.min is None else "max"
        raise InvalidInput(f"{path}.{missing}", "a scale question needs min and max")
    if question.min >= question.max:
        raise InvalidInput(f"{path}.max", f"must be greater than min ({question.min})")


def _check_choices(question: Question, path: str) -> None:
    if len(question.choices) < 2:
        raise InvalidInput(f"{path}.choices", "a choice question needs at least 2 choices")
    seen: dict[tuple[str, ...], int] = {}
    for index, choice in enumerate(question.choices):
        choice_path = f"{path}.choices[{index}]"
        if choice.action is not None and choice.action not in CHOICE_ACTIONS:
            raise InvalidInput(
                f"{choice_path}.action", f"must be one of {', '.join(CHOICE_ACTIONS)}"
            )
        for name in ("key", "label"):
            _claim_answer(seen, getattr(choice, name), index, f"{choice_path}.{name}")


def _claim_answer(seen: dict[tuple[str, ...], int], text: str, index: int, path: str) -> None:
    """Record ``text`` as an answer meaning choice ``index``; refuse it when it reads as
    nothing, as another choice, or as a consent keyword."""
    words = fold(text)
    if not words:
        raise InvalidInput(path, "must hold a letter or a digit, to be answered with")
    owner = seen.setdefault(words, index)
    if owner != index:
        raise InvalidInput(
            path,
            f"'{text}' is read the same as choices[{owner}] (case and punctuation are ignored)",
        )
    if classify_reply(text).intent in _CONSENT_INTENTS:
        raise InvalidInput(
            path, f"'{text}' is a STOP, START or HELP word: a reply of it never reaches a survey"
        )


def _check_condition(question: Question, condition: Condition, path: str) -> None:
    operator = condition.operator
    if operator not in OPERATORS[question.type]:
        fitting = ", ".join(sorted(OPERATORS[question.type])) or "none (use a goto without if)"
        raise InvalidInput(
            f"{path}.{operator.value}",
            f"does not fit a {question.type.value} question; operators that do: {fitting}",
        )
    values = condition.value if operator is Operator.IN else (condition.value,)
    if not isinstance(values, tuple) or not values:
        raise InvalidInput(f"{path}.{operator.value}", "must be a non-empty list")
    for value in values:
        problem = _value_problem(question, value)
        if problem:
            raise InvalidInput(f"{path}.{operator.value}", problem)


def _value_problem(question: Question, value: object) -> str | None:
    if question.type is QuestionType.CHOICE:
        keys = [choice.key for choice in question.choices]
        if value not in keys:
            return f"{value!r} is not a key of this question's choices ({', '.join(keys)})"
        return None
    low, high = question.min, question.max
    if not isinstance(value, int) or isinstance(value, bool):
        return "must be a whole number"
    if low is not None and high is not None and not low <= value <= high:
        return f"{value} is outside the scale ({low} to {high})"
    return None


def _check_ids(questions: Sequence[Question]) -> None:
    seen: set[str] = set()
    for index, question in enumerate(questions):
        path = f"questions[{index}].id"
        if question.id.casefold() == END:
            raise InvalidInput(path, f"'{END}' is reserved: a goto to it ends the survey")
        if question.id in seen:
            raise InvalidInput(path, f"'{question.id}' is the id of an earlier question")
        seen.add(question.id)


def successors(questions: Sequence[Question], index: int) -> list[tuple[str, str | None]]:
    """Where question ``index`` may lead: (question id or END, the path of the rule's goto,
    None for the fall-through to the next question in the list)."""
    question = questions[index]
    found: list[tuple[str, str | None]] = [
        (rule.goto, f"questions[{index}].next[{n}].goto") for n, rule in enumerate(question.next)
    ]
    if not question.next or question.next[-1].condition is not None:
        following = questions[index + 1].id if index + 1 < len(questions) else END
        found.append((following, None))
    return found


def check_graph(questions: Sequence[Question]) -> None:
    """Every goto names a question or END; every question is reachable from the first; no
    path comes back to a question already asked."""
    index_of = {question.id: index for index, question in enumerate(questions)}
    edges: list[list[tuple[int, str | None]]] = []
    for index in range(len(questions)):
        targets: list[tuple[int, str | None]] = []
        for target, path in successors(questions, index):
            if target != END and target not in index_of:
                raise InvalidInput(str(path), f"'{target}' is no question of this survey")
            if target != END:
                targets.append((index_of[target], path))
        edges.append(targets)
    _check_reachable(questions, edges)
    _check_acyclic(edges)


def _check_reachable(
    questions: Sequence[Question], edges: list[list[tuple[int, str | None]]]
) -> None:
    reached = {0}
    stack = [0]
    while stack:
        for target, _ in edges[stack.pop()]:
            if target not in reached:
                reached.add(target)
                stack.append(target)
    for index, question in enumerate(questions):
        if index not in reached:
            raise InvalidInput(
                f"questions[{index}]",
                f"'{question.id}' can't be reached from the first question by any answer",
            )


def _check_acyclic(edges: list[list[tuple[int, str | None]]]) -> None:
    """Depth first from the first question (all are reachable by now): an edge back to a
    question on the current path closes a cycle, and is named. The fall-through only goes
    forward, so a cycle always has a goto to name."""
    on_path: set[int] = set()
    done: set[int] = set()
    stack: list[tuple[int, int]] = [(0, 0)]
    on_path.add(0)
    while stack:
        node, position = stack.pop()
        if position == len(edges[node]):
            on_path.discard(node)
            done.add(node)
            continue
        stack.append((node, position + 1))
        target, path = edges[node][position]
        if target in on_path:
            raise InvalidInput(str(path), "leads back to an earlier question: a cycle")
        if target not in done:
            on_path.add(target)
            stack.append((target, 0))


def _check_texts(definition: SurveyDefinition) -> None:
    for name in ("intro", "thanks", "nudge_after"):
        text = getattr(definition, name)
        if text is not None:
            _no_health_details(text, name)
    if definition.thanks is not None:
        _fits(definition.thanks, "thanks")
    for index, question in enumerate(definition.questions):
        path = f"questions[{index}]"
        _no_health_details(question.text, f"{path}.text")
        for n, choice in enumerate(question.choices):
            _no_health_details(choice.label, f"{path}.choices[{n}].label")
        if index == 0 and definition.intro:
            # Name the intro when the question alone would fit.
            _fits(render_question(replace(definition, intro=None), question), f"{path}.text")
            _fits(render_question(definition, question), "intro")
        else:
            _fits(render_question(definition, question), f"{path}.text")


def _no_health_details(text: str, path: str) -> None:
    found = health_details(text)
    if found:
        raise InvalidInput(
            path,
            "may not give health details (" + ", ".join(found) + "): a survey text may reach "
            "someone else's phone, and must say nothing of anyone's health",
        )


def _fits(text: str, path: str) -> None:
    segments = count_segments(text)
    if segments.parts > MAX_PARTS:
        raise InvalidInput(
            path,
            f"is sent as {segments.parts} SMS parts ({segments.encoding.value}, "
            f"{segments.units} units, as sent: see how questions are rendered); "
            f"at most {MAX_PARTS}",
        )
