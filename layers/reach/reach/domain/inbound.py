"""Inbound two-way SMS: the End User Messaging reply payload, parsed at the edge.

A recipient's reply reaches us as an SNS notification whose ``Message`` is a JSON string with
exactly ``originationNumber`` (the recipient), ``destinationNumber`` (our number),
``messageKeyword``, ``messageBody``, ``inboundMessageId`` and ``previousPublishedMessageId``.
It may arrive as that ``Message`` string, as a dict, as the SNS notification envelope, as an
SQS body holding the envelope, or as the Lambda SNS/SQS record around either.

``parse_inbound`` never raises: a payload it cannot read becomes a ``RejectedPayload`` whose
``summary`` is safe to log (phone numbers masked, no body text beyond its length), so the
handler logs it and acknowledges the message instead of crash-looping on a poison message.

Normalisation:

- ``originationNumber`` is parsed to E.164 (``reach.domain.phones.to_e164``).
- ``destinationNumber`` too, except that a short code (3 to 8 digits, our own number on a
  short-code origination) is kept as its digits: it has no E.164 form, and refusing it would
  drop every reply to a short code, STOP included.
- Bodies keep their text as received (emoji, right-to-left text, zero-width joiners and
  direction marks intact); control characters other than newline and tab are dropped, CR and
  CRLF line breaks become newlines, and lone surrogates (not text) are dropped. At most
  ``MAX_BODY_CHARS`` characters are kept; longer bodies are cut and flagged ``truncated``.
- An empty ``messageKeyword`` or ``previousPublishedMessageId`` is read as absent (None).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from reach.domain.envelopes import (
    PayloadError,
    RejectedPayload,
    json_type,
    loggable_id,
    unwrap_notification,
)
from reach.domain.masking import mask_phone, mask_phones_in
from reach.domain.phones import to_e164

#: Longest body kept; concatenated SMS can be long, anything beyond this is cut and flagged.
MAX_BODY_CHARS = 2_000
#: Longest inboundMessageId / previousPublishedMessageId accepted.
MAX_MESSAGE_ID_CHARS = 256
#: Prefix of the idempotency key of an inbound message.
DEDUPE_PREFIX = "inbound#"

_SHORT_CODE = re.compile(r"\+?(\d{3,8})")
_LINE_BREAKS = re.compile(r"\r\n?")
_KEPT_CONTROLS = frozenset("\n\t")
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs"})

_ORIGINATION = "originationNumber"
_DESTINATION = "destinationNumber"
_KEYWORD = "messageKeyword"
_BODY = "messageBody"
_INBOUND_ID = "inboundMessageId"
_PREVIOUS_ID = "previousPublishedMessageId"
_TRUNCATED = "truncated"

_StrictStr = Annotated[str, Strict()]


def clean_body(text: str) -> str:
    """``text`` without control characters (newline and tab kept) or lone surrogates."""
    text = _LINE_BREAKS.sub("\n", text)
    return "".join(
        ch
        for ch in text
        if ch in _KEPT_CONTROLS or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )


class InboundSms(BaseModel):
    """One two-way SMS reply, normalised. Built from the AWS camelCase payload keys."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    origination_number: _StrictStr = Field(alias=_ORIGINATION)
    destination_number: _StrictStr = Field(alias=_DESTINATION)
    keyword: _StrictStr | None = Field(default=None, alias=_KEYWORD)
    body: _StrictStr = Field(alias=_BODY)
    inbound_message_id: _StrictStr = Field(
        alias=_INBOUND_ID, min_length=1, max_length=MAX_MESSAGE_ID_CHARS
    )
    previous_published_message_id: _StrictStr | None = Field(
        default=None, alias=_PREVIOUS_ID, max_length=MAX_MESSAGE_ID_CHARS
    )
    #: True when the body was longer than MAX_BODY_CHARS and was cut.
    truncated: bool = Field(default=False, alias=_TRUNCATED)

    @model_validator(mode="before")
    @classmethod
    def _clean_and_truncate_body(cls, data: Any) -> Any:
        # The flag is computed from the body, never taken from the payload.
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        body = data.get(_BODY)
        truncated = False
        if isinstance(body, str):
            body = clean_body(body)
            truncated = len(body) > MAX_BODY_CHARS
            data[_BODY] = body[:MAX_BODY_CHARS]
        data[_TRUNCATED] = truncated
        return data

    @field_validator("keyword", "previous_published_message_id", mode="before")
    @classmethod
    def _empty_is_absent(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("inbound_message_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("blank", "must not be blank")
        return value

    @field_validator("origination_number")
    @classmethod
    def _origination_e164(cls, value: str) -> str:
        return _e164(value, _ORIGINATION)

    @field_validator("destination_number")
    @classmethod
    def _destination_e164_or_short_code(cls, value: str) -> str:
        short_code = _SHORT_CODE.fullmatch(value.strip())
        if short_code:
            return short_code.group(1)
        return _e164(value, _DESTINATION)


def _e164(value: str, field: str) -> str:
    try:
        return to_e164(value, field=field)
    except Exception:  # InvalidInput or any parser failure: the same answer, not a number
        raise PydanticCustomError(
            "phone_number", "not a valid phone number in E.164 format"
        ) from None


def parse_inbound(raw: str | bytes | Mapping[Any, Any] | None) -> InboundSms | RejectedPayload:
    """The reply in ``raw``, or why it was rejected. Never raises."""
    payload: Mapping[Any, Any] | None = None
    try:
        payload = unwrap_notification(raw)
        return InboundSms.model_validate(payload)
    except PayloadError as rejected:
        return _rejected(rejected.reason, rejected.fields, payload, raw)
    except ValidationError as error:
        return _rejected_by_validation(error, payload, raw)
    except Exception as error:  # last resort: a poison message must never crash-loop
        return _rejected(f"unreadable payload ({type(error).__name__})", (), payload, raw)


def dedupe_key(sms: InboundSms) -> str:
    """Idempotency key of ``sms``: its inboundMessageId (unique per AWS, not per tenant)."""
    return f"{DEDUPE_PREFIX}{sms.inbound_message_id}"


def _rejected_by_validation(
    error: ValidationError, payload: Mapping[Any, Any] | None, raw: object
) -> RejectedPayload:
    fields: list[str] = []
    problems: list[str] = []
    for detail in error.errors(include_url=False, include_input=False, include_context=False):
        field = str(detail["loc"][0]) if detail["loc"] else "payload"
        if field not in fields:
            fields.append(field)
        problems.append(f"{field}: {detail['msg']}")
    return _rejected("invalid " + "; ".join(problems), tuple(fields), payload, raw)


def _rejected(
    reason: str, fields: tuple[str, ...], payload: Mapping[Any, Any] | None, raw: object
) -> RejectedPayload:
    reason = mask_phones_in(reason)
    parts = [f"rejected inbound SMS: {reason}"]
    if fields:
        parts.append("fields=" + ",".join(fields))
    if payload is not None:
        parts.extend(_describe(payload))
    elif isinstance(raw, str | bytes | bytearray):
        parts.append(f"raw_length={len(raw)}")
    return RejectedPayload(reason=reason, fields=fields, summary=mask_phones_in("; ".join(parts)))


def _describe(payload: Mapping[Any, Any]) -> list[str]:
    """What can be logged of a payload: masked numbers, a tidied id, the body's length only."""
    parts: list[str] = []
    message_id = payload.get(_INBOUND_ID)
    if isinstance(message_id, str) and message_id:
        parts.append(f"{_INBOUND_ID}={loggable_id(message_id)}")
    parts.append(f"from={_masked_number(payload, _ORIGINATION)}")
    parts.append(f"to={_masked_number(payload, _DESTINATION)}")
    body = payload.get(_BODY)
    if isinstance(body, str):
        parts.append(f"body_length={len(body)}")
    else:
        parts.append(f"body={_absent_or_type(payload, _BODY)}")
    return parts


def _masked_number(payload: Mapping[Any, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str):
        return _absent_or_type(payload, key)
    try:
        return mask_phone(to_e164(value, field=key))
    except Exception:
        return f"<invalid, {len(value)} chars>"


def _absent_or_type(payload: Mapping[Any, Any], key: str) -> str:
    return f"<{json_type(payload[key])}>" if key in payload else "<missing>"
