"""Recognising image formats from their first bytes, without Pillow."""
import re

import pytest

from chalicelib.domain import formats
from tests.conftest import image_bytes


@pytest.mark.parametrize("fmt, expected", [
    ("JPEG", formats.JPEG), ("PNG", formats.PNG), ("GIF", formats.GIF),
    ("WEBP", formats.WEBP), ("BMP", formats.BMP), ("TIFF", formats.TIFF),
])
def test_sniffs_what_pillow_writes(fmt, expected):
    assert formats.sniff(image_bytes(fmt)[:64]) is expected


def test_sniffs_bigtiff_in_both_byte_orders():
    written = image_bytes("TIFF", big_tiff=True)
    assert written[:4] == b"II+\x00"
    assert formats.sniff(written[:64]) is formats.TIFF
    assert formats.sniff(b"MM\x00+\x00\x08\x00\x00" + b"\x00" * 7 + b"\x10") is formats.TIFF
    assert formats.sniff(b"MM+\x00\x00\x08\x00\x00") is None  # neither TIFF nor BigTIFF


def test_sniffs_heif_and_avif_brands():
    heic = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic"
    avif = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"
    assert formats.sniff(heic) is formats.HEIF
    assert formats.sniff(avif) is formats.AVIF
    assert formats.sniff(b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isomavc1") is None  # an MP4


@pytest.mark.parametrize("data", [
    b"", b"hello world, not an image", b"%PDF-1.7\n", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    b"PK\x03\x04zipzipzip", b"%!PS-Adobe-3.0 EPSF-3.0",
])
def test_refuses_non_images(data):
    assert formats.sniff(data) is None


def test_every_mime_maps_back_to_its_format():
    for fmt in formats.ACCEPTED:
        assert formats.BY_MIME[fmt.mime] is fmt


def test_the_docs_name_every_tiff_signature():
    from tests.conftest import ROOT

    row = next(line for line in (ROOT / "docs" / "imaging.md").read_text().splitlines() if line.startswith("| TIFF |"))
    documented = {s.encode().replace(b"\\0", b"\0") for s in re.findall(r"`([IM]{2}[^`]{2,4})`", row)}
    assert documented == set(formats._TIFF_MAGIC)
