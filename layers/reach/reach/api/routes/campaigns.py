"""Routes for /campaigns: create (or forecast) a campaign, follow it, pause, resume, cancel."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

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
    CampaignDryRun,
    CampaignRecipientList,
    CampaignRecipientView,
    CampaignView,
    CreateCampaignRequest,
    RecipientStatus,
)
from reach.observability import build_metrics

router = Router()
metrics = build_metrics("reach-api")

CampaignId = Annotated[str, Path(min_length=5, max_length=64, pattern=r"^cmp_[0-9a-f]{32}$")]

_ERRORS = errors("No such campaign for this tenant")
_ACTION_ERRORS = errors(
    "No such campaign for this tenant",
    {409: "The campaign's status does not allow it (`fields` names status)"},
)


@router.post(
    "/campaigns",
    summary="Schedule a campaign to a list, with its forecast (dry_run=true: forecast only)",
    responses={
        201: documented("Scheduled, with the text's size and the send's forecast", CampaignView),
        200: documented("dry_run=true: the forecast; nothing was created", CampaignDryRun),
        **errors("Not used: an unknown list_id is a 422 naming it"),
    },
)
def create_campaign(
    body: Annotated[CreateCampaignRequest, Body()],
    dry_run: Annotated[bool, Query()] = False,
) -> Response[CampaignView | CampaignDryRun]:
    plan = services().campaigns.create(tenant_id(), body.to_command(), dry_run=dry_run)
    if plan.campaign is None:
        return Response(
            status_code=HTTPStatus.OK.value,
            content_type=content_types.APPLICATION_JSON,
            body=CampaignDryRun.of(plan),
        )
    metrics.add_metric(name="CampaignScheduled", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.CREATED.value,
        content_type=content_types.APPLICATION_JSON,
        body=CampaignView.of(plan.campaign, counts={}, forecast=plan.forecast),
    )


@router.get(
    "/campaigns/<id>",
    summary="A campaign's status, counts and times",
    responses={200: documented("The campaign", CampaignView), **_ERRORS},
)
def get_campaign(id: CampaignId) -> CampaignView:
    return CampaignView.of_progress(services().campaigns.progress(tenant_id(), id))


def _act(id: str, action: str) -> CampaignView:
    return CampaignView.of_progress(services().campaigns.act(tenant_id(), id, action))


@router.post(
    "/campaigns/<id>/pause",
    summary="Pause a scheduled or sending campaign (from the next tick)",
    responses={200: documented("The paused campaign", CampaignView), **_ACTION_ERRORS},
)
def pause_campaign(id: CampaignId) -> CampaignView:
    return _act(id, "pause")


@router.post(
    "/campaigns/<id>/resume",
    summary="Resume a paused campaign",
    responses={
        200: documented("The campaign, scheduled or sending", CampaignView),
        **_ACTION_ERRORS,
    },
)
def resume_campaign(id: CampaignId) -> CampaignView:
    return _act(id, "resume")


@router.post(
    "/campaigns/<id>/cancel",
    summary="Cancel a campaign: nothing more is sent",
    responses={200: documented("The cancelled campaign", CampaignView), **_ACTION_ERRORS},
)
def cancel_campaign(id: CampaignId) -> CampaignView:
    return _act(id, "cancel")


@router.get(
    "/campaigns/<id>/recipients",
    summary="Each recipient's outcome, optionally of one status",
    responses={
        200: documented("A page of recipients", CampaignRecipientList),
        **BAD_NEXT_TOKEN,
        **_ERRORS,
    },
)
def list_campaign_recipients(
    id: CampaignId,
    status: Annotated[RecipientStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> CampaignRecipientList:
    whole_number_query("limit")
    page = services().campaigns.recipients(
        tenant_id(), id, status.value if status else None, limit, next_token
    )
    return CampaignRecipientList(
        items=[CampaignRecipientView.of(item) for item in page.items],
        next_token=page.next_token,
    )
