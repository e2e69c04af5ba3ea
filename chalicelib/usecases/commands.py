"""The checked inputs the API's use-cases take: built by the edge (edge.validation)
from a request, so a use-case only ever sees values that passed every rule."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..domain import formats
from ..domain.search import Search


@dataclass
class Metadata:
    title: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass
class Upload:
    user_id: str | None
    filename: str
    data: bytes
    format: formats.Format
    meta: Metadata


@dataclass
class PresignedUpload:
    user_id: str | None
    filename: str
    content_type: str
    size_bytes: int
    method: str
    meta: Metadata


@dataclass
class ListQuery:
    user_id: str | None
    tag: str | None
    status: str | None
    limit: int
    next_token: str | None
    order: str = "newest"  # one of records.ORDERS
    search: Search | None = None  # None: no search (no q, or no word in it)
