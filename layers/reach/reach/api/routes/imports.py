"""Routes for /lists/{id}/imports: bring members in from a CSV file.

The one route here that takes a body other than JSON: a CSV body is read as the file itself;
a JSON body ``{"upload": true}`` asks for a presigned URL for a file too big for a request
(API Gateway takes 10 MB, Lambda 6 MB). Neither goes through Powertools' body validation,
which reads JSON only.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from reach.api.errors import NotJson
from reach.api.import_schemas import ImportView, UploadTicketView
from reach.api.routes.common import current_event, documented, errors, services, tenant_id
from reach.api.routes.lists import ListId
from reach.domain.errors import InvalidInput
from reach.ports.uploads import CSV_CONTENT_TYPE

router = Router()

ImportId = Annotated[str, Path(min_length=5, max_length=64, pattern=r"^imp_[0-9a-f]{32}$")]

_ACCEPTED = f'{CSV_CONTENT_TYPE} (the file) or application/json ({{"upload": true}})'

#: The import's body, for the OpenAPI document: the route reads it itself (CSV is not JSON),
#: so Powertools cannot describe it from a parameter.
REQUEST_BODIES = {
    ("/lists/{id}/imports", "post"): {
        "required": True,
        "content": {
            CSV_CONTENT_TYPE: {
                "schema": {
                    "type": "string",
                    "description": "UTF-8 CSV, BOM optional. Header (any order): phone, "
                    "consent_source and consent_at required; first_name, timezone, evidence "
                    "optional. consent_source: web_form, paper_form, keyword or verbal (a "
                    "marketing list: one of the first three, with evidence); consent_at: ISO "
                    "8601 with an offset. Each row is checked as POST /lists/{id}/members "
                    "checks one member; rows refused are listed in the report.",
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"upload": {"type": "boolean", "enum": [True]}},
                    "required": ["upload"],
                    "additionalProperties": False,
                }
            },
        },
    }
}


@router.post(
    "/lists/<id>/imports",
    summary="Import members from a CSV body (text/csv, header phone,first_name,timezone,"
    "consent_source,consent_at,evidence in any order), or ask for an upload URL for a "
    'bigger file (application/json {"upload": true})',
    responses={
        201: documented("The import, run, with its report", ImportView),
        202: documented("An import waiting for its file at `upload_url`", UploadTicketView),
        **errors("No such list for this tenant", {415: "Neither text/csv nor JSON"}),
    },
)
def import_members(id: ListId) -> Response[str]:
    app = current_event()
    content_type = str(app.headers.get("content-type") or "").strip()
    media_type, _, parameters = content_type.partition(";")
    media_type = media_type.strip().lower()
    if media_type == CSV_CONTENT_TYPE:
        _require_utf8(parameters)
        record = services().imports.import_csv(tenant_id(), id, _raw_body())
        return _json(201, ImportView.of(record).model_dump_json())
    if media_type == "application/json":
        _upload_request(app.body or "")
        ticket = services().imports.start_upload(tenant_id(), id)
        view = UploadTicketView(
            import_=ImportView.of(ticket.record),
            upload_url=ticket.url,
            upload_headers={"Content-Type": CSV_CONTENT_TYPE},
            expires_at=ticket.expires_at,
        )
        return _json(202, view.model_dump_json(by_alias=True))
    raise NotJson(content_type or "(none)", expected=_ACCEPTED)


@router.get(
    "/lists/<id>/imports/<import_id>",
    summary="An import's status and report",
    responses={200: documented("The import", ImportView), **errors("No such import")},
)
def get_import(id: ListId, import_id: ImportId) -> ImportView:
    return ImportView.of(services().imports.get(tenant_id(), id, import_id))


def _raw_body() -> bytes:
    event = current_event()
    body = event.body or ""
    if not event.is_base64_encoded:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("body", "is not valid base64") from None


def _upload_request(text: str) -> None:
    """The JSON body must be exactly ``{"upload": true}``."""
    from reach.api.app import json_object  # the resolver's own JSON rules (app imports us)

    body = json_object(text)
    for name in body:
        if name != "upload":
            raise InvalidInput(name, 'is not a field of this request; send {"upload": true}')
    if body.get("upload") is not True:
        raise InvalidInput("upload", 'must be true: {"upload": true} asks for an upload URL')


def _require_utf8(parameters: str) -> None:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise InvalidInput("Content-Type", "a CSV import must be UTF-8 (charset=utf-8)")


def _json(status: int, body: str) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)
