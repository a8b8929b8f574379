"""The local console's rendering, from plain data: survey charts from GET
/surveys/{id}/results's fixed shape, campaign progress, and escaping."""

from __future__ import annotations

import re
from typing import Any

from reach.data.recipients import COUNTERS, CampaignCounts
from reach_tools.local.console.charts import survey_results
from reach_tools.local.console.markup import Html, tag
from reach_tools.local.console.panels import campaign_bar, events, page

RESULTS: dict[str, Any] = {
    "survey_id": "srv_1",
    "name": "After your visit",
    "dispositions": {
        "sent": 4,
        "started": 0,
        "partial": 1,
        "completed": 3,
        "stopped": 0,
        "expired": 0,
    },
    "responses": 4,
    "response_rate": 0.75,
    "questions": [
        {
            "id": "nps",
            "type": "scale",
            "text": "How likely are you to recommend us, 0-10?",
            "answered": 3,
            "choices": None,
            "distribution": [{"value": v, "count": {6: 1, 9: 2}.get(v, 0)} for v in range(11)],
            "mean": 8.0,
            "median": 9.0,
            "nps": 33.3,
        },
        {
            "id": "ontime",
            "type": "choice",
            "text": "Was the technician on time?",
            "answered": 2,
            "choices": [
                {"key": "1", "label": "Yes", "count": 1},
                {"key": "2", "label": "No", "count": 1},
            ],
            "distribution": None,
            "mean": None,
            "median": None,
            "nps": None,
        },
        {
            "id": "why",
            "type": "text",
            "text": "Anything else?",
            "answered": 1,
            "choices": None,
            "distribution": None,
            "mean": None,
            "median": None,
            "nps": None,
        },
    ],
}


def bar_counts(html: str, question: str) -> list[tuple[str, int, str]]:
    """(label, count, width) of each bar of one question's chart."""
    section = html.split(f'data-question="{question}"', 1)[1].split('data-question="', 1)[0]
    return [
        (label, int(count), width)
        for label, width, count in re.findall(
            r'bar-label">([^<]*)</span><span class="bar" style="width:(\d+)%" '
            r'data-count="(\d+)"',
            section,
        )
    ]


def test_a_surveys_choice_counts_render_as_one_bar_per_choice() -> None:
    html = survey_results(RESULTS, "srv_1", "After your visit")

    assert bar_counts(html, "ontime") == [("1 Yes", 1, "100"), ("2 No", 1, "100")]


def test_a_scale_question_renders_its_distribution_as_bars_and_its_nps() -> None:
    html = survey_results(RESULTS, "srv_1", "After your visit")

    bars = bar_counts(html, "nps")
    assert [label for label, _, _ in bars] == [str(v) for v in range(11)]
    assert [(count, width) for label, count, width in bars if count] == [(1, "50"), (2, "100")]
    assert "NPS 33.3" in html


def test_a_text_question_shows_how_many_answered_and_no_bars() -> None:
    html = survey_results(RESULTS, "srv_1", "After your visit")

    assert bar_counts(html, "why") == []
    assert "1 answered" in html.split('data-question="why"', 1)[1]


def test_a_survey_with_no_results_yet_says_so() -> None:
    html = survey_results(None, "srv_2", "Empty")

    assert "no results yet" in html
    assert 'class="bar"' not in html


def test_a_campaigns_bar_counts_final_outcomes_out_of_all_recipients() -> None:
    counts = CampaignCounts(dict.fromkeys(COUNTERS, 0))
    counts.update(total=4, sent=2, skipped_opted_out=1, held=1)

    html = campaign_bar(counts, "sending")

    assert '<progress max="4" value="3"' in html
    assert "3/4" in html
    assert "held 1" in html


def test_text_from_the_stack_is_escaped_and_markup_is_not() -> None:
    event = {"detail-type": "<script>alert(1)</script>", "time": "t", "detail": {}}

    html = events([event])

    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert tag("b", None, Html("<i>x</i>")) == "<b><i>x</i></b>"


def test_the_page_polls_every_panel_and_says_it_shows_full_numbers() -> None:
    html = page(1000)

    for panel in ("conversations", "appointments", "notices", "campaigns", "surveys", "events"):
        assert f'id="{panel}"' in html
    assert "phone numbers are shown in full" in html
    assert "setInterval(refreshAll, 1000)" in html
