"""Routes for /lists: a tenant's opt-in lists and their members.

Adding a member needs the consent the tenant collected (written, with evidence, for a
marketing list); removing one is immediate. Both are in the person's consent history with the
request id. The API never texts: a double opt-in member is pending until they answer the
invitation, which the invites' sender texts.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit

from reach.api.routes.common import (
    BAD_NEXT_TOKEN,
    documented,
    errors,
    request_id,
    services,
    tenant_id,
    whole_number_query,
)
from reach.api.routes.contacts import PhoneInPath
from reach.api.schemas import (
    AddMemberRequest,
    CreateListRequest,
    ListList,
    ListView,
    MemberList,
    MemberView,
    UpdateListRequest,
)
from reach.domain.lists import MemberStatus
from reach.observability import build_metrics
from reach.services.lists import ListService

router = Router()
metrics = build_metrics("reach-api")
logger = Logger(service="reach-api", child=True)

ListId = Annotated[str, Path(min_length=5, max_length=64, pattern=r"^lst_[0-9a-f]{32}$")]

_NOT_FOUND = "No such list for this tenant"
_ERRORS = errors(_NOT_FOUND)
_PUBLISH = {503: "The change is stored, but its event could not be published to the bus"}


def _service() -> ListService:
    return services().lists


def _program() -> str:
    return services().tenants.get(tenant_id()).name


@router.post(
    "/lists",
    summary="Create an opt-in list with its keyword",
    responses={
        201: documented("Created", ListView),
        **errors(
            "The API key's tenant no longer exists",
            {409: "Another of your lists already uses the keyword (`fields` names keyword)"},
        ),
    },
)
def create_list(body: Annotated[CreateListRequest, Body()]) -> Response[ListView]:
    plist = _service().create(tenant_id(), body.to_command())
    metrics.add_metric(name="ListCreated", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.CREATED.value,
        content_type=content_types.APPLICATION_JSON,
        body=ListView.of(plist, _program()),
    )


@router.get(
    "/lists",
    summary="Your lists, with their member counts by status",
    responses={200: documented("Every list", ListList), **_ERRORS},
)
def list_lists() -> ListList:
    program = _program()
    return ListList(items=[ListView.of(p, program) for p in _service().all(tenant_id())])


@router.get(
    "/lists/<id>",
    summary="A list with its member counts by status",
    responses={200: documented("The list", ListView), **_ERRORS},
)
def get_list(id: ListId) -> ListView:
    return ListView.of(_service().get(tenant_id(), id), _program())


@router.patch(
    "/lists/<id>",
    summary="Change a list: only the fields given",
    responses={
        200: documented("The changed list", ListView),
        **errors(
            _NOT_FOUND,
            {
                409: "The keyword is another list's, the list changed meanwhile, or a list "
                "with members would become a marketing list (`fields` names the field)"
            },
        ),
    },
)
def update_list(id: ListId, body: Annotated[UpdateListRequest, Body()]) -> ListView:
    plist = _service().update(tenant_id(), id, body.to_command())
    return ListView.of(plist, _program())


@router.get(
    "/lists/<id>/members",
    summary="A page of the list's members, by status",
    responses={
        200: documented("A page of members", MemberList),
        **BAD_NEXT_TOKEN,
        **_ERRORS,
    },
)
def list_members(
    id: ListId,
    status: Annotated[MemberStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> MemberList:
    whole_number_query("limit")
    page = _service().members(tenant_id(), id, status, limit, next_token)
    return MemberList(items=[MemberView.of(m) for m in page.members], next_token=page.next_token)


@router.post(
    "/lists/<id>/members",
    summary="Add one person on the consent you collected (pending a YES on a double opt-in list)",
    responses={
        201: documented("Added (active, or pending a YES)", MemberView),
        200: documented("Already on the list (active or pending): left as it was", MemberView),
        **errors(
            _NOT_FOUND,
            {
                409: "The person opted out of your texts (`fields` names phone): opt them "
                "back in with evidence first",
                **_PUBLISH,
            },
        ),
    },
)
def add_member(id: ListId, body: Annotated[AddMemberRequest, Body()]) -> Response[MemberView]:
    request = request_id()
    added = _service().add_member(tenant_id(), id, body.to_command(), request)
    logger.info(
        "list member added through the API",
        extra={
            "tenant_id": tenant_id(),
            "list_id": id,
            "phone": added.member.phone,
            "request_id": request,
            "added": added.created,
            "status": added.member.status.value,
        },
    )
    if added.created:
        metrics.add_metric(name="ListMemberAdded", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=(HTTPStatus.CREATED if added.created else HTTPStatus.OK).value,
        content_type=content_types.APPLICATION_JSON,
        body=MemberView.of(added.member),
    )


@router.delete(
    "/lists/<id>/members/<phone>",
    summary="Remove one person from the list, now",
    responses={
        204: {"description": "Removed (or had left already)"},
        **errors("No such list for this tenant, or the phone was never on it", _PUBLISH),
    },
)
def remove_member(id: ListId, phone: PhoneInPath) -> Response[None]:
    request = request_id()
    member = _service().remove_member(tenant_id(), id, unquote(phone), request)
    logger.info(
        "list member removed through the API",
        extra={
            "tenant_id": tenant_id(),
            "list_id": id,
            "phone": member.phone,
            "request_id": request,
        },
    )
    metrics.add_metric(name="ListMemberRemoved", unit=MetricUnit.Count, value=1)
    return Response(status_code=HTTPStatus.NO_CONTENT.value, body=None)
