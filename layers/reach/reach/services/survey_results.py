"""A survey's results for the tenant: the summary, its responses page by page, a CSV export
and a FLOIP Flow Results package (docs/facts.md#floip).

Every reader pages through the stored responses (``SurveyResponses.each`` / ``page``); none
holds them all. Only a response with a disposition counts: one still waiting behind another
survey, queued with the send path, or never sent (opted out, skipped, failed) was never a
question anyone was asked, so it is counted apart, by why, in ``not_sent``.

People are named by a pseudonymous contact id, never by their phone: an HMAC of the tenant
and the phone under this stack's secret key (the page-token key, with its own label), so the
same person has the same id across the tenant's surveys and exports, and the id can't be
turned back into the number by hashing every possible phone number, as a plain hash can.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reach.data.paging import stored_page_key
from reach.data.survey_erasure import ERASED_ANSWERS
from reach.data.survey_responses import ResponsePage, SurveyResponses
from reach.data.surveys import SurveyRepository
from reach.domain.survey_flow import RecordedAnswer, ResponseState, SurveyResponse
from reach.domain.survey_results import RecordedResponse, SurveyResults, summarise
from reach.domain.surveys import Question, QuestionType, Survey

#: The version of the Flow Results specification the package follows (docs/facts.md#floip).
FLOW_RESULTS_VERSION = "1.0.0-rc1"
#: The six columns of a Flow Results row, as the specification names and types them.
FLOW_RESULTS_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("timestamp", "Timestamp", "datetime"),
    ("row_id", "Row ID", "string"),
    ("contact_id", "Contact ID", "string"),
    ("question_id", "Question ID", "string"),
    ("response", "Response", "any"),
    ("response_metadata", "Response Metadata", "object"),
)
_FLOW_TYPES = {
    QuestionType.CHOICE: "select_one",
    QuestionType.SCALE: "numeric",
    QuestionType.TEXT: "text",
}
#: A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ContactIds:
    """Pseudonymous, stable ids of a tenant's respondents (keyed, so not reversible by
    trying every number). The key is read on the first id."""

    def __init__(self, key: Callable[[], bytes] = stored_page_key) -> None:
        self._load = key
        self._key: bytes | None = None

    def of(self, tenant_id: str, phone: str) -> str:
        if self._key is None:
            self._key = self._load()
        message = f"survey-contact\n{tenant_id}\n{phone}".encode()
        return "c_" + hmac.new(self._key, message, hashlib.sha256).hexdigest()[:24]


@dataclass
class Results:
    """The summary, and the responses that were never sent, by why (not in any count)."""

    survey: Survey
    summary: SurveyResults
    not_sent: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ResponseRows:
    """One page of responses, each with its pseudonymous contact id."""

    items: list[tuple[SurveyResponse, str]]
    next_token: str | None


class SurveyResultsService:
    def __init__(
        self,
        surveys: SurveyRepository,
        responses: SurveyResponses,
        contacts: ContactIds | None = None,
    ) -> None:
        self._surveys = surveys
        self._responses = responses
        self._contacts = contacts or ContactIds()

    def results(self, tenant_id: str, survey_id: str) -> Results:
        """The survey's results (NotFound for another tenant's survey, as for none)."""
        survey = self._surveys.get(tenant_id, survey_id)
        not_sent: Counter[str] = Counter()

        def recorded() -> Iterator[RecordedResponse]:
            for response in self._responses.each(tenant_id, survey_id):
                disposition = response.disposition()
                if disposition is None:
                    not_sent[_not_sent_reason(response)] += 1
                    continue
                answers = {qid: answer.value for qid, answer in response.answers.items()}
                yield RecordedResponse(disposition, answers)

        summary = summarise(survey.definition, recorded())
        return Results(survey, summary, dict(sorted(not_sent.items())))

    def page(
        self, tenant_id: str, survey_id: str, limit: int, next_token: str | None
    ) -> ResponseRows:
        """One page of the survey's responses, all states (each shows its disposition)."""
        self._surveys.get(tenant_id, survey_id)
        page: ResponsePage = self._responses.page(tenant_id, survey_id, limit, next_token)
        return ResponseRows(
            [(response, self._contacts.of(tenant_id, response.phone)) for response in page.items],
            page.next_token,
        )

    def csv_export(self, tenant_id: str, survey_id: str) -> str:
        """Every response with a disposition, one row each, one column per question in the
        survey's order: spreadsheet-safe (a cell that would run as a formula is quoted)."""
        survey = self._surveys.get(tenant_id, survey_id)
        questions = survey.definition.questions
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(
            ["response_id", "contact", "disposition", "created", "first_sent", "finished"]
            + [question.id for question in questions]
        )
        for response in self._responses.each(tenant_id, survey_id):
            disposition = response.disposition()
            if disposition is None:
                continue
            writer.writerow(
                [
                    response.response_id,
                    self._contacts.of(tenant_id, response.phone),
                    disposition.value,
                    _when(response.created_at),
                    _when(response.first_sent_at),
                    _when(response.finished_at),
                ]
                + [_cell(response, question) for question in questions]
            )
        return out.getvalue()

    def flow_results(self, tenant_id: str, survey_id: str, rows_url: str) -> dict[str, Any]:
        """The Flow Results descriptor of the survey; its rows are at ``rows_url``."""
        survey = self._surveys.get(tenant_id, survey_id)
        return flow_descriptor(survey, rows_url)

    def flow_rows(
        self, tenant_id: str, survey_id: str, limit: int, next_token: str | None
    ) -> tuple[list[list[Any]], str | None]:
        """A page of responses' answers as Flow Results rows (one per answer)."""
        self._surveys.get(tenant_id, survey_id)
        page = self._responses.page(tenant_id, survey_id, limit, next_token)
        rows = [
            flow_row(response, question_id, self._contacts.of(tenant_id, response.phone))
            for response in page.items
            if response.disposition() is not None
            for question_id in shown_answers(response)
        ]
        return rows, page.next_token


