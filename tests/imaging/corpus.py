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
        accepted.append(Case("photo.avif", save(photo, "AVIF"), True, size=(120, 80)))
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
    ]
    return tuple(accepted + rejected)


def zipfile_bytes() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "hello")
    return archive.getvalue()
