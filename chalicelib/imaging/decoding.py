"""Opening untrusted bytes: allowlisted decoders, limits before pixels, one decode.

`decode` returns the first frame decoded (a JPEG at the smallest DCT scale
still at least the largest variant) with what the headers said, or raises
Rejected. Pillow only ever tries the one decoder the bytes were sniffed as, so
EPS (Ghostscript) and other plugins are never reached.

A verdict and a failure are told apart here (`is_verdict`): a decoder's own
parse or format error is the file's fault, the same bytes fail the same way
every time, so it becomes Rejected. Anything else (memory, a codec missing
from the build, a decoder bug, the operating system) propagates: the caller
marks the image failed and Lambda retries, and the file is never judged by it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import Image, TiffImagePlugin, UnidentifiedImageError

from ..config import Settings
from ..domain import formats
from . import limits, shrink_on_load, sizing
from .outcome import Rejected

# Multi-frame TIFF, HEIF and MPO files hold pages, bursts or views, not animation.
ANIMATION_FORMATS = {"GIF", "PNG", "WEBP", "AVIF"}

# How decoders say "these bytes are wrong". Pillow's openers turn their own
# IndexError, TypeError, KeyError, EOFError and struct.error into SyntaxError,
# and Image.open that into UnidentifiedImageError; its decoders raise OSError
# (truncated, broken data stream, decoder error -2), ValueError (a value out
# of range, a tile outside the image) or EOFError. pillow-heif documents
# ValueError (invalid input), EOFError (corrupt data) and SyntaxError
# (unsupported feature); its RuntimeError ("some other error") and OSError
# (out of memory) are not verdicts.
_BAD_BYTES = (UnidentifiedImageError, SyntaxError, ValueError, EOFError, struct.error)


@dataclass
class Decoded:
    image: Image.Image | None  # the first frame, possibly at a reduced JPEG scale; render() takes it
    format: formats.Format
    width: int  # as stored: before any reduction, before orientation
    height: int
    frames: int
    animated: bool
    exif: Image.Exif  # empty when absent or unreadable
    icc_profile: bytes | None


@functools.cache
def _register_heif() -> None:
    """pillow-heif's opener, registered on the first HEIF only (its import is not free)."""
    import pillow_heif

    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


def _read_tiff_with_libtiff() -> None:
    """Every TIFF through libtiff, as Pillow already sends every compressed one. Its own
    reader of uncompressed strips misreads planar 16-bit samples and refuses planar
    files with extra samples (tests/imaging/corpus.py has both)."""
    TiffImagePlugin.READ_LIBTIFF = True


def prepare(fmt: formats.Format) -> None:
    """Pillow set up to open `fmt`: pillow-heif's opener for HEIF, libtiff for every TIFF."""
    if fmt is formats.HEIF:
        _register_heif()
    elif fmt is formats.TIFF:
        _read_tiff_with_libtiff()


def decode(data: bytes, fmt: formats.Format, settings: Settings, largest_box: int) -> Decoded:
    """The first frame, decoded once, after every limit passed; Rejected otherwise."""
    prepare(fmt)
    limits.apply_to_pillow(settings)
    with untrusted(
        settings, fmt, lambda e: f"not a readable {fmt.name} image: the file only starts like one{_detail(e)}"
    ):
        image = Image.open(io.BytesIO(data), formats=[fmt.name])  # headers only
    width, height = image.size
    limits.check_pixels(width, height, settings)
    with untrusted(settings, fmt, lambda e: f"the image's frames are corrupt{_detail(e)}"):
        frames = _count_frames(image)
    limits.check_frames(frames, settings)
    if fmt is formats.JPEG:  # libjpeg decodes at 1/2, 1/4 or 1/8 scale for free (sizing.decode_request)
        image.draft(image.mode, sizing.decode_request(width, height, largest_box))
    trailer_unreadable = _read_trailer_leniently(image) if fmt is formats.PNG else (lambda: False)
    with untrusted(settings, fmt, lambda e: f"the {fmt.name} data is truncated or corrupt{_detail(e)}"):
        if fmt is formats.WEBP and frames == 1:  # libwebp scales as it decodes
            image = shrink_on_load.webp(image, data, sizing.fit(width, height, largest_box))  # type: ignore[assignment]
        image.load()
    return Decoded(
        image=image,
        format=fmt,
        width=width,
        height=height,
        frames=frames,
        animated=fmt.name in ANIMATION_FORMATS and frames > 1,
        exif=Image.Exif() if trailer_unreadable() else exif_of(image),
        icc_profile=image.info.get("icc_profile") or None,
    )


def is_verdict(exc: BaseException, fmt: formats.Format) -> bool:
    """Whether `exc`, raised by `fmt`'s decoder, judges the bytes: the same bytes
    would fail the same way every time, on any machine with this build."""
    if isinstance(exc, _BAD_BYTES):
        return True
    if isinstance(exc, OSError) and fmt is not formats.HEIF:
        # Pillow's decoder errors carry no errno; one with an errno comes from
        # the operating system. "decoder X not available" (raised from the
        # AttributeError of a codec missing from the build) is no verdict either.
        return exc.errno is None and not isinstance(exc.__cause__, (AttributeError, ImportError))
    return False


@contextlib.contextmanager
def untrusted(settings: Settings, fmt: formats.Format, reason: Callable[[Exception], str]) -> Iterator[None]:
    """A decoder's verdict on the bytes becomes a rejection saying `reason`; over a
    limit, one saying which. Anything else propagates, to be retried."""
    try:
        yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Rejected(limits.bomb_reason(exc, settings)) from None
    except Exception as exc:
        if not is_verdict(exc, fmt):
            raise
        raise Rejected(reason(exc)) from None


def _detail(exc: Exception) -> str:
    # Pillow's "cannot identify image file <_io.BytesIO ...>" tells a person nothing.
    return "" if isinstance(exc, UnidentifiedImageError) or not str(exc) else f" ({exc})"


def _read_trailer_leniently(image: Image.Image) -> Callable[[], bool]:
    """A PNG's chunks after its pixels (text, eXIf, a stray IDAT) are read by Pillow's
    `load_end` once every row is decoded; an error there is about metadata only, which
    renditions drop anyway, so it costs the metadata, not the image. The decoder's own
    error (rows missing, a broken stream) is raised by `load` after `load_end` and still
    rejects. Returns whether the trailer was unreadable."""
    read_trailer = image.load_end  # type: ignore[attr-defined]  # every ImageFile has it
    failed: list[Exception] = []

    def load_end() -> None:
        try:
            read_trailer()
        except (OSError, SyntaxError, EOFError, ValueError, struct.error) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise  # the operating system's, not the file's
            failed.append(exc)

    image.load_end = load_end  # type: ignore[attr-defined]  # ImageFile.load calls it after the pixels
    return lambda: bool(failed)


def _count_frames(image: Image.Image) -> int:
    # GIF counts by skipping from frame to frame without decoding, bounded by
    # the file size limit; the other formats say it in their headers.
    return getattr(image, "n_frames", 1)


def exif_of(image: Image.Image) -> Image.Exif:
    """The EXIF block; empty when there is none or it cannot be read (a broken EXIF
    block costs the photo its metadata, not its acceptance)."""
    try:
        return image.getexif()
    except MemoryError:
        raise
    except Exception:
        return Image.Exif()
