"""Page tokens for key-bound listings: DynamoDB's LastEvaluatedKey, opaque to clients and
refused when presented to a listing (tenant, status, index) other than the one that made it,
or when it is not a start key of that listing's shape."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection
from typing import Any

from reach.domain.errors import InvalidToken


def encode_token(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


def decode_token(
    token: str, hash_key: str, hash_attribute: str, other_attributes: Collection[str]
) -> dict[str, Any]:
    """The start key in ``token``, refused with InvalidToken unless it is one this listing
    issues: exactly ``hash_attribute``, whose value must be ``hash_key`` (so a token minted for
    another tenant's listing is refused), and ``other_attributes`` (the index's range key and
    the table's keys), each a string. DynamoDB answers a start key of another shape with an
    error, not with an empty page."""
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError) as error:  # UnicodeError is a ValueError
        raise InvalidToken("not a token this API issued") from error
    if not isinstance(key, dict) or _string_of(key.get(hash_attribute)) != hash_key:
        raise InvalidToken("not a token for this listing")
    expected = {hash_attribute, *other_attributes}
    if set(key) != expected or not all(_string_of(key[name]) for name in expected):
        raise InvalidToken("not a token this API issued")
    return dict(key)


def _string_of(attribute: Any) -> str | None:
    """The value of a DynamoDB string attribute (``{"S": "..."}``), or None for any other."""
    if isinstance(attribute, dict) and set(attribute) == {"S"}:
        value = attribute["S"]
        return value if isinstance(value, str) and value else None
    return None
