"""The image record: its fields, its rules, and its two representations.

`to_api()` is the JSON the API returns (plain ints, never Decimals);
`to_item()`/`from_item()` are the DynamoDB form. Index keys are the store's
business and are not part of the record.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from .errors import Invalid
from .states import Status
from .text import FORMAT_CHARACTERS

STATUSES = tuple(Status)
MAX_TAGS = 20
MAX_TAG_LENGTH = 64
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
# A list's order, by upload time (then id): the first is the default.
ORDERS = ("newest", "oldest")


def now_iso() -> str:
    """UTC now as ISO 8601 with milliseconds and a Z: fixed width, so it sorts."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def epoch(iso: str) -> float:
    """Unix seconds of a `now_iso` timestamp (0.0 for an empty one)."""
    return datetime.fromisoformat(iso).timestamp() if iso else 0.0


_SPACE = "[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]"  # Unicode's space separators (Zs)
# Never in a tag: '#' separates the parts of index keys, ',' separates tags in
# a raw upload's query, and control, line-breaking and format characters.
_NOT_IN_TAG = "#,\x00-\x1f\x7f-\x9f\u2028\u2029" + FORMAT_CHARACTERS
_TAG_CORE = f"[^{_NOT_IN_TAG} \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]"
# One tag as sent: 1-64 characters, optionally a leading '#' and spaces around.
# The contract (openapi.json) carries this very pattern.
_TAG_BODY = f"{_TAG_CORE}(?:[^{_NOT_IN_TAG}]{{0,{MAX_TAG_LENGTH - 2}}}{_TAG_CORE})?"
TAG_PATTERN = f"^{_SPACE}*#?{_SPACE}*{_TAG_BODY}{_SPACE}*$(?!\n)"
TAG_RULE = (
    f"a tag is 1-{MAX_TAG_LENGTH} characters, optionally with a leading '#', "
    "and holds no '#', ',', control or invisible format characters"
)
_TAG = re.compile(TAG_PATTERN)


# How a tag is stored, as data: the web page folds a tag filter the same way
# (GET /client-config sends this).
_FOLD_FORM: Literal["NFC"] = "NFC"
_FOLD_PREFIX = "#"
TAG_FOLD = {"unicode": _FOLD_FORM, "strip_prefix": _FOLD_PREFIX, "lowercase": True}


def fold_tag(raw: str) -> str:
    """`raw` as stored (TAG_FOLD): NFC, trimmed, leading '#'s and spaces dropped, lowercased."""
    return unicodedata.normalize(_FOLD_FORM, raw).strip().lstrip(_FOLD_PREFIX).strip().lower()


def normalize_tags(tags: Any) -> list[str]:
    """Checked as sent, then lowercased, trimmed, a leading '#' dropped,
    deduplicated (first occurrence wins).

    Raises Invalid naming the offending tag and the rule. '#Sunset' and
    'sunset' are the same tag.
    """
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise Invalid("tags must be a list of strings")
    if len(tags) > MAX_TAGS:
        raise Invalid(f"at most {MAX_TAGS} tags are allowed, got {len(tags)}")
    seen: dict[str, None] = {}
    for raw in tags:
        # search, not fullmatch: JSON Schema's `pattern` semantics, so the
        # contract and this check agree on every string.
        tag = fold_tag(raw)
        if not _TAG.search(raw):
            shown = raw if len(raw) <= 20 else raw[:20] + "..."
            problem = "is empty" if not tag else "is refused"
            if len(raw.strip().removeprefix("#").strip()) > MAX_TAG_LENGTH:
                problem = f"is longer than {MAX_TAG_LENGTH} characters"
            raise Invalid(f"tag {shown!r} {problem}: {TAG_RULE}")
        seen.setdefault(tag)
    return list(seen)


@dataclass
class Variant:
    key: str
    width: int
    height: int
    size_bytes: int
    content_type: str


@dataclass
class ImageRecord:
    image_id: str
    owner: str
    filename: str
    original_key: str
    source: str
    status: Status = Status.PENDING
    status_reason: str | None = None
    title: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    content_type: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    variants: dict[str, Variant] = field(default_factory=dict)
    # Facts the imaging step reports beyond the basics (orientation-corrected
    # size, alpha, animation, ...); kept as given.
    details: dict[str, Any] = field(default_factory=dict)
    # The focal point {"x", "y"} (0..1 of the upright image) that `cover` crops keep in view.
    focus: dict[str, float] | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = ""
    # Internal: never in the API.
    version: int = 0
    etag: str | None = None  # of the original the variants were made from
    presets_fingerprint: str | None = None  # of the presets they were made with; None: stale
    deleting: bool = False
    expires_at: int | None = None  # DynamoDB TTL (epoch seconds) for pending/rejected
    quarantine_key: str | None = None  # where a rejected original is kept, until it is ready again
    # The unexpected failure this original last met ("{etag} {error}"), and how many
    # attempts in a row met it: on the last attempt it becomes a rejection.
    failure: str | None = None
    failures: int = 0

    def __post_init__(self) -> None:
        self.updated_at = self.updated_at or self.created_at
        self.status = Status(self.status)  # from an item or a caller's text: one of the four, or ValueError

    def touch(self, **changes: Any) -> ImageRecord:
        """A copy with `changes` applied and updated_at set to now."""
        return replace(self, **changes, updated_at=now_iso())

    def to_api(self) -> dict[str, Any]:
        body = {
            "image_id": self.image_id,
            "owner": self.owner,
            "filename": self.filename,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "status": self.status,
            "status_reason": self.status_reason,
            "source": self.source,
            "content_type": self.content_type,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "original_key": self.original_key,
            "variants": {name: asdict(v) for name, v in self.variants.items()},
            "focus": self.focus,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        body.update({k: v for k, v in self.details.items() if k not in body})
        return _plain(body)

    def to_item(self) -> dict[str, Any]:
        item = asdict(self)
        # DynamoDB refuses floats; details may carry them (e.g. ratios).
        return _no_floats({k: v for k, v in item.items() if v is not None})

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ImageRecord:
        data = _plain({k: v for k, v in item.items() if k in _FIELDS})
        data["variants"] = {n: Variant(**v) for n, v in data.get("variants", {}).items()}
        return cls(**data)


_FIELDS = set(ImageRecord.__dataclass_fields__)


def _plain(value: Any) -> Any:
    """Decimals (as DynamoDB returns numbers) become int when whole, else float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    return value


def _no_floats(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _no_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_floats(v) for v in value]
    return value
