"""Export files on any S3-compatible object store (AWS S3, MinIO, Ceph RGW, R2) through boto3.

Why boto3: it is the reference S3 client, speaks to every S3-compatible server through
`endpoint_url`, and reads credentials the way operators already provide them (environment,
profiles, instance roles, web identity), with retries built in; it is synchronous like the rest
of Veil. obstore and minio-py would do the same job with a smaller community and fewer
credential sources.

What is stored is already encrypted (Veil's chunked AES-GCM format): the store only moves
bytes. Uploads stream as a multipart upload (parts of `part_size` bytes in memory at a time;
a file smaller than one part is one PUT), so an object appears whole or not at all; a process
killed mid-upload leaves an incomplete multipart upload that `sweep_stale_parts` aborts.
Downloads stream the object's body; `seek(0)` (the download verifies the whole file before
serving it) re-opens the same object version by ETag.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import urlsplit

from veil.compliance.storage import check_key

if TYPE_CHECKING:
    from veil.config import Settings

log = logging.getLogger("veil.exports.s3")

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's floor for every part but the last
DEFAULT_PART_SIZE = 8 * 1024 * 1024


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/prefix` → (bucket, prefix with a trailing slash, or empty)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError("VEIL_EXPORT_STORE must be a folder or s3://bucket/prefix")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}


class S3ExportStore:
    def __init__(
        self, client: Any, bucket: str, prefix: str = "", *, part_size: int = DEFAULT_PART_SIZE
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError("S3 parts are at least 5 MiB")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size

    @classmethod
    def from_settings(cls, settings: Settings) -> S3ExportStore:
        import boto3
        from botocore.config import Config

        bucket, prefix = parse_s3_url(settings.export_store or "")
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.aws_region,
            aws_access_key_id=settings.aws_access_key_id,
            aws_secret_access_key=settings.aws_secret_access_key,
            config=Config(retries={"mode": "standard", "max_attempts": 5}),
        )
        return cls(client, bucket, prefix)

    def _object(self, key: str) -> str:
        return self.prefix + check_key(key)

    # -- the ExportStore protocol --------------------------------------------------------------

    def put(self, key: str, write: Callable[[BinaryIO], None]) -> int:
        upload = _MultipartWriter(self, self._object(key))
        try:
            write(cast(BinaryIO, upload))
            upload.finish()
        except BaseException:
            upload.abort()
            raise
        return upload.size

    def open(self, key: str) -> BinaryIO:
        raw = _ObjectReader(self.client, self.bucket, self._object(key))
        return cast(BinaryIO, io.BufferedReader(raw, buffer_size=256 * 1024))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._object(key))
        except Exception as exc:
            if _error_code(exc) in _MISSING:
                return False
            raise
        return True

    def delete(self, key: str) -> bool:
        """Remove the object and, where the bucket keeps versions, every version of it (a
        delete marker alone would leave the ciphertext recoverable). True if it existed."""
        name = self._object(key)
        existed = self.exists(key)
        versions = self._versions_of(name)
        if versions:
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": name, "VersionId": v} for v in versions]},
            )
        else:
            self.client.delete_object(Bucket=self.bucket, Key=name)
        return existed

    def sweep_stale_parts(self, older_than: timedelta) -> int:
        """Abort multipart uploads left by a process killed mid-write (encrypted parts)."""
        cutoff = time.time() - older_than.total_seconds()
        aborted = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for upload in page.get("Uploads", []):
                if upload["Initiated"].timestamp() < cutoff:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        return aborted

    def keys_older_than(self, older_than: timedelta) -> Iterator[str]:
        """Keys of stored objects last written more than `older_than` ago (the orphan sweep)."""
        cutoff = time.time() - older_than.total_seconds()
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix) :]
                if "/" not in key and item["LastModified"].timestamp() < cutoff:
                    yield key

    def check(self) -> None:
        """Readiness: the bucket answers with these credentials (raises otherwise)."""
        self.client.head_bucket(Bucket=self.bucket)

    # -- helpers ---------------------------------------------------------------------------

    def _versions_of(self, name: str) -> list[str]:
        """Version ids (and delete markers) of exactly this object; empty when the bucket
        does not version or the credentials may not list versions."""
        try:
            page = self.client.list_object_versions(Bucket=self.bucket, Prefix=name)
        except Exception as exc:
            if _error_code(exc) in {"AccessDenied", "NotImplemented"}:
                return []
            raise
        found = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ids = [str(v["VersionId"]) for v in found if v["Key"] == name]
        return [] if ids == ["null"] else ids


class _MultipartWriter:
    """A write-only file object: buffers one part, uploads it, never holds the whole file."""

    def __init__(self, store: S3ExportStore, name: str) -> None:
        self.store = store
        self.name = name
        self.buffer = bytearray()
        self.parts: list[dict[str, Any]] = []
        self.upload_id: str | None = None
        self.size = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.size += len(data)
        while len(self.buffer) >= self.store.part_size:
            self._upload_part(bytes(self.buffer[: self.store.part_size]))
            del self.buffer[: self.store.part_size]
        return len(data)

    def flush(self) -> None:
        """Parts go out when full; a file object's flush has nothing to do here."""

    def _upload_part(self, body: bytes) -> None:
        client = self.store.client
        if self.upload_id is None:
            created = client.create_multipart_upload(Bucket=self.store.bucket, Key=self.name)
            self.upload_id = str(created["UploadId"])
        number = len(self.parts) + 1
        answer = client.upload_part(
            Bucket=self.store.bucket,
            Key=self.name,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=body,
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def finish(self) -> None:
        client = self.store.client
        if self.upload_id is None:  # smaller than one part: a single PUT is just as atomic
            client.put_object(Bucket=self.store.bucket, Key=self.name, Body=bytes(self.buffer))
            return
        if self.buffer:
            self._upload_part(bytes(self.buffer))
            self.buffer.clear()
        client.complete_multipart_upload(
            Bucket=self.store.bucket,
            Key=self.name,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )

    def abort(self) -> None:
        if self.upload_id is None:
            return
        try:
            self.store.client.abort_multipart_upload(
                Bucket=self.store.bucket, Key=self.name, UploadId=self.upload_id
            )
        except Exception as exc:  # the stale-parts sweep aborts it later
            log.warning(
                "could not abort a multipart upload",
                extra={"fields": {"error": type(exc).__name__}},
            )


class _ObjectReader(io.RawIOBase):
    """The object's body as a raw stream; seek(0) re-opens the same version (by ETag)."""

    def __init__(self, client: Any, bucket: str, name: str) -> None:
        self.client = client
        self.bucket = bucket
        self.name = name
        self.etag: str | None = None
        self.position = 0
        self.body = self._get()

    def _get(self) -> Any:
        extra = {"IfMatch": self.etag} if self.etag else {}
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.name, **extra)
        except Exception as exc:
            code = _error_code(exc)
            if code in _MISSING or code == "PreconditionFailed":
                # Gone, or replaced since it was opened: the caller treats it as missing.
                raise FileNotFoundError("export object not found") from None
            raise
        self.etag = answer["ETag"]
        return answer["Body"]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.body.read(len(buffer))
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR and offset == 0:
            return self.position
        if (offset, whence) != (0, io.SEEK_SET):
            raise io.UnsupportedOperation("export objects are read from the start")
        if self.position:
            self.body.close()
            self.body = self._get()
            self.position = 0
        return 0

    def tell(self) -> int:
        return self.position

    def close(self) -> None:
        if not self.closed:
            self.body.close()
        super().close()
