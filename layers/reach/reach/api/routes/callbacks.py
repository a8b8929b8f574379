"""Routes for /callbacks: recipients who texted CALL, for the clinic to call back and close."""

from __future__ import annotations

from typing import Annotated

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
    CallbackList,
    CallbackStatus,
    CallbackView,
    CloseCallbackRequest,
)
from reach.observability import build_metrics

router = Router()
metrics = build_metrics("reach-api")

CallbackId = Annotated[str, Path(min_length=5, max_length=64, pattern=r"^cb_[0-9a-f]{32}$")]

_ERRORS = errors("No such callback request for this tenant")


@router.get(
    "/callbacks",
    summary="Callback requests by status, oldest first",
    responses={
        200: documented("A page of callback requests", CallbackList),
        **BAD_NEXT_TOKEN,
        **_ERRORS,
    },
)
def list_callbacks(
    status: Annotated[CallbackStatus, Query()] = CallbackStatus.OPEN,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> CallbackList:
    whole_number_query("limit")
    listed = services().callbacks.list(tenant_id(), status.value, limit, next_token)
    return CallbackList(
        items=[CallbackView.of(c, listed.zone) for c in listed.page.items],
        next_token=listed.page.next_token,
    )


@router.get(
    "/callbacks/<id>",
    summary="A callback request",
    responses={200: documented("The callback request", CallbackView), **_ERRORS},
)
def get_callback(id: CallbackId) -> CallbackView:
    found = services().callbacks.get(tenant_id(), id)
    return CallbackView.of(found.callback, found.zone)


@router.post(
    "/callbacks/<id>/close",
    summary="Close a callback request with how the call went (the same close again is "
    "answered as the first)",
    responses={
        200: documented("The closed callback request", CallbackView),
        **errors(
            "No such callback request for this tenant",
            {409: "Already closed with another outcome or note (`fields` names which)"},
        ),
    },
)
def close_callback(
    id: CallbackId,
    body: Annotated[CloseCallbackRequest, Body()],
) -> CallbackView:
    closed = services().callbacks.close(tenant_id(), id, body.outcome.value, body.note or None)
    if closed.closed_now:
        metrics.add_metric(name="CallbackClosed", unit=MetricUnit.Count, value=1)
    return CallbackView.of(closed.callback, closed.zone)
