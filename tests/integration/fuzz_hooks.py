"""Schemathesis hooks for fuzzing imgstore (SCHEMATHESIS_HOOKS=tests.integration.fuzz_hooks).

What a schema cannot say, said here, and nothing more:
- `image_data` and the raw upload bodies must be real images: a fuzzer can't
  draw those from a JSON Schema, so valid data comes from a few small images
  made with Pillow (invalid data is still drawn from the schema);
- a JSON upload takes no query parameters (docs/api.md), but OpenAPI cannot tie
  the raw form's parameters to its media types: such cases are dropped;
- a valid `next_token` only ever comes from a previous page, so generated
  tokens are kept out of the valid data (bad tokens are tested in tests/test_api.py).
"""

from __future__ import annotations

import base64
import io

import schemathesis
from hypothesis import strategies as st

from chalicelib import formats


def _image(fmt: str, size=(24, 16), mode="RGB", color=(40, 120, 200)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt)
    return out.getvalue()


IMAGES = {
    "JPEG": _image("JPEG"),
    "PNG": _image("PNG", mode="RGBA", color=(0, 128, 255, 100)),
    "GIF": _image("GIF", mode="P", color=3),
    "WEBP": _image("WEBP"),
    "BMP": _image("BMP"),
    "TIFF": _image("TIFF"),
}
_any_image = st.sampled_from(sorted(IMAGES.values()))


def _base64(data: bytes, as_data_url: bool) -> str:
    encoded = base64.b64encode(data).decode()
    return f"data:image/*;base64,{encoded}" if as_data_url else encoded


schemathesis.openapi.format("imgstore-image-base64", st.builds(_base64, _any_image, st.booleans()))
for _content_type in formats.UPLOAD_CONTENT_TYPES:
    _name = formats.BY_MIME[_content_type].name
    schemathesis.openapi.media_type(_content_type, st.just(IMAGES[_name]) if _name in IMAGES else _any_image)


def _negative(case, location: str) -> bool:
    meta = case.meta
    if meta is None:
        return False
    component = meta.components.get(location) if hasattr(meta, "components") else None
    return bool(component is not None and component.mode.is_negative)


def _positive(case) -> bool:
    return case.meta is None or case.meta.generation.mode.is_positive


@schemathesis.hook
def filter_case(ctx, case) -> bool:
    label = case.operation.label
    if label == "POST /images" and (case.media_type or "").startswith("application/json"):
        from schemathesis.core.parameters import ParameterLocation

        return not case.query and not _negative(case, ParameterLocation.QUERY)
    if label == "GET /images" and "next_token" in (case.query or {}) and _positive(case):
        return False
    return True
