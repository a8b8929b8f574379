"""The uploads port: where tenants put files too big for an API request (list imports)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

#: How long a presigned upload URL works.
UPLOAD_URL_SECONDS = 900
#: The content type an upload must be put with (the URL is signed for it).
CSV_CONTENT_TYPE = "text/csv"


class Uploads(Protocol):
    def upload_url(self, key: str, expires_in: int) -> str:
        """A URL the tenant PUTs the file to, with ``Content-Type: text/csv``."""
        ...

    def chunks(self, key: str) -> Iterator[bytes]:
        """The stored file's bytes, a chunk at a time (never the whole file at once)."""
        ...


def import_key(tenant_id: str, list_id: str, import_id: str) -> str:
    """Where an import's file goes: the key names whose file it is, so the importer trusts
    the key (written by Reach's own presigned URL), never the file, for the tenant."""
    return f"imports/{tenant_id}/{list_id}/{import_id}.csv"


def parse_import_key(key: str) -> tuple[str, str, str] | None:
    """(tenant, list, import) of a key ``import_key`` made; None for any other key."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "imports" or not parts[3].endswith(".csv"):
        return None
    tenant_id, list_id, name = parts[1], parts[2], parts[3][: -len(".csv")]
    if not (tenant_id and list_id and name):
        return None
    return tenant_id, list_id, name
