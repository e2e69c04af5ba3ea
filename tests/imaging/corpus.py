"""The golden corpus, generated: small files for every case imaging must handle.

Each `Case` holds the bytes and what must become of them: rejected (and why,
as a word the reason must contain), or accepted with the facts to check.
Images are tiny unless size is the point; the bombs are tiny files too.
"""
from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

from PIL import ExifTags, Image, ImageCms, features

# The picture every orientation case must come out as: four coloured quarters.
UPRIGHT_SIZE = (160, 100)
RED, GREEN, BLUE, YELLOW = (220, 30, 30), (30, 200, 30), (30, 30, 220), (230, 220, 40)
QUARTERS = {"top-left": RED, "top-right": GREEN, "bottom-left": BLUE, "bottom-right": YELLOW}

# What turns the upright picture into the stored one for each EXIF orientation:
# the inverse of what a viewer applies (a test checks it against ImageOps).
_STORE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@dataclass
class Case:
    name: str
    data: bytes
    accepted: bool
    reason: str = ""  # for a rejection: a word its reason must contain
    size: tuple[int, int] | None = None  # displayed width, height
    facts: dict = field(default_factory=dict)  # details that must hold
    dominant: tuple[int, int, int] | None = None  # roughly the dominant colour
    upright: bool = False  # the variants must show QUARTERS the right way up
    pixels: Image.Image | None = None  # the picture the file holds, pixel for pixel
    tolerance: int = 0  # per channel, for a lossy file's `pixels`

    def __repr__(self) -> str:
        return self.name


