"""Routes for /surveys: define a survey, read it, list them, send it.

Results: the summary, the responses (JSON pages, CSV) and a FLOIP Flow Results package.
Sending: to a list (started in the background) or to an appointment's phone.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit

from reach.api.routes.common import (
    BAD_NEXT_TOKEN,
    documented,
    errors,
    services,
    tenant_id,
    whole_number_query,
)
from reach.api.schemas import (
    CreateSurveyRequest,
    FlowResultsRows,
    ResponseList,
    ResponseView,
    SurveyList,
    SurveyResultsView,
    SurveySendRequest,
    SurveySendView,
    SurveyView,
)
from reach.observability import build_metrics

router = Router()
metrics = build_metrics("reach-api")

SurveyId = Annotated[str, Path(min_length=5, max_length=64, pattern=r"^srv_[0-9a-f]{32}$")]
SendId = Annotated[str, Path(min_length=5, max_length=64, pattern=r"^snd_[0-9a-f]{32}$")]

_ERRORS = errors("No such survey for this tenant")


@router.post(
    "/surveys",
    summary="Define a survey: its questions, their branching, and what may send it",
    responses={
        201: documented("Created", SurveyView),
        **errors(
            "Not used",
            {
                422: "The body is not a valid survey: `fields` names the path at fault, e.g. "
                "questions[2].next[0].goto (a goto to no question, a cycle, a question no "
                "answer reaches, a text over 2 SMS parts, health details...)"
            },
        ),
    },
)
def create_survey(body: Annotated[CreateSurveyRequest, Body()]) -> Response[SurveyView]:
    survey = services().surveys.create(tenant_id(), body.to_definition())
    metrics.add_metric(name="SurveyCreated", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.CREATED.value,
        content_type=content_types.APPLICATION_JSON,
        body=SurveyView.of(survey),
    )


@router.get(
    "/surveys",
    summary="Your surveys, newest first",
    responses={
        200: documented("A page of surveys", SurveyList),
        **BAD_NEXT_TOKEN,
        **_ERRORS,
    },
)
def list_surveys(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> SurveyList:
    whole_number_query("limit")
    page = services().surveys.page(tenant_id(), limit, next_token)
    return SurveyList(items=[SurveyView.of(s) for s in page.items], next_token=page.next_token)


@router.get(
    "/surveys/<id>",
    summary="A survey as it was defined",
    responses={200: documented("The survey", SurveyView), **_ERRORS},
)
def get_survey(id: SurveyId) -> SurveyView:
    return SurveyView.of(services().surveys.get(tenant_id(), id))


@router.get(
    "/surveys/<id>/results",
    summary="The survey's results: dispositions, response rate, and per question the "
    "answers counted, a scale's distribution, mean and median, a 0-10 scale's NPS",
    responses={200: documented("The results", SurveyResultsView), **_ERRORS},
)
def survey_results(id: SurveyId) -> SurveyResultsView:
    found = services().survey_results.results(tenant_id(), id)
    return SurveyResultsView.of(found.survey, found.summary, found.not_sent)


@router.get(
    "/surveys/<id>/responses",
    summary="The survey's responses with their answers, a page at a time",
    responses={
        200: documented("A page of responses", ResponseList),
        **BAD_NEXT_TOKEN,
        **_ERRORS,
    },
)
def survey_responses(
    id: SurveyId,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> ResponseList:
    whole_number_query("limit")
    page = services().survey_results.page(tenant_id(), id, limit, next_token)
    return ResponseList(
        items=[ResponseView.of(response, contact) for response, contact in page.items],
        next_token=page.next_token,
    )


@router.get(
    "/surveys/<id>/responses.csv",
    summary="The survey's responses as CSV: one row per response, one column per question",
    description="text/csv (UTF-8, RFC 4180 quoting). Columns: response_id, contact (a "
    "pseudonymous id), disposition, created, first_sent, finished, then each question id in "
    "the survey's order. A cell that a spreadsheet would run as a formula starts with '.",
    responses={
        200: {"description": "The CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
        **_ERRORS,
    },
)
def survey_responses_csv(id: SurveyId) -> Response[str]:
    body = services().survey_results.csv_export(tenant_id(), id)
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type="text/csv; charset=utf-8",
        body=body,
        headers={"Content-Disposition": f'attachment; filename="{id}-responses.csv"'},
    )


@router.get(
    "/surveys/<id>/flow-results",
    summary="The survey as a FLOIP Flow Results package descriptor (its questions and their "
    "types); the rows are at flow-results/responses",
    responses={
        200: {
            "description": "The descriptor (profile flow-results-package)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **_ERRORS,
    },
)
def survey_flow_results(id: SurveyId) -> Response[dict[str, Any]]:
    descriptor = services().survey_results.flow_results(tenant_id(), id, "flow-results/responses")
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        body=descriptor,
    )


@router.get(
    "/surveys/<id>/flow-results/responses",
    summary="The rows of the survey's Flow Results package, one per answer, a page at a time",
    responses={
        200: documented("A page of rows", FlowResultsRows),
        **BAD_NEXT_TOKEN,
        **_ERRORS,
    },
)
def survey_flow_rows(
    id: SurveyId,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> FlowResultsRows:
    whole_number_query("limit")
    rows, token = services().survey_results.flow_rows(tenant_id(), id, limit, next_token)
    return FlowResultsRows(responses=rows, next_token=token)


@router.post(
    "/surveys/<id>/sends",
    summary="Send the survey to a list's active members, or to an appointment's phone",
    description="Each person gets one response: its first question goes within quiet hours, "
    "consent and the caps, and only once the phone has finished any other survey of yours. "
    "A list is started in the background (a page of members each minute): read the send "
    "for its progress. Sending for the same appointment again adds nobody.",
    responses={
        202: documented("Accepted", SurveySendView),
        **errors(
            "No such survey, list or appointment for this tenant",
            {
                409: "The appointment was cancelled or missed (`fields`: appointment_id)",
                422: "Not exactly one of list_id and appointment_id (`fields`: list_id)",
            },
        ),
    },
)
def send_survey(
    id: SurveyId, body: Annotated[SurveySendRequest, Body()]
) -> Response[SurveySendView]:
    send = services().survey_sends.send(tenant_id(), id, body.list_id, body.appointment_id)
    metrics.add_metric(name="SurveySent", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.ACCEPTED.value,
        content_type=content_types.APPLICATION_JSON,
        body=SurveySendView.of(send),
    )


@router.get(
    "/surveys/<id>/sends/<send_id>",
    summary="One send of the survey, and how far it has got",
    responses={200: documented("The send", SurveySendView), **errors("No such survey or send")},
)
def get_survey_send(id: SurveyId, send_id: SendId) -> SurveySendView:
    return SurveySendView.of(services().survey_sends.get(tenant_id(), id, send_id))
