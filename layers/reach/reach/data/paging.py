"""Page tokens for key-bound listings: DynamoDB's LastEvaluatedKey, sealed so that a client can
neither read nor change it, and bound to the listing (tenant, query) that issued it.

A token is ``v1.<payload>.<mac>``: the start key as base64url JSON and an HMAC-SHA256 over the
listing's scope and the payload. The key is made once per stack, at random, on first use, and
kept in the appointments table (``PageKeyItem``): no secret in the repository or the template,
the same code in AWS and on the embedded moto of the local run, and a token of another stack
is refused. Anything edited, truncated, or issued for another tenant or query fails the MAC
and is refused with InvalidToken (400 ``invalid_next_token``), before DynamoDB sees it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Collection
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from reach.data.tables import PAGE_KEY_PK, PAGE_KEY_SK, PageKeyItem
from reach.domain.errors import InvalidToken

_VERSION = "v1"
_KEY_BYTES = 32


def stored_page_key() -> bytes:
    """This stack's token key: read, or made and stored by the first caller. Two cold starts
    racing both read the one that won the conditional write."""
    for _ in range(2):
        try:
            return bytes.fromhex(PageKeyItem.get(PAGE_KEY_PK, PAGE_KEY_SK).secret)
        except DoesNotExist:
            item = PageKeyItem(PAGE_KEY_PK, PAGE_KEY_SK, secret=secrets.token_hex(_KEY_BYTES))
            try:
                item.save(condition=PageKeyItem.pk.does_not_exist())
            except PutError:
                continue  # another cold start stored its key first: read that one
            return bytes.fromhex(item.secret)
    raise RuntimeError("the page token key could not be read or stored")


class PageTokens:
    """Seals and opens page tokens with one key, loaded on the first token (a function that
    never pages never reads it)."""

    def __init__(self, key: Callable[[], bytes] = stored_page_key) -> None:
        self._load = key
        self._key: bytes | None = None

    def _mac(self, scope: str, payload: str) -> str:
        if self._key is None:
            self._key = self._load()
        digest = hmac.new(self._key, f"{scope}\n{payload}".encode(), hashlib.sha256).digest()
        return _b64(digest)

    def seal(self, key: dict[str, Any] | None, scope: str) -> str | None:
        """The token for the page after ``key`` (None: there is no next page)."""
        if not key:
            return None
        return self.seal_state(key, scope)

    def seal_state(self, state: dict[str, Any], scope: str) -> str:
        """A token for any JSON object of the listing's position (a listing that walks
        several keys, such as a list's member segments, keeps where it is along with the
        start key)."""
        payload = _b64(json.dumps(state, sort_keys=True, separators=(",", ":")).encode())
        return f"{_VERSION}.{payload}.{self._mac(scope, payload)}"

    def open_state(self, token: str, scope: str) -> dict[str, Any]:
        """The object sealed in ``token``, refused with InvalidToken unless this listing
        (``scope``) issued it unchanged. Its shape is the caller's to check."""
        version, _, rest = token.partition(".")
        payload, _, mac = rest.partition(".")
        if version != _VERSION or not payload or not mac:
            raise InvalidToken("not a token this API issued; start the listing again")
        if not hmac.compare_digest(mac, self._mac(scope, payload)):
            raise InvalidToken(
                "not a token of this listing (changed, cut short, or issued for other "
                "parameters); start the listing again"
            )
        try:
            state = json.loads(_unb64(payload))
        except (binascii.Error, ValueError) as error:  # UnicodeError is a ValueError
            raise InvalidToken("not a token this API issued") from error
        if not isinstance(state, dict):
            raise InvalidToken("not a token for this listing")
        return state

    def open(
        self,
        token: str,
        scope: str,
        hash_key: str,
        hash_attribute: str,
        other_attributes: Collection[str],
    ) -> dict[str, Any]:
        """The start key in ``token``, refused with InvalidToken unless this listing (``scope``,
        which names the tenant and the query) issued it unchanged, and it has the listing's
        shape (``check_start_key``)."""
        key = self.open_state(token, scope)
        check_start_key(key, hash_key, hash_attribute, other_attributes)
        return dict(key)


def check_start_key(
    key: object, hash_key: str, hash_attribute: str, other_attributes: Collection[str]
) -> None:
    """Refuse (InvalidToken) a start key not of the listing's shape: exactly
    ``hash_attribute``, whose value is ``hash_key``, and ``other_attributes`` (the index's
    range key and the table's keys), each a string. DynamoDB answers a start key of another
    shape with an error, not an empty page."""
    if not isinstance(key, dict) or _string_of(key.get(hash_attribute)) != hash_key:
        raise InvalidToken("not a token for this listing")
    expected = {hash_attribute, *other_attributes}
    if set(key) != expected or not all(_string_of(key[name]) for name in expected):
        raise InvalidToken("not a token this API issued")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _string_of(attribute: Any) -> str | None:
    """The value of a DynamoDB string attribute (``{"S": "..."}``), or None for any other."""
    if isinstance(attribute, dict) and set(attribute) == {"S"}:
        value = attribute["S"]
        return value if isinstance(value, str) and value else None
    return None