def quarters(size=UPRIGHT_SIZE) -> Image.Image:
    w, h = size
    image = Image.new("RGB", size, RED)
    image.paste(GREEN, (w // 2, 0, w, h // 2))
    image.paste(BLUE, (0, h // 2, w // 2, h))
    image.paste(YELLOW, (w // 2, h // 2, w, h))
    return image


def save(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def stored_for(orientation: int) -> Image.Image:
    method = _STORE[orientation]
    upright = quarters()
    return upright.transpose(method) if method is not None else upright


def exif_with(**tags) -> Image.Exif:
    exif = Image.Exif()
    for name, value in tags.items():
        exif[ExifTags.Base[name]] = value
    return exif


def oriented(orientation: int, fmt: str = "JPEG") -> bytes:
    exif = exif_with(Orientation=orientation)
    params = {"quality": 95} if fmt == "JPEG" else {}
    return save(stored_for(orientation), fmt, exif=exif.tobytes() if fmt != "TIFF" else exif, **params)


@functools.cache  # once: the generated profile carries its creation time
def camera_jpeg() -> bytes:
    """A photo with everything a phone writes: camera, time, GPS, XMP, a comment, an sRGB profile."""
    exif = exif_with(Make="Acme\x00", Model="Phone 7", Software="imgstore tests")
    exif.get_ifd(ExifTags.IFD.Exif).update({
        ExifTags.Base.DateTimeOriginal: "2024:05:17 14:03:59",
        ExifTags.Base.OffsetTimeOriginal: "+02:00",
    })
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.0),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.0),
    })
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.48N"/>'
           b'</rdf:RDF></x:xmpmeta>')
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return save(quarters((300, 200)), "JPEG", quality=90, exif=exif.tobytes(), xmp=xmp,
                comment=b"<script>alert(1)</script>", icc_profile=srgb)


def rgba_png() -> bytes:
    image = Image.new("RGBA", (200, 120), (0, 0, 0, 0))  # transparent left half
    image.paste((20, 120, 240, 255), (100, 0, 200, 120))
    return save(image, "PNG")


def palette_png() -> bytes:
    """Two palette colours in 1-pixel stripes, index 0 transparent."""
    image = Image.new("P", (150, 90), 1)
    image.putpalette([0, 0, 0, 250, 40, 40, 40, 40, 250])
    for x in range(0, 150, 2):
        image.paste(2, (x, 0, x + 1, 90))
    image.paste(0, (0, 0, 30, 90))
    return save(image, "PNG", transparency=0)


def la_png() -> bytes:
    image = Image.new("LA", (120, 80), (90, 255))
    image.paste((200, 0), (0, 0, 60, 80))
    return save(image, "PNG")


def cmyk_jpeg() -> bytes:
    return save(Image.new("CMYK", (120, 80), (0, 255, 255, 0)), "JPEG", quality=95)  # pure red ink


def cmyk_profile(corner_lab) -> bytes:
    """A minimal ICC v2 CMYK printer profile: its A2B0 table maps each of the 16
    ink corners (c, m, y, k each 0 or 1) to the Lab colour `corner_lab` gives."""
    ramp = bytes(range(256))
    clut = b"".join(bytes([round(L * 255 / 100), round(a + 128), round(b + 128)])
                    for c in (0, 1) for m in (0, 1) for y in (0, 1) for k in (0, 1)
                    for L, a, b in [corner_lab(c, m, y, k)])
    identity = struct.pack(">9i", 65536, 0, 0, 0, 65536, 0, 0, 0, 65536)
    a2b0 = b"mft1" + b"\0" * 4 + bytes([4, 3, 2, 0]) + identity + ramp * 4 + clut + ramp * 3
    d50 = struct.pack(">3i", 63190, 65536, 54061)
    text = b"imgstore test CMYK\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 78
    tags = [(b"A2B0", a2b0), (b"wtpt", b"XYZ " + b"\0" * 4 + d50), (b"desc", desc)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = (struct.pack(">I", offset + len(body)) + b"\0" * 4 + struct.pack(">I", 0x02100000)
              + b"prtrCMYKLab " + b"\0" * 12 + b"acsp" + b"\0" * 28 + d50 + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + table + body


def cmyk_profiled_jpeg() -> bytes:
    """Red ink (M+Y) whose profile says it prints green: only honouring the profile gives green."""
    def lab(c, m, y, k):
        if (c, m, y, k) == (0, 1, 1, 0):
            return 46.2, -51.7, 49.9  # sRGB (0, 128, 0)
        return (100, 0, 0) if not (c or m or y or k) else (0, 0, 0)
    image = Image.new("CMYK", (120, 80), (0, 255, 255, 0))
    return save(image, "JPEG", quality=95, icc_profile=cmyk_profile(lab))


def gray16_png() -> bytes:
    return save(Image.new("I;16", (120, 80), 40000), "PNG")  # 40000/65535 of white: about 156


def bilevel_png() -> bytes:
    image = Image.new("1", (120, 80), 0)
    image.paste(1, (0, 0, 60, 80))
    return save(image, "PNG")


def animated_gif(frames: int = 3, size=(60, 40)) -> bytes:
    colours = [RED, GREEN, BLUE]
    images = [Image.new("RGB", size, colours[i % 3]) for i in range(frames)]
    # Each frame differs from the last by a pixel, so Pillow keeps them all.
    for i, image in enumerate(images):
        image.putpixel((i % size[0], 0), (i % 256, 0, 0))
    return save(images[0], "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)


def heic(orientation: int = 1) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return save(stored_for(orientation), "HEIF", quality=90, exif=exif_with(Orientation=orientation).tobytes())


def strip_png() -> bytes:
    return save(Image.new("L", (10000, 10), 128), "PNG")


def truncated_jpeg() -> bytes:
    data = save(Image.effect_noise((200, 150), 40).convert("RGB"), "JPEG", quality=90)
    return data[: len(data) * 2 // 3]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int) -> bytes:
    """A valid-looking PNG header claiming huge dimensions, with a few bytes of data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + _png_chunk(b"IEND", b""))


def jpeg_zip_polyglot() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("payload.php", "<?php system($_GET['c']); ?>")
    return save(quarters(), "JPEG") + archive.getvalue()


# -- Files Pillow 11.3 could not read, or read wrong (issue 11), built byte by byte ----------

def pattern(size=(64, 40), alpha: bool = False) -> Image.Image:
    """A picture with no long runs (so predictors and LZW have work) and, with
    `alpha`, a right half whose opacity varies along x."""
    w, h = size
    colours = [((x * 5) % 256, (y * 7) % 256, ((x + y) * 3) % 256) for y in range(h) for x in range(w)]
    if not alpha:
        image = Image.new("RGB", size)
        image.putdata(colours)
        return image
    image = Image.new("RGBA", size)
    image.putdata([(*c, 255 if i % w < w // 2 else 64 + (i % w) * 2) for i, c in enumerate(colours)])
    return image


def tiff(entries: dict[int, tuple[int, list[int] | str]], blocks: list[bytes], big=False, order="<") -> bytes:
    """A TIFF (or BigTIFF) with one IFD. `entries` maps a tag to (type, values); values
    "offsets" and "counts" stand for where `blocks` (strips or tiles) were written."""
    word, offset_size = ("Q", 8) if big else ("I", 4)
    header = (b"II" if order == "<" else b"MM") + (struct.pack(order + "HHH", 43, 8, 0) if big
                                                   else struct.pack(order + "H", 42))
    body = bytearray(header + b"\0" * offset_size)  # the IFD's offset, filled in below
    offsets = []
    for block in blocks:
        offsets.append(len(body))
        body += block + b"\0" * (len(block) % 2)
    ifd_at = len(body)
    ifd_size = (8 if big else 2) + len(entries) * (4 + 2 * offset_size) + offset_size
    fields, extra = [], bytearray()
    for tag, (kind, values) in sorted(entries.items()):
        if isinstance(values, str):
            values = {"offsets": offsets, "counts": [len(b) for b in blocks]}[values]
        packed = struct.pack(order + {3: "H", 4: "I", 16: "Q"}[kind] * len(values), *values)
        if len(packed) > offset_size:  # out of line, after the IFD
            packed, extra = struct.pack(order + word, ifd_at + ifd_size + len(extra)), extra + packed.ljust(
                len(packed) + len(packed) % 2, b"\0")
        fields.append(struct.pack(order + "HH" + word, tag, kind, len(values)) + packed.ljust(offset_size, b"\0"))
    ifd = struct.pack(order + ("Q" if big else "H"), len(entries)) + b"".join(fields) + b"\0" * offset_size
    body[len(header):len(header) + offset_size] = struct.pack(order + word, ifd_at)
    return bytes(body + ifd + extra)


def lzw(data: bytes) -> bytes:
    """TIFF's LZW, MSB first; the table is cleared before a code needs 10 bits."""
    out, acc, held = bytearray(), 0, 0

    def emit(code: int) -> None:
        nonlocal acc, held
        acc, held = (acc << 9) | code, held + 9
        while held >= 8:
            held -= 8
            out.append((acc >> held) & 0xFF)
        acc &= (1 << held) - 1

    table, word = {bytes([i]): i for i in range(256)}, b""
    emit(256)
    for byte in data:
        longer = word + bytes([byte])
        if longer in table:
            word = longer
            continue
        emit(table[word])
        table[longer], word = len(table) + 2, bytes([byte])  # 256 and 257 are Clear and EOI
        if len(table) + 2 >= 510:
            emit(256)
            table = {bytes([i]): i for i in range(256)}
    emit(table[word])
    emit(257)
    return bytes(out + (bytes([(acc << (8 - held)) & 0xFF]) if held else b""))


def _difference(row: list[int], samples: int) -> list[int]:
    """TIFF predictor 2: each sample minus the same sample of the pixel before, per row."""
    return row[:samples] + [row[i] - row[i - samples] for i in range(samples, len(row))]


def tiff_of(picture: Image.Image, *, bits=8, planar=False, compression=1, predictor=False, tile=None,
            extra=None, big=False, order="<", rows_per_strip=8) -> bytes:
    """`picture` (L, RGB or RGBA) as a TIFF of the given kind; 16-bit samples are v * 257."""
    w, h = picture.size
    bands = picture.getbands()
    samples = [picture.getchannel(b).get_flattened_data() for b in bands]
    planes = [list(range(len(bands)))] if not planar else [[b] for b in range(len(bands))]
    scale, code = (257, "H") if bits == 16 else (1, "B")

    def block(plane: list[int], x0: int, y0: int, width: int, height: int) -> bytes:
        rows = []
        for y in range(y0, y0 + height):
            row = [samples[b][y * w + x] * scale if x < w and y < h else 0
                   for x in range(x0, x0 + width) for b in plane]
            rows.append(_difference(row, len(plane)) if predictor else row)
        raw = b"".join(struct.pack(f"{order}{len(r)}{code}", *(v % (1 << bits) for v in r)) for r in rows)
        if compression == 5:
            return lzw(raw)
        return zlib.compress(raw) if compression == 8 else raw  # 8: Deflate, 1: none

    if tile:
        tw, th = tile
        blocks = [block(p, x, y, tw, th) for p in planes for y in range(0, h, th) for x in range(0, w, tw)]
        layout = {322: (3, [tw]), 323: (3, [th]), 324: (16 if big else 4, "offsets"), 325: (4, "counts")}
    else:
        blocks = [block(p, 0, y, w, min(rows_per_strip, h - y)) for p in planes for y in range(0, h, rows_per_strip)]
        layout = {278: (3, [rows_per_strip]), 273: (16 if big else 4, "offsets"), 279: (4, "counts")}
    entries = {256: (3, [w]), 257: (3, [h]), 258: (3, [bits] * len(bands)), 259: (3, [compression]),
               262: (3, [1 if len(bands) == 1 else 2]), 277: (3, [len(bands)]), 284: (3, [2 if planar else 1]),
               **layout}
    if predictor:
        entries[317] = (3, [2])
    if "A" in bands:
        entries[338] = (3, [2 if extra is None else extra])  # 2: unassociated alpha
    return tiff(entries, blocks, big=big, order=order)


# BMP palette-index pictures: rows of runs, rows with no runs at all (absolute mode,
# odd lengths, so the word padding matters), and a long run followed by literals.
_BMP_SIZE = (37, 21)
_BMP_PALETTE = [((i * 16) % 256, 255 - (i * 16) % 256, (i * 40) % 256) for i in range(16)]


def _bmp_index(x: int, y: int) -> int:
    return [(x // 5 + y) % 16, (x * 7 + y) % 16, 3 if x < 20 else x % 16, (y + x // 13) % 16][y % 4]


def bmp_rle_picture() -> Image.Image:
    w, h = _BMP_SIZE
    image = Image.new("RGB", _BMP_SIZE)
    image.putdata([_BMP_PALETTE[_bmp_index(x, y)] for y in range(h) for x in range(w)])
    return image


def _rle_pieces(row: list[int]):
    """("run", index, n) for 2 or more equal indices, ("literal", indices, n) between them."""
    i = 0
    while i < len(row):
        j = i
        while j < len(row) and row[j] == row[i] and j - i < 255:
            j += 1
        if j - i >= 2:
            yield "run", row[i], j - i
        else:
            j = i
            while j < len(row) and not (j + 1 < len(row) and row[j + 1] == row[j]) and j - i < 255:
                j += 1
            yield "literal", row[i:j], j - i
        i = j


def bmp_rle(bits: int) -> bytes:
    """A BMP with RLE8 (bits=8) or RLE4 (bits=4) compression, bottom-up, built by hand."""
    w, h = _BMP_SIZE
    data = bytearray()
    for y in reversed(range(h)):
        for kind, value, n in _rle_pieces([_bmp_index(x, y) for x in range(w)]):
            if kind == "run":
                data += bytes([n, value if bits == 8 else value << 4 | value])
            elif n < 3:  # absolute mode needs 3 or more
                for v in value:
                    data += bytes([1, v if bits == 8 else v << 4])
            else:
                packed = bytes(value) if bits == 8 else bytes(
                    value[k] << 4 | (value[k + 1] if k + 1 < n else 0) for k in range(0, n, 2))
                data += bytes([0, n]) + packed + b"\0" * (len(packed) % 2)
        data += b"\0\0"  # end of line
    data[-2:] = b"\0\1"  # end of bitmap
    colours = 1 << bits
    palette = b"".join(bytes([b, g, r, 0]) for r, g, b in _BMP_PALETTE).ljust(colours * 4, b"\0")
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, bits, {8: 1, 4: 2}[bits], len(data), 2835, 2835, colours, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + palette + bytes(data)


def avif_with_alpha() -> tuple[bytes, Image.Image]:
    image = Image.new("RGBA", (120, 80), (0, 0, 0, 0))  # transparent top left
    image.paste((20, 120, 240, 255), (60, 0, 120, 80))
    image.paste((220, 30, 30, 128), (0, 40, 60, 80))  # half-transparent red
    return save(image, "AVIF", quality=90, subsampling="4:4:4"), image


def _png(picture: Image.Image, idat: bytes, end: bytes | None = None) -> bytes:
    """An 8-bit RGB PNG from raw IDAT bytes; `end` replaces the IEND chunk."""
    header = struct.pack(">IIBBBBB", *picture.size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat)
            + (_png_chunk(b"IEND", b"") if end is None else end))


def _scanlines(picture: Image.Image) -> bytes:
    stride = picture.width * 3
    raw = picture.tobytes()
    return b"".join(b"\x00" + raw[y * stride:(y + 1) * stride] for y in range(picture.height))


def png_cut_in_its_end_chunk(picture: Image.Image) -> bytes:
    return _png(picture, zlib.compress(_scanlines(picture)), end=_png_chunk(b"IEND", b"")[:6])


def png_stream_without_checksum(picture: Image.Image) -> bytes:
    """The zlib stream stops after the last deflate block: its Adler-32 is missing."""
    return _png(picture, zlib.compress(_scanlines(picture))[:-4])


def png_stream_with_a_wrong_checksum(picture: Image.Image) -> bytes:
    return _png(picture, zlib.compress(_scanlines(picture))[:-4] + b"\0\0\0\0")


def png_with_a_truncated_chunk_after_its_pixels(picture: Image.Image, kind: bytes = b"IDAT") -> bytes:
    """Every row, then a chunk that claims more bytes than the file has left. As Pillow's
    Tests/images/truncated_end_chunk.png (a second IDAT, cut short): Pillow's `load` raises
    OSError from reading that trailing metadata, after the last row."""
    cut_short = struct.pack(">I", 3000) + kind + b"Comment\x00cut here"
    return _png(picture, zlib.compress(_scanlines(picture)), end=cut_short)


def png_with_a_broken_data_stream(picture: Image.Image) -> bytes:
    """Row two thirds down has filter type 16 (there are five, 0-4), as row 88 of 128 in
    Pillow's Tests/images/broken_data_stream.png: Pillow stops there ("unrecognized data
    stream contents"), and the rows below are not in the file to be shown."""
    stride = picture.width * 3 + 1
    rows = bytearray(_scanlines(picture))
    rows[(picture.height * 2 // 3) * stride] = 16
    return _png(picture, zlib.compress(bytes(rows)))


def png_missing_rows(picture: Image.Image) -> bytes:
    return _png(picture, zlib.compress(_scanlines(picture)[: -3 * picture.width]))


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script><rect width="10" height="10"/></svg>')
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto 10 10 lineto stroke\nshowpage\n"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TEXT = "Ceci n'est pas une image.\nJust text, saved as photo.jpg\n".encode()


@functools.cache
def cases() -> tuple[Case, ...]:
    photo = quarters((120, 80))
    accepted = [
        *(Case(f"orientation-{o}.jpg", oriented(o), True, size=UPRIGHT_SIZE, upright=True) for o in range(1, 9)),
        Case("orientation-6.tiff", oriented(6, "TIFF"), True, size=UPRIGHT_SIZE, upright=True),
        Case("orientation-8.webp", oriented(8, "WEBP"), True, size=UPRIGHT_SIZE, upright=True),
        Case("orientation-6.heic", heic(6), True, size=UPRIGHT_SIZE, upright=True),
        Case("photo.heic", heic(), True, size=UPRIGHT_SIZE, upright=True, facts={"has_alpha": False}),
        Case("camera.jpg", camera_jpeg(), True, size=(300, 200), upright=True, facts={
            "camera_make": "Acme", "camera_model": "Phone 7", "taken_at": "2024-05-17T14:03:59+02:00"}),
        Case("rgba.png", rgba_png(), True, size=(200, 120), facts={"has_alpha": True}),
        Case("opaque-rgba.png", save(photo.convert("RGBA"), "PNG"), True, size=(120, 80),
             facts={"has_alpha": False}),
        Case("palette-transparent.png", palette_png(), True, size=(150, 90), facts={"has_alpha": True}),
        Case("gray-alpha.png", la_png(), True, size=(120, 80), facts={"has_alpha": True}),
        Case("cmyk.jpg", cmyk_jpeg(), True, size=(120, 80), dominant=(255, 0, 0)),
        Case("cmyk-profiled.jpg", cmyk_profiled_jpeg(), True, size=(120, 80), dominant=(0, 128, 0)),
        Case("gray16.png", gray16_png(), True, size=(120, 80)),
        Case("gray.jpg", save(photo.convert("L"), "JPEG"), True, size=(120, 80)),
        Case("bilevel.png", bilevel_png(), True, size=(120, 80)),
        Case("one-pixel.png", save(Image.new("RGB", (1, 1), RED), "PNG"), True, size=(1, 1)),
        Case("strip.png", strip_png(), True, size=(10000, 10), dominant=(128, 128, 128)),
        Case("animated.gif", animated_gif(), True, size=(60, 40),
             facts={"animated": True, "frames": 3}, dominant=RED),
        Case("photo.webp", save(photo, "WEBP"), True, size=(120, 80)),
        Case("photo.bmp", save(photo, "BMP"), True, size=(120, 80)),
        Case("photo.tiff", save(photo, "TIFF"), True, size=(120, 80)),
        Case("photo.png", save(photo, "PNG"), True, size=(120, 80), facts={"animated": False, "frames": 1}),
    ]
    if features.check("avif"):
        avif, transparent = avif_with_alpha()
        accepted += [
            Case("photo.avif", save(photo, "AVIF"), True, size=(120, 80)),
            Case("alpha.avif", avif, True, size=(120, 80), facts={"has_alpha": True}, pixels=transparent,
                 tolerance=4),
        ]
    rgb, rgba = pattern(), pattern(alpha=True)
    picture = pattern((90, 60))
    tiffs = {  # name: (file, the picture it holds)
        "bigtiff.tiff": (save(rgb, "TIFF", big_tiff=True), rgb),  # Pillow writes II+ (little-endian)
        "bigtiff-deflate-predictor.tiff": (tiff_of(rgb, big=True, compression=8, predictor=True), rgb),
        "bigtiff-tiled.tiff": (tiff_of(rgba, big=True, tile=(16, 16)), rgba),
        "lzw-predictor.tiff": (tiff_of(rgb, compression=5, predictor=True), rgb),
        "deflate-predictor.tiff": (tiff_of(rgb, compression=8, predictor=True), rgb),
        "tiled.tiff": (tiff_of(rgb, tile=(16, 16)), rgb),
        "tiled-lzw-predictor.tiff": (tiff_of(rgb, tile=(32, 16), compression=5, predictor=True), rgb),
        "tiled-deflate-rgba.tiff": (tiff_of(rgba, tile=(16, 16), compression=8), rgba),
        "rgb16.tiff": (tiff_of(rgb, bits=16), rgb),
        "rgb16-lzw-predictor.tiff": (tiff_of(rgb, bits=16, compression=5, predictor=True), rgb),
        "rgb16-deflate-predictor-big-endian.tiff": (tiff_of(rgb, bits=16, compression=8, predictor=True,
                                                            order=">"), rgb),
        "gray16-tiled-lzw.tiff": (tiff_of(rgb.convert("L"), bits=16, tile=(16, 16), compression=5), rgb.convert("L")),
        "planar-rgba.tiff": (tiff_of(rgba, planar=True), rgba),
        "planar-rgba16.tiff": (tiff_of(rgba, planar=True, bits=16), rgba),
        "planar-rgba-lzw-predictor.tiff": (tiff_of(rgba, planar=True, compression=5, predictor=True), rgba),
        "planar-rgb-extra-sample.tiff": (tiff_of(rgba, planar=True, extra=0), rgb),  # 0: not alpha, ignored
    }
    accepted += [Case(name, data, True, size=held.size, pixels=held, facts={"has_alpha": held.mode == "RGBA"})
                 for name, (data, held) in tiffs.items()]
    accepted += [
        Case("rle8.bmp", bmp_rle(8), True, size=_BMP_SIZE, pixels=bmp_rle_picture()),
        Case("rle4.bmp", bmp_rle(4), True, size=_BMP_SIZE, pixels=bmp_rle_picture()),
        Case("cut-in-end-chunk.png", png_cut_in_its_end_chunk(picture), True, size=picture.size, pixels=picture),
        Case("stream-without-checksum.png", png_stream_without_checksum(picture), True, size=picture.size,
             pixels=picture),
        # Unreadable metadata after the last row is dropped, never a reason to reject the pixels.
        Case("truncated-end-chunk.png", png_with_a_truncated_chunk_after_its_pixels(picture), True,
             size=picture.size, pixels=picture),
        Case("truncated-text-after-pixels.png", png_with_a_truncated_chunk_after_its_pixels(picture, b"tEXt"),
             True, size=picture.size, pixels=picture),
    ]
    rejected = [
        Case("truncated.jpg", truncated_jpeg(), False, "truncated"),
        Case("bomb.png", png_bomb(100_000, 100_000), False, "10000 megapixels"),
        Case("over-limit.png", png_bomb(8000, 8000), False, "megapixels"),
        Case("polyglot.jpg", jpeg_zip_polyglot(), False, "ZIP"),
        Case("drawing.svg", SVG, False, "SVG"),
        Case("text.jpg", TEXT, False, "text"),
        Case("document.pdf", PDF, False, "PDF"),
        Case("figure.eps", EPS, False, "PostScript"),
        Case("archive.jpg", zipfile_bytes(), False, "ZIP"),
        Case("fake.jpg", b"\xff\xd8\xff\xe0" + TEXT, False, "not a readable"),
        Case("fake.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, False, "not a readable"),
        Case("too-many-frames.gif", animated_gif(101, (4, 4)), False, "101 frames"),
        Case("empty.jpg", b"", False, "empty"),
        # Pillow stops at the checksum, before the last rows: not fully decoded.
        Case("stream-wrong-checksum.png", png_stream_with_a_wrong_checksum(picture), False, "broken data stream"),
        Case("missing-rows.png", png_missing_rows(picture), False, "truncated"),
        Case("broken-data-stream.png", png_with_a_broken_data_stream(picture), False, "unrecognized data stream"),
        # Pillow 13 reads a BigTIFF's byte order as little-endian only: a big-endian one stays unread.
        Case("bigtiff-big-endian.tiff", tiff_of(rgb, big=True, order=">"), False, "not a readable TIFF"),
    ]
    return tuple(accepted + rejected)


def zipfile_bytes() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "hello")
    return archive.getvalue()
