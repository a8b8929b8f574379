"""A survey's results as charts, from GET /surveys/{id}/results's JSON (its shape is fixed):
choice counts and the scale's distribution as CSS bars, and the NPS as a figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reach_tools.local.console.markup import Html, join, tag


def bars(rows: Sequence[tuple[str, int]], label: str) -> Html:
    """One bar per row, its width its share of the largest count, the count beside it."""
    most = max((count for _, count in rows), default=0)
    items = []
    for name, count in rows:
        width = 0 if most == 0 else round(100 * count / most)
        items.append(
            tag(
                "div",
                {"class": "bar-row"},
                tag("span", {"class": "bar-label"}, name),
                tag(
                    "span",
                    {"class": "bar", "style": f"width:{width}%", "data-count": count},
                ),
                tag("span", {"class": "bar-count"}, count),
            )
        )
    return tag("div", {"class": "chart", "role": "img", "aria-label": label}, *items)


def question_chart(question: Mapping[str, Any]) -> Html:
    """One question's chart: bars for a choice or a scale (with its NPS), a count for text."""
    title = tag("h4", None, question.get("text") or question.get("id"))
    answered = tag("p", {"class": "muted"}, f"{question.get('answered', 0)} answered")
    body: list[Html] = []
    if question.get("choices"):
        rows = [(f"{c['key']} {c['label']}", int(c["count"])) for c in question["choices"]]
        body.append(bars(rows, f"choices of {question.get('id')}"))
    if question.get("distribution"):
        rows = [(str(d["value"]), int(d["count"])) for d in question["distribution"]]
        body.append(bars(rows, f"distribution of {question.get('id')}"))
    if question.get("nps") is not None:
        body.append(tag("p", {"class": "nps"}, f"NPS {float(question['nps']):.1f}"))
    return tag(
        "div", {"class": "question", "data-question": question.get("id")}, title, answered, *body
    )


def survey_results(results: Mapping[str, Any] | None, survey_id: str, name: str) -> Html:
    """The survey's panel entry; None (the endpoint answered 404) says there are none yet."""
    heading = tag("h3", None, f"{name} ", tag("code", None, survey_id))
    if results is None:
        return tag(
            "section",
            {"class": "survey", "data-survey": survey_id},
            heading,
            tag("p", {"class": "muted"}, "no results yet"),
        )
    dispositions = results.get("dispositions") or {}
    summary = join(f"{key} {value} · " for key, value in dispositions.items())
    rate = results.get("response_rate")
    rate_text = "-" if rate is None else f"{100 * float(rate):.0f}%"
    return tag(
        "section",
        {"class": "survey", "data-survey": survey_id},
        heading,
        tag(
            "p",
            {"class": "muted"},
            summary,
            f"responses {results.get('responses', 0)} · response rate {rate_text}",
        ),
        *[question_chart(q) for q in results.get("questions") or []],
    )
