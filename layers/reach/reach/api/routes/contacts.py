"""Routes for /contacts/{phone}: a recipient's consent with the tenant, read and changed.

A recipient who texted STOP is opted back in only by their own START or by the clinic
with evidence of new consent, which goes to the audit log with the request id.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.metrics import MetricUnit

from reach.api.routes.common import documented, errors, request_id, services, tenant_id
from reach.api.schemas import (
    ConsentEntryView,
    ConsentHistoryView,
    ContactView,
    ErasureView,
    KeptField,
    OptInRequest,
    OptInView,
    OptOutRequest,
    OptOutView,
)
from reach.observability import build_metrics
from reach.services.erasure import KEPT

router = Router()
metrics = build_metrics("reach-api")
logger = Logger(service="reach-api", child=True)

#: Consent changes made through the API carry this source.
API_SOURCE = "api"

PhoneInPath = Annotated[
    str,
    Path(
        min_length=3,
        max_length=64,
        description="E.164, URL-encoded (%2B15551234567), or a national number of the "
        "tenant's country",
        examples=["%2B12025550187"],
    ),
]

_NO_TENANT = "The API key's tenant no longer exists"
_READ_ERRORS = errors(_NO_TENANT)
_CHANGE_ERRORS = errors(
    _NO_TENANT,
    {
        409: "Already so, recorded another way or with another note or evidence, which this "
        "request would lose (`fields` names it); the same request again is answered 200",
        503: "The consent change is stored, but its event could not be published to the bus",
    },
)


#: An opt-out sent without a body.
_NO_NOTE = OptOutRequest()


def _phone(raw: str) -> str:
    """The path's phone as the client wrote it (URL-encoded, e.g. %2B for the plus)."""
    return unquote(raw)


@router.get(
    "/contacts/<phone>",
    summary="A recipient's consent: opted out or not, since when and why",
    responses={200: documented("The consent record", ContactView), **_READ_ERRORS},
)
def get_contact(phone: PhoneInPath) -> ContactView:
    recipient, contact = services().recipients.contact(tenant_id(), _phone(phone))
    return ContactView.of(contact, recipient.tenant.timezone)


@router.get(
    "/contacts/<phone>/consent",
    summary="A recipient's consent history with you: every change, with its source",
    responses={
        200: documented("The consent history, oldest first", ConsentHistoryView),
        **_READ_ERRORS,
    },
)
def get_consent_history(phone: PhoneInPath) -> ConsentHistoryView:
    e164, entries = services().lists.consent_history(tenant_id(), _phone(phone))
    return ConsentHistoryView(phone=e164, items=[ConsentEntryView.of(e) for e in entries])


@router.post(
    "/contacts/<phone>/opt-out",
    summary="Opt a recipient out: no more texts, pending reminders are skipped",
    responses={
        200: documented("The consent record after the opt-out", OptOutView),
        **_CHANGE_ERRORS,
    },
)
def opt_out(
    phone: PhoneInPath,
    # Optional, but never null: the document must not offer null, which the API refuses.
    body: Annotated[OptOutRequest, Body()] = _NO_NOTE,
) -> OptOutView:
    request = request_id()
    note = body.note
    recipient, result = services().recipients.opt_out(
        tenant_id(), _phone(phone), source=API_SOURCE, cause={"request_id": request}, note=note
    )
    logger.info(
        "opt-out requested through the API",
        extra={
            "tenant_id": recipient.tenant.tenant_id,
            "phone": recipient.phone,
            "request_id": request,
            "changed": result.changed,
            "reminders_skipped": result.reminders,
            "note": note,
        },
    )
    if result.changed:
        metrics.add_metric(name="OptedOutByApi", unit=MetricUnit.Count, value=1)
    return OptOutView(
        **ContactView.fields_of(result.contact, recipient.tenant.timezone),
        reminders_skipped=result.reminders,
    )


@router.post(
    "/contacts/<phone>/opt-in",
    summary="Opt a recipient back in, with evidence of their new consent",
    responses={
        200: documented("The consent record after the opt-in", OptInView),
        **_CHANGE_ERRORS,
    },
)
def opt_in(
    phone: PhoneInPath,
    body: Annotated[OptInRequest, Body()],
) -> OptInView:
    request = request_id()
    recipient, result = services().recipients.opt_in(
        tenant_id(),
        _phone(phone),
        source=API_SOURCE,
        cause={"request_id": request},
        evidence=body.evidence,
    )
    logger.info(
        "opt-in requested through the API",
        extra={
            "tenant_id": recipient.tenant.tenant_id,
            "phone": recipient.phone,
            "request_id": request,
            "changed": result.changed,
            "reminders_resumed": result.reminders,
            "evidence": body.evidence,
        },
    )
    if result.changed:
        metrics.add_metric(name="OptedInByApi", unit=MetricUnit.Count, value=1)
    return OptInView(
        **ContactView.fields_of(result.contact, recipient.tenant.timezone),
        reminders_resumed=result.reminders,
    )


@router.delete(
    "/contacts/<phone>",
    summary="Erase a recipient's data: texts, names, conversation state, callback notes",
    description="Keeps only what the consent record needs (the answer lists it and why). "
    "Repeating it answers the same with nothing erased.",
    responses={
        200: documented("What was erased and what was kept", ErasureView),
        **errors(
            _NO_TENANT,
            {503: "The data is erased, but ContactErased could not be published; repeat"},
        ),
    },
)
def erase_contact(phone: PhoneInPath) -> ErasureView:
    request = request_id()
    erasure = services().erasure.erase(tenant_id(), _phone(phone), request_id=request)
    logger.info(
        "contact erased through the API",
        extra={
            "tenant_id": erasure.recipient.tenant.tenant_id,
            "phone": erasure.recipient.phone,
            "request_id": request,
            "erased": erasure.erased,
        },
    )
    metrics.add_metric(name="ContactsErased", unit=MetricUnit.Count, value=1)
    return ErasureView(
        phone=erasure.recipient.phone,
        opted_out=erasure.contact.opted_out,
        erased=erasure.erased,
        kept=[KeptField(field=name, reason=reason) for name, reason in KEPT],
        request_id=request,
    )
