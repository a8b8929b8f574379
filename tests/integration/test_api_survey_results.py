"""Issue 14, item 4 (results) and issue 15, item 3 for survey answers: the results, the
responses page by page, the CSV and FLOIP exports (pseudonymous, never a phone), erasure that
keeps each response's disposition, and answers that expire with the tenant's retention."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api_client import Api, encoded
from builders import survey_body
from conftest import load_function
from reach.data.survey_items import ResponseItem, response_pk, response_sk
from reach.domain.message import Message, MessageKind, MessageStatus, Thread
from reach.domain.retention import epoch_seconds
from reach.domain.survey_flow import (
    RecordedAnswer,
    ResponseState,
    SurveyResponse,
    expire,
    first_sent,
    stop,
    unsent,
)

NOW = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)


@pytest.fixture
def api(tenants, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, tenants[0])


@pytest.fixture
def survey_id(api) -> str:
    status, created = api.call("POST", "/surveys", body=survey_body())
    assert status == 201, created
    return str(created["id"])


def phone(n: int) -> str:
    return f"+1206555{n:04d}"


def answered(**values: Any) -> dict[str, RecordedAnswer]:
    return {qid: RecordedAnswer(value, NOW + timedelta(minutes=1)) for qid, value in values.items()}


def store(aws, tenant: str, survey: str, n: int, end: str, answers=None, **kw) -> SurveyResponse:
    """A response of phone ``n`` written as the send path and replies would: started, its
    first question sent, answered, then ended (``end``: asked, completed, expired, stopped,
    unsent, queued)."""
    responses = aws.survey_results._responses
    made = SurveyResponse(
        tenant_id=tenant,
        survey_id=survey,
        response_id=f"r_{n:04d}",
        phone=phone(n),
        state=ResponseState.QUEUED,
        origin=f"appointment:a{n}",
        created_at=NOW,
        send_after=NOW,
        question_id="nps",
    )
    responses.start(made, NOW, **kw)
    current = responses.get(tenant, survey, made.response_id)
    if end == "queued":
        return current
    if end == "unsent":
        gone = unsent(current, "opted_out", NOW)
        assert responses.finish(gone, current.version, NOW).written
        return gone
    asked = first_sent(current, NOW)
    if answers:
        asked = replace(asked, answers=answers, version=asked.version + 1)
    assert responses.save(asked, current.version, None)
    later = NOW + timedelta(hours=1)
    ended = {
        "asked": None,
        "completed": replace(asked, state=ResponseState.COMPLETED, finished_at=later),
        "expired": expire(asked, later),
        "stopped": stop(asked, later),
    }[end]
    if ended is None:
        return asked
    ended = replace(ended, version=asked.version + 1)
    assert responses.finish(ended, asked.version, later).written
    return ended


@pytest.fixture
def mixed(aws, tenants, survey_id) -> list[SurveyResponse]:
    """Ten responses: every disposition, two never sent, scores 10, 9, 3, 7, 0."""
    t = tenants[0]
    return [
        store(aws, t, survey_id, 1, "completed", answered(nps=10, on_time="1")),
        store(aws, t, survey_id, 2, "completed", answered(nps=9, on_time="2", **{"else": "=1+1"})),
        store(aws, t, survey_id, 3, "completed", answered(nps=3, why='Late, "again"\nand rude')),
        store(aws, t, survey_id, 4, "expired", answered(nps=7)),  # partial
        store(aws, t, survey_id, 5, "expired"),  # expired
        store(aws, t, survey_id, 6, "asked"),  # sent
        store(aws, t, survey_id, 7, "asked", answered(nps=0)),  # started
        store(aws, t, survey_id, 8, "stopped"),
        store(aws, t, survey_id, 9, "unsent"),
        store(aws, t, survey_id, 10, "queued"),
    ]


def results(api: Api, survey_id: str) -> dict[str, Any]:
    status, body = api.call("GET", "/surveys/{id}/results", params={"id": survey_id})
    assert status == 200, body
    return body


def test_results_count_each_disposition_and_sum_the_answers(api, survey_id, mixed):
    body = results(api, survey_id)

    assert body["survey_id"] == survey_id
    assert body["name"] == "After your visit"
    assert body["dispositions"] == {
        "sent": 1, "started": 1, "partial": 1, "completed": 3, "stopped": 1, "expired": 1,
    }  # fmt: skip
    assert body["responses"] == 8
    assert body["not_sent"] == {"opted_out": 1, "queued": 1}
    assert body["response_rate"] == round(5 / 8, 4)
    nps, why, on_time, other = body["questions"]
    assert (nps["id"], nps["type"], nps["answered"]) == ("nps", "scale", 5)
    assert [d["count"] for d in nps["distribution"]] == [1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1]
    assert nps["mean"] == round((10 + 9 + 3 + 7 + 0) / 5, 2)
    assert nps["median"] == 7.0
    assert nps["nps"] == round(100 * (2 - 2) / 5, 1)
    assert nps["choices"] is None
    assert on_time["choices"] == [
        {"key": "1", "label": "Yes", "count": 1},
        {"key": "2", "label": "No", "count": 1},
        {"key": "3", "label": "Call me", "count": 0},
    ]
    assert (on_time["distribution"], on_time["mean"], on_time["nps"]) == (None, None, None)
    assert (why["answered"], other["answered"]) == (1, 1)
    assert why["choices"] is None
    assert why["median"] is None


def test_the_results_counts_equal_the_stored_responses_with_a_disposition(
    aws, api, tenants, survey_id, mixed
):
    stored = list(aws.survey_results._responses.each(tenants[0], survey_id))
    body = results(api, survey_id)

    with_disposition = [r for r in stored if r.disposition() is not None]
    assert body["responses"] == len(with_disposition) == sum(body["dispositions"].values())
    assert sum(body["not_sent"].values()) == len(stored) - len(with_disposition)


def test_an_even_count_of_scores_has_the_mean_of_the_middle_two_as_median(
    aws, api, tenants, survey_id
):
    for n, score in enumerate((2, 9, 8, 10), start=1):
        store(aws, tenants[0], survey_id, n, "completed", answered(nps=score))

    nps = results(api, survey_id)["questions"][0]

    assert nps["median"] == 8.5
    assert nps["nps"] == 25.0  # 2 promoters, 1 detractor, of 4


def test_a_survey_with_no_responses_has_no_rate_and_no_figures(api, survey_id):
    body = results(api, survey_id)

    assert body["responses"] == 0
    assert body["response_rate"] is None
    assert body["questions"][0]["mean"] is None
    assert body["questions"][0]["nps"] is None


@pytest.mark.parametrize(
    "path",
    [
        "/surveys/{id}/results",
        "/surveys/{id}/responses",
        "/surveys/{id}/responses.csv",
        "/surveys/{id}/flow-results",
        "/surveys/{id}/flow-results/responses",
    ],
)
def test_another_tenants_survey_is_not_found(api, survey_id, mixed, tenants, path):
    other = api.as_tenant(tenants[1])

    status, body = other.call("GET", path, params={"id": survey_id})

    assert status == 404
    assert body["error"] == "not_found"
    assert set(body) <= {"error", "message", "fields"}


def all_pages(api: Api, path: str, survey_id: str, limit: int) -> list[dict[str, Any]]:
    pages, token = [], None
    while True:
        query = {"limit": str(limit), **({"next_token": token} if token else {})}
        status, body = api.call("GET", path, params={"id": survey_id}, query=query)
        assert status == 200, body
        pages.append(body)
        token = body["next_token"]
        if not token:
            return pages


def test_paging_the_responses_shows_each_once_with_its_answers_and_no_phone(api, survey_id, mixed):
    pages = all_pages(api, "/surveys/{id}/responses", survey_id, 3)

    items = [item for page in pages for item in page["items"]]
    assert sorted(item["id"] for item in items) == sorted(r.response_id for r in mixed)
    first = next(item for item in items if item["id"] == "r_0002")
    assert first["disposition"] == "completed"
    assert first["answers"]["nps"]["value"] == 9
    assert first["answers"]["else"] == {
        "value": "=1+1", "at": "2026-12-05T15:01:00Z", "truncated": False,
    }  # fmt: skip
    assert next(i for i in items if i["id"] == "r_0010")["disposition"] is None
    contacts = {item["contact"] for item in items}
    assert len(contacts) == len(items)  # one phone each
    assert all(c.startswith("c_") for c in contacts)
    assert "206555" not in json.dumps(pages)


def test_a_changed_page_token_is_refused(api, survey_id, mixed):
    (first, *_) = all_pages(api, "/surveys/{id}/responses", survey_id, 3)

    status, body = api.call(
        "GET",
        "/surveys/{id}/responses",
        params={"id": survey_id},
        query={"next_token": first["next_token"][:-2] + "xx"},
    )

    assert status == 400
    assert body["error"] == "invalid_next_token"


def test_the_contact_id_is_keyed_so_hashing_phones_does_not_find_it(aws, api, survey_id, mixed):
    import hashlib

    items = all_pages(api, "/surveys/{id}/responses", survey_id, 100)[0]["items"]
    contact = next(i["contact"] for i in items if i["id"] == "r_0001")

    guesses = {
        hashlib.sha256(text.encode()).hexdigest()
        for p in (phone(1), phone(1)[1:])
        for text in (p, f"{api.tenant_id}\n{p}", f"survey-contact\n{api.tenant_id}\n{p}")
    }
    assert not any(contact[2:] in guess for guess in guesses)
    # Stable: the same person, another of the tenant's surveys, the same id.
    assert aws.survey_results._contacts.of(api.tenant_id, phone(1)) == contact


def test_the_csv_has_a_column_per_question_and_is_safe_to_open_in_a_spreadsheet(
    api, survey_id, mixed
):
    response = api.response("GET", "/surveys/{id}/responses.csv", params={"id": survey_id})

    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["Content-Type"][0].startswith("text/csv")
    assert not response.get("isBase64Encoded")
    rows = list(csv.reader(io.StringIO(response["body"])))
    header, *data = rows
    assert header == [
        "response_id", "contact", "disposition", "created", "first_sent", "finished",
        "nps", "why", "on_time", "else",
    ]  # fmt: skip
    assert len(data) == 8  # the responses with a disposition
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in data}
    assert by_id["r_0002"]["else"] == "'=1+1"
    assert by_id["r_0003"]["why"] == 'Late, "again"\nand rude'
    assert by_id["r_0001"]["on_time"] == "1"
    assert by_id["r_0005"]["nps"] == ""
    assert "206555" not in response["body"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_every_formula_start_is_defused(start):
    from reach.services.survey_results import safe_cell

    assert safe_cell(f"{start}SUM(A1)") == f"'{start}SUM(A1)"
    assert safe_cell(f"a{start}b") == f"a{start}b"


def test_the_flow_results_package_describes_the_questions_and_pages_one_row_per_answer(
    api, survey_id, mixed
):
    status, package = api.call("GET", "/surveys/{id}/flow-results", params={"id": survey_id})

    assert status == 200, package
    assert package["profile"] == "flow-results-package"
    assert package["flow_results_specification_version"] == "1.0.0-rc1"
    assert package["created"] == package["modified"]
    (resource,) = package["resources"]
    assert "data" not in resource
    assert resource["path"] == "flow-results/responses"
    assert [f["name"] for f in resource["schema"]["fields"]] == [
        "timestamp", "row_id", "contact_id", "question_id", "response", "response_metadata",
    ]  # fmt: skip
    assert resource["schema"]["questions"] == {
        "nps": {
            "type": "numeric",
            "label": "How likely are you to recommend us, 0-10?",
            "type_options": {"range": [0, 10]},
        },
        "why": {"type": "text", "label": "What could we do better?", "type_options": {}},
        "on_time": {
            "type": "select_one",
            "label": "Was the technician on time?",
            "type_options": {"choices": ["1", "2", "3"]},
        },
        "else": {"type": "text", "label": "Anything else?", "type_options": {}},
    }
    pages = all_pages(api, "/surveys/{id}/flow-results/responses", survey_id, 2)
    rows = [row for page in pages for row in page["responses"]]
    assert len(rows) == 2 + 3 + 2 + 1 + 1  # one per answer
    assert len({row[1] for row in rows}) == len(rows)
    assert all(len(row) == 6 and row[0].endswith("+00:00") for row in rows)
    assert rows[0][:2] == ["2026-12-05T15:01:00+00:00", "r_0001.nps"]
    assert "206555" not in json.dumps([package, pages])


def erase(api: Api, n: int) -> dict[str, Any]:
    status, body = api.call("DELETE", "/contacts/{phone}", params={"phone": encoded(phone(n))})
    assert status == 200, body
    return body


def test_erasing_a_person_erases_their_answers_and_texts_and_keeps_the_counts(
    aws, api, tenants, survey_id, mixed
):
    before = results(api, survey_id)
    thread = Thread(tenants[0], f"survey#{survey_id}#r_0003", phone(3))
    aws.messages.add(
        thread,
        Message("m1", MessageKind.INBOUND, phone(3), "3", MessageStatus.RECEIVED, NOW, NOW),
    )

    body = erase(api, 3)

    assert body["erased"]["survey_answers"] == 1
    assert body["erased"]["survey_message_bodies"] == 1
    assert "survey_responses" in {kept["field"] for kept in body["kept"]}
    after = results(api, survey_id)
    assert after["dispositions"] == before["dispositions"]
    assert after["responses"] == before["responses"]
    assert after["response_rate"] == before["response_rate"]
    assert after["questions"][0]["answered"] == before["questions"][0]["answered"] - 1
    assert after["questions"][1]["answered"] == 0  # "why" was only theirs
    stored = aws.survey_results._responses.get(tenants[0], survey_id, "r_0003")
    assert stored.phone != phone(3)
    assert "Late" not in json.dumps(all_pages(api, "/surveys/{id}/responses", survey_id, 100))
    assert [m.body for m in aws.messages.thread(thread)] == [None]


def test_erasing_answers_again_erases_nothing(api, survey_id, mixed):
    first = erase(api, 2)
    again = erase(api, 2)

    assert first["erased"]["survey_answers"] == 1
    assert (again["erased"]["survey_answers"], again["erased"]["survey_message_bodies"]) == (0, 0)


def test_a_response_expires_with_the_tenants_retention(aws, tenants, survey_id):
    store(aws, tenants[0], survey_id, 1, "queued", retention_days=30)
    store(aws, tenants[0], survey_id, 2, "queued")

    def ttl(n: int) -> int:
        item = ResponseItem.get(response_pk(tenants[0], survey_id), response_sk(f"r_{n:04d}"))
        return int(item.expires_at)

    assert ttl(1) == epoch_seconds(NOW + timedelta(days=30))
    assert ttl(2) == epoch_seconds(NOW + timedelta(days=90))  # the default retention
