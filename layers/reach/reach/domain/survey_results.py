"""A survey's results, summed from its responses in one pass (the results endpoint pages
through them and feeds this; nothing here reads or keeps every answer).

- Each response has one disposition (``Disposition``); the response rate is the share of all
  responses, sent ones included, that answered at least one question.
- Per question: how many answered; for a choice, the count of each key (every key, zeros
  included, in the order of the choices); for a scale, the count of each value from min to
  max, the mean and the median (each None with no answers, rounded to 2 decimals).
- For a 0-10 scale, the net promoter score: the percentage of 9-10 answers minus the
  percentage of 0-6, rounded to 1 decimal (None with no answers). Other scales have none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from reach.domain.surveys import AnswerValue, Question, QuestionType, SurveyDefinition


class Disposition(StrEnum):
    #: The first question went; no answer yet.
    SENT = "sent"
    #: Answering, and not expired.
    STARTED = "started"
    #: Answered some, then expired.
    PARTIAL = "partial"
    COMPLETED = "completed"
    STOPPED = "stopped"
    #: Expired without any answer.
    EXPIRED = "expired"


@dataclass(frozen=True)
class RecordedResponse:
    """One response as stored: its disposition and its answers by question id."""

    disposition: Disposition
    answers: Mapping[str, AnswerValue]


@dataclass
class QuestionResults:
    question_id: str
    type: QuestionType
    answered: int = 0
    #: Choice questions: answers per key.
    choices: dict[str, int] | None = None
    #: Scale questions: answers per value, min to max.
    distribution: dict[int, int] | None = None
    mean: float | None = None
    median: float | None = None
    #: 0-10 scales only.
    nps: float | None = None


@dataclass
class SurveyResults:
    dispositions: dict[Disposition, int] = field(default_factory=dict)
    responses: int = 0
    #: Responses with at least one answer, over all responses (None: no responses).
    response_rate: float | None = None
    questions: list[QuestionResults] = field(default_factory=list)


def summarise(definition: SurveyDefinition, responses: Iterable[RecordedResponse]) -> SurveyResults:
    """The results of ``definition`` over ``responses`` (read once)."""
    results = SurveyResults(
        dispositions=dict.fromkeys(Disposition, 0),
        questions=[_empty(question) for question in definition.questions],
    )
    answering = 0
    for response in responses:
        results.responses += 1
        results.dispositions[response.disposition] += 1
        answering += 1 if response.answers else 0
        for question, tally in zip(definition.questions, results.questions, strict=True):
            if question.id in response.answers:
                _count(tally, response.answers[question.id])
    if results.responses:
        results.response_rate = round(answering / results.responses, 4)
    for question, tally in zip(definition.questions, results.questions, strict=True):
        if tally.distribution is not None:
            _scale_figures(question, tally)
    return results


def _empty(question: Question) -> QuestionResults:
    tally = QuestionResults(question.id, question.type)
    if question.type is QuestionType.CHOICE:
        tally.choices = {choice.key: 0 for choice in question.choices}
    if (
        question.type is QuestionType.SCALE
        and question.min is not None
        and question.max is not None
    ):
        tally.distribution = dict.fromkeys(range(question.min, question.max + 1), 0)
    return tally


def _count(tally: QuestionResults, value: AnswerValue) -> None:
    tally.answered += 1
    if tally.choices is not None:
        key = str(value)
        tally.choices[key] = tally.choices.get(key, 0) + 1
    if tally.distribution is not None and isinstance(value, int):
        tally.distribution[value] = tally.distribution.get(value, 0) + 1


def _scale_figures(question: Question, tally: QuestionResults) -> None:
    distribution = tally.distribution or {}
    total = sum(distribution.values())
    if not total:
        return
    tally.mean = round(sum(value * count for value, count in distribution.items()) / total, 2)
    tally.median = median_of(distribution)
    if (question.min, question.max) == (0, 10):
        tally.nps = net_promoter_score(distribution)


def median_of(distribution: Mapping[int, int]) -> float | None:
    """The median of the values counted in ``distribution`` (value -> count)."""
    total = sum(distribution.values())
    if not total:
        return None
    # The values at positions (total-1)//2 and total//2 (0-based) of the sorted answers.
    wanted = sorted({(total - 1) // 2, total // 2})
    found: list[int] = []
    seen = 0
    for value in sorted(distribution):
        seen += distribution[value]
        while wanted and wanted[0] < seen:
            found.append(value)
            wanted.pop(0)
    return round(sum(found) / len(found), 2)


def net_promoter_score(distribution: Mapping[int, int]) -> float | None:
    """% of 9-10 minus % of 0-6 among the 0-10 answers counted (value -> count)."""
    total = sum(distribution.values())
    if not total:
        return None
    promoters = sum(count for value, count in distribution.items() if value >= 9)
    detractors = sum(count for value, count in distribution.items() if value <= 6)
    return round(100 * (promoters - detractors) / total, 1)
