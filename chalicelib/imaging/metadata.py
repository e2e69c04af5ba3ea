"""Camera facts from EXIF for the record: make, model and when the photo was taken.

Only these tags are read. The GPS block is never opened, and variants are
written without any metadata (see rendering), so a location never leaves the
original. Unreadable values are dropped, never a reason to reject a photo.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from PIL import ExifTags, Image

_MAX_TEXT = 64
_WHEN = (  # the moment of capture first; digitized (scanners, some phones) next
    (ExifTags.Base.DateTimeOriginal, ExifTags.Base.OffsetTimeOriginal),
    (ExifTags.Base.DateTimeDigitized, ExifTags.Base.OffsetTimeDigitized),
)


def camera_facts(exif: Image.Exif) -> dict[str, Any]:
    return {
        "camera_make": _text(exif.get(ExifTags.Base.Make)),
        "camera_model": _text(exif.get(ExifTags.Base.Model)),
        "taken_at": _taken_at(exif),
    }


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = "".join(c for c in value if c.isprintable()).strip()
    return value[:_MAX_TEXT] or None


def _taken_at(exif: Image.Exif) -> str | None:
    """ISO 8601; with the UTC offset when the camera recorded one, else local time as shot."""
    try:
        tags = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:
        return None
    for stamp_tag, offset_tag in _WHEN:
        stamp = _text(tags.get(stamp_tag))
        try:
            when = datetime.strptime((stamp or "")[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue  # missing, or "0000:00:00 00:00:00"
        offset = _offset(_text(tags.get(offset_tag)))
        return (when.replace(tzinfo=offset) if offset else when).isoformat()
    return None


def _offset(text: str | None) -> timezone | None:
    if not text or len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
