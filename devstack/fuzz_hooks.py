"""Schemathesis hooks for fuzzing imgstore (SCHEMATHESIS_HOOKS=devstack.fuzz_hooks; devstack/fuzz.py).

What a schema cannot say, said here, and nothing more:
- `image_data` and the raw upload bodies must be real images: a fuzzer can't
  draw those from a JSON Schema, so valid data comes from a few small images
  made with Pillow (invalid data is still drawn from the schema);
- a JSON upload takes no query parameters (docs/api.md), but OpenAPI cannot tie
  the raw form's parameters to its media types: such cases are dropped;
- a valid `next_token` only ever comes from a previous page, so generated
  tokens are kept out of the valid data (bad tokens are tested in tests/test_api.py);
- the coverage phase's JSON uploads whose only invalid part is a raw-form query
  parameter arrive here already without it (see filter_failure);
- a webhook URL must point somewhere the stage allows (format `imgstore-webhook-url`):
  on the local stage, loopback, here its discard port, where nothing listens.
"""

from __future__ import annotations

import base64
import io

import schemathesis
from hypothesis import strategies as st

from chalicelib.domain import formats


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


schemathesis.openapi.format(
    "imgstore-webhook-url",
    st.sampled_from(["http://127.0.0.1:9/hook", "http://localhost:9/events?from=fuzz", "http://[::1]:9/"]),
)
schemathesis.openapi.format("imgstore-image-base64", st.builds(_base64, _any_image, st.booleans()))
for _content_type in formats.UPLOAD_CONTENT_TYPES:
    _name = formats.BY_MIME[_content_type].name
    schemathesis.openapi.media_type(_content_type, st.just(IMAGES[_name]) if _name in IMAGES else _any_image)


def _query_is_negative(case) -> bool:
    """Whether the case's invalid part is (or may be) in its query string."""
    from schemathesis.core.parameters import ParameterLocation

    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    data = meta.phase.data
    locations = {getattr(data, "parameter_location", None)}
    locations |= {getattr(m, "location", None) for m in getattr(data, "mutations", ())}
    return meta.is_negative_at(ParameterLocation.QUERY) or ParameterLocation.QUERY in locations


def _positive(case) -> bool:
    return case.meta is None or case.meta.generation.mode.is_positive


def _json_upload(case) -> bool:
    return case.operation.label == "POST /images" and (case.media_type or "").startswith("application/json")


@schemathesis.hook
def filter_case(ctx, case) -> bool:
    if _json_upload(case):
        return not _query_is_negative(case)  # its only invalid part would be dropped below
    generated_token = case.operation.label == "GET /images" and "next_token" in (case.query or {})
    return not (generated_token and _positive(case))


@schemathesis.hook
def map_case(ctx, case):
    if _json_upload(case) and not _query_is_negative(case):
        case.query = {}  # the raw form's parameters; the JSON form's metadata is in its body
    return case


@schemathesis.hook
def filter_failure(ctx, failure, case, response) -> bool:
    """The coverage phase makes some JSON uploads whose only invalid part is a raw-form query
    parameter without passing them through the hooks above; sent without it (as these are),
    such an upload is valid, so its acceptance is no failure. Nothing else is dropped."""
    from schemathesis.core.failures import AcceptedNegativeData

    return not (
        isinstance(failure, AcceptedNegativeData) and _json_upload(case) and not case.query and _query_is_negative(case)
    )
