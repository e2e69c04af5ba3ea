"""The ports the use-cases work through: what they need of a record store and of
blob storage, and nothing more. `adapters.store.ImageStore` and
`adapters.blobs.BlobStore` are the real ones; tests may pass fakes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from ..domain.records import ImageRecord
from ..domain.search import Search


class Page(Protocol):
    records: Sequence[ImageRecord]
    cursor: str | None  # opaque: where the next page starts, None after the last


class RecordStore(Protocol):
    def get(self, image_id: str) -> ImageRecord | None: ...

    def list(
        self,
        *,
        owner: str | None,
        tag: str | None,
        status: str | None,
        limit: int,
        cursor: str | None = None,
        oldest_first: bool = False,
        search: Search | None = None,
    ) -> Page: ...

    def create(self, record: ImageRecord) -> ImageRecord: ...

    def save(self, record: ImageRecord, previous: ImageRecord) -> ImageRecord: ...

    def mark_deleting(self, record: ImageRecord) -> ImageRecord | None: ...

    def delete(self, record: ImageRecord) -> None: ...


class ObjectFacts(Protocol):
    size: int
    etag: str
    content_type: str | None


class BlobStorage(Protocol):
    def head(self, key: str) -> Any: ...

    def get(self, key: str, etag: str | None = None) -> bytes | None: ...

    def fetch(self, key: str, max_bytes: int) -> tuple[Any, bytes | None] | None: ...

    def put(self, key: str, data: bytes, content_type: str, cache_control: str | None = None) -> None: ...

    def delete_many(self, keys: Iterable[str]) -> None: ...

    def delete_if(self, key: str, etag: str) -> bool: ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def copy(self, source: str, target: str, etag: str | None = None, size: int | None = None) -> bool: ...

    def copy_in_place(self, key: str) -> bool: ...

    def presign_get(self, key: str, window: Any, ttl: int, download_as: str | None = None) -> str: ...

    def presign_put(self, key: str, content_type: str, expires_in: int) -> str: ...

    def presign_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> dict: ...
