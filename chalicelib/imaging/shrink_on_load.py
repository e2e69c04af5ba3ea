"""A still WebP decoded straight to the size of the largest variant (libwebp's own scaling).

Pillow decodes every WebP through libwebp's animation decoder: two full-size
RGBA canvases, then a copy into a bytes object, then another into the image
(a 4K frame: 4 x 33 MB, and 40 ms of copying). libwebp can instead decode into
a buffer we own and scale while it decodes (what libvips does for WebP), so
the full-size image never exists. This is a ctypes binding to the libwebp
Pillow already loaded (the same library, never a second copy); where that
library cannot be found, `scaled` returns None and Pillow decodes as before.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

from PIL import Image

_DECODER_ABI_VERSION = 0x0209  # decode.h; libwebp refuses another major version (0x02)
_MODE_RGBA = 1  # WEBP_CSP_MODE: MODE_RGBA, straight (not premultiplied) alpha
# VP8StatusCode: what libwebp says about the bytes is a verdict (an OSError without errno,
# as Pillow's decoders raise; decoding.is_verdict); out of memory or our own bad parameter
# is not, and is retried.
_VERDICTS = {3: "bitstream error", 4: "unsupported feature", 7: "not enough data: truncated"}
_OUT_OF_MEMORY = 1


class _Features(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int) for name in ("width", "height", "has_alpha", "has_animation", "format")] + [
        ("pad", ctypes.c_uint32 * 5)
    ]


class _RGBABuffer(ctypes.Structure):
    _fields_ = [("rgba", ctypes.c_void_p), ("stride", ctypes.c_int), ("size", ctypes.c_size_t)]


class _YUVABuffer(ctypes.Structure):
    _fields_ = (
        [(name, ctypes.c_void_p) for name in ("y", "u", "v", "a")]
        + [(name, ctypes.c_int) for name in ("y_stride", "u_stride", "v_stride", "a_stride")]
        + [(name, ctypes.c_size_t) for name in ("y_size", "u_size", "v_size", "a_size")]
    )


class _Buffers(ctypes.Union):
    _fields_ = [("RGBA", _RGBABuffer), ("YUVA", _YUVABuffer)]


class _DecBuffer(ctypes.Structure):
    _fields_ = (
        ("colorspace", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("is_external_memory", ctypes.c_int),
        ("u", _Buffers),
        ("pad", ctypes.c_uint32 * 4),
        ("private_memory", ctypes.c_void_p),
    )


class _Options(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_int)
        for name in (
            "bypass_filtering",
            "no_fancy_upsampling",
            "use_cropping",
            "crop_left",
            "crop_top",
            "crop_width",
            "crop_height",
            "use_scaling",
            "scaled_width",
            "scaled_height",
            "use_threads",
            "dithering_strength",
            "flip",
            "alpha_dithering_strength",
        )
    ] + [("pad", ctypes.c_uint32 * 5)]


class _Config(ctypes.Structure):
    _fields_ = [("input", _Features), ("output", _DecBuffer), ("options", _Options)]


@functools.cache
def _libwebp() -> ctypes.CDLL | None:
    """The libwebp that Pillow's WebP module is linked against, found in this process's maps."""
    from PIL import _webp  # noqa: F401  (loads libwebp)

    for line in Path("/proc/self/maps").read_text().splitlines():
        path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
        if "/libwebp" in path and "libwebp." in Path(path).name.replace("-", "."):
            lib = ctypes.CDLL(path)
            lib.WebPInitDecoderConfigInternal.argtypes = [ctypes.POINTER(_Config), ctypes.c_int]
            lib.WebPGetFeaturesInternal.argtypes = [
                ctypes.c_char_p,
                ctypes.c_size_t,
                ctypes.POINTER(_Features),
                ctypes.c_int,
            ]
            lib.WebPDecode.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(_Config)]
            lib.WebPFreeDecBuffer.argtypes = [ctypes.POINTER(_DecBuffer)]
            return lib
    return None


def webp(opened: Image.Image, data: bytes, size: tuple[int, int]) -> Image.Image:
    """The WebP Pillow `opened` (headers read, nothing decoded), decoded at `size` with its
    info (ICC profile, EXIF); `opened` itself, to be loaded by Pillow, where `scaled` cannot."""
    decoded = scaled(data, size)
    if decoded is None:
        return opened
    decoded.info = dict(opened.info)
    return decoded


def scaled(data: bytes, size: tuple[int, int]) -> Image.Image | None:
    """The still WebP in `data` decoded at `size` (RGBA if it has alpha, else RGB); None when
    libwebp is not reachable or the file is animated. A broken file raises OSError."""
    lib = _libwebp()
    if lib is None:
        return None
    config = _Config()
    if not lib.WebPInitDecoderConfigInternal(ctypes.byref(config), _DECODER_ABI_VERSION):
        return None  # another ABI: let Pillow decode
    status = lib.WebPGetFeaturesInternal(data, len(data), ctypes.byref(config.input), _DECODER_ABI_VERSION)
    if status:
        _raise(status)
    if config.input.has_animation:
        return None
    width, height = size
    if (width, height) != (config.input.width, config.input.height):
        config.options.use_scaling, config.options.scaled_width, config.options.scaled_height = 1, width, height
    # Pillow's RGB and RGBA are both 4 bytes a pixel: the image maps this buffer, no copy.
    pixels = bytearray(width * height * 4)
    out = config.output
    out.colorspace, out.is_external_memory = _MODE_RGBA, 1
    out.u.RGBA.rgba = ctypes.addressof((ctypes.c_char * len(pixels)).from_buffer(pixels))
    out.u.RGBA.stride, out.u.RGBA.size = width * 4, len(pixels)
    status = lib.WebPDecode(data, len(data), ctypes.byref(config))
    lib.WebPFreeDecBuffer(ctypes.byref(config.output))
    if status:
        _raise(status)
    image = Image.frombuffer("RGBA", (width, height), pixels, "raw", "RGBA", 0, 1)
    return image if config.input.has_alpha else image.convert("RGB")


def _raise(status: int) -> None:
    if status in _VERDICTS:
        raise OSError(f"WebP {_VERDICTS[status]}")
    if status == _OUT_OF_MEMORY:
        raise MemoryError("libwebp ran out of memory")
    raise RuntimeError(f"libwebp failed with status {status}")
