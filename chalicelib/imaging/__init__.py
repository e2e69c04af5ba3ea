"""Image checking and variants: the only package that imports Pillow and pillow-heif.

Bytes in, bytes out; it never touches AWS. One entry point:

    process(data, settings) -> Processed     or raises Rejected(reason)

Rejected is a verdict on the bytes only (see decoding.is_verdict); any other
exception (CodecMissing, MemoryError, a bug) means "try again later".

Each concern lives in its own module: sniffing (what the bytes are), limits,
decoding, colour, orientation, sizing, rendering (the variants), metadata
(camera facts, never GPS) and placeholders (dominant colour, BlurHash).
"""

from __future__ import annotations

from ..config import Settings
from . import decoding, limits, metadata, orientation, placeholders, rendering, sniffing
from .outcome import CodecMissing, Processed, Rejected, RenderedVariant

__all__ = ["CodecMissing", "Processed", "Rejected", "RenderedVariant", "process"]


def process(data: bytes, settings: Settings) -> Processed:
    """Check `data` and render every preset. Raises Rejected for anything not an acceptable image."""
    limits.check_bytes(len(data), settings)
    fmt = sniffing.sniff(data)
    decoded = decoding.decode(data, fmt, settings, largest_box=max(p.box for p in settings.presets))
    turn = orientation.read(decoded.exif)
    rendered = rendering.render(decoded, settings.presets, turn)
    width, height = orientation.displayed_size(decoded.width, decoded.height, turn)
    details = {
        "has_alpha": rendered.has_alpha,
        "animated": decoded.animated,
        "frames": decoded.frames,
        "dominant_color": placeholders.dominant_color(rendered.smallest),
        "blurhash": placeholders.blurhash_of(rendered.smallest),
        **metadata.camera_facts(decoded.exif),
    }
    return Processed(
        format=fmt.name, content_type=fmt.mime, width=width, height=height, variants=rendered.variants, details=details
    )
