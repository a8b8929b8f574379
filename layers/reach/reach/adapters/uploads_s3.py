"""List import files in S3: presigned PUT URLs out, streamed reads in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reach.ports.uploads import CSV_CONTENT_TYPE

#: Bytes read from S3 at a time: the importer's memory does not grow with the file.
CHUNK_BYTES = 64 * 1024


class S3Uploads:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def upload_url(self, key: str, expires_in: int) -> str:
        url: str = self._client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self._bucket, "Key": key, "ContentType": CSV_CONTENT_TYPE},
            ExpiresIn=expires_in,
            HttpMethod="PUT",
        )
        return url

    def chunks(self, key: str) -> Iterator[bytes]:
        body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()


def build_uploads(bucket: str, region: str) -> S3Uploads:
    import boto3
    from botocore.config import Config

    # Signature version 4: the only one S3 accepts for presigned URLs in newer regions.
    client = boto3.client("s3", region_name=region, config=Config(signature_version="s3v4"))
    return S3Uploads(client, bucket)
