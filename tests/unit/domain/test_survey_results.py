"""Issue 14, item 4 (the pure part): the results' counts, distribution, mean, median and NPS."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from builders import survey_body
from reach.domain.survey_results import (
    Disposition,
    RecordedResponse,
    median_of,
    net_promoter_score,
    summarise,
)
from reach.domain.surveys import parse_survey

SURVEY = parse_survey(survey_body())


def response(disposition: Disposition, **answers: str | int) -> RecordedResponse:
    return RecordedResponse(disposition, answers)


def test_responses_are_counted_by_disposition_with_the_response_rate():
    results = summarise(
        SURVEY,
        [
            response(Disposition.SENT),
            response(Disposition.EXPIRED),
            response(Disposition.STARTED, nps=8),
            response(Disposition.PARTIAL, nps=3),
            response(Disposition.COMPLETED, nps=10, on_time="1"),
            response(Disposition.STOPPED),
            response(Disposition.STOPPED, nps=9),
            response(Disposition.COMPLETED, nps=5, why="Late", on_time="2", **{"else": "No"}),
        ],
    )

    assert results.responses == 8
    assert results.dispositions == {
        Disposition.SENT: 1,
        Disposition.STARTED: 1,
        Disposition.PARTIAL: 1,
        Disposition.COMPLETED: 2,
        Disposition.STOPPED: 2,
        Disposition.EXPIRED: 1,
    }
    # 5 of the 8 answered at least one question.
    assert results.response_rate == 0.625


def test_a_choice_question_counts_every_key_zeros_included():
    results = summarise(
        SURVEY,
        [
            response(Disposition.COMPLETED, on_time="1"),
            response(Disposition.COMPLETED, on_time="1"),
            response(Disposition.COMPLETED, on_time="3"),
            response(Disposition.COMPLETED),
        ],
    )

    on_time = results.questions[2]
    assert on_time.answered == 3
    assert on_time.choices == {"1": 2, "2": 0, "3": 1}
    assert on_time.distribution is None
    assert on_time.nps is None


def test_a_0_to_10_scale_has_its_distribution_mean_median_and_nps():
    # 3 promoters (9, 10, 10), 2 passives (7, 8), 5 detractors (0, 2, 5, 6, 6).
    scores = [9, 10, 10, 7, 8, 0, 2, 5, 6, 6]
    results = summarise(SURVEY, [response(Disposition.COMPLETED, nps=s) for s in scores])

    nps = results.questions[0]
    assert nps.answered == 10
    assert nps.distribution == {
        0: 1, 1: 0, 2: 1, 3: 0, 4: 0, 5: 1, 6: 2, 7: 1, 8: 1, 9: 1, 10: 2,
    }  # fmt: skip
    assert nps.mean == 6.3
    assert nps.median == 6.5
    assert nps.nps == -20.0


def test_text_questions_count_answers_only():
    results = summarise(SURVEY, [response(Disposition.COMPLETED, why="Late", nps=2)])

    why = results.questions[1]
    assert (why.answered, why.choices, why.distribution, why.mean) == (1, None, None, None)


def test_no_responses_give_no_rate_mean_median_or_nps():
    results = summarise(SURVEY, [])

    assert results.responses == 0
    assert results.response_rate is None
    assert (results.questions[0].mean, results.questions[0].median) == (None, None)
    assert results.questions[0].nps is None


def test_a_scale_other_than_0_to_10_has_no_nps():
    body = survey_body()
    body["questions"][0].update(min=1, max=5, next=[{"if": {"lte": 2}, "goto": "why"}])
    survey = parse_survey(body)

    results = summarise(survey, [response(Disposition.COMPLETED, nps=5)])

    assert results.questions[0].distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 1}
    assert results.questions[0].nps is None


@pytest.mark.parametrize(
    ("scores", "expected"),
    [([10, 10], 100.0), ([0, 6], -100.0), ([7, 8], 0.0), ([9, 7, 3], 0.0), ([9, 9, 1], 33.3)],
)
def test_nps_is_the_percentage_of_promoters_minus_that_of_detractors(scores, expected):
    counts: dict[int, int] = {}
    for score in scores:
        counts[score] = counts.get(score, 0) + 1

    assert net_promoter_score(counts) == expected


@given(st.lists(st.integers(0, 10), min_size=1, max_size=60))
def test_the_median_and_nps_from_counts_equal_those_of_the_list_of_scores(scores):
    counts = {value: scores.count(value) for value in range(11)}
    ordered = sorted(scores)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)

    assert median_of(counts) == round(median, 2)
    assert net_promoter_score(counts) == round(100 * (promoters - detractors) / len(scores), 1)
