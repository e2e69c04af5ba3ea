"""Pixel modes and colour, so that resampling is right and browsers show the right colours.

- Every mode Pillow decodes becomes one it resamples well (LANCZOS, with
  alpha premultiplied): palette -> RGB(A) (a palette could only be NEAREST),
  1-bit -> L, 16/32-bit and float -> 8-bit L *scaled* (Pillow's plain
  convert clips 16-bit to white).
- CMYK is resampled as CMYK and turned into sRGB only once small, through its
  embedded ICC profile when it has one.
- An RGB or grey ICC profile travels with the variants it fits: exact, and
  cheaper than converting.
"""

from __future__ import annotations

import io

from PIL import Image

from .outcome import Rejected

_RESAMPLED_AS_IS = ("RGB", "RGBA", "L", "LA", "CMYK")
WHITE = 255


def for_resampling(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("RGB", "L") and "transparency" in image.info:  # PNG tRNS: one colour is transparent
        return image.convert(mode + "A")
    if mode in _RESAMPLED_AS_IS:
        return image
    if mode == "1":
        return image.convert("L")
    if mode in ("P", "PA"):
        return image.convert("RGBA" if mode == "PA" or "transparency" in image.info else "RGB")
    if mode in ("La", "RGBa"):  # premultiplied alpha
        return image.convert(mode.upper())
    if mode.startswith("I") or mode == "F":
        return _eight_bit(image)
    try:
        return image.convert("RGB")
    except ValueError:
        raise Rejected(f"the image's colour mode ({mode}) is not supported") from None


def _eight_bit(image: Image.Image) -> Image.Image:
    wide = image if image.mode in ("I", "F") else image.convert("I")
    high = float(wide.getextrema()[1])  # type: ignore[arg-type]  # one band: (low, high) numbers
    if image.mode.startswith("I;16"):
        scale = 255 / 65535
    elif image.mode == "F" and high <= 1.0:
        scale = 255.0
    elif high > 255:
        scale = 255 / high
    else:
        scale = 1.0
    return wide.point(lambda v: v * scale).convert("L")


def alpha_in_use(image: Image.Image) -> bool:
    """True when some pixel is not fully opaque (an all-opaque alpha channel does not count)."""
    return image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema()[0] < 255  # type: ignore[operator]


def without_alpha(image: Image.Image) -> Image.Image:
    """Alpha flattened onto white: only for JPEG, which has none."""
    if image.mode not in ("RGBA", "LA"):
        return image
    base = Image.new(image.mode[:-1], image.size, WHITE if image.mode == "LA" else (WHITE,) * 3)
    base.paste(image, mask=image.getchannel("A"))
    return base


def for_display(image: Image.Image, icc_profile: bytes | None) -> tuple[Image.Image, bytes | None]:
    """CMYK becomes sRGB (its profile is used up); other modes are shown as they are."""
    if image.mode == "CMYK":
        return _cmyk_to_srgb(image, icc_profile), None
    return image, icc_profile


def profile_for(mode: str, icc_profile: bytes | None) -> bytes | None:
    """The profile, if it describes pixels of `mode` (a grey one does not fit RGB)."""
    space = b"GRAY" if mode in ("L", "LA") else b"RGB "
    return icc_profile if _space(icc_profile) == space else None


def _space(icc_profile: bytes | None) -> bytes | None:
    return icc_profile[16:20] if icc_profile and len(icc_profile) >= 128 else None


def _cmyk_to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    if icc_profile and _space(icc_profile) == b"CMYK":
        from PIL import ImageCms

        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
            if converted is not None:  # None only when converting in place, which this is not
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: fall back to the plain formula
    return image.convert("RGB")
