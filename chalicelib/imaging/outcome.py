"""What imaging hands back: the rendered result, or Rejected with a reason.

Plain data, no Pillow types, so the caller (ingest) never needs Pillow's API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Rejected(Exception):
    """The bytes are not an image imgstore accepts; the message says why, for a person.

    Only a verdict on the bytes: raised the same way for the same bytes every time."""


class CodecMissing(RuntimeError):
    """This build cannot decode a format it accepts: a fault to fix, never the file's."""


@dataclass
class RenderedVariant:
    name: str
    data: bytes
    width: int
    height: int
    content_type: str
    ext: str


@dataclass
class Processed:
    format: str  # the original's format, judged by its bytes (JPEG, PNG, HEIF, ...)
    content_type: str
    width: int  # as displayed: after EXIF orientation
    height: int
    variants: list[RenderedVariant]
    # What a client needs before any variant loads, plus camera facts; never GPS.
    details: dict[str, Any] = field(default_factory=dict)