def shown_answers(response: SurveyResponse) -> dict[str, RecordedAnswer]:
    """The answers by question id (an erased response's marker is no answer)."""
    return {qid: answer for qid, answer in response.answers.items() if qid != ERASED_ANSWERS}


def _not_sent_reason(response: SurveyResponse) -> str:
    if response.state is ResponseState.UNSENT:
        return response.unsent_reason or "unsent"
    return response.state.value


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


def _cell(response: SurveyResponse, question: Question) -> str:
    answer = response.answers.get(question.id)
    if answer is None:
        return ""
    return safe_cell(str(answer.value))


def safe_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it, never runs it: a leading ' before a formula start
    (OWASP's advice on CSV injection); the csv writer quotes commas, quotes and newlines."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def flow_descriptor(survey: Survey, rows_url: str) -> dict[str, Any]:
    definition = survey.definition
    created = _rfc3339(survey.created_at)
    return {
        "profile": "flow-results-package",
        "flow_results_specification_version": FLOW_RESULTS_VERSION,
        "created": created,
        # Definitions never change once stored, so the package has one version.
        "modified": created,
        "id": _package_id(survey),
        "name": f"reach-survey-{survey.survey_id.replace('_', '-')}",
        "title": definition.name,
        "resources": [
            {
                # Rows are served a page at a time at ``path``, never inline: the
                # specification forbids inline data, and a survey's answers are unbounded.
                "path": rows_url,
                "name": f"reach-survey-{survey.survey_id.replace('_', '-')}-data",
                "mediatype": "application/json",
                "encoding": "utf-8",
                "schema": {
                    "fields": [
                        {"name": name, "title": title, "type": kind}
                        for name, title, kind in FLOW_RESULTS_FIELDS
                    ],
                    "questions": {
                        question.id: _flow_question(question) for question in definition.questions
                    },
                },
            }
        ],
    }


def _flow_question(question: Question) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if question.type is QuestionType.CHOICE:
        options["choices"] = [choice.key for choice in question.choices]
    if question.type is QuestionType.SCALE:
        options["range"] = [question.min, question.max]
    return {"type": _FLOW_TYPES[question.type], "label": question.text, "type_options": options}


def flow_row(response: SurveyResponse, question_id: str, contact_id: str) -> list[Any]:
    answer = response.answers[question_id]
    metadata: dict[str, Any] = {"response_id": response.response_id}
    if answer.truncated:
        metadata["truncated"] = True
    return [
        _rfc3339(answer.at),
        f"{response.response_id}.{question_id}",
        contact_id,
        question_id,
        answer.value,
        metadata,
    ]


def _rfc3339(moment: datetime) -> str:
    """RFC 3339 with an explicit +00:00 offset (the specification refuses ``Z``)."""
    return moment.isoformat()


def _package_id(survey: Survey) -> str:
    """A version 4-shaped UUID derived from the survey id: the same package each time."""
    digest = bytearray(hashlib.sha256(f"floip\n{survey.survey_id}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
