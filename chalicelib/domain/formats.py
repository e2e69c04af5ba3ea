"""Which image formats imgstore accepts, recognised by their first bytes.

Pillow-free on purpose: the API uses this to refuse non-images without paying
Pillow's import on its cold start. The event handler's imaging module does the
deep check (decoding) before an image is `ready`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    name: str  # Pillow's format name
    mime: str
    ext: str


JPEG = Format("JPEG", "image/jpeg", "jpg")
PNG = Format("PNG", "image/png", "png")
GIF = Format("GIF", "image/gif", "gif")
WEBP = Format("WEBP", "image/webp", "webp")
BMP = Format("BMP", "image/bmp", "bmp")
TIFF = Format("TIFF", "image/tiff", "tiff")
HEIF = Format("HEIF", "image/heic", "heic")
AVIF = Format("AVIF", "image/avif", "avif")

ACCEPTED = (JPEG, PNG, GIF, WEBP, BMP, TIFF, HEIF, AVIF)
BY_MIME = {f.mime: f for f in ACCEPTED} | {"image/heif": HEIF, "image/jpg": JPEG}
UPLOAD_CONTENT_TYPES = tuple(BY_MIME)

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
# Classic TIFF (42) and BigTIFF (43, 64-bit offsets), each little- or big-endian.
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def sniff(head: bytes) -> Format | None:
    """The format that `head` (the first 32 bytes or more) starts like, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:2] == b"BM" and len(head) >= 26:
        return BMP
    if head[:4] in _TIFF_MAGIC:
        return TIFF
    if head[4:8] == b"ftyp":
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(len(head), 64), 4)}
        if brands & _AVIF_BRANDS:
            return AVIF
        if brands & _HEIF_BRANDS:
            return HEIF
    return None


def accepted_names() -> str:
    return ", ".join(f.name for f in ACCEPTED)
