"""What a rendition is asked to be: its options, their one canonical spelling, and the format.

Pillow-free: the API validates and signs with it, the renderer renders with it.

- `parse` turns query parameters into `Options`, or raises Invalid naming the option.
- `Options.canonical()` is the one spelling of a set of options (what is signed and
  what names the stored object); `from_canonical` reads exactly that spelling back and
  nothing else, so two spellings of one rendition never exist.
- `accepts(accept_header)` reduces an Accept header to one of `ACCEPTS`: the only thing
  about the client that a rendition depends on (and so the only thing a cache keys on).
- `output_format` picks the encoding from the asked format, that outcome and the image.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..domain.errors import Invalid

FITS = ("inside", "cover", "contain")
FORMATS = ("auto", "jpeg", "webp", "avif", "png")
OPTION_NAMES = ("width", "height", "fit", "format", "quality")
# What an Accept header can change: AVIF, else WebP, else neither ("basic").
ACCEPTS = ("avif", "webp", "basic")
# Per encoding when `quality` is not given: about the SSIM of JPEG 80 (measured on the bench's
# photos against LANCZOS from the original, bench/delivery.py: AVIF 65 matches it at 0.68-0.74x
# the bytes; WebP needs 80 at 640 px and 85 at 1080 px to match it).
DEFAULT_QUALITY = {"jpeg": 80, "webp": 82, "avif": 65}
# encoding -> (content type, file extension)
ENCODINGS = {
    "jpeg": ("image/jpeg", "jpg"),
    "png": ("image/png", "png"),
    "webp": ("image/webp", "webp"),
    "avif": ("image/avif", "avif"),
    "gif": ("image/gif", "gif"),
}


@dataclass(frozen=True)
class Options:
    """A rendition: fit the image to `width` x `height` (either may be None) by `fit`."""

    width: int | None = None
    height: int | None = None
    fit: str = "inside"
    format: str = "auto"
    quality: int | None = None  # None: DEFAULT_QUALITY of the encoding

    def canonical(self) -> str:
        """e.g. `w640-h480-cover-auto-q70`: fixed order, absent dimensions and quality left out."""
        parts = [f"w{self.width}"] if self.width else []
        parts += [f"h{self.height}"] if self.height else []
        parts += [self.fit, self.format]
        parts += [f"q{self.quality}"] if self.quality else []
        return "-".join(parts)

    def query(self) -> dict[str, str]:
        """The options as query parameters, only those that were set."""
        params = {"width": self.width, "height": self.height, "quality": self.quality}
        return {
            **{k: str(v) for k, v in params.items() if v},
            **({"fit": self.fit} if self.fit != "inside" else {}),
            **({"format": self.format} if self.format != "auto" else {}),
        }


def _whole(name: str, raw: str, low: int, high: int) -> int:
    # Digits only: "+640", " 640", "640.0" and "0640" are other spellings of one rendition.
    if not re.fullmatch(r"[1-9][0-9]{0,5}", raw or ""):
        raise Invalid(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
    value = int(raw)
    if not low <= value <= high:
        raise Invalid(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
    return value


def parse(params: Mapping[str, str], max_dimension: int) -> Options:
    """Query parameters -> Options; Invalid naming the first bad or unknown option."""
    unknown = sorted(set(params) - set(OPTION_NAMES))
    if unknown:
        raise Invalid(f"unknown option {unknown[0]!r}; the options are {', '.join(OPTION_NAMES)}")
    width = _whole("width", params["width"], 1, max_dimension) if "width" in params else None
    height = _whole("height", params["height"], 1, max_dimension) if "height" in params else None
    fit = params.get("fit", "inside")
    if fit not in FITS:
        raise Invalid(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
    fmt = params.get("format", "auto")
    if fmt not in FORMATS:
        raise Invalid(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    quality = _whole("quality", params["quality"], 1, 100) if "quality" in params else None
    return Options(width, height, fit, fmt, quality)


_CANONICAL = re.compile(
    r"(?:w(?P<width>[1-9][0-9]{0,5})-)?(?:h(?P<height>[1-9][0-9]{0,5})-)?"
    r"(?P<fit>inside|cover|contain)-(?P<format>auto|jpeg|webp|avif|png)(?:-q(?P<quality>[1-9][0-9]?|100))?"
)


def from_canonical(text: str, max_dimension: int) -> Options:
    """The Options `text` is the canonical spelling of; Invalid for anything else."""
    found = _CANONICAL.fullmatch(text)
    if not found:
        raise Invalid(f"not a rendition: {text[:80]!r}")
    raw = {k: v for k, v in found.groupdict().items() if v is not None}
    options = parse(raw, max_dimension)
    if options.canonical() != text:
        raise Invalid(f"not a rendition: {text[:80]!r}")
    return options


_MEDIA_RANGE = re.compile(r"^\s*([^;\s]+)\s*(?:;(.*))?$")


def accepts(accept: str | None) -> str:
    """The one of ACCEPTS an Accept header earns: a type counts when it is named with q > 0
    (a wildcard does not count: `*/*` is what every client sends)."""
    named = set()
    for item in (accept or "").lower().split(","):
        found = _MEDIA_RANGE.match(item)
        if not found:
            continue
        media, params = found.group(1), found.group(2) or ""
        q = re.search(r"(?:^|;)\s*q\s*=\s*([^;]*)", params)
        try:
            if q and float(q.group(1)) <= 0:
                continue
        except ValueError:
            continue  # a weight that is no number: the range is not safely named
        named.add(media)
    if "image/avif" in named:
        return "avif"
    if "image/webp" in named:
        return "webp"
    return "basic"


def output_format(options: Options, client: str, *, has_alpha: bool, animated: bool) -> str:
    """The encoding of the rendition: the asked one, or under `auto` the best the client
    reads (AVIF, WebP, else JPEG, or PNG for transparency). An animation prefers WebP and
    stays animated as GIF for a client that reads neither WebP nor AVIF."""
    if options.format != "auto":
        return options.format
    if animated:
        return "webp" if client in ("avif", "webp") else "gif"
    if client in ("avif", "webp"):
        return client
    return "png" if has_alpha else "jpeg"


def negotiated(options: Options) -> bool:
    """Whether the client's Accept chose the encoding (so a response must say `Vary: Accept`)."""
    return options.format == "auto"
