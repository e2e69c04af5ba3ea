"""Schemathesis hooks for fuzzing imgstore (SCHEMATHESIS_HOOKS=devstack.fuzz_hooks; devstack/fuzz.py).

What a schema cannot say, said here, and nothing more:
- `image_data` and the raw upload bodies must be real images: a fuzzer can't
  draw those from a JSON Schema, so valid data comes from a few small images
  made with Pillow (invalid data is still drawn from the schema);
- OpenAPI cannot tie a query parameter to a media type, so the contract marks
  the raw form's ones with `x-with-media-type`; valid data leaves a marked
  parameter out of a body of another type (with it, the upload is a 400);
- a valid `next_token` is one the API issued, for the same list: the schema has
  its shape (a pattern), not its signature. Valid data keeps only tokens seen in
  an answer, with that answer's filters (the contract's NextPage link makes them).
- a valid `q` has at most SEARCH_MAX_WORDS distinct words, by the API's own word rule
  (Unicode letters, marks and digits), which no JSON Schema pattern can state: valid data
  keeps its first ones.
- a webhook URL must point somewhere the stage allows (format `imgstore-webhook-url`):
  on the local stage, loopback, here its discard port, where nothing listens.
"""

from __future__ import annotations

import base64
import fnmatch
import io

import schemathesis
from hypothesis import strategies as st

from chalicelib.config import SEARCH_MAX_QUERY_CHARS, SEARCH_MAX_WORDS
from chalicelib.domain import formats
from chalicelib.domain.search import query_words


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


def _positive(case) -> bool:
    return case.meta is None or case.meta.generation.mode.is_positive


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


def _matches(media_type: str, media_range: str) -> bool:
    kind = media_type.split(";", 1)[0].strip().lower()
    return fnmatch.fnmatchcase(kind, media_range.lower())


def _foreign_parameters(case) -> list[str]:
    """The case's query parameters that the contract ties to another type of body."""
    ranges = {
        p.name: p.definition["x-with-media-type"] for p in case.operation.query if "x-with-media-type" in p.definition
    }
    return [name for name in case.query or {} if name in ranges and not _matches(case.media_type or "", ranges[name])]


_LIST = "GET /images"
_FILTERS = ("user_id", "tag", "status", "order", "q")  # a token continues one list: these, its order and search
_issued: dict[str, dict[str, str]] = {}  # next_token -> the filters of the list it continues


@schemathesis.hook
def after_call(ctx, case, response) -> None:
    if case.operation.label != _LIST or response.status_code != 200:
        return
    token = response.json().get("next_token")
    if token:
        _issued[token] = {name: case.query[name] for name in _FILTERS if name in (case.query or {})}


@schemathesis.hook
def map_case(ctx, case):
    # A marked parameter sent with another body is an invalid case; leave it where it is what is invalid.
    if not _query_is_negative(case):
        for name in _foreign_parameters(case):
            del case.query[name]
    if case.operation.label == _LIST and _positive(case) and "q" in (case.query or {}):
        found = query_words(case.query["q"])
        if len(found) > SEARCH_MAX_WORDS:
            case.query["q"] = " ".join(found[:SEARCH_MAX_WORDS])[:SEARCH_MAX_QUERY_CHARS]  # NFKC may lengthen
    if case.operation.label == _LIST and _positive(case) and "next_token" in (case.query or {}):
        filters = _issued.get(case.query["next_token"])
        if filters is None:
            del case.query["next_token"]  # shaped like a token, never issued: a 400 by design
        else:
            case.query = {**{k: v for k, v in case.query.items() if k not in _FILTERS}, **filters}
    return case
