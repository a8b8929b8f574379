"""API keys: checking the ``Authorization`` header of a request (the authorizer's whole job).

Kept apart from tenant administration so that the authorizer's cold start imports only this,
the key table and the errors.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from reach.data.tenants import ApiKeyRepository
from reach.domain.errors import Forbidden, Unauthorized

KEY_PATTERN = re.compile(r"^(rk_[0-9a-f]{8})_[A-Za-z0-9_-]{43}$")


def hash_key(secret: str) -> str:
    """Keys are 256-bit random, so an unsalted SHA-256 is enough to store them safely."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who a valid key belongs to, and the usage key its requests are throttled under."""

    tenant_id: str
    usage_key: str | None = None


class Authenticator:
    """Maps an ``Authorization: Bearer <key>`` header to the key's tenant."""

    def __init__(self, keys: ApiKeyRepository) -> None:
        self._keys = keys

    def tenant_for(self, authorization: str | None) -> str:
        """The tenant id; Unauthorized for a missing or unknown key, Forbidden for a revoked one."""
        return self.identify(authorization).tenant_id

    def identify(self, authorization: str | None) -> Caller:
        """The key's tenant and usage key; refused as ``tenant_for`` says."""
        scheme, _, secret = (authorization or "").strip().partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not KEY_PATTERN.match(secret):
            # Malformed keys are refused without a table read.
            raise Unauthorized("expected 'Authorization: Bearer <api key>'")
        lookup = self._keys.find_by_hash(hash_key(secret))
        if lookup is None:
            raise Unauthorized("unknown API key")
        if lookup.revoked_at is not None:
            raise Forbidden(f"API key {lookup.prefix} was revoked")
        return Caller(lookup.tenant_id, lookup.usage_key)
