"""What the bytes are: an accepted image format, or a named reason they are not.

Judged by the bytes alone, never the filename or the declared Content-Type.
Also refuses polyglots: an image that is at the same time an archive or a PDF
(data hidden in or after the picture), because the original is served as is.
"""

from __future__ import annotations

import functools
import io
import zipfile

from PIL import features

from ..domain import formats
from .outcome import CodecMissing, Rejected

_NAMED = (  # the start of files people rename to .jpg, and what to call them
    (b"%PDF-", "a PDF document"),
    (b"%!PS", "a PostScript/EPS file"),
    (b"\xc5\xd0\xd3\xc6", "a PostScript/EPS file"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a program"),
)


def _describe(head: bytes) -> str:
    """Names what a non-image looks like, for the rejection reason."""
    if not head:
        return "empty"
    for magic, name in _NAMED:
        if head.startswith(magic):
            return name
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in head[:1024].lower():
        return "an SVG drawing"
    if text.startswith((b"<?xml", b"<!doctype", b"<html")):
        return "an XML or HTML document"
    if head[4:8] == b"ftyp":
        return "an ISO media file (a video or an unsupported HEIF brand)"
    sample = head[:512]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:  # a character cut at the end of the sample is still text
            return "unrecognised binary data"
    return "unrecognised binary data" if b"\x00" in sample else "text"


@functools.cache
def _available(name: str) -> bool:
    if name == "AVIF":
        return bool(features.check("avif"))
    if name == "HEIF":
        try:
            import pillow_heif  # noqa: F401  (the wheel bundles libheif)
        except ImportError:
            return False
    return True


def accepted() -> list[formats.Format]:
    return [f for f in formats.ACCEPTED if _available(f.name)]


def _accepted_names() -> str:
    return ", ".join(f.name for f in accepted())


def sniff(data: bytes) -> formats.Format:
    """The accepted format `data` starts like; Rejected naming what it is otherwise."""
    found = formats.sniff(data[:64])
    if found is None:
        raise Rejected(f"the file is {_describe(data[:1024])}, not a supported image (accepted: {_accepted_names()})")
    if not _available(found.name):
        # An accepted format this build cannot open is the build's fault: retried, never rejected.
        raise CodecMissing(f"this build cannot decode {found.name}, an accepted format")
    _refuse_polyglot(data, found)
    return found


def _refuse_polyglot(data: bytes, found: formats.Format) -> None:
    # Archive readers look for the ZIP directory at the end of the file,
    # PDF readers for %PDF- anywhere in the first kilobyte.
    hidden = None
    if zipfile.is_zipfile(io.BytesIO(data)):
        hidden = "a ZIP archive"
    elif b"%PDF-" in data[:1024]:
        hidden = "a PDF document"
    if hidden:
        raise Rejected(
            f"the file is a {found.name} image and also {hidden} "
            "(data hidden in or after the picture); upload the image alone"
        )
