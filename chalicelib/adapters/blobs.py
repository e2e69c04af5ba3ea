"""S3 adapter: object reads, writes, deletes and presigned URLs for one bucket."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from botocore.exceptions import ClientError

from . import aws
from .presigning import Window, signing_at

_MISSING = {"404", "NoSuchKey", "NotFound"}
_REPLACED = {"412", "PreconditionFailed"}  # a HEAD's error has no body: just its status
# S3's largest CopyObject; a larger object is copied part by part (UploadPartCopy).
COPY_LIMIT = 5 * 1024**3
PART_SIZE = 512 * 1024 * 1024
# What a copy with MetadataDirective=REPLACE would otherwise reset.
_KEPT_HEADERS = ("ContentType", "ContentDisposition", "ContentEncoding", "ContentLanguage", "CacheControl")


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    content_type: str | None


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the RFC 5987 UTF-8 name (RFC 6266)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class BlobStore:
    def __init__(self, bucket: str):
        self.bucket = bucket

    @property
    def _s3(self):
        return aws.client("s3")

    def head(self, key: str) -> ObjectInfo | None:
        """What the object is now, or None when there is no such object."""
        reply = self._head(key)
        if reply is None:
            return None
        return ObjectInfo(reply["ContentLength"], reply["ETag"].strip('"'), reply.get("ContentType"))

    def _head(self, key: str) -> dict | None:
        try:
            return self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _MISSING:
                return None
            raise

    def get(self, key: str, etag: str | None = None) -> bytes | None:
        """The object's bytes (the version with `etag`, when given), or None when gone."""
        params = {"Bucket": self.bucket, "Key": key}
        if etag:
            params["IfMatch"] = etag
        try:
            return self._s3.get_object(**params)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _MISSING | {"PreconditionFailed"}:
                return None
            raise

    def fetch(self, key: str, max_bytes: int) -> tuple[ObjectInfo, bytes | None] | None:
        """The object and its bytes in one read; the bytes are None (left unread) when it is
        larger than `max_bytes`. None when there is no such object."""
        try:
            reply = self._s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _MISSING:
                return None
            raise
        info = ObjectInfo(reply["ContentLength"], reply["ETag"].strip('"'), reply.get("ContentType"))
        if info.size > max_bytes:
            reply["Body"].close()
            return info, None
        return info, reply["Body"].read()

    def put(self, key: str, data: bytes, content_type: str, cache_control: str | None = None) -> None:
        params = {"Bucket": self.bucket, "Key": key, "Body": data, "ContentType": content_type}
        if cache_control:
            params["CacheControl"] = cache_control
        self._s3.put_object(**params)

    def copy_in_place(self, key: str) -> bool:
        """Copy the object onto itself, bytes and headers unchanged, so that S3 sends
        an ObjectCreated:Copy event for it. False when there is no such object.

        S3 refuses a copy onto itself that changes nothing, so the metadata is
        replaced by the same metadata plus the time of this request.
        """
        head = self._head(key)
        if head is None:
            return False
        kept = {name: head[name] for name in _KEPT_HEADERS if head.get(name)}
        metadata = {**head.get("Metadata", {}), "imgstore-copied-at": str(time.time())}
        try:
            self._s3.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": key},
                CopySourceIfMatch=head["ETag"],
                MetadataDirective="REPLACE",
                Metadata=metadata,
                **kept,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _MISSING | {"PreconditionFailed"}:
                return False  # gone or replaced meanwhile; a replacement sends its own event
            raise
        return True

    def copy(self, source: str, target: str, etag: str | None = None, size: int | None = None) -> bool:
        """Copy `source` (only while it is the version with `etag`, when given) to
        `target`. False when the source is gone or was replaced. Repeating it
        rewrites the same copy. One request up to COPY_LIMIT (bytes and headers);
        a larger `size` goes in parts, every part under the same condition."""
        origin = {"Bucket": self.bucket, "Key": source}
        condition = {"CopySourceIfMatch": f'"{etag}"'} if etag else {}  # quoted, as S3 sends ETags
        try:
            if size is not None and size > COPY_LIMIT:
                from boto3.s3.transfer import TransferConfig

                config = TransferConfig(multipart_threshold=COPY_LIMIT, multipart_chunksize=PART_SIZE)
                self._s3.copy(origin, self.bucket, target, ExtraArgs=condition or None, Config=config)
            else:
                self._s3.copy_object(Bucket=self.bucket, Key=target, CopySource=origin, **condition)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _MISSING | _REPLACED:
                return False
            raise
        return True

    def delete_if(self, key: str, etag: str) -> bool:
        """Delete the object only while it is the version with `etag` (S3's conditional
        delete). True when it is gone, now or before; False when another version took its place."""
        try:
            self._s3.delete_object(Bucket=self.bucket, Key=key, IfMatch=f'"{etag}"')
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in _MISSING:
                return True
            if code == "PreconditionFailed":
                return False
            raise
        return True

    def list_keys(self, prefix: str) -> list[str]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete the keys (absent ones are fine). Raises if any deletion failed."""
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            reply = self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if reply.get("Errors"):
                raise _refused(reply["Errors"][0])

    # -- presigned URLs ------------------------------------------------------

    def presign_get(self, key: str, window: Window, ttl: int, download_as: str | None = None) -> str:
        """A GET URL signed at `window.signed_at`: the same string for every call in
        the window until the content changes, valid until `ttl` seconds after the window's end."""
        s3 = self._s3  # created (and its credentials resolved) outside the fixed clock
        params = {"Bucket": self.bucket, "Key": key}
        if download_as:
            params["ResponseContentDisposition"] = content_disposition(download_as)
        with signing_at(window.signed_at):
            return s3.generate_presigned_url("get_object", Params=params, ExpiresIn=window.url_lifetime(ttl))

    def presign_put(self, key: str, content_type: str, expires_in: int) -> str:
        params = {"Bucket": self.bucket, "Key": key, "ContentType": content_type}
        return self._s3.generate_presigned_url("put_object", Params=params, ExpiresIn=expires_in)

    def presign_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> dict:
        """A browser form upload whose policy pins the key, type and size range."""
        return self._s3.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )

    def url_origins(self) -> list[str]:
        """The origins (scheme://host[:port]) of this bucket's presigned GET and POST
        URLs: where a browser fetches images from and uploads to. Signing is local."""
        urls = [
            self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": "processed/x"}, ExpiresIn=60
            ),
            self.presign_post("uploads/x", "image/jpeg", 1, 60)["url"],
        ]
        return sorted({f"{p.scheme}://{p.netloc}" for p in map(urlsplit, urls)})


# The HTTP status S3 gives each error code it may also report per key in a DeleteObjects
# reply (its error-code table), so that aws.transient judges a refused key like a refused call.
_PER_KEY_STATUS = {"AccessDenied": 403, "InternalError": 500, "ServiceUnavailable": 503, "SlowDown": 503}


def _refused(error: dict) -> ClientError:
    """A key DeleteObjects could not delete, as the error S3 would have raised for it alone."""
    code = error.get("Code", "Unknown")
    reply = {
        "Error": {"Code": code, "Message": f"could not delete {error.get('Key')}: {error.get('Message', '')}"},
        "ResponseMetadata": {"HTTPStatusCode": _PER_KEY_STATUS.get(code, 400)},
    }
    return ClientError(reply, "DeleteObjects")
