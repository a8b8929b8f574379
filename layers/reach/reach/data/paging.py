"""Page tokens for key-bound listings: DynamoDB's LastEvaluatedKey, opaque to clients and
refused when presented to a listing (tenant, status, index) other than the one that made it."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection
from typing import Any

from reach.domain.errors import InvalidInput


def encode_token(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


def decode_token(token: str, hash_key: str, hash_attributes: Collection[str]) -> dict[str, Any]:
    """The key in ``token``; its hash-key attribute (one of ``hash_attributes``) must be
    ``hash_key``, so a token minted for another tenant's listing is refused."""
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise InvalidInput("next_token", "not a token this API issued") from error
    hash_values = [
        attribute.get("S")
        for name, attribute in (key.items() if isinstance(key, dict) else [])
        if name in hash_attributes and isinstance(attribute, dict)
    ]
    if hash_values != [hash_key]:
        raise InvalidInput("next_token", "not a token for this listing")
    return dict(key)
